{{ config(**stream_scoped_config()) }}

-- SPEC §2: the billable messages of every conversation stream in stream order
-- (event time, then message_id). stream_seq is the one order every later rule uses.
-- Decision (README): a stream is one agent, one user and one carrier, since the carrier
-- decides the billing model and the report an event lands in.

with

billable as (
    select
        *,
        {{ stream_key('agent_id', 'user_key', 'carrier_id') }} as stream_key
    from {{ ref('int_messages_billability') }}
    where not_billable_reason is null
),

messages as (
    select * from billable
    {{ where_stream_is_touched() }}
)

select
    stream_key,
    row_number() over (partition by stream_key order by event_at, message_id) as stream_seq,
    message_id,
    agent_id,
    carrier_id,
    billing_model,
    billing_category,
    direction,
    content_kind,
    text_bytes,
    file_size_bytes,
    suggestions,
    event_at,
    google_billing_event_id
from messages
