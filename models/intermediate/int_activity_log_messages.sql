-- SPEC §9: Google activity-log rows mapped onto the messages contract (mapping seed
-- activity_type_mapping): one message per non-receipt activity, message_id = activity_id; an MT is
-- `delivered` at its delivery receipt's time (same activity_id, carrier, agent and user), else `sent`; carrier
-- from the run.
-- Activity logs carry no text (a text's segment_count is 1) and no tester flag (Google's logs hold
-- launched traffic only). Receipts and other non-message rows: int_activity_log_other_rows.

with

activity as (
    select * from {{ ref('stg_activity_log') }}
),

mapping as (
    select * from {{ ref('activity_type_mapping') }}
),

-- A receipt is its MT's when both are of one carrier, agent and user (user trial, nineteenth session: agents choose
-- their message ids, so a receipt in another carrier's log delivered an MT of the same id).
delivery_receipts as (
    select activity.* from activity
    inner join mapping
        on activity.direction = mapping.direction and activity.activity_type = mapping.activity_type
    where mapping.role = 'delivery_receipt'
),

-- The receipt that decides an MT's delivery: its earliest. A receipt whose time is missing or does not parse leaves
-- the delivery time unknown: the MT then has no delivered_at (missing_delivered_at) or that receipt's raw value
-- (invalid_delivered_at) and is quarantined (SPEC §7), never billed nor counted as not delivered on a guess. A value
-- that does not parse comes before a missing one (one is enough for invalid_delivered_at). Its quarantine row
-- names the receipt's line, where the bad value is (user trial, nineteenth session: the summary named the MT's).
receipts_ranked as (
    select
        activity_id,
        carrier_id,
        agent_id,
        user_key,
        occurred_at,
        occurred_at_raw,
        concat('delivery receipt at line ', cast(source_row as string), ' of ', source_file) as delivery_receipt,
        row_number() over (
            partition by activity_id, carrier_id, agent_id, user_key
            order by
                case when occurred_at is null then 0 else 1 end,
                case when occurred_at_raw is null or {{ is_blank('occurred_at_raw') }} then 1 else 0 end,
                occurred_at,
                source_file,
                source_row
        ) as nth,
        max(loaded_at) over (partition by activity_id, carrier_id, agent_id, user_key) as loaded_at
    from delivery_receipts
),

receipts as (
    select * from receipts_ranked
    where nth = 1
),

message_rows as (
    select * from {{ ref('int_activity_log_roles') }}
    where activity_role = 'message'
)

select
    'activity_log' as source_kind,
    message_rows.source_file,
    message_rows.source_row,
    message_rows.parse_error,
    message_rows.activity_id as message_id,
    message_rows.agent_id,
    message_rows.user_key,
    message_rows.carrier_id,
    message_rows.direction,
    mapping.content_kind,
    cast(null as bigint) as text_bytes,
    cast(null as string) as text_key,
    message_rows.size_bytes_raw as file_size_bytes_raw,
    message_rows.size_bytes as file_size_bytes,
    cast(null as string) as suggestions,
    case
        when message_rows.direction = 'MO' then 'received'
        when message_rows.direction = 'MT' and receipts.activity_id is not null then 'delivered'
        when message_rows.direction = 'MT' then 'sent'
    end as status,
    message_rows.occurred_at_raw as sent_at_raw,
    message_rows.occurred_at as sent_at,
    case when message_rows.direction = 'MT' then receipts.occurred_at_raw end as delivered_at_raw,
    case when message_rows.direction = 'MT' then receipts.occurred_at end as delivered_at,
    case when message_rows.direction = 'MT' then receipts.delivery_receipt end as delivery_receipt,
    'false' as is_tester_raw,
    false as is_tester,
    message_rows.google_billing_event_id,
    -- Daily operation: a message changes when its receipt arrives (a log cut at midnight puts an MT and its
    -- receipt in different files), so it counts as loaded by the run that loaded the later of the two.
    case
        when receipts.loaded_at > message_rows.loaded_at then receipts.loaded_at else message_rows.loaded_at
    end as loaded_at
from message_rows
left join mapping
    on message_rows.direction = mapping.direction and message_rows.activity_type = mapping.activity_type
left join receipts
    on
        message_rows.activity_id = receipts.activity_id
        and message_rows.carrier_id = receipts.carrier_id
        and message_rows.agent_id = receipts.agent_id
        and message_rows.user_key = receipts.user_key
