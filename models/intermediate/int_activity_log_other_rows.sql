-- SPEC §9: activity-log rows that are not messages: delivery and read receipts, spam reports and
-- types the mapping seed does not know. Kept for analytics and the conservation audit, never billed.

with

other_rows as (
    select * from {{ ref('int_activity_log_roles') }}
    where activity_role != 'message'
)

select
    'activity_log' as source_kind,
    source_file,
    source_row,
    activity_id,
    agent_id,
    user_key,
    -- SPEC §9: a receipt delivers only the MT of its activity_id, agent and user; without one of them it
    -- delivers nothing (the run summary warns of the delivery receipts).
    coalesce(not {{ is_blank('activity_id') }}, false)
    and coalesce(not {{ is_blank('agent_id') }}, false)
    and user_key is not null as has_message_keys,
    carrier_id,
    direction,
    activity_type,
    occurred_at_raw,
    occurred_at,
    size_bytes_raw,
    google_billing_event_id,
    activity_role
from other_rows
