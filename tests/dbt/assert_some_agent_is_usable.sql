-- SPEC §7: an agents file whose every row is quarantined would quarantine every message
-- (agent_quarantined) and remove every published report file, final ones included: a wrong file,
-- not a day without agents. On a database with published reports, failing here stops the build
-- before any model that reads the agents, so the billing tables keep the previous run's rows
-- (rpt_restatements then compares with them) and scripts/rbm.py names the reasons (README "Bad input").
-- On a first build there is nothing to protect: the run carries on and quarantines (SPEC §7: a run
-- never fails on bad rows). No rows at all is stopped earlier, by the run's input checks (rbm/inputs.py).

{%- set published = adapter.get_relation(
    database=target.database, schema=target.schema, identifier='fct_report_rows'
) if execute else none %}

with

agents as (
    select * from {{ ref('int_agents_checked') }}
),

counted as (
    select
        count(*) as agent_rows,
        count(case when quarantine_reason is null and not is_exact_duplicate then 1 end) as usable_rows
    from agents
)

select * from counted
where
    agent_rows > 0
    and usable_rows = 0
    and {{ 'false' if published is none else 'true' }}
