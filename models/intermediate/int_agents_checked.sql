-- SPEC §1, §7: an agent row is usable when it has an id, a known billing category, and no
-- other row claims the same agent_id with different content. Exact duplicates count once.

with

agents as (
    select * from {{ ref('stg_agents') }}
),

fingerprinted as (
    select
        *,
        concat_ws(
            '|', coalesce(agent_id, '<null>'), coalesce(agent_name, '<null>'), coalesce(agent_owner, '<null>'),
            coalesce(owner_name, '<null>'), coalesce(billing_category, '<null>')
        ) as row_fingerprint
    from agents
),

counted as (
    select
        *,
        count(distinct row_fingerprint) over (partition by agent_id) as versions_of_agent,
        row_number() over (
            partition by agent_id, row_fingerprint order by source_file, source_row
        ) as copy_number
    from fingerprinted
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
        when parse_error is not null then 'malformed_line'
        when agent_id is null or trim(agent_id) = '' then 'missing_agent_id'
        when billing_category is null then 'missing_billing_category'
        when billing_category not in ('conversational', 'non_conversational') then 'unknown_billing_category'
        when versions_of_agent > 1 then 'conflicting_duplicate_agent_id'
    end as quarantine_reason,
    parse_error,
    parse_error is null and copy_number > 1 and versions_of_agent = 1 as is_exact_duplicate
from counted
