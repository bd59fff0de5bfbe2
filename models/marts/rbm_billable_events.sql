{{ config(materialized='view') }}

-- SPEC §6: the carrier billing report, column for column (an enforced contract on a view: the
-- rows are stored once, in fct_report_rows).

with

report_rows as (
    select * from {{ ref('fct_report_rows') }}
)

select
    billing_event_id,
    type,
    agent_id,
    agent_owner,
    billing_party,
    max_duration_single_message,
    max_duration_a2p_conversation,
    max_duration_p2a_conversation,
    start_time,
    duration,
    mt_messages,
    mo_messages,
    size_kilobytes,
    agent_name,
    owner_name,
    segment_count,
    session_type
from report_rows
