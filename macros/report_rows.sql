{#- SPEC §6: the report's columns, in order. -#}
{% macro report_columns() %}
    {{ return(['billing_event_id', 'type', 'agent_id', 'agent_owner', 'billing_party',
               'max_duration_single_message', 'max_duration_a2p_conversation', 'max_duration_p2a_conversation',
               'start_time', 'duration', 'mt_messages', 'mo_messages', 'size_kilobytes', 'agent_name',
               'owner_name', 'segment_count', 'session_type']) }}
{% endmacro %}

{#- Fingerprint of one report row (MD5, dbt's cross-database hash: a change detector, not a secret). -#}
{% macro report_row_fingerprint() -%}
    {%- set parts = [] -%}
    {%- for column in report_columns() -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as string), '<null>')") -%}
    {%- endfor -%}
    {{ dbt.hash("concat_ws('|', " ~ parts | join(', ') ~ ")") }}
{%- endmacro %}
