{#- Pieces of the contract checks shared by int_messages_rejected and int_agents_checked (SPEC §7). -#}

{#- An id: no whitespace, no control, format or unassigned characters anywhere (RE2 on DuckDB,
    Java regex on Spark). -#}
{% macro id_pattern() %}{{ return(adapter.dispatch('id_pattern', 'rbm_billing')()) }}{% endmacro %}
{% macro default__id_pattern() %}{{ return('[^\\pC\\pZ[:space:]]+') }}{% endmacro %}
{% macro spark__id_pattern() %}{{ return('[^\\\\p{C}\\\\p{Z}\\\\s]+') }}{% endmacro %}

{#- The first `when` branches of a row's reason: a line that is not a CSV record of the contract's
    columns, by the CSV reader's error type. -#}
{% macro malformed_line_reasons(parse_error='parse_error') %}
            when {{ parse_error }} like 'MISSING COLUMNS%' then 'too_few_fields'
            when {{ parse_error }} like 'TOO MANY COLUMNS%' then 'too_many_fields'
            when {{ parse_error }} like 'UNQUOTED VALUE%' or {{ parse_error }} like 'SWALLOWED LINES%' then 'invalid_quoting'
            when {{ parse_error }} like 'INVALID ENCODING%' or {{ parse_error }} like 'INVALID UNICODE%' then 'invalid_utf8'
            when {{ parse_error }} is not null then 'malformed_line'
{% endmacro %}

{#- SPEC §2, §7: a quoted value that spans lines and holds at least as many separators as a whole record of
    `columns` columns is taken for lines that two stray quotes (one left open, one further down) joined into one
    value: the CSV reader cannot tell, and billing it would bill other rows' fields as its bytes while the lines
    in between vanish. The row is quarantined as invalid_quoting instead (README "Bad input"). -#}
{% macro swallowed_lines_error(value, columns) -%}
    case
        when
            (position(chr(10) in {{ value }}) > 0 or position(chr(13) in {{ value }}) > 0)
            and length({{ value }}) - length(replace({{ value }}, ',', '')) >= {{ columns - 1 }}
            then 'SWALLOWED LINES: a quoted value spans lines and holds {{ columns - 1 }} or more commas, as many as a '
            || 'whole line: a stray quote may have joined lines into it'
    end
{%- endmacro %}

{#- SPEC §7: a value as duplicates compare it (int_messages_rejected): a valid one by what it means (`typed` as
    text), an invalid one as written, marked `~` so that it never equals a valid one. -#}
{% macro compared_value(typed, raw, is_valid) -%}
    case when {{ is_valid }} then cast({{ typed }} as string) else '~' || {{ raw }} end
{%- endmacro %}

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
