{#- SPEC §6: the per-message rows of an event carry the event's totals: its MT and MO counts,
    its first and last event time, and its billing_event_id from its first message. Shared by
    the US and the global model. `assigned` is a CTE from assign_to_windows_cte. -#}
{% macro billable_event_rows(assigned) %}
with_event as (
    select
        *,
        case when is_in_window then window_start_message_id else message_id end as first_message_id,
        case when is_in_window then window_event_type else message_type end as event_type,
        is_in_window as is_grouped
    from {{ assigned }}
),

-- One row per event: its totals (an aggregate and a join, cheaper than five window functions
-- over the messages). first_message_id identifies the event: message ids are unique (SPEC §7).
event_totals as (
    select
        first_message_id,
        {{ billing_event_id('first_message_id') }} as billing_event_id,
        count(case when direction = 'MT' then 1 end) as event_mt_messages,
        count(case when direction = 'MO' then 1 end) as event_mo_messages,
        cast(sum(size_kilobytes) as bigint) as event_size_kilobytes,
        min(event_at) as event_first_at,
        max(event_at) as event_last_at
    from with_event
    group by first_message_id
)

select
    with_event.stream_key,
    with_event.stream_seq,
    with_event.message_id,
    with_event.agent_id,
    with_event.carrier_id,
    with_event.billing_model,
    with_event.direction,
    with_event.event_at,
    with_event.message_type,
    with_event.segment_count,
    with_event.size_kilobytes,
    with_event.first_message_id,
    event_totals.billing_event_id,
    with_event.event_type,
    with_event.is_grouped,
    with_event.google_billing_event_id,
    event_totals.event_mt_messages,
    event_totals.event_mo_messages,
    event_totals.event_size_kilobytes,
    event_totals.event_first_at,
    event_totals.event_last_at
from with_event
inner join event_totals on with_event.first_message_id = event_totals.first_message_id
{% endmacro %}
