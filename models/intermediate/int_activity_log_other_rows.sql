-- SPEC §9: activity-log rows that are not messages: delivery and read receipts, spam reports and
-- types the mapping seed does not know. Kept for analytics and the conservation audit, never billed.

with

activity as (
    select * from {{ ref('stg_activity_log') }}
),

mapping as (
    select * from {{ ref('activity_type_mapping') }}
),

message_types as (
    select distinct activity_type from mapping
    where role = 'message'
),

other_types as (
    select distinct
        activity_type,
        role
    from mapping
    where role != 'message'
)

select
    'activity_log' as source_kind,
    activity.source_file,
    activity.source_row,
    activity.activity_id,
    activity.agent_id,
    {{ activity_carrier_id() }} as carrier_id,
    activity.direction,
    activity.activity_type,
    activity.occurred_at,
    activity.google_billing_event_id,
    coalesce(other_types.role, 'unknown_activity_type') as activity_role
from activity
left join message_types on activity.activity_type = message_types.activity_type
left join other_types on activity.activity_type = other_types.activity_type
where
    activity.parse_error is null
    and activity.activity_type is not null
    and message_types.activity_type is null
