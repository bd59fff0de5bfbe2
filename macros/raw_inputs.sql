{#- Reading the raw input files (SPEC §1, §8). Every column is read as text so that one
    malformed value can never abort the read (issue: bad input); the typed parse happens in
    staging with try_ casts. Structurally broken CSV lines are kept too, as reject rows. -#}

{% macro messages_contract_columns() %}
    {{ return(['message_id', 'agent_id', 'user_id', 'carrier_id', 'direction', 'content_kind', 'text',
               'file_size_bytes', 'suggestions', 'status', 'sent_at', 'delivered_at', 'is_tester']) }}
{% endmacro %}

{% macro carriers_contract_columns() %}
    {{ return(['carrier_id', 'carrier_name', 'country', 'billing_model']) }}
{% endmacro %}

{% macro agents_contract_columns() %}
    {{ return(['agent_id', 'agent_name', 'agent_owner', 'owner_name', 'billing_category']) }}
{% endmacro %}

{#- The run's inputs (SPEC §8): the file lists, the names of repaired copies and the activity logs'
    carrier. The run script passes them in the environment variable RBM_RUN_INPUTS (JSON), not as
    dbt vars: dbt parses the whole project again whenever --vars change (~2.4 s a run). The variable is read
    only when the SQL runs (`execute`): read while dbt parses, dbt would parse again every model that reads it,
    at every run (~0.8 s; thirteenth session), since its value changes every run. Nothing parsed depends on it
    (stg_carriers declares its ref to the seed either way). Inputs too large for the environment (128 KiB on
    Linux, like one command-line argument: a glob over hourly files passes it within months) come in a JSON file
    named by RBM_RUN_INPUTS_FILE, read through the database. A dbt var of the same name is the fallback (dbt
    used directly, `make dbt-test`). -#}
{% macro run_input(name, default=none) %}
    {%- set given = env_var('RBM_RUN_INPUTS', '') if execute else '' -%}
    {%- if not given and execute and env_var('RBM_RUN_INPUTS_FILE', '') -%}
        {%- set given = read_text_file(env_var('RBM_RUN_INPUTS_FILE')) -%}
    {%- endif -%}
    {%- if given -%}
        {%- set inputs = fromjson(given) -%}
        {%- if name in inputs -%}{{ return(inputs[name]) }}{%- endif -%}
    {%- endif -%}
    {%- set value = var(name, default) -%}
    {%- if execute and name in ('messages_path', 'activity_path', 'activity_semicolon_path') -%}
        {%- do refuse_glob_var(name, value) -%}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}

{#- A path var of the files loaded once (messages, activity logs) holds files, not a glob: staging loads each file
    once by its name, so a glob would be loaded once, under its own name, and the files it matches later never read
    (README "Daily operation"). The run script expands globs itself and passes the files (RBM_RUN_INPUTS), never
    through this var. `*` and `{a,b}` (Spark) tell a glob; `?` and `[` do not (a URL's query, a file name). -#}
{% macro refuse_glob_var(name, value) %}
    {%- for path in as_path_list(value) if '*' in path or ('{' in path and '}' in path) -%}
        {%- do exceptions.raise_compiler_error(
            "var " ~ name ~ " holds a glob, '" ~ path ~ "': running dbt yourself, give the list of files"
            ~ " (--vars '{" ~ name ~ ": [a.csv, b.csv]}'); a glob would be loaded once, and the files it matches"
            ~ " later never read. `make run MESSAGES='...*.csv'` expands a glob itself."
        ) -%}
    {%- endfor -%}
{% endmacro %}

{#- A path var may be one path or a list (the run script passes the expanded list). -#}
{% macro as_path_list(paths) %}
    {% if paths is string %}{{ return([paths] if paths | trim else []) }}{% endif %}
    {{ return(paths | list) }}
{% endmacro %}

{#- Pre-hook of a staging model: read the raw files into a temporary table `<name>` (text
    columns + source_file), keeping the lines that do not parse in `<name>_rejects`.
    Temporary: the raw user_id never lands in a persistent relation (SPEC §1, PII). -#}
{% macro load_raw_files(name, paths, columns, delimiter=',') %}
    {{ return(adapter.dispatch('load_raw_files', 'rbm_billing')(name, paths, columns, delimiter)) }}
{% endmacro %}

{% macro default__load_raw_files(name, paths, columns, delimiter) %}
    {%- set all_paths = as_path_list(paths) -%}
    {#- DuckDB expands a glob in every path it reads, `?` and `[` included: `what?.csv` reads `whatX.csv` too, and
        `day[1].csv` reads `day1.csv` instead (code review, fourteenth session). The run script reads such a path
        through a link of a plain name; dbt used directly stops here (a `*`: in refuse_glob_var, as it runs). -#}
    {%- for path in all_paths if '?' in path or '[' in path -%}
        {%- do exceptions.raise_compiler_error(
            "the input path " ~ path ~ " holds a `?` or `[`, which DuckDB reads as a glob (another file, or"
            ~ " several, would be read under its name): rename the file, or run it through `make run`, which reads"
            ~ " it by a link."
        ) -%}
    {%- endfor -%}
    {%- set names = run_input('source_file_names', {}) -%}
    {%- set csv_paths = [] -%}{%- set parquet_paths = [] -%}
    {%- for p in all_paths -%}
        {%- do (parquet_paths if p.lower().endswith('.parquet') else csv_paths).append(p) -%}
    {%- endfor -%}
    {%- set column_spec -%}
        { {%- for c in columns %}'{{ c }}': 'varchar'{% if not loop.last %}, {% endif %}{% endfor -%} }
    {%- endset -%}
    {%- set statements = [] -%}
    {%- do statements.append('create or replace temp table ' ~ name ~ '_rejects (source_file varchar, source_row bigint, column_name varchar, error_message varchar)') -%}
    {#- Line numbers: every CSV file is read in one scan (a temporary table per file, unioned in a view, staged
        3,000 two-row files in 32.9 s; fourteenth session: 4.7 s) into one temporary table, filled in the list's order, so a row's rowid minus the first
        rowid of its file (file_index, DuckDB's position of the file in the list) is its record number:
        line = rowid - first rowid + 2 (line 1 is the header). The first rowid is taken from the table, not
        assumed 0: a table still in the open transaction (a second pre-hook of the model) numbers its rows
        from DuckDB's transaction-local base. A `row_number() over ()` did the same in one thread: 10.3 s
        instead of 6.6 s at 10M rows (issue: scale).
        The order is kept by preserve_insertion_order for this connection only (SET SESSION): the
        setting is global in DuckDB, and a model loading in another dbt thread, or dbt-duckdb applying
        the profile's settings (false) to a new connection, would otherwise switch it off in the middle
        of a load (a global SET here numbered the rows of a 60k-row file out of order, now and then). -#}
    {%- do statements.append("set session preserve_insertion_order = true") -%}
    {%- if csv_paths -%}
        {%- set load_files -%}
    create or replace temp table {{ name }}_csv as
    select {{ columns | join(', ') }}, file_index
    from read_csv(
        [{% for path in csv_paths %}'{{ path | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %}],
        columns = {{ column_spec }}, auto_detect = false, header = true,
        delim = '{{ delimiter }}', quote = '"', escape = '"',
        store_rejects = true, rejects_table = '{{ name }}_csv_errors', rejects_scan = '{{ name }}_csv_scans'
    )
        {%- endset -%}
        {%- do statements.append(load_files) -%}
        {%- set list_files -%}
    create or replace temp table {{ name }}_csv_files as
    select listed.file_index, listed.source_file, coalesce(loaded.first_rowid, 0) as first_rowid
    from (values
        {%- for path in csv_paths %} ({{ loop.index0 }}, '{{ names.get(path, path) | replace("'", "''") }}'){% if not loop.last %},{% endif %}{% endfor %}
    ) as listed (file_index, source_file)
    left join (
        select file_index, min(rowid) as first_rowid from {{ name }}_csv group by file_index
    ) as loaded on listed.file_index = loaded.file_index
        {%- endset -%}
        {%- do statements.append(list_files) -%}
    {%- endif -%}
    {#- One read_parquet per file, each column cast to text in its own file's type: read together, DuckDB
        gives every file the first file's column types and converts the others' values to them leniently
        (review, thirteenth session: `+02:00` dropped, `yes` read as a boolean, `42.0` as an integer, a run
        failing on one value, or on a column of NULLs in one file and text in another). Into one table, a
        statement per file: a query of one read_parquet per file took 70 s for 3,000 files (code review). An
        empty string is NULL, as an empty CSV field is (quoted or not): `''` sizes and suggestions were
        quarantined. -#}
    {%- if parquet_paths -%}
        {%- do statements.append('create or replace temp table ' ~ name ~ '_parquet ('
            ~ columns | join(' varchar, ') ~ ' varchar, source_file varchar, source_row bigint)') -%}
    {%- endif -%}
    {%- for path in parquet_paths -%}
        {%- set load_file -%}
    insert into {{ name }}_parquet
    select {% for c in columns %}nullif(cast({{ c }} as varchar), ''), {% endfor %}
        '{{ names.get(path, path) | replace("'", "''") }}', file_row_number + 1
    from read_parquet('{{ path | replace("'", "''") }}', file_row_number = true, binary_as_string = true)
        {%- endset -%}
        {%- do statements.append(load_file) -%}
    {%- endfor -%}
    {%- if csv_paths -%}
        {%- set collect_rejects -%}
    insert into {{ name }}_rejects
    -- One row per broken line (DuckDB may report several errors for one line): its first error. A line of fields
    -- too many has one error per field too many, each saying `Found:` its own position: the last one's is the
    -- line's count, as Spark's reader says it (macro spark_csv_record_error).
    select
        {{ original_file_name('s.file_path') }}, e.line, arg_min(e.column_name, e.column_idx),
        case
            when arg_min(e.error_type, coalesce(e.column_idx, 2147483647)) = 'TOO MANY COLUMNS'
                then 'TOO MANY COLUMNS: ' || arg_max(e.error_message, e.column_idx) filter (e.error_type = 'TOO MANY COLUMNS')
            else arg_min(e.error_type || ': ' || e.error_message, coalesce(e.column_idx, 2147483647))  -- line size: no column
        end
    from {{ name }}_csv_errors as e
    inner join {{ name }}_csv_scans as s on e.scan_id = s.scan_id and e.file_id = s.file_id
    group by s.file_path, e.line
        {%- endset -%}
        {%- do statements.append(collect_rejects) -%}
    {%- endif -%}
    {#- The statements run here, while the hook is rendered (hooks are rendered right before they
        run); the view below then renumbers rows only when a line was rejected. -#}
    {%- set rejected_files = [] -%}
    {%- if execute -%}
        {%- for statement in statements -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
        {%- do run_query("reset session preserve_insertion_order") -%}
        {%- set rejected_files = run_query('select distinct source_file from ' ~ name ~ '_rejects').columns[0].values() -%}
    {%- endif %}
    {#- Each CSV row with its file's name and its record's line (see above). -#}
    {%- set record_lines -%}
        select {% for c in columns %}csv.{{ c }}, {% endfor %}f.source_file, csv.rowid - f.first_rowid + 2 as record_line
        from {{ name }}_csv as csv
        inner join {{ name }}_csv_files as f on csv.file_index = f.file_index
    {%- endset %}
    create or replace temp view {{ name }} as
    select {% for c in columns %}cast(null as varchar) as {{ c }}, {% endfor %}cast(null as varchar) as source_file, cast(null as bigint) as source_row
    where false
    {%- if csv_paths %}
    union all
    {%- if rejected_files %}
    -- The record numbers skip the rejected lines: a row after the i-th rejected line (line L)
    -- moves down by i. Its record number n + 1 is after that line when n + 1 > L - i.
    select {% for c in columns %}r.{{ c }}, {% endfor %}r.source_file, r.record_line + coalesce(k.rejects_before, 0) as source_row
    from ({{ record_lines }}) as r
    asof left join (
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
        on r.source_file = k.source_file and r.record_line > k.threshold
    {%- else %}
    select {% for c in columns %}r.{{ c }}, {% endfor %}r.source_file, r.record_line as source_row
    from ({{ record_lines }}) as r
    {%- endif %}
    {%- endif %}
    {%- if parquet_paths %}
    union all
    select * from {{ name }}_parquet
    {%- endif %}
{% endmacro %}

{% macro drop_raw_files(name) %}
    {{ return(adapter.dispatch('drop_raw_files', 'rbm_billing')(name)) }}
{% endmacro %}

{% macro default__drop_raw_files(name) %}
    drop view if exists {{ name }}; drop table if exists {{ name }}_rejects; drop table if exists {{ name }}_parquet;
    drop table if exists {{ name }}_csv; drop table if exists {{ name }}_csv_files;
    drop table if exists {{ name }}_csv_errors; drop table if exists {{ name }}_csv_scans
{% endmacro %}

{% macro activity_contract_columns() %}
    {{ return(['activity_id', 'billing_event_id', 'agent_id', 'user_id', 'direction', 'time', 'type', 'size_bytes']) }}
{% endmacro %}

{#- SPEC §9: an activity log is per carrier, so the carrier comes from the run (CARRIER=…); stg_activity_log
    keeps it with each row it loads. A full rebuild also reads again the logs of the other carriers the database
    holds, each with the carrier it was loaded with (`activity_file_carriers`, by file as staged; scripts/rbm.py). -#}
{% macro activity_carrier_id() -%}
    {%- set carrier = run_input('activity_carrier') -%}
    {%- set by_file = run_input('activity_file_carriers', {}) or {} -%}
    {%- set run_carrier = string_literal(carrier) if carrier else 'cast(null as string)' -%}
    {%- if by_file -%}
        case source_file{% for file, file_carrier in by_file.items() %} when {{ string_literal(file) }} then {{ string_literal(file_carrier) }}{% endfor %} else {{ run_carrier }} end
    {%- else -%}
        {{ run_carrier }}
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
    {%- set names = run_input('source_file_names', {}) -%}
    {%- set new_paths = [] -%}
    {%- for path in all_paths if names.get(path, path) not in loaded -%}
        {%- do new_paths.append(path) -%}
    {%- endfor -%}
    {{ return(new_paths) }}
{% endmacro %}

{#- `dbt build` without --vars reads the demo files (the vars' defaults): on a database that holds a user's own
    files it would load the demo messages there, where their agents are unknown (quarantined for good), or with
    --full-refresh replace the user's rows with them; the demo agents would replace the user's agents (review,
    twelfth session), leaving every message of theirs quarantined. The run script stops these cases before dbt
    (scripts/rbm.py default_on_own_files, DuckDB); this is the same stop for dbt used directly, and for a Spark run,
    before any model runs (macro refuse_unsafe_build). `demo_file`: the var's default; `tables` hold the files
    loaded before (source_file). -#}
{% macro refuse_demo_into_own_files(var_name, paths, demo_file, tables) %}
    {%- if paths | length == 1 and is_demo_file(paths[0], demo_file) -%}
        {%- for table in tables -%}
            {%- set stored = adapter.get_relation(database=target.database, schema=target.schema, identifier=table) -%}
            {%- set loaded = [] if stored is none else run_query(
                "select distinct source_file from " ~ stored ~ " where source_file is not null order by 1"
            ).columns[0].values() -%}
            {%- set own = [] -%}
            {%- for file in loaded if not is_demo_file(file, demo_file) -%}{%- do own.append(file) -%}{%- endfor -%}
            {%- if own -%}
                {%- do exceptions.raise_compiler_error(
                    var_name ~ " is the demo data (" ~ paths[0] ~ ", the default when no --vars are given), but "
                    ~ stored ~ " holds files of your own (e.g. " ~ own[0] ~ "): give " ~ var_name ~ " (your"
                    ~ " files), or use another database (RBM_DUCKDB_PATH) for the demo."
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}

{#- A bundled demo file (data/demo/…), as dbt's default var names it or the run script does (absolute). -#}
{% macro is_demo_file(path, demo_file) %}
    {{ return(path == demo_file or path.endswith('/' ~ demo_file)) }}
{% endmacro %}

{#- The run script may read a repaired copy of a broken file (rbm/inputs.py); rows keep the name of
    the file as delivered (var source_file_names: copy -> original). -#}
{% macro original_file_name(expr) -%}
    {%- set names = run_input('source_file_names', {}) -%}
    {%- if names -%}
        case {{ expr }}{% for copy, original in names.items() %} when '{{ copy | replace("'", "''") }}' then '{{ original | replace("'", "''") }}'{% endfor %} else {{ expr }} end
    {%- else -%}
        {{ expr }}
    {%- endif -%}
{%- endmacro %}
