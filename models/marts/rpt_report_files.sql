-- SPEC §6, §8: the manifest of report files: one row per carrier and generation date with events.
-- A file is final when no event in it can still change: its events start on day G - 2 and every
-- rule looks at most 24 h past an event's start, so once the newest data reaches day G (00:00 UTC)
-- nothing can join, split or start an event of the file. Before that it is provisional.

with

report_rows as (
    select * from {{ ref('fct_report_rows') }}
),

newest_data as (
    select max(event_at) as newest_event_at from {{ ref('fct_billable_messages') }}
)

select
    report_rows.carrier_id,
    report_rows.generation_date,
    concat(report_rows.carrier_id, '/rbm_billable_events_', report_rows.generation_date, '.csv') as file_path,
    count(*) as row_count,
    count(distinct report_rows.billing_event_id) as event_count,
    max(newest_data.newest_event_at) >= cast(report_rows.generation_date as timestamp) as is_final,
    case
        when max(newest_data.newest_event_at) >= cast(report_rows.generation_date as timestamp) then 'final'
        else 'provisional'
    end as status
from report_rows
cross join newest_data
group by report_rows.carrier_id, report_rows.generation_date
