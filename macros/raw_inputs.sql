{#- Reading the raw input files (SPEC §1, §8). Every column is read as text so that one
    malformed value can never abort the read (issue: bad input); the typed parse happens in
    staging with try_ casts. Structurally broken CSV lines are kept too, as reject rows. -#}

{% macro messages_contract_columns() %}
    {{ return(['message_id', 'agent_id', 'user_id', 'carrier_id', 'direction', 'content_kind', 'text',
               'file_size_bytes', 'suggestions', 'status', 'sent_at', 'delivered_at', 'is_tester']) }}
{% endmacro %}

{% macro agents_contract_columns() %}
    {{ return(['agent_id', 'agent_name', 'agent_owner', 'owner_name', 'billing_category']) }}
{% endmacro %}

{#- A path var may be one path, a glob, or a list (the run script passes the expanded list). -#}
{% macro as_path_list(paths) %}
    {% if paths is string %}{{ return([paths] if paths | trim else []) }}{% endif %}
    {{ return(paths | list) }}
{% endmacro %}

{% macro sql_string_list(items) -%}
    [{% for item in items %}'{{ item | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %}]
{%- endmacro %}

{#- Pre-hook of a staging model: read the raw files into a temporary table `<name>` (text
    columns + source_file), keeping the lines that do not parse in `<name>_rejects`.
    Temporary: the raw user_id never lands in a persistent relation (SPEC §1, PII). -#}
{% macro load_raw_files(name, paths, columns, delimiter=',') %}
    {{ return(adapter.dispatch('load_raw_files', 'rbm_billing')(name, paths, columns, delimiter)) }}
{% endmacro %}

{% macro default__load_raw_files(name, paths, columns, delimiter) %}
    {%- set all_paths = as_path_list(paths) -%}
    {%- set names = var('source_file_names', {}) -%}
    {%- set csv_paths = [] -%}{%- set parquet_paths = [] -%}
    {%- for p in all_paths -%}
        {%- do (parquet_paths if p.lower().endswith('.parquet') else csv_paths).append(p) -%}
    {%- endfor -%}
    {%- set column_spec -%}
        { {%- for c in columns %}'{{ c }}': 'varchar'{% if not loop.last %}, {% endif %}{% endfor -%} }
    {%- endset -%}
    create or replace temp table {{ name }}_rejects (source_file varchar, source_row bigint, column_name varchar, error_message varchar);
    create or replace temp table {{ name }} as
    select {% for c in columns %}cast(null as varchar) as {{ c }}, {% endfor %}cast(null as varchar) as source_file, cast(null as bigint) as source_row
    where false
    {#- One scan per file: `row_number() over ()` of a single scan follows the file's order (a
        streaming window), where a window partitioned by file name does not (it numbered rows
        out of order in files of more than ~30k rows). Line 1 is the header. -#}
    {%- for path in csv_paths %}
    union all
    select {% for c in columns %}{{ c }}, {% endfor %}'{{ names.get(path, path) | replace("'", "''") }}' as source_file,
        row_number() over () + 1 as source_row
    from read_csv(
        '{{ path | replace("'", "''") }}', columns = {{ column_spec }}, auto_detect = false, header = true,
        delim = '{{ delimiter }}', quote = '"', escape = '"',
        store_rejects = true, rejects_table = '{{ name }}_csv_errors', rejects_scan = '{{ name }}_csv_scans'
    )
    {%- endfor %}
    {%- if parquet_paths %}
    union all
    select {% for c in columns %}cast({{ c }} as varchar), {% endfor %}{{ original_file_name('filename') }}, file_row_number + 1
    from read_parquet({{ sql_string_list(parquet_paths) }}, filename = true, file_row_number = true)
    {%- endif %};
    {%- if csv_paths %}
    insert into {{ name }}_rejects
    -- One row per broken line (DuckDB may report several errors for one line).
    select
        {{ original_file_name('s.file_path') }}, e.line, arg_min(e.column_name, e.column_idx),
        arg_min(e.error_type || ': ' || e.error_message, e.column_idx)
    from {{ name }}_csv_errors as e
    inner join {{ name }}_csv_scans as s on e.scan_id = s.scan_id and e.file_id = s.file_id
    group by s.file_path, e.line;
    -- The numbering above skips the rejected lines: a row after the i-th rejected line (line L)
    -- moves down by i. Its provisional number n (record count + 1) is after that line when n > L - i.
    update {{ name }} as t
    set source_row = t.source_row + shifted.rejects_before
    from (
        select g.source_file, g.source_row, k.rejects_before
        from {{ name }} as g
        asof inner join (
            select source_file, source_row - rejects_before as threshold, max(rejects_before) as rejects_before
            from (
                select
                    source_file,
                    source_row,
                    row_number() over (partition by source_file order by source_row) as rejects_before
                from {{ name }}_rejects
            ) as numbered
            group by source_file, source_row - rejects_before
        ) as k
            on g.source_file = k.source_file and g.source_row > k.threshold
    ) as shifted
    where t.source_file = shifted.source_file and t.source_row = shifted.source_row;
    {%- endif %}
{% endmacro %}

{% macro drop_raw_files(name) %}
    {{ return(adapter.dispatch('drop_raw_files', 'rbm_billing')(name)) }}
{% endmacro %}

{% macro default__drop_raw_files(name) %}
    drop table if exists {{ name }}; drop table if exists {{ name }}_rejects;
    drop table if exists {{ name }}_csv_errors; drop table if exists {{ name }}_csv_scans
{% endmacro %}

{% macro activity_contract_columns() %}
    {{ return(['activity_id', 'billing_event_id', 'agent_id', 'user_id', 'direction', 'time', 'type', 'size_bytes']) }}
{% endmacro %}

{#- SPEC §9: an activity log is per carrier, so the carrier comes from the run (CARRIER=…). -#}
{% macro activity_carrier_id() -%}
    {%- if var('activity_carrier') -%}
        {{ string_literal(var("activity_carrier")) }}
    {%- else -%}
        cast(null as string)
    {%- endif -%}
{%- endmacro %}

{#- Incremental loads (SPEC §8): the input files a staging model has not loaded yet. Its own table
    is the load manifest: a file is loaded once, with every row, or not at all. Input files are
    treated as immutable once loaded (README "Daily operation"). -#}
{% macro files_not_yet_loaded(paths) %}
    {%- set all_paths = as_path_list(paths) -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(all_paths) }}
    {%- endif -%}
    {%- set loaded = run_query('select distinct source_file from ' ~ this).columns[0].values() -%}
    {%- set names = var('source_file_names', {}) -%}
    {%- set new_paths = [] -%}
    {%- for path in all_paths if names.get(path, path) not in loaded -%}
        {%- do new_paths.append(path) -%}
    {%- endfor -%}
    {{ return(new_paths) }}
{% endmacro %}

{#- The run script may read a repaired copy of a broken file (rbm/inputs.py); rows keep the name of
    the file as delivered (var source_file_names: copy -> original). -#}
{% macro original_file_name(expr) -%}
    {%- set names = var('source_file_names', {}) -%}
    {%- if names -%}
        case {{ expr }}{% for copy, original in names.items() %} when '{{ copy | replace("'", "''") }}' then '{{ original | replace("'", "''") }}'{% endfor %} else {{ expr }} end
    {%- else -%}
        {{ expr }}
    {%- endif -%}
{%- endmacro %}
