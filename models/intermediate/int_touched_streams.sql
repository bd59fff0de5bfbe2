-- Daily operation: the conversation streams whose billing a run may change. A stream is touched
-- when a row of it arrived in this run, or when it holds a row sharing a message_id with a row that
-- arrived (a duplicate can quarantine an earlier row, SPEC §7). Only these streams are recomputed.

{#- On a first or full build every stream is computed and nothing reads this list: skip the work. -#}
{%- set stream_models_exist = execute and not flags.FULL_REFRESH and adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_messages_classified'
) is not none %}

with

staged as (
    select * from {{ ref('int_messages_unioned') }}
),

arrived as (
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

touched_rows as (
    select
        agent_id,
        user_key,
        carrier_id
    from arrived
    union all
    select
        agent_id,
        user_key,
        carrier_id
    from sharing_an_id
)

select distinct {{ stream_key('agent_id', 'user_key', 'carrier_id') }} as stream_key
from touched_rows
