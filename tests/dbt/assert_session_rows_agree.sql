-- SPEC §6: all report rows of one billing event share its start_time, duration, session_type and its
-- total mt_messages / mo_messages, and those totals equal the event's count of billed messages.
-- Each shared value is compared as min = max per event (cheaper than counting distinct combinations:
-- this guard runs with every `make run`, issue: scale); a NULL session_type counts as ''.

with

report_rows as (
    select * from {{ ref('fct_report_rows') }}
),

billed as (
    select * from {{ ref('fct_billable_messages') }}
),

per_event as (
    select
        billing_event_id,
        min(start_time) = max(start_time)
        and min(duration) = max(duration)
        and min(mt_messages) = max(mt_messages)
        and min(mo_messages) = max(mo_messages)
        and min(carrier_id) = max(carrier_id)
        and min(generation_date) = max(generation_date)
        and min(coalesce(session_type, '')) = max(coalesce(session_type, '')) as is_consistent,
        max(mt_messages) as mt_messages,
        max(mo_messages) as mo_messages
    from report_rows
    group by billing_event_id
),

counted as (
    select
        billing_event_id,
        sum(case when direction = 'MT' then 1 else 0 end) as billed_mt,
        sum(case when direction = 'MO' then 1 else 0 end) as billed_mo
    from billed
    group by billing_event_id
)

select
    per_event.*,
    counted.billed_mt,
    counted.billed_mo
from per_event
left join counted on per_event.billing_event_id = counted.billing_event_id
where
    not per_event.is_consistent
    or counted.billing_event_id is null
    or per_event.mt_messages != counted.billed_mt
    or per_event.mo_messages != counted.billed_mo
