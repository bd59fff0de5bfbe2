{{ config(materialized='view') }}

-- SPEC §1, §7: every staged message row with its verdict: at most one quarantine reason and whether
-- it is an exact duplicate of an earlier row (both from int_messages_rejected, which stores only the
-- rows set aside); a row not found there is valid. One row per input row: a left join on the row's
-- identity (source kind, file, line), unique in both.

with

staged as (
    select * from {{ ref('int_messages_unioned') }}
),

rejected as (
    select * from {{ ref('int_messages_rejected') }}
)

select
    staged.source_kind,
    staged.source_file,
    staged.source_row,
    staged.message_id,
    staged.agent_id,
    staged.user_key,
    staged.carrier_id,
    staged.direction,
    staged.content_kind,
    staged.text_bytes,
    staged.file_size_bytes,
    staged.suggestions,
    staged.status,
    staged.sent_at,
    staged.delivered_at,
    staged.is_tester,
    staged.google_billing_event_id,
    staged.loaded_at,
    coalesce(rejected.is_exact_duplicate, false) as is_exact_duplicate,
    rejected.quarantine_reason
from staged
left join rejected
    on
        staged.source_kind = rejected.source_kind
        and staged.source_file = rejected.source_file
        and staged.source_row = rejected.source_row
