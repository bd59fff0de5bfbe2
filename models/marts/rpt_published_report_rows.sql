-- The report rows as published by this run, one fingerprint per row: the next run compares its
-- reports with these to log restatements (rpt_restatements). Built after rpt_restatements read it.
-- depends_on: {{ ref('rpt_restatements') }}

with

report_rows as (
    select * from {{ ref('fct_report_rows') }}
)

select
    carrier_id,
    generation_date,
    billing_event_id,
    row_fingerprint
from report_rows
