{#- Pieces of the contract checks shared by int_messages_rejected and int_agents_checked (SPEC §7). -#}

{#- An id: no whitespace, no control, format or unassigned characters anywhere (RE2 on DuckDB,
    Java regex on Spark). -#}
{% macro id_pattern() %}
    {%- if target.type == 'spark' -%}
        {{ return('[^\\\\p{C}\\\\p{Z}\\\\s]+') }}
    {%- else -%}
        {{ return('[^\\pC\\pZ[:space:]]+') }}
    {%- endif -%}
{% endmacro %}

{#- The first `when` branches of a row's reason: a line that is not a CSV record of the contract's
    columns, by the CSV reader's error type. -#}
{% macro malformed_line_reasons(parse_error='parse_error') %}
            when {{ parse_error }} like 'MISSING COLUMNS%' then 'too_few_fields'
            when {{ parse_error }} like 'TOO MANY COLUMNS%' then 'too_many_fields'
            when {{ parse_error }} like 'UNQUOTED VALUE%' then 'invalid_quoting'
            when {{ parse_error }} like 'INVALID ENCODING%' or {{ parse_error }} like 'INVALID UNICODE%' then 'invalid_utf8'
            when {{ parse_error }} is not null then 'malformed_line'
{% endmacro %}

{#- SPEC §7: a fingerprint of a row's values to tell exact copies from conflicting ones. Length-prefixed, so
    two rows have the same fingerprint only when every value is equal (no separator inside a value can make
    two different rows alike; a NULL is '-', unlike any prefixed value). `relation` qualifies the columns. -#}
{% macro length_prefixed_fingerprint(columns, relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    concat_ws(
        '|',
        {% for c in columns -%}
            coalesce(cast(length({{ prefix }}{{ c }}) as string) || ':' || {{ prefix }}{{ c }}, '-')
            {%- if not loop.last %},{% endif %}
        {% endfor %}
    )
{%- endmacro %}
