-- SPEC §7: every staged message row gets at most one quarantine reason (the first contract
-- rule it breaks, in the order below) or none. Rows sharing a message_id with different
-- content are all quarantined; exact duplicate rows count once (the others are flagged).

with

messages as (
    select * from {{ ref('int_messages_unioned') }}
),

usable_agents as (
    select distinct agent_id from {{ ref('int_agents_checked') }}
    where quarantine_reason is null
),

carriers as (
    select * from {{ ref('carriers') }}
),

fingerprinted as (
    select
        messages.*,
        usable_agents.agent_id is not null as is_known_agent,
        carriers.carrier_id is not null as is_known_carrier,
        concat_ws(
            '|',
            {% for c in ['message_id', 'agent_id', 'user_key', 'carrier_id', 'direction', 'content_kind', 'text',
                         'file_size_bytes_raw', 'suggestions', 'status', 'sent_at_raw', 'delivered_at_raw',
                         'is_tester_raw'] -%}
                coalesce(messages.{{ c }}, '<null>'){% if not loop.last %},{% endif %}
            {% endfor %}
        ) as row_fingerprint
    from messages
    left join usable_agents on messages.agent_id = usable_agents.agent_id
    left join carriers on messages.carrier_id = carriers.carrier_id
),

row_checked as (
    select
        *,
        case
            when parse_error is not null then 'malformed_line'
            when message_id is null or trim(message_id) = '' then 'missing_message_id'
            when agent_id is null or trim(agent_id) = '' then 'missing_agent_id'
            when user_key is null then 'missing_user_id'
            when carrier_id is null or trim(carrier_id) = '' then 'missing_carrier_id'
            when direction is null or direction not in ('MT', 'MO') then 'invalid_direction'
            when
                content_kind is null
                or (direction = 'MT' and content_kind not in ('text', 'file', 'rich_card', 'carousel'))
                or (direction = 'MO' and content_kind not in ('text', 'suggested_reply', 'suggested_action', 'file'))
                then 'invalid_content_kind'
            when
                status is null
                or (direction = 'MT' and status not in ('delivered', 'sent', 'failed', 'revoked'))
                or (direction = 'MO' and status != 'received')
                then 'invalid_status'
            when sent_at_raw is null then 'missing_sent_at'
            when sent_at is null then 'invalid_sent_at'
            when delivered_at_raw is not null and delivered_at is null then 'invalid_delivered_at'
            -- Dates before RCS existed or far in the future are impossible, not late data.
            when
                sent_at < timestamp '2008-01-01' or sent_at >= timestamp '2100-01-01'
                or delivered_at >= timestamp '2100-01-01'
                then 'timestamp_out_of_range'
            when direction = 'MT' and status = 'delivered' and delivered_at is null then 'missing_delivered_at'
            when delivered_at is not null and not (direction = 'MT' and status = 'delivered')
                then 'unexpected_delivered_at'
            when delivered_at < sent_at then 'delivered_before_sent'
            when file_size_bytes_raw is not null and file_size_bytes is null then 'invalid_file_size'
            when file_size_bytes < 0 then 'negative_file_size'
            when direction = 'MO' and suggestions is not null then 'unexpected_suggestions'
            when is_tester_raw is null then 'missing_is_tester'
            when is_tester is null then 'invalid_is_tester'
            when not is_known_agent then 'unknown_agent'
            when not is_known_carrier then 'unknown_carrier'
        end as row_reason
    from fingerprinted
),

duplicates_counted as (
    select
        *,
        count(distinct row_fingerprint) over (partition by message_id) as versions_of_message,
        row_number() over (
            partition by message_id, row_fingerprint order by source_file, source_row
        ) as copy_number
    from row_checked
),

duplicates_flagged as (
    select
        *,
        parse_error is null and message_id is not null and versions_of_message = 1 and copy_number > 1
            as is_exact_duplicate
    from duplicates_counted
)

select
    source_kind,
    source_file,
    source_row,
    message_id,
    agent_id,
    user_key,
    carrier_id,
    direction,
    content_kind,
    text,
    file_size_bytes_raw,
    file_size_bytes,
    suggestions,
    status,
    sent_at_raw,
    sent_at,
    delivered_at_raw,
    delivered_at,
    is_tester_raw,
    is_tester,
    google_billing_event_id,
    parse_error,
    is_exact_duplicate,
    case
        when not is_exact_duplicate
            then coalesce(
                row_reason,
                case when versions_of_message > 1 then 'conflicting_duplicate_message_id' end
            )
    end as quarantine_reason
from duplicates_flagged
