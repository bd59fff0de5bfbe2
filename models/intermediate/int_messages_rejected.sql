-- SPEC §1, §7: the staged message rows that are not billed as read: a row that breaks the contract
-- (its quarantine reason: the first contract rule it breaks, in the order below) or a repeated copy
-- of a valid row (an exact duplicate). Every staged row is checked; only these rows are stored, so a
-- clean file stores (almost) nothing here and the checked rows are never a second wide copy of
-- staging (issue: scale: ~6 s at 10M rows). int_messages_checked puts the verdicts beside every row.
-- The contract is applied strictly to the values as read: a value that is not exactly what SPEC §1
-- allows is quarantined, never repaired or guessed (no trimming, no case folding of enums, no lenient
-- number or date parsing).
-- Rows sharing a message_id with different content are all quarantined; of identical copies of a
-- valid row the first counts and the others are exact duplicates (SPEC §7). A row with no usable
-- message_id is never a duplicate of another: it is quarantined on its own.
--
-- Reason codes (stable; README "Bad input" lists them):
--   too_few_fields, too_many_fields, invalid_quoting, invalid_utf8, malformed_line
--                                  the line is not a CSV record of the 13 contract columns
--                                  (invalid_quoting: a quote left open or followed by more text)
--   empty_row                                     every field empty (a spreadsheet's empty rows)
--   missing_message_id, invalid_message_id       empty / has whitespace or control characters
--   missing_agent_id, invalid_agent_id           empty / has whitespace or control characters
--   missing_user_id, invalid_user_id             empty / has whitespace or control characters
--   missing_carrier_id, invalid_carrier_id       empty / has whitespace or control characters
--   invalid_direction                             not exactly `MT` or `MO`
--   invalid_content_kind                          not a kind of the row's direction (SPEC §1)
--   invalid_status                                not a status of the row's direction (SPEC §1)
--   missing_sent_at, invalid_sent_at             empty / not an ISO 8601 UTC timestamp or no such date
--   invalid_delivered_at                          not an ISO 8601 UTC timestamp or no such date
--   timestamp_out_of_range                        before 2008 or from 2100 on: not a real RBM event time
--   missing_delivered_at                          a delivered MT without delivered_at (SPEC §7)
--   unexpected_delivered_at                       delivered_at on an MO or on an MT not delivered
--   delivered_before_sent                         delivered_at earlier than sent_at (SPEC §7)
--   negative_file_size, invalid_file_size        below zero (SPEC §7) / not a plain non-negative integer
--   unexpected_suggestions                        suggestions on an MO (SPEC §1: MT only)
--   invalid_suggestions                           not a `|`-separated list of lowercase suggestion kinds
--   missing_is_tester, invalid_is_tester         empty / not `true` or `false` (any letter case)
--   unknown_agent                                 agent_id not in the agents file
--   agent_quarantined                             the agent's own agents row is quarantined
--   unknown_carrier                               carrier_id not in the carriers seed
--   conflicting_duplicate_message_id              another row has this message_id with other content


{%- set id_pattern = id_pattern() -%}
{#- SPEC §1 timestamp (UTC): ISO 8601 date and time to the second, optional fraction, optional `Z` or
    offset (converted to UTC) of at most 18 hours, the most Spark's cast reads (an offset of +19:00 was billed on
    DuckDB and quarantined on Spark: Spark audit, twenty-second session); a space for the `T` is accepted
    (Parquet timestamps read as text). -#}
{%- set timestamp_pattern =
    '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]'
    ~ '([.][0-9]{1,9})?(Z|[+-]((0[0-9]|1[0-7])(:?[0-5][0-9])?|18(:?00)?))?' -%}
{%- set suggestions_pattern = '[a-z][a-z0-9_]*([|][a-z][a-z0-9_]*)*' %}

{#- Daily operation: a run checks again only the rows that arrived and the rows sharing a
    message_id with them (the only rows whose duplicate status can change); a new agents file
    means a full rebuild (rbm/state.py). -#}
{{ config(**row_scoped_config()) }}

with

staged as {{ inlined_cte() }} (
    select * from {{ ref('int_messages_unioned') }}
),

agents_checked as (
    select * from {{ ref('int_agents_checked') }}
),

carriers as (
    select * from {{ ref('stg_carriers') }}
),

messages as {{ inlined_cte() }} (
    select * from staged
    {% if is_incremental() %}
        where {{ arrived_in_this_run() }}
            or message_id in (select arrived.message_id from staged as arrived where {{ arrived_in_this_run() }})
    {% endif %}
),

-- SPEC §7 duplicates, from the narrow staged values only: this path never carries the checked
-- rows, so the wide rows are read once and never held whole (100M rows spilled >40 GB otherwise).
repeated_ids as (
    -- Only a message_id that occurs more than once needs its rows compared (SPEC §7).
    select message_id from messages
    where message_id is not null
    group by message_id
    having count(*) > 1
),

-- SPEC §7 "different content" is a different value, not another spelling of it: a timestamp, size or
-- flag that is valid compares by what it means, so that a file sent again as Parquet (its typed
-- timestamps read as `2026-11-01 00:06:04.789+00`, thirteenth session: every row of both copies was
-- quarantined) or one instant written with another offset is an exact duplicate, not a conflict. An
-- invalid value compares as written, marked `~` so that it never equals a valid one: a copy that is
-- valid is never taken for a duplicate of one that is not.
repeated_values as {{ inlined_cte() }} (
    select
        source_file,
        source_row,
        google_billing_event_id,
        message_id,
        agent_id,
        user_key,
        carrier_id,
        direction,
        content_kind,
        text_key,
        suggestions,
        status,
        {{ compared_value('file_size_bytes', 'file_size_bytes_raw',
                          matches_regex('file_size_bytes_raw', '[0-9]+') ~ ' and file_size_bytes is not null') }}
            as file_size_bytes_value,
        {{ compared_value('sent_at', 'sent_at_raw',
                          matches_regex('sent_at_raw', timestamp_pattern) ~ ' and sent_at is not null') }}
            as sent_at_value,
        {{ compared_value('delivered_at', 'delivered_at_raw',
                          matches_regex('delivered_at_raw', timestamp_pattern) ~ ' and delivered_at is not null') }}
            as delivered_at_value,
        {{ compared_value('is_tester', 'is_tester_raw', 'is_tester is not null') }} as is_tester_value
    from messages
    where message_id in (select repeated_ids.message_id from repeated_ids)
),

repeated_rows as (
    select
        source_file,
        source_row,
        google_billing_event_id,
        message_id,
        -- Every contract column (the user and text as their salted keys).
        {{ length_prefixed_fingerprint(
            ['message_id', 'agent_id', 'user_key', 'carrier_id', 'direction', 'content_kind', 'text_key',
             'file_size_bytes_value', 'suggestions', 'status', 'sent_at_value', 'delivered_at_value',
             'is_tester_value']
        ) }} as row_fingerprint
    from repeated_values
),

repeated_counted as (
    select
        source_file,
        source_row,
        message_id,
        {{ count_distinct_over("row_fingerprint", "message_id") }} as versions_of_message,
        -- The copy counted: of exact copies that Google billed in several events (an activity log's
        -- billing_event_id is no contract column), the one of the smallest event id, so that which event keeps
        -- the message does not hang on file names or line order (determinism audit, twenty-fourth session);
        -- then the first by file and line (copies of a message file are alike in every kept value).
        row_number() over (
            partition by message_id, row_fingerprint
            order by
                case when coalesce(google_billing_event_id, '') = '' then 1 else 0 end,
                google_billing_event_id, source_file, source_row
        ) as copy_number
    from repeated_rows
),

-- Which columns the copies of a conflicting message_id differ in, for quarantined_messages' reason_detail (user
-- trial, twenty-first session: two copies differing only in user_id looked alike there, since the user is not
-- shown). Only the conflicting ids (review: grouping every repeated id, a file delivered twice, doubled this
-- model's time); a NULL against a value is a difference.
conflicting_ids as (
    select distinct message_id from repeated_counted
    where versions_of_message > 1
),

differing_columns as (
    select
        message_id,
        concat_ws(
            ', ',
            {%- for column, name in [('agent_id', 'agent_id'), ('user_key', 'user_id'), ('carrier_id', 'carrier_id'),
                                     ('direction', 'direction'), ('content_kind', 'content_kind'), ('text_key', 'text'),
                                     ('file_size_bytes_value', 'file_size_bytes'), ('suggestions', 'suggestions'),
                                     ('status', 'status'), ('sent_at_value', 'sent_at'),
                                     ('delivered_at_value', 'delivered_at'), ('is_tester_value', 'is_tester')] %}
                case
                    when
                        min({{ column }}) != max({{ column }})
                        or (count({{ column }}) > 0 and count({{ column }}) < count(*))
                        then '{{ name }}'
                end{% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as differing_columns
    from repeated_values
    where message_id in (select conflicting_ids.message_id from conflicting_ids)
    group by message_id
),

-- An agent is known when its agents row is usable; an agent whose every row is quarantined is
-- `agent_quarantined` (its messages cannot be billed without its billing_category).
agent_status as (
    select
        agent_id,
        max(case when quarantine_reason is null then 1 else 0 end) = 1 as is_usable
    from agents_checked
    where agent_id is not null
    group by agent_id
),

referenced as (
    select
        messages.*,
        agent_status.agent_id is not null as is_listed_agent,
        coalesce(agent_status.is_usable, false) as is_known_agent,
        carriers.carrier_id is not null as is_known_carrier
    from messages
    left join agent_status on messages.agent_id = agent_status.agent_id
    left join carriers on messages.carrier_id = carriers.carrier_id
),

row_checked as (
    select
        *,
        case
            -- The line is not a record of the contract's columns (the CSV reader's error type).
            {{- malformed_line_reasons() }}
            -- SPEC §1 ids: present, and exactly an id (no padding, no invisible characters). A row without
            -- any field is `empty_row`: the empty rows a spreadsheet left (user_key and text_key are NULL when
            -- blank). Tested only without a message_id, so that a valid row pays nothing for it.
            when message_id is null or {{ is_blank('message_id') }}
                then
                    case
                        when
                            {{ all_blank(['agent_id', 'carrier_id', 'direction', 'content_kind', 'suggestions',
                                          'status', 'sent_at_raw', 'delivered_at_raw', 'file_size_bytes_raw',
                                          'is_tester_raw']) }}
                            and user_key is null and text_key is null
                            then 'empty_row'
                        else 'missing_message_id'
                    end
            when not {{ matches_regex('message_id', id_pattern) }} then 'invalid_message_id'
            when agent_id is null or {{ is_blank('agent_id') }} then 'missing_agent_id'
            when not {{ matches_regex('agent_id', id_pattern) }} then 'invalid_agent_id'
            when user_key is null then 'missing_user_id'
            when user_key like 'invalid:%' then 'invalid_user_id'
            when carrier_id is null or {{ is_blank('carrier_id') }} then 'missing_carrier_id'
            when not {{ matches_regex('carrier_id', id_pattern) }} then 'invalid_carrier_id'
            -- SPEC §1 enums, exactly as written there, and consistent with the direction.
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
            -- SPEC §1 timestamps (UTC): a strict ISO 8601 form that is also a real date and time.
            when sent_at_raw is null then 'missing_sent_at'
            when not {{ matches_regex('sent_at_raw', timestamp_pattern) }} or sent_at is null then 'invalid_sent_at'
            when
                delivered_at_raw is not null
                and (not {{ matches_regex('delivered_at_raw', timestamp_pattern) }} or delivered_at is null)
                then 'invalid_delivered_at'
            -- Before RCS business messaging existed, or absurdly far ahead: impossible, not late data.
            when
                sent_at < timestamp '2008-01-01' or sent_at >= timestamp '2100-01-01'
                or delivered_at < timestamp '2008-01-01' or delivered_at >= timestamp '2100-01-01'
                then 'timestamp_out_of_range'
            -- SPEC §1, §2, §7: delivered_at belongs to a delivered MT, and follows its sent_at.
            when direction = 'MT' and status = 'delivered' and delivered_at is null then 'missing_delivered_at'
            when delivered_at is not null and not (direction = 'MT' and status = 'delivered')
                then 'unexpected_delivered_at'
            when delivered_at < sent_at then 'delivered_before_sent'
            -- SPEC §1 file_size_bytes: integer, null; SPEC §7: never negative.
            when file_size_bytes_raw is not null and {{ matches_regex('file_size_bytes_raw', '-[0-9]*[1-9][0-9]*') }}
                then 'negative_file_size'
            when
                file_size_bytes_raw is not null
                and (not {{ matches_regex('file_size_bytes_raw', '[0-9]+') }} or file_size_bytes is null)
                then 'invalid_file_size'
            -- SPEC §1 suggestions: MT only, `|`-separated kinds.
            when direction = 'MO' and suggestions is not null then 'unexpected_suggestions'
            when suggestions is not null and not {{ matches_regex('suggestions', suggestions_pattern) }}
                then 'invalid_suggestions'
            -- SPEC §1 is_tester: boolean.
            when is_tester_raw is null then 'missing_is_tester'
            when lower(is_tester_raw) not in ('true', 'false') then 'invalid_is_tester'
            -- References: the agents file (SPEC §1) and the carriers seed.
            when not is_listed_agent then 'unknown_agent'
            when not is_known_agent then 'agent_quarantined'
            when not is_known_carrier then 'unknown_carrier'
        end as row_reason
    from referenced
),

duplicates_counted as (
    select
        row_checked.*,
        coalesce(repeated_counted.versions_of_message, 1) as versions_of_message,
        coalesce(repeated_counted.copy_number, 1) as copy_number
    from row_checked
    left join repeated_counted
        on
            row_checked.message_id is not null
            and row_checked.source_file = repeated_counted.source_file
            and row_checked.source_row = repeated_counted.source_row
),

duplicates_flagged as (
    select
        *,
        -- Only a copy of a valid row is a duplicate; every copy of a bad row is quarantined, and rows
        -- without a message_id (NULL partition) always have a row_reason, so they never collapse.
        row_reason is null and versions_of_message = 1 and copy_number > 1 as is_exact_duplicate
    from duplicates_counted
),

verdicts as (
    select
        source_kind,
        source_file,
        source_row,
        message_id,
        is_exact_duplicate,
        case
            when not is_exact_duplicate
                then coalesce(
                    row_reason,
                    case when versions_of_message > 1 then 'conflicting_duplicate_message_id' end
                )
        end as quarantine_reason
    from duplicates_flagged
),

set_aside as (
    select * from verdicts
    where quarantine_reason is not null or is_exact_duplicate
)

-- Only the rows set aside are stored: every other row is valid (int_messages_checked).
select
    set_aside.*,
    case
        when set_aside.quarantine_reason = 'conflicting_duplicate_message_id' then differing_columns.differing_columns
    end as differing_columns
from set_aside
left join differing_columns on set_aside.message_id = differing_columns.message_id
