-- SPEC §7: an agents file whose every row is quarantined would quarantine every message
-- (agent_quarantined) and, on a full build, remove every report file, final ones included: a wrong
-- file, not a day without agents. Failing here stops the build before any model that reads the
-- agents, so the billing tables keep the previous run's rows (rpt_restatements then compares with
-- them) and scripts/rbm.py names the reasons (README "Bad input").
-- No rows at all is stopped earlier, by the run's input checks (rbm/inputs.py).

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
where agent_rows > 0 and usable_rows = 0
