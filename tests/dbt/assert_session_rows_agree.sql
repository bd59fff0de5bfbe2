-- SPEC §6: all report rows of one billing event share its start_time, duration, session_type and its
-- total mt_messages / mo_messages, and those totals equal the event's count of billed messages.

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
        count(distinct concat_ws(
            '|', start_time, cast(duration as string), cast(mt_messages as string),
            cast(mo_messages as string), coalesce(session_type, ''), carrier_id, generation_date
        )) as versions,
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
    per_event.versions > 1
    or counted.billing_event_id is null
    or per_event.mt_messages != counted.billed_mt
    or per_event.mo_messages != counted.billed_mo
