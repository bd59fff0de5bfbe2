{{ config(materialized='view') }}

-- SPEC §2: the billable messages of every conversation stream in stream order
-- (event time, then message_id). stream_seq is the one order every later rule uses.
-- Decision (README): a stream is one agent, one user and one carrier, since the carrier
-- decides the billing model and the report an event lands in.
-- A view: int_messages_classified stores these rows with their type (one copy, not two); an
-- incremental run's filter on stream_key reaches below the numbering window.

with

billable as (
    select
        *,
        {{ stream_key('agent_id', 'user_key', 'carrier_id') }} as stream_key
    from {{ ref('int_messages_billability') }}
    where not_billable_reason is null
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
from billable
