{#- Pieces of the contract checks shared by int_messages_rejected and int_agents_checked (SPEC §7). -#}

{#- An id: no whitespace, no control, format, private-use or surrogate characters anywhere (RE2 on
    DuckDB, Java regex on Spark). -#}
{% macro id_pattern() %}{{ return(visible_character() ~ '+') }}{% endmacro %}

{#- One character that is not a space, a line break or an invisible one (a control, format, private-use or
    surrogate character). Not "unassigned" (Cn): which characters are unassigned depends on each engine's Unicode
    version, and Java 17 (Unicode 13) took a newer emoji (U+1F979) for one, so an id with it was invalid on Spark
    only (Spark audit, twenty-second session; README "Spark"). -#}
{% macro visible_character() %}{{ return(adapter.dispatch('visible_character', 'rbm_billing')()) }}{% endmacro %}
{% macro default__visible_character() %}{{ return('[^\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}\\pZ[:space:]]') }}{% endmacro %}
{% macro spark__visible_character() %}{{ return('[^\\\\p{Cc}\\\\p{Cf}\\\\p{Co}\\\\p{Cs}\\\\p{Z}\\\\s]') }}{% endmacro %}

{#- A value holding at least one character that is not a space, a line break or an invisible one (a name of
    no-break spaces only is missing; an agents file is small, so the pattern's cost does not matter). -#}
{% macro has_visible_character(expr) -%}
    {{ matches_regex(expr, '(?s).*' ~ visible_character() ~ '.*') }}
{%- endmacro %}

{#- The first `when` branches of a row's reason: a line that is not a CSV record of the contract's
    columns, by the CSV reader's error type. -#}
{% macro malformed_line_reasons(parse_error='parse_error') %}
            when {{ parse_error }} like 'MISSING COLUMNS%' then 'too_few_fields'
            when {{ parse_error }} like 'TOO MANY COLUMNS%' then 'too_many_fields'
            when {{ parse_error }} like 'UNQUOTED VALUE%' or {{ parse_error }} like 'SWALLOWED LINES%' then 'invalid_quoting'
            when {{ parse_error }} like 'INVALID ENCODING%' or {{ parse_error }} like 'INVALID UNICODE%' then 'invalid_utf8'
            when {{ parse_error }} is not null then 'malformed_line'
{% endmacro %}

{#- A record whose every field is empty: a spreadsheet saves the empty rows at the end of a sheet as `,,,,`. Its
    reason says so (`empty_row`), not which column happens to be checked first (user trial, seventeenth session).
    `columns`: the row's values as read, each NULL or blank when the field was empty. -#}
{% macro all_blank(columns) -%}
    {%- for column in columns %}({{ column }} is null or {{ is_blank(column) }}){% if not loop.last %} and {% endif %}{% endfor -%}
{%- endmacro %}

{#- Empty or ASCII spaces only (NULL stays NULL), the same on both engines: DuckDB's one-argument trim also removes
    Unicode spaces (U+00A0, U+3000, …), Spark's only ASCII spaces, so both trim the ASCII space alone (macro
    trim_spaces; a value of U+00A0 is not blank: an id of it is invalid_*, not missing_*, on both). The trim runs only
    on a value that starts with a space: DuckDB's trim costs ~0.12 µs a value (10M ids 1.2 s, 10M texts 4.8 s,
    eighteenth session), the prefix test almost nothing, and a blank value is empty or starts with a space. -#}
{% macro is_blank(value) -%}
    ({{ value }} = '' or ({{ value }} like ' %' and {{ trim_spaces(value) }} = ''))
{%- endmacro %}

{#- SPEC §2, §7: two stray quotes (one left open, one further down) make the CSV reader take the lines between
    them for one quoted value: billing it would bill other rows' fields as its bytes while those lines vanish. The
    reader cannot tell, but such a value holds the separators of every line it joined: the rest of the first line
    and the start of the last make one record's `columns` - 1, and every whole line in between as many again. So
    a value with at least `columns` - 1 commas per line break it holds is quarantined as invalid_quoting (README
    "Bad input"); a text that spans lines with fewer (an order summary over three lines with twelve commas, review
    of the fourteenth session) is billed as written. A CRLF is one line break. -#}
{% macro swallowed_lines_error(value, columns) -%}
    {%- set one_line_end = "replace(replace(" ~ value ~ ", chr(13) || chr(10), chr(10)), chr(13), chr(10))" -%}
    case
        when position(chr(10) in {{ value }}) > 0 or position(chr(13) in {{ value }}) > 0 then
            case
                when length({{ value }}) - length(replace({{ value }}, ',', ''))
                    >= {{ columns - 1 }} * (length({{ one_line_end }}) - length(replace({{ one_line_end }}, chr(10), '')))
                    then 'SWALLOWED LINES: a quoted value holds {{ columns - 1 }} or more commas per line break, as '
                    || 'many as the lines it spans would: a stray quote may have joined lines into it'
            end
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
