{#- Incremental daily loads (README "Daily operation"). A late or new row can only change the
    billing of its own conversation stream (every rule of SPEC §4/§5 is per stream), so the stream
    models recompute just the streams int_touched_streams lists: each such model deletes those
    streams' rows, then inserts their recomputed rows. A first build computes everything.

    On Spark the stream models are plain tables (full recompute): delete is not available on its
    file formats, and the outcome is the same. -#}

{% macro stream_scoped_config() %}
    {{ return(scoped_incremental_config(
        'stream_key', "select stream_key from {{ ref('int_touched_streams') }}"
    )) }}
{% endmacro %}

{#- An incremental model whose rows of `key_column` values listed by `touched_keys_sql` are deleted
    before the run inserts their recomputed rows (a plain table on Spark). -#}
{% macro scoped_incremental_config(key_column, touched_keys_sql) %}
    {% if target.type == 'spark' %}
        {{ return({'materialized': 'table'}) }}
    {% endif %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'pre_hook': "{% if is_incremental() %}delete from {{ this }} where " ~ key_column ~ " in ("
                    ~ touched_keys_sql ~ "){% endif %}",
    }) }}
{% endmacro %}

{#- The filter of a stream model's input: only the touched streams, on an incremental run. -#}
{% macro where_stream_is_touched(stream_key_column='stream_key') %}
    {%- set touched = ref('int_touched_streams') -%}
    {%- if is_incremental() -%}
        where {{ stream_key_column }} in (select stream_key from {{ touched }})
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
        'message_id', "select message_id from {{ ref('int_messages_unioned') }} where {{ arrived_in_this_run() }}"
    )) }}
{% endmacro %}
