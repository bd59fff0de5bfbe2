{{ config(**stream_scoped_config('event_first_at')) }}

-- SPEC §6: the rows of the carrier report, with the carrier and generation date that decide
-- the file each lands in. US: one row per billed message, session rows carrying the session's
-- totals. Global: one row per event.

with

all_billed as (
    select * from {{ ref('fct_billable_messages') }}
),

billed as (
    {{ select_recomputed_rows('all_billed', 'event_first_at') }}
),

agents as (
    select * from {{ ref('int_agents_checked') }}
    where quarantine_reason is null and not is_exact_duplicate
),

report_grain as (
    select * from billed
    where billing_model = 'us' or message_id = first_message_id
),

report_rows as (
    select
        report_grain.stream_key,
        report_grain.carrier_id,
        -- SPEC §6 Decision: the file of generation date G holds the events starting on G - 2.
        {{ format_iso_date("cast(report_grain.event_first_at as date) + interval '2' day") }} as generation_date,
        report_grain.stream_seq,
        report_grain.event_first_at,
        report_grain.billing_event_id,
        -- SPEC §6 names this column `type`.
        case when report_grain.billing_model = 'us' then report_grain.message_type else report_grain.event_type end
            as type,  -- noqa: RF04
        report_grain.agent_id,
        agents.agent_owner,
        'carrier' as billing_party,
        {{ var('session_window_hours') }} as max_duration_single_message,
        {{ var('session_window_hours') }} as max_duration_a2p_conversation,
        {{ var('session_window_hours') }} as max_duration_p2a_conversation,
        {{ format_utc_hour('report_grain.event_first_at') }} as start_time,
        {{ duration_minutes('report_grain.event_first_at', 'report_grain.event_last_at') }} as duration,
        report_grain.event_mt_messages as mt_messages,
        report_grain.event_mo_messages as mo_messages,
        case
            when report_grain.billing_model = 'us' then report_grain.size_kilobytes
            else report_grain.event_size_kilobytes
        end as size_kilobytes,
        agents.agent_name,
        agents.owner_name,
        report_grain.segment_count,
        case
            when report_grain.billing_model = 'us' and report_grain.is_grouped then report_grain.event_type
        end as session_type
    from report_grain
    inner join agents on report_grain.agent_id = agents.agent_id
),

fingerprinted as (
    select
        *,
        -- Change detector of the printed line, for the restatement log (rpt_restatements).
        {{ report_row_fingerprint() }} as row_fingerprint
    from report_rows
)

select * from fingerprinted
