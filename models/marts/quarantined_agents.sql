-- SPEC §7: every agents row that breaks the contract, with its reason code and values as read.
-- Messages of a quarantined agent are quarantined as agent_quarantined.

with

checked as (
    select * from {{ ref('int_agents_checked') }}
    where quarantine_reason is not null
)

select
    agent_id,
    quarantine_reason as reason,
    parse_error as reason_detail,
    source_file,
    source_row,
    agent_name,
    agent_owner,
    owner_name,
    billing_category,
    {{ run_started() }} as loaded_at
from checked
