-- SPEC §7, §8: every input message row that breaks the contract, with its reason code and the
-- values as read. The user_id is never kept (SPEC §1, PII): only whether one was present; a value that may be
-- personal data (a user_id or a text a broken row shifted there) is masked (macro shown_in_quarantine).

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
    {{ shown_in_quarantine('quarantined.message_id', 'id') }} as message_id,
    quarantined.quarantine_reason as reason,
    -- The line that did not parse (CSV parser's message); for an activity-log MT quarantined for its delivery
    -- time, the receipt it comes from (SPEC §9), where the bad value is; for a conflicting copy (SPEC §7), the
    -- columns it differs in.
    coalesce(
        staged.parse_error,
        case
            when
                quarantined.quarantine_reason in (
                    'missing_delivered_at', 'invalid_delivered_at', 'delivered_before_sent'
                )
                then staged.delivery_receipt
        end,
        'differs from another copy in: ' || quarantined.differing_columns
    ) as reason_detail,
    quarantined.source_kind,
    quarantined.source_file,
    quarantined.source_row,
    {{ shown_in_quarantine('staged.agent_id', 'agent_id') }} as agent_id,
    staged.user_key is not null as has_user_id,
    {{ shown_in_quarantine('staged.carrier_id', 'id') }} as carrier_id,
    {{ shown_in_quarantine('staged.direction', 'value') }} as direction,
    {{ shown_in_quarantine('staged.content_kind', 'value') }} as content_kind,
    {{ shown_in_quarantine('staged.file_size_bytes_raw', 'size') }} as file_size_bytes,
    {{ shown_in_quarantine('staged.suggestions', 'value') }} as suggestions,
    {{ shown_in_quarantine('staged.status', 'value') }} as status,
    {{ shown_in_quarantine('staged.sent_at_raw', 'time') }} as sent_at,
    {{ shown_in_quarantine('staged.delivered_at_raw', 'time') }} as delivered_at,
    {{ shown_in_quarantine('staged.is_tester_raw', 'value') }} as is_tester,
    staged.loaded_at
from quarantined
left join staged
    on
        quarantined.source_kind = staged.source_kind
        and quarantined.source_file = staged.source_file
        and quarantined.source_row = staged.source_row
