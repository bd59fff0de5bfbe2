{#- SPEC §6: the per-message rows of an event carry the event's totals: its MT and MO counts,
    its first and last event time, and its billing_event_id from its first message. Shared by
    the US and the global model. `assigned` is a CTE from assign_to_windows_cte; `windows` holds
    the chosen windows with start_message_id and event_type. -#}
{% macro billable_event_rows(assigned, windows) %}
with_event as (
    select
        assigned.*,
        case when assigned.is_in_window then windows.start_message_id else assigned.message_id end
            as first_message_id,
        case when assigned.is_in_window then windows.event_type else assigned.message_type end as event_type,
        assigned.is_in_window as is_grouped
    from {{ assigned }} as assigned
    left join {{ windows }} as windows
        on assigned.is_in_window
        and assigned.stream_key = windows.stream_key
        and assigned.open_start_seq = windows.start_seq
)

select
    stream_key,
    stream_seq,
    message_id,
    agent_id,
    carrier_id,
    billing_model,
    direction,
    event_at,
    message_type,
    segment_count,
    size_kilobytes,
    first_message_id,
    {{ billing_event_id('first_message_id') }} as billing_event_id,
    event_type,
    is_grouped,
    google_billing_event_id,
    count(case when direction = 'MT' then 1 end) over (partition by stream_key, first_message_id)
        as event_mt_messages,
    count(case when direction = 'MO' then 1 end) over (partition by stream_key, first_message_id)
        as event_mo_messages,
    cast(sum(size_kilobytes) over (partition by stream_key, first_message_id) as bigint) as event_size_kilobytes,
    min(event_at) over (partition by stream_key, first_message_id) as event_first_at,
    max(event_at) over (partition by stream_key, first_message_id) as event_last_at
from with_event
{% endmacro %}
