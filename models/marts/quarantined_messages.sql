-- SPEC §7, §8: every input message row that breaks the contract, with its reason code and the
-- values as read. The user_id is never kept (SPEC §1, PII): only whether one was present.

with

quarantined as (
    select * from {{ ref('int_messages_rejected') }}
    where quarantine_reason is not null
),

-- The values as read come from staging: a row is one (source_kind, source_file, source_row).
staged as (
    select * from {{ ref('int_messages_unioned') }}
)

select
    quarantined.message_id,
    quarantined.quarantine_reason as reason,
    -- The line that did not parse (CSV parser's message); for an activity-log MT quarantined for its delivery
    -- time, the receipt it comes from (SPEC §9), where the bad value is.
    coalesce(
        staged.parse_error,
        case
            when
                quarantined.quarantine_reason in (
                    'missing_delivered_at', 'invalid_delivered_at', 'delivered_before_sent'
                )
                then staged.delivery_receipt
        end
    ) as reason_detail,
    quarantined.source_kind,
    quarantined.source_file,
    quarantined.source_row,
    staged.agent_id,
    staged.user_key is not null as has_user_id,
    staged.carrier_id,
    staged.direction,
    staged.content_kind,
    staged.file_size_bytes_raw as file_size_bytes,
    staged.suggestions,
    staged.status,
    staged.sent_at_raw as sent_at,
    staged.delivered_at_raw as delivered_at,
    staged.is_tester_raw as is_tester,
    staged.loaded_at
from quarantined
left join staged
    on
        quarantined.source_kind = staged.source_kind
        and quarantined.source_file = staged.source_file
        and quarantined.source_row = staged.source_row
