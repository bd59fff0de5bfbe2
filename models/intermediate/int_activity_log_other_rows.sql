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
    carrier_id,
    direction,
    activity_type,
    occurred_at,
    google_billing_event_id,
    activity_role
from other_rows
