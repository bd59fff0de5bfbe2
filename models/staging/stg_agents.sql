{{
    config(
        pre_hook="{{ load_raw_files('rbm_raw_agents', run_input('agents_path'), agents_contract_columns()) }}",
        post_hook="{{ drop_raw_files('rbm_raw_agents') }}",
    )
}}

-- SPEC §1 agents: one row per input line, lines that did not parse included (parse_error).

with

raw_agents as (
    select * from rbm_raw_agents
),

raw_rejects as (
    select * from rbm_raw_agents_rejects
),

parsed as (
    select
        source_file,
        source_row,
        cast(null as string) as parse_error,
        agent_id,
        agent_name,
        agent_owner,
        owner_name,
        billing_category
    from raw_agents
),

rejected_lines as (
    select
        source_file,
        source_row,
        error_message as parse_error,
        cast(null as string) as agent_id,
        cast(null as string) as agent_name,
        cast(null as string) as agent_owner,
        cast(null as string) as owner_name,
        cast(null as string) as billing_category
    from raw_rejects
)

select * from parsed
union all
select * from rejected_lines
