{#- Incremental daily loads (README "Daily operation"). A late or new row can only change the
    billing of its own conversation stream (every rule of SPEC §4/§5 is per stream), and only from
    int_touched_streams.recompute_from on: no trigger, session or conversation that starts earlier
    can change (SPEC §4/§5 look at most 24 h ahead of a trigger). So each stream model deletes the
    rows of a touched stream from that time on (`time_column`, its rows' time), then inserts their
    recomputed rows (select_recomputed_rows). A first build computes everything.

    On Spark the stream models are plain tables (full recompute): delete is not available on its
    file formats, and the outcome is the same. -#}

{% macro stream_scoped_config(time_column) %}
    {{ return(scoped_incremental_config(
        "using {{ ref('int_touched_streams') }} as touched where touched.touched_stream_key = recomputed.stream_key"
        ~ " and recomputed." ~ time_column ~ " >= touched.recompute_from"
    )) }}
{% endmacro %}

{#- An incremental model whose rows that `delete_condition` selects (`recomputed` is the model's own
    table) are deleted before the run inserts their recomputed rows (a plain table on Spark). -#}
{% macro scoped_incremental_config(delete_condition) %}
    {{ return(adapter.dispatch('scoped_incremental_config', 'rbm_billing')(delete_condition)) }}
{% endmacro %}
{% macro default__scoped_incremental_config(delete_condition) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'pre_hook': "{% if is_incremental() %}delete from {{ this }} as recomputed " ~ delete_condition ~ "{% endif %}",
    }) }}
{% endmacro %}
{#- Spark's Parquet tables have no DELETE: every build rebuilds the stream models (README "Spark"). -#}
{% macro spark__scoped_incremental_config(delete_condition) %}
    {{ return({'materialized': 'table'}) }}
{% endmacro %}

{#- A table of this run's rows only that still knows whether the run recomputes only the touched streams
    (is_incremental(), macro recomputes_touched_streams): incremental, emptied before each build (DuckDB: a delete;
    Spark, whose Parquet tables have no DELETE: the table overwritten). int_report_restatements. -#}
{% macro this_run_rows_config() %}
    {{ return(adapter.dispatch('this_run_rows_config', 'rbm_billing')()) }}
{% endmacro %}
{% macro default__this_run_rows_config() %}
    {{ return(scoped_incremental_config('')) }}
{% endmacro %}
{% macro spark__this_run_rows_config() %}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'insert_overwrite'}) }}
{% endmacro %}

{#- The rows of `relation` (a CTE name) a stream model recomputes: on an incremental run those of the
    touched streams (select_touched_rows); on a full build every row (int_touched_streams is empty then). -#}
{% macro select_recomputed_rows(relation, time_column=none) %}
    {#- ref() outside the condition: dbt learns the dependency while parsing, when is_incremental() is false. -#}
    {%- do ref('int_touched_streams') -%}
    {%- if recomputes_touched_streams() -%}
        {{ select_touched_rows(relation, time_column) }}
    {%- else -%}
        select * from {{ relation }}
    {%- endif -%}
{% endmacro %}

{#- The rows of `relation` (a CTE name) in the touched streams, from each stream's recompute_from on when
    `time_column` is given, else the whole stream: the rows a daily run recomputes. A join (one touched row per
    stream), not a correlated filter. -#}
{% macro select_touched_rows(relation, time_column=none) %}
        select {{ relation }}.*
        from {{ relation }}
        inner join {{ ref('int_touched_streams') }} as touched
            on
                {{ relation }}.stream_key = touched.touched_stream_key
                {%- if time_column %}
                and {{ relation }}.{{ time_column }} >= touched.recompute_from
                {%- endif %}
{%- endmacro %}

{#- True on a run that recomputes only the touched streams: an incremental run that is not a full rebuild
    (under --full-refresh is_incremental() is false: every row). -#}
{% macro recomputes_touched_streams() %}
    {{ return(is_incremental()) }}
{% endmacro %}

{#- Key of a conversation stream (README decision 5: agent, user and carrier): MD5 of the three, since
    user_key is already salted; it only has to tell streams apart (128 bits). -#}
{% macro stream_key(agent_id, user_key, carrier_id) -%}
    {{ dbt.hash("concat_ws('|', " ~ agent_id ~ ", " ~ user_key ~ ", " ~ carrier_id ~ ")") }}
{%- endmacro %}

{#- The run's start (UTC, whole seconds) as a timestamp: the run script's own (environment variable
    RBM_RUN_STARTED), so that it can tell what this run loaded and restated without comparing two clocks; dbt's
    run_started_at when dbt runs alone. Staging's loaded_at and int_report_restatements' restated_at. A variable of its
    own, read only when the SQL runs (`execute`): read while dbt parses, a value new every run would make dbt
    parse the models again every run. -#}
{% macro run_started() -%}
    {%- set started = run_started_at.strftime("%Y-%m-%d %H:%M:%S") -%}
    cast('{{ env_var("RBM_RUN_STARTED", started) if execute else started }}' as timestamp)
{%- endmacro %}

{#- Rows of the input files loaded by this run (staging's loaded_at is the run's start). -#}
{% macro arrived_in_this_run() -%}
    loaded_at = {{ run_started() }}
{%- endmacro %}

{#- int_messages_rejected on an incremental run: the rows of the message_ids that arrived are
    deleted and checked again with the arrived rows (see that model). -#}
{% macro row_scoped_config() %}
    {{ return(scoped_incremental_config(
        "where recomputed.message_id in (select arrived.message_id from {{ ref('int_messages_unioned') }} as arrived"
        ~ " where {{ arrived_in_this_run() }})"
    )) }}
{% endmacro %}

{#- Daily operation: fct_report_rows' post-hook. Appends this run's restatements (int_report_restatements) to the
    log rpt_restatements in the transaction that replaces the report rows they were compared with (DuckDB; Spark
    has no transactions): the log then says what changed between the rows stored, run after run, even when a
    build stops half way. Rows of a run already logged are not appended again (a `dbt build -s fct_report_rows+`
    by hand would otherwise log the last run's twice). -#}
{% macro log_restatements() %}
    {%- set columns = restatement_log_columns() | join(', ') %}
    insert into {{ ref('rpt_restatements') }}
    select {{ columns }}
    from {{ ref('int_report_restatements') }}
    where restated_at not in (select logged.restated_at from {{ ref('rpt_restatements') }} as logged)
{% endmacro %}

{#- The columns of the restatement log, in order (rpt_restatements, and what log_restatements appends). -#}
{% macro restatement_log_columns() %}
    {{ return(['carrier_id', 'generation_date', 'file_path', 'restated_at', 'change_kind', 'rows_added',
               'rows_removed', 'rows_changed', 'rows_before', 'rows_after', 'status_before', 'period_was_final']) }}
{% endmacro %}
