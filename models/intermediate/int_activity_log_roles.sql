{{ config(materialized='view') }}

-- SPEC §9: the role of every activity-log row, decided once: a `message` row becomes a message
-- (a message type of the mapping seed; a malformed line or a row without a type too, so that the
-- contract checks quarantine it, SPEC §7); any other row keeps its mapping role (delivery or read
-- receipt, not_a_message) or is an unknown_activity_type, never billed.

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
        direction,
        activity_type,
        role
    from mapping
    where role != 'message'
)

select
    activity.*,
    case
        when
            message_types.activity_type is not null
            or activity.parse_error is not null
            or activity.activity_type is null
            then 'message'
        else coalesce(other_types.role, 'unknown_activity_type')
    end as activity_role
from activity
left join message_types on activity.activity_type = message_types.activity_type
-- A receipt or other type is the seed's only in the seed's direction (a receipt is MO, SPEC §9): an MT
-- `delivery_receipt_event` delivers nothing (int_activity_log_messages matches direction and type), so it is
-- an unknown type, which the run summary names (review, thirteenth session: it was counted as a receipt).
left join other_types
    on activity.direction = other_types.direction and activity.activity_type = other_types.activity_type
