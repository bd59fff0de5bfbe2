{{ config(**stream_scoped_config()) }}

-- The report rows as published by this run, one fingerprint per row: the next run compares its
-- reports with these to log restatements (rpt_restatements). Built after rpt_restatements read it.
-- Daily operation: only the rows of the streams this run recomputed are replaced.
-- depends_on: {{ ref('rpt_restatements') }}

with

report_rows as (
    select * from {{ ref('fct_report_rows') }}
    {{ where_stream_is_touched() }}
)

select
    stream_key,
    carrier_id,
    generation_date,
    billing_event_id,
    row_fingerprint
from report_rows
