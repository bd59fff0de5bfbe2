-- SPEC §7, §8: every input message row that breaks the contract, with its reason code and the
-- values as read. The user_id is never kept (SPEC §1, PII): only whether one was present.

with

checked as (
    select * from {{ ref('int_messages_checked') }}
    where quarantine_reason is not null
)

select
    message_id,
    quarantine_reason as reason,
    parse_error as reason_detail,
    source_kind,
    source_file,
    source_row,
    agent_id,
    user_key is not null as has_user_id,
    carrier_id,
    direction,
    content_kind,
    file_size_bytes_raw as file_size_bytes,
    suggestions,
    status,
    sent_at_raw as sent_at,
    delivered_at_raw as delivered_at,
    is_tester_raw as is_tester,
    loaded_at
from checked
