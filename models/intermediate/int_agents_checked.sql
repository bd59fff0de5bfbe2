-- SPEC §1, §7: an agent row is usable when every column of the agents contract holds exactly what
-- SPEC §1 allows and no other row claims the same agent_id with different content (then all the
-- rows of that agent_id are quarantined). Of identical copies of a valid row the first counts and
-- the others are exact duplicates. Messages of an agent without a usable row are quarantined
-- (int_messages_checked: `agent_quarantined`).
--
-- Reason codes (stable; README "Bad input" lists them):
--   too_few_fields, too_many_fields, invalid_quoting, invalid_utf8, malformed_line
--                                   the line is not a CSV record of the 5 contract columns
--                                   (invalid_quoting: a quote left open or followed by more text)
--   empty_row                                      every field empty (a spreadsheet's empty rows)
--   missing_agent_id, invalid_agent_id            empty / has whitespace or control characters, or is a
--                                                  phone number's 7 to 15 digits (README decision 13)
--   missing_agent_name                             no visible character (the report carries it, SPEC §6)
--   missing_agent_owner, invalid_agent_owner      empty / not an e-mail address (SPEC §1)
--   missing_owner_name                             no visible character (the report carries it, SPEC §6)
--   missing_billing_category, unknown_billing_category
--                                   empty / not exactly `conversational` or `non_conversational`
--   conflicting_duplicate_agent_id                 another row has this agent_id with other content


{%- set id_pattern = id_pattern() -%}
{#- An e-mail address: one `@`, no spaces, a dot in the domain. -#}
{%- set email_pattern = '[^@ ]+@[^@ .]+([.][^@ .]+)+' %}

with

agents as (
    select * from {{ ref('stg_agents') }}
),

fingerprinted as (
    select
        *,
        {{ length_prefixed_fingerprint(agents_contract_columns()) }} as row_fingerprint
    from agents
),

row_checked as (
    select
        *,
        case
            {{- malformed_line_reasons() }}
            when {{ all_blank(agents_contract_columns()) }} then 'empty_row'
            when agent_id is null or {{ is_blank('agent_id') }} then 'missing_agent_id'
            when not {{ matches_regex('agent_id', id_pattern) }} then 'invalid_agent_id'
            -- README decision 13: staging masks such an id in messages, so none could ever be billed to it.
            when {{ matches_regex('agent_id', phone_number_pattern(bare_digits=true)) }} then 'invalid_agent_id'
            -- The report carries the names (SPEC §6): at least one visible character.
            when agent_name is null or not {{ has_visible_character('agent_name') }} then 'missing_agent_name'
            when agent_owner is null or {{ is_blank('agent_owner') }} then 'missing_agent_owner'
            when not {{ matches_regex('agent_owner', email_pattern) }} then 'invalid_agent_owner'
            when owner_name is null or not {{ has_visible_character('owner_name') }} then 'missing_owner_name'
            when billing_category is null then 'missing_billing_category'
            when billing_category not in ('conversational', 'non_conversational') then 'unknown_billing_category'
        end as row_reason
    from fingerprinted
),

duplicates_counted as (
    select
        *,
        {{ count_distinct_over("row_fingerprint", "agent_id") }} as versions_of_agent,
        row_number() over (
            partition by agent_id, row_fingerprint order by source_file, source_row
        ) as copy_number
    from row_checked
),

duplicates_flagged as (
    select
        *,
        -- Only a copy of a valid row is a duplicate; rows without an agent_id always have a reason.
        row_reason is null and versions_of_agent = 1 and copy_number > 1 as is_exact_duplicate
    from duplicates_counted
)

select
    source_file,
    source_row,
    agent_id,
    agent_name,
    agent_owner,
    owner_name,
    billing_category,
    case
        when not is_exact_duplicate
            then coalesce(row_reason, case when versions_of_agent > 1 then 'conflicting_duplicate_agent_id' end)
    end as quarantine_reason,
    parse_error,
    is_exact_duplicate
from duplicates_flagged
