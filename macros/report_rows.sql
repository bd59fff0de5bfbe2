{#- SPEC §6: the report's columns, in order. -#}
{% macro report_columns() %}
    {{ return(['billing_event_id', 'type', 'agent_id', 'agent_owner', 'billing_party',
               'max_duration_single_message', 'max_duration_a2p_conversation', 'max_duration_p2a_conversation',
               'start_time', 'duration', 'mt_messages', 'mo_messages', 'size_kilobytes', 'agent_name',
               'owner_name', 'segment_count', 'session_type']) }}
{% endmacro %}

{#- Fingerprint of one report row (MD5, dbt's cross-database hash, of the length-prefixed values: a change
    detector, not a secret; no '|' inside a name can make two different rows alike). Computed by int_report_restatements
    on the rows it compares only, never stored (issue: scale: ~3 s at 10M rows). -#}
{% macro report_row_fingerprint() -%}
    {%- set values = [] -%}
    {%- for column in report_columns() -%}
        {%- do values.append("cast(" ~ column ~ " as string)") -%}
    {%- endfor -%}
    {{ dbt.hash(length_prefixed_fingerprint(values)) }}
{%- endmacro %}

{#- SPEC §6: the report rows of the billed messages in CTE `billed` (fct_billable_messages rows), with the
    carrier and generation date that decide their file. Shared by
    fct_report_rows (the rows it stores) and int_report_restatements (the same rows, computed before
    fct_report_rows replaces the previous run's, to compare them). Renders CTEs ending in
    `report_rows`; `agents` is a CTE of the usable agents rows. -#}
{% macro report_rows_ctes(billed, agents) %}
report_grain as (
    select * from {{ billed }}
    where billing_model = 'us' or message_id = first_message_id
),

report_rows as (
    select
        report_grain.stream_key,
        report_grain.carrier_id,
        {{ report_generation_date('report_grain.event_first_at') }} as generation_date,
        report_grain.stream_seq,
        report_grain.event_first_at,
        report_grain.billing_event_id,
        -- SPEC §6 names this column `type`.
        case when report_grain.billing_model = 'us' then report_grain.message_type else report_grain.event_type end
            as type,  -- noqa: RF04
        report_grain.agent_id,
        {{ agents }}.agent_owner,
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
        {{ agents }}.agent_name,
        {{ agents }}.owner_name,
        report_grain.segment_count,
        case
            when report_grain.billing_model = 'us' and report_grain.is_grouped then report_grain.event_type
        end as session_type
    from report_grain
    inner join {{ agents }} on report_grain.agent_id = {{ agents }}.agent_id
)
{% endmacro %}

{#- When the report file of date G of a carrier is final: once the carrier's newest data reaches this time (README
    "Daily operation"). US (SPEC §4): a session covers 24 h from its trigger, which starts its event on G - 2, so
    from G on. Global (SPEC §5): a conversation starts at its first message on G - 2, but its 24 h window opens at
    the reply, up to 24 h later: it can take in messages until the end of day G, so from G + 1 on. Shared by the
    manifest (rpt_report_files) and the restatement log, which tells a late file from a carrier's first. -#}
{#- SPEC §6 Decision: the report file of generation date G holds the events starting on G - 2 (UTC days), so an
    event starting at `event_first_at` lands in the file of that day + 2: a date, and as the file names it
    (YYYY-MM-DD). -#}
{% macro report_generation_day(event_first_at) -%}
    cast(cast({{ event_first_at }} as date) + interval '2' day as date)
{%- endmacro %}

{% macro report_generation_date(event_first_at) -%}
    {{ format_iso_date(report_generation_day(event_first_at)) }}
{%- endmacro %}

{% macro report_file_final_from_at(generation_date, billing_model) -%}
    case
        when {{ billing_model }} = 'global'
            then {{ dbt.dateadd('day', 1, 'cast(' ~ generation_date ~ ' as timestamp)') }}
        else cast({{ generation_date }} as timestamp)
    end
{%- endmacro %}
