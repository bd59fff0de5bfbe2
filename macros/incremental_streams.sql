{#- Incremental daily loads (README "Daily operation"). A late or new row can only change the
    billing of its own conversation stream (every rule of SPEC §4/§5 is per stream), and only from
    int_touched_streams.recompute_from on: no trigger, session or conversation that starts earlier
    can change (SPEC §4/§5 look at most 24 h ahead of a trigger). So each stream model deletes the
    rows of a touched stream from that time on (`time_column`, its rows' time), then inserts their
    recomputed rows. A first build computes everything.

    On Spark the stream models are plain tables (full recompute): delete is not available on its
    file formats, and the outcome is the same. -#}

{% macro stream_scoped_config(time_column) %}
    {{ return(scoped_incremental_config(
        "exists (select 1 from {{ ref('int_touched_streams') }} as touched"
        ~ " where touched.touched_stream_key = stream_key and " ~ time_column ~ " >= touched.recompute_from)"
    )) }}
{% endmacro %}

{#- An incremental model whose rows matching `recomputed_rows_predicate` are deleted before the run
    inserts their recomputed rows (a plain table on Spark). -#}
{% macro scoped_incremental_config(recomputed_rows_predicate) %}
    {% if target.type == 'spark' %}
        {{ return({'materialized': 'table'}) }}
    {% endif %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'pre_hook': "{% if is_incremental() %}delete from {{ this }} where " ~ recomputed_rows_predicate
                    ~ "{% endif %}",
    }) }}
{% endmacro %}

{#- The filter of a stream model's input on an incremental run: the rows of the touched streams, from
    each stream's recompute_from on when `time_column` is given, else the whole stream. (The touched
    list names its columns touched_stream_key / recompute_from, so that `stream_key` and the time
    column here always mean the filtered relation's own.) -#}
{% macro where_stream_is_touched(time_column=none) %}
    {%- set touched = ref('int_touched_streams') -%}
    {%- if is_incremental() and time_column -%}
        where exists (
            select 1 from {{ touched }} as touched
            where touched.touched_stream_key = stream_key and {{ time_column }} >= touched.recompute_from
        )
    {%- elif is_incremental() -%}
        where stream_key in (select touched.touched_stream_key from {{ touched }} as touched)
    {%- endif -%}
{% endmacro %}

{#- Pseudonymous key of a conversation stream (README decision 5: agent, user and carrier). -#}
{% macro stream_key(agent_id, user_key, carrier_id) -%}
    {{ sha256_hex("concat_ws('|', " ~ agent_id ~ ", " ~ user_key ~ ", " ~ carrier_id ~ ")") }}
{%- endmacro %}

{#- Rows of the input files loaded by this run (staging's loaded_at is the run's start). -#}
{% macro arrived_in_this_run() -%}
    loaded_at = cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}

{#- int_messages_checked on an incremental run: the rows of the message_ids that arrived are
    deleted and checked again with the arrived rows (see that model). -#}
{% macro row_scoped_config() %}
    {{ return(scoped_incremental_config(
        "message_id in (select message_id from {{ ref('int_messages_unioned') }} where {{ arrived_in_this_run() }})"
    )) }}
{% endmacro %}
