{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ load_raw_files('rbm_raw_messages', files_not_yet_loaded(run_input('messages_path')), messages_contract_columns()) }}",
        post_hook="{{ drop_raw_files('rbm_raw_messages') }}",
    )
}}

-- SPEC §1 messages: rename, cast, parse. Each input line is one row here, lines that did not
-- parse included (parse_error), so that nothing is dropped silently (SPEC §2, §7).
-- user_id leaves this model only as a salted pseudonymous key (SPEC §1, PII), also when a broken row shifted
-- it into another column (macro masked_if_user_id_shaped, README decision 13). The message text
-- is not kept either (it may hold personal data): only its UTF-8 byte length, which is all the
-- rules use (SPEC §3, §5), and a salted key of it to tell duplicates apart (SPEC §7).
-- Incremental (SPEC §8): a run reads only the files this table does not hold yet.

with

raw_messages as (
    select * from rbm_raw_messages
),

raw_rejects as (
    select * from rbm_raw_messages_rejects
),

parsed as (
    select
        source_file,
        source_row,
        {{ swallowed_lines_error('text', messages_contract_columns() | length) }} as parse_error,
        message_id,
        {{ masked_if_user_id_shaped('agent_id', bare_digits=true) }} as agent_id,
        {{ user_key('user_id') }} as user_key,
        {{ masked_if_user_id_shaped('carrier_id', bare_digits=true) }} as carrier_id,
        {{ masked_if_user_id_shaped('direction', bare_digits=true, tokens=true) }} as direction,
        {{ masked_if_user_id_shaped('content_kind', bare_digits=true, tokens=true) }} as content_kind,
        {{ utf8_byte_length('text') }} as text_bytes,
        {{ pseudonymous_key('text') }} as text_key,
        {{ masked_if_user_id_shaped('file_size_bytes', tokens=true) }} as file_size_bytes_raw,
        try_cast({{ masked_if_user_id_shaped('file_size_bytes', tokens=true) }} as bigint) as file_size_bytes,
        {{ masked_if_user_id_shaped('suggestions', bare_digits=true, tokens='names') }} as suggestions,
        {{ masked_if_user_id_shaped('status', bare_digits=true, tokens=true) }} as status,
        {{ masked_if_user_id_shaped('sent_at', bare_digits=true, tokens=true) }} as sent_at_raw,
        {{ try_parse_utc_timestamp('sent_at') }} as sent_at,
        {{ masked_if_user_id_shaped('delivered_at', bare_digits=true, tokens=true) }} as delivered_at_raw,
        {{ try_parse_utc_timestamp('delivered_at') }} as delivered_at,
        {{ masked_if_user_id_shaped('is_tester', bare_digits=true, tokens=true) }} as is_tester_raw,
        -- SPEC §1 boolean: `true` / `false` in any case; anything else is NULL here and quarantined
        -- (int_messages_rejected: invalid_is_tester), never read as a guess.
        case lower(is_tester)
            when 'true' then true
            when 'false' then false
        end as is_tester
    from raw_messages
),

rejected_lines as (
    select
        source_file,
        source_row,
        error_message as parse_error,
        {% for c in ['message_id', 'agent_id', 'user_key', 'carrier_id', 'direction', 'content_kind'] -%}
            cast(null as string) as {{ c }},
        {% endfor -%}
        cast(null as bigint) as text_bytes,
        cast(null as string) as text_key,
        cast(null as string) as file_size_bytes_raw,
        cast(null as bigint) as file_size_bytes,
        cast(null as string) as suggestions,
        cast(null as string) as status,
        cast(null as string) as sent_at_raw,
        cast(null as timestamp) as sent_at,
        cast(null as string) as delivered_at_raw,
        cast(null as timestamp) as delivered_at,
        cast(null as string) as is_tester_raw,
        cast(null as boolean) as is_tester
    from raw_rejects
),

all_lines as (
    select * from parsed
    union all
    select * from rejected_lines
)

select
    *,
    'messages' as source_kind,
    {{ run_started() }} as loaded_at
from all_lines
