-- Daily operation: the conversation streams whose billing a run may change, and from when. A stream
-- is touched when a row of it arrived in this run, or when it holds a row sharing a message_id with
-- a row that arrived (a duplicate can quarantine an earlier row, SPEC §7).
-- recompute_from: a row at time t can only change triggers that start after t - 24 h (SPEC §4: the
-- four messages of a session trigger fall within 24 h; SPEC §5: a conversation's pair is less than
-- 24 h apart). Sessions and conversations that start earlier stay as chosen. If the last of them
-- is still open at t - 24 h, the stream is recomputed from its start, so that every recomputed
-- window chain begins where no earlier window reaches (the greedy choice starts afresh there).

{#- On a first or full build every stream is computed and nothing reads this list: skip the work. -#}
{%- set stream_models_exist = execute and not flags.FULL_REFRESH and adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_messages_sequenced'
) is not none %}
{#- A database built before int_messages_sequenced existed (2026-11-30) holds the other stream models: an
    incremental build would number every row again but recompute no stream, and bill nothing new. -#}
{%- if execute and not flags.FULL_REFRESH and not stream_models_exist and adapter.get_relation(
    database=this.database, schema=this.schema, identifier='fct_report_rows'
) is not none -%}
    {{ exceptions.raise_compiler_error(
        "This database was built by an earlier version of rbm-billing (it has no int_messages_sequenced): "
        ~ "rebuild it once with `dbt build --full-refresh` (make run does so by itself when the code changed)."
    ) }}
{%- endif %}
{#- The windows chosen by the previous run (not ref()s: they are built after this model). -#}
{%- set window_tables = [] -%}
{%- if stream_models_exist -%}
    {%- for identifier in ['int_us_sessions', 'int_global_conversations'] -%}
        {%- set relation = adapter.get_relation(database=this.database, schema=this.schema, identifier=identifier) -%}
        {%- if relation is not none -%}{%- do window_tables.append(relation) -%}{%- endif -%}
    {%- endfor -%}
{%- endif %}

with

staged as {{ inlined_cte() }} (
    select * from {{ ref('int_messages_unioned') }}
),

arrived as {{ inlined_cte() }} (
    select * from staged
    where
        {{ arrived_in_this_run() }}
        {% if not stream_models_exist %}and false{% endif %}
),

sharing_an_id as (
    select staged.* from staged
    where staged.message_id in (
        select arrived.message_id from arrived
        where arrived.message_id is not null
    )
),

changed_rows as (
    select * from arrived
    union all
    select * from sharing_an_id
),

-- A row's earliest possible event time (SPEC §2: sent_at for an MO, delivered_at for an MT).
changes as (
    select
        {{ stream_key('agent_id', 'user_key', 'carrier_id') }} as stream_key,
        case when delivered_at < sent_at then delivered_at else coalesce(sent_at, delivered_at) end as changed_at
    from changed_rows
),

touched as (
    select
        stream_key,
        -- A stream whose changed rows have no usable time at all is recomputed whole.
        coalesce(
            min(changed_at) - interval '{{ var("session_window_hours") }}' hour, cast('1900-01-01' as timestamp)
        ) as lookback_from
    from changes
    group by stream_key
),

chosen_windows as (
    select
        cast(null as string) as stream_key,
        cast(null as timestamp) as starts_at,
        cast(null as timestamp) as window_end_at
    where false
    {%- for relation in window_tables %}
    union all
    select
        stream_key,
        starts_at,
        window_end_at
    from {{ relation }}
    {%- endfor %}
),

-- Windows never overlap, so at most one starts before lookback_from and ends after it.
open_at_lookback as (
    select
        touched.stream_key,
        min(chosen_windows.starts_at) as open_window_starts_at
    from touched
    inner join chosen_windows
        on
            touched.stream_key = chosen_windows.stream_key
            and touched.lookback_from > chosen_windows.starts_at
            and touched.lookback_from < chosen_windows.window_end_at
    group by touched.stream_key
)

select
    touched.stream_key as touched_stream_key,
    coalesce(open_at_lookback.open_window_starts_at, touched.lookback_from) as recompute_from
from touched
left join open_at_lookback on touched.stream_key = open_at_lookback.stream_key
