{{ config(**stream_scoped_config('event_first_at')) }}

-- The report rows as published by this run, one fingerprint per row: the next run compares its
-- reports with these to log restatements (rpt_restatements). Built after rpt_restatements read it.
-- Daily operation: only the rows this run recomputed are replaced (int_touched_streams).
-- depends_on: {{ ref('rpt_restatements') }}

with

all_report_rows as (
    select * from {{ ref('fct_report_rows') }}
),

report_rows as (
    {{ select_recomputed_rows('all_report_rows', 'event_first_at') }}
)

select
    stream_key,
    event_first_at,
    carrier_id,
    generation_date,
    billing_event_id,
    row_fingerprint
from report_rows
