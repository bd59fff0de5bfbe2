{#- Engine differences, one small dispatched macro each (STACK-NOTES: hashing and
    timestamp arithmetic differ between DuckDB and Spark). default__ is DuckDB. -#}

{% macro sha256_hex(expr) %}{{ return(adapter.dispatch('sha256_hex', 'rbm_billing')(expr)) }}{% endmacro %}
{% macro default__sha256_hex(expr) %}sha256({{ expr }}){% endmacro %}
{% macro spark__sha256_hex(expr) %}sha2({{ expr }}, 256){% endmacro %}

{#- Division of integers that truncates, in integers (`/` gives a double on DuckDB). -#}
{% macro integer_divide(numerator, denominator) %}{{ return(adapter.dispatch('integer_divide', 'rbm_billing')(numerator, denominator)) }}{% endmacro %}
{% macro default__integer_divide(numerator, denominator) %}({{ numerator }} // {{ denominator }}){% endmacro %}
{% macro spark__integer_divide(numerator, denominator) %}({{ numerator }} div {{ denominator }}){% endmacro %}

{% macro utf8_byte_length(expr) %}{{ return(adapter.dispatch('utf8_byte_length', 'rbm_billing')(expr)) }}{% endmacro %}
{% macro default__utf8_byte_length(expr) %}strlen({{ expr }}){% endmacro %}
{% macro spark__utf8_byte_length(expr) %}octet_length({{ expr }}){% endmacro %}

{#- Text → UTC timestamp; NULL when unparsable. Offsets are converted to UTC (SPEC §1). -#}
{% macro try_parse_utc_timestamp(expr) %}{{ return(adapter.dispatch('try_parse_utc_timestamp', 'rbm_billing')(expr)) }}{% endmacro %}
{% macro default__try_parse_utc_timestamp(expr) %}timezone('UTC', try_cast({{ expr }} as timestamptz)){% endmacro %}
{% macro spark__try_parse_utc_timestamp(expr) %}try_cast({{ expr }} as timestamp){% endmacro %}

{#- In a select list: one row per integer from `first` to `last` (both included; first <= last: Spark's sequence
    counts down otherwise), the rest of the row repeated. -#}
{% macro each_integer_between(first, last) %}{{ return(adapter.dispatch('each_integer_between', 'rbm_billing')(first, last)) }}{% endmacro %}
{% macro default__each_integer_between(first, last) %}unnest(range({{ first }}, {{ last }} + 1)){% endmacro %}
{% macro spark__each_integer_between(first, last) %}explode(sequence({{ first }}, {{ last }})){% endmacro %}

{% macro epoch_microseconds(expr) %}{{ return(adapter.dispatch('epoch_microseconds', 'rbm_billing')(expr)) }}{% endmacro %}
{% macro default__epoch_microseconds(expr) %}epoch_us({{ expr }}){% endmacro %}
{% macro spark__epoch_microseconds(expr) %}unix_micros({{ expr }}){% endmacro %}

{#- SPEC §6: start_time is written YYYY-MM-DDTHH:00:00Z. -#}
{% macro format_utc_hour(expr) %}{{ return(adapter.dispatch('format_utc_hour', 'rbm_billing')(expr)) }}{% endmacro %}
{% macro default__format_utc_hour(expr) %}strftime({{ expr }}, '%Y-%m-%dT%H:00:00Z'){% endmacro %}
{% macro spark__format_utc_hour(expr) %}date_format({{ expr }}, "yyyy-MM-dd'T'HH:00:00'Z'"){% endmacro %}

{% macro format_iso_date(expr) %}{{ return(adapter.dispatch('format_iso_date', 'rbm_billing')(expr)) }}{% endmacro %}
{% macro default__format_iso_date(expr) %}strftime({{ expr }}, '%Y-%m-%d'){% endmacro %}
{% macro spark__format_iso_date(expr) %}date_format({{ expr }}, 'yyyy-MM-dd'){% endmacro %}

{#- A value without its leading and trailing ASCII spaces (DuckDB's one-argument trim removes Unicode spaces too). -#}
{% macro trim_spaces(expr) %}{{ return(adapter.dispatch('trim_spaces', 'rbm_billing')(expr)) }}{% endmacro %}
{% macro default__trim_spaces(expr) %}trim({{ expr }}, ' '){% endmacro %}
{% macro spark__trim_spaces(expr) %}trim(both ' ' from {{ expr }}){% endmacro %}

{#- Whole-string regular-expression match. -#}
{% macro matches_regex(expr, pattern) %}{{ return(adapter.dispatch('matches_regex', 'rbm_billing')(expr, pattern)) }}{% endmacro %}
{% macro default__matches_regex(expr, pattern) %}regexp_full_match({{ expr }}, '{{ pattern }}'){% endmacro %}
{#- Spark's rlike finds the pattern anywhere: anchored at both ends. `\z`, not `$`: Java's `$` also matches before a
    final line break, so an id ending in one passed on Spark and failed on DuckDB (eighteenth session). -#}
{% macro spark__matches_regex(expr, pattern) %}({{ expr }} rlike '^(?:{{ pattern }})\\z'){% endmacro %}

{#- count(distinct expr) over (partition by …): Spark has no DISTINCT window aggregates; the size
    of the set of values is the same number (both ignore NULLs). -#}
{% macro count_distinct_over(expr, partition_by) %}{{ return(adapter.dispatch('count_distinct_over', 'rbm_billing')(expr, partition_by)) }}{% endmacro %}
{% macro default__count_distinct_over(expr, partition_by) %}count(distinct {{ expr }}) over (partition by {{ partition_by }}){% endmacro %}
{% macro spark__count_distinct_over(expr, partition_by) %}size(collect_set({{ expr }}) over (partition by {{ partition_by }})){% endmacro %}

{#- A SQL string literal of a text value (a var): Spark reads backslash escapes inside literals, DuckDB does not. -#}
{% macro string_literal(value) %}{{ return(adapter.dispatch('string_literal', 'rbm_billing')(value)) }}{% endmacro %}
{% macro default__string_literal(value) %}'{{ value | replace("'", "''") }}'{% endmacro %}
{% macro spark__string_literal(value) %}{{ spark_string_literal(value) }}{% endmacro %}

{#- A CTE read more than once that must be read again each time, not stored: DuckDB stores such a CTE
    whole (wide rows spill at 100M messages); Spark inlines CTEs anyway. Written `name as {{ inlined_cte() }} (`. -#}
{% macro inlined_cte() %}{{ return(adapter.dispatch('inlined_cte', 'rbm_billing')()) }}{% endmacro %}
{% macro default__inlined_cte() %}not materialized{% endmacro %}
{% macro spark__inlined_cte() %}{% endmacro %}

{#- The whole content of a small text file as a SQL scalar, read by the engine when the query runs (the salt,
    macro salt_literal: its value never appears in the SQL). The file holds one line, no line break. -#}
{% macro secret_file_content(path) %}{{ return(adapter.dispatch('secret_file_content', 'rbm_billing')(path)) }}{% endmacro %}
{% macro default__secret_file_content(path) %}(select content from read_text({{ string_literal(path) }})){% endmacro %}
{% macro spark__secret_file_content(path) %}(select first(value) from text.`{{ path }}`){% endmacro %}

{#- The whole content of a small text file (the run's inputs, macro run_input), read by the engine. -#}
{% macro read_text_file(path) %}{{ return(adapter.dispatch('read_text_file', 'rbm_billing')(path)) }}{% endmacro %}
{% macro default__read_text_file(path) %}
    {{ return(run_query("select content from read_text(" ~ string_literal(path) ~ ")").columns[0].values()[0]) }}
{% endmacro %}
{% macro spark__read_text_file(path) %}
    {#- One line: the run script writes the JSON without line breaks. -#}
    {{ return(run_query("select value from text.`" ~ path ~ "`").columns[0].values()[0]) }}
{% endmacro %}
