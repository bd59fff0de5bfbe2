{#- Apache Spark variants of the engine-specific macros (`make run TARGET=spark`, README "Spark").
    The models are the same on both engines; what differs is here and in engine_functions.sql.

    Reading the raw files (SPEC §1, §8): the DuckDB variant (raw_inputs.sql) uses read_csv with
    store_rejects. On Spark every input file becomes a temporary view read with the CSV source in
    PERMISSIVE mode: a line that is not a record of the contract's columns keeps its text in a
    corrupt-record column and becomes a reject row, never an error and never a lost line. The same
    temporary views `<name>` and `<name>_rejects` (same columns) are what the staging models read. -#}

{#- A Spark SQL string literal (Spark reads backslash escapes inside literals). -#}
{% macro spark_string_literal(value) -%}
    '{{ value | replace("\\", "\\\\") | replace("'", "\\'") | replace("\n", "\\n") | replace("\r", "\\r") | replace("\t", "\\t") }}'
{%- endmacro %}

{#- Spark (Hadoop) treats the `path` option as a glob: a concrete file name is escaped. -#}
{% macro spark_escape_glob(path) -%}
    {%- set escaped = namespace(text=path | replace("\\", "\\\\")) -%}
    {%- for ch in ['*', '?', '[', ']', '{', '}'] -%}
        {%- set escaped.text = escaped.text | replace(ch, "\\" ~ ch) -%}
    {%- endfor -%}
    {{ return(escaped.text) }}
{%- endmacro %}

{#- Spark SQL runs one statement per call: the statements of a hook before its last one run here,
    while the hook is rendered (hooks are rendered right before they run), and the last one is the
    hook's own SQL. -#}
{% macro spark_run_statements(statements) %}
    {%- if execute -%}
        {%- for statement in statements[:-1] -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(statements[-1] if statements else 'select 1') }}
{% endmacro %}

{% macro spark__load_raw_files(name, paths, columns, delimiter) %}
    {%- set all_paths = as_path_list(paths) -%}
    {%- set names = run_input('source_file_names', {}) -%}
    {%- set statements = [] -%}
    {%- set parts = [] -%}
    {%- for path in all_paths -%}
        {%- set file_view = name ~ '_file_' ~ loop.index -%}
        {%- if path.lower().endswith('.parquet') -%}
            {#- Read by path (a view over the Parquet source would hide the row index). -#}
            {%- set part -%}
                select
                    {% for c in columns %}nullif(cast({{ c }} as string), '') as {{ c }}, {% endfor %}
                    {{ spark_string_literal(names.get(path, path)) }} as source_file,
                    _metadata.row_index + 1 as record_number,
                    cast(null as string) as error_message
                from parquet.`{{ spark_escape_glob(path) | replace('`', '``') }}`
            {%- endset -%}
        {%- else -%}
            {#- Read as ISO-8859-1, which maps every byte to one character: the CSV structure
                (delimiter, quote, line ends: all ASCII) parses exactly as in UTF-8, and the bytes of
                each value are recovered unchanged below, so invalid UTF-8 can be told apart.
                Read twice: as is, and with values holding a stray quote (`"Hi"x`) skipped to NULL;
                a value present in the first read and NULL in the second marks a line DuckDB rejects
                as an unquoted value. -#}
            {%- for handling in ['STOP_AT_DELIMITER', 'SKIP_VALUE'] -%}
                {%- do statements.append(
                    'create or replace temporary view ' ~ file_view ~ ('_strict' if handling == 'SKIP_VALUE' else '')
                    ~ ' (' ~ (columns | join(' string, ')) ~ ' string, _rbm_corrupt_record string) using csv options ('
                    ~ 'path ' ~ spark_string_literal(spark_escape_glob(path))
                    ~ ", header 'true', enforceSchema 'true', multiLine 'true', encoding 'ISO-8859-1'"
                    ~ ', sep ' ~ spark_string_literal(delimiter) ~ ", quote '\"', escape '\"'"
                    ~ ", unescapedQuoteHandling '" ~ handling ~ "'"
                    ~ ", mode 'PERMISSIVE', columnNameOfCorruptRecord '_rbm_corrupt_record'"
                    ~ ", nullValue '', ignoreLeadingWhiteSpace 'false', ignoreTrailingWhiteSpace 'false')"
                ) -%}
            {%- endfor -%}
            {%- set part -%}
                select
                    {% for c in columns %}as_read.{{ c }}, {% endfor %}
                    {{ spark_string_literal(names.get(path, path)) }} as source_file,
                    as_read.record_number + 1 as record_number,
                    case
                        when as_read._rbm_corrupt_record is not null then
                            {{ spark_csv_record_error('as_read._rbm_corrupt_record', columns | length, delimiter) }}
                        when not (
                            {% for c in columns %}coalesce(is_valid_utf8(as_read.{{ c }}), true){% if not loop.last %} and {% endif %}{% endfor %}
                        )
                            then 'INVALID ENCODING: Invalid unicode (byte sequence mismatch) detected.'
                        when
                            {% for c in columns %}(as_read.{{ c }} is not null and strict.{{ c }} is null){% if not loop.last %} or {% endif %}{% endfor %}
                            then 'UNQUOTED VALUE: Value with unterminated quote found.'
                    end as error_message
                from (
                    select
                        {% for c in columns %}cast(encode({{ c }}, 'ISO-8859-1') as string) as {{ c }}, {% endfor %}
                        _rbm_corrupt_record,
                        row_number() over (order by record_position) as record_number
                    from (select *, monotonically_increasing_id() as record_position from {{ file_view }}) as numbered
                ) as as_read
                left join (
                    select
                        {% for c in columns %}{{ c }}, {% endfor %}
                        row_number() over (order by record_position) as record_number
                    from (select *, monotonically_increasing_id() as record_position from {{ file_view }}_strict) as numbered
                ) as strict
                    on as_read.record_number = strict.record_number
            {%- endset -%}
        {%- endif -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
    {%- set empty -%}
        select
            {% for c in columns %}cast(null as string) as {{ c }}, {% endfor %}
            cast(null as string) as source_file, cast(null as bigint) as record_number,
            cast(null as string) as error_message
        where false
    {%- endset -%}
    {%- do parts.insert(0, empty) -%}
    {%- do statements.append(
        'create or replace temporary view ' ~ name ~ '_records as\n' ~ (parts | join('\nunion all\n'))
    ) -%}
    {#- Every row keeps its line number (a CSV header is line 1; a Parquet row its position), as in
        the DuckDB variant. -#}
    {%- do statements.append(
        'create or replace temporary view ' ~ name ~ '_rejects as select source_file, record_number as source_row,'
        ~ ' cast(null as string) as column_name, error_message from ' ~ name ~ '_records where error_message is not null'
    ) -%}
    {%- set good -%}
        create or replace temporary view {{ name }} as
        select
            {% for c in columns %}{{ c }}, {% endfor %}source_file,
            record_number as source_row
        from {{ name }}_records
        where error_message is null
    {%- endset -%}
    {%- do statements.append(good) -%}
    {{ return(spark_run_statements(statements)) }}
{% endmacro %}

{#- The reject message of a line the CSV reader could not split into the contract's columns, in
    the words of DuckDB's reader (the quarantine reason codes are derived from their first words):
    invalid UTF-8; a field opening a quote that does not close where the field ends; else too few or
    too many fields (counted with the quoted fields taken out); NULL, a record, when the only fields too many
    are empty, as DuckDB's reader takes them. -#}
{% macro spark_csv_record_error(record, expected, delimiter) -%}
    {%- set d = '\\Q' ~ delimiter ~ '\\E' -%}
    {%- set unquoted -%}
        regexp_replace({{ record }}, {{ spark_string_literal('(^|' ~ d ~ ')"([^"]|"")*"(?=' ~ d ~ '|$)') }}, '$1')
    {%- endset -%}
    {%- set fields -%}
        size(split({{ unquoted }}, {{ spark_string_literal(d) }}, -1))
    {%- endset -%}
    {#- The fields after the contract's: each quoted one `Q` unless it is `""`, so that only empty ones join to ''. -#}
    {%- set extra_fields -%}
        slice(split(regexp_replace(regexp_replace({{ record }},
            {{ spark_string_literal('(^|' ~ d ~ ')""(?=' ~ d ~ '|$)') }}, '$1'),
            {{ spark_string_literal('(^|' ~ d ~ ')"([^"]|"")*"(?=' ~ d ~ '|$)') }}, '$1Q'),
            {{ spark_string_literal(d) }}, -1), {{ expected + 1 }}, {{ fields }})
    {%- endset -%}
    case
        when not is_valid_utf8(cast(encode({{ record }}, 'ISO-8859-1') as string))
            then 'INVALID ENCODING: Invalid unicode (byte sequence mismatch) detected.'
        when {{ unquoted }} rlike {{ spark_string_literal('(^|' ~ d ~ ')"') }}
            then 'UNQUOTED VALUE: Value with unterminated quote found.'
        when {{ fields }} < {{ expected }}
            then concat('MISSING COLUMNS: Expected Number of Columns: {{ expected }} Found: ', {{ fields }})
        when {{ fields }} > {{ expected }} and array_join({{ extra_fields }}, '') != ''
            then concat('TOO MANY COLUMNS: Expected Number of Columns: {{ expected }} Found: ', {{ fields }})
        -- Only empty fields after the contract's (`…,false,` or `…,false,""`): DuckDB's reader takes the record,
        -- so the record is read as one (README decision 15).
        when {{ fields }} > {{ expected }} then null
        else 'MALFORMED LINE: the line is not a CSV record'
    end
{%- endmacro %}

{% macro spark__drop_raw_files(name) %}
    {%- set statements = [] -%}
    {%- for suffix in ['', '_rejects', '_records'] -%}
        {%- do statements.append('drop view if exists ' ~ name ~ suffix) -%}
    {%- endfor -%}
    {#- The per-file views: as many as the load created (at most one per input file). -#}
    {%- if execute -%}
        {%- for row in run_query("show views like '" ~ name ~ "_file_*'") -%}
            {%- do statements.insert(0, 'drop view if exists ' ~ row['viewName']) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(spark_run_statements(statements)) }}
{% endmacro %}
