{{ config(materialized='view') }}

-- SPEC §2: the billable messages, each with its conversation stream.
-- Decision (README): a stream is one agent, one user and one carrier, since the carrier
-- decides the billing model and the report an event lands in.
-- A view, like int_messages_classified: int_messages_sequenced numbers and stores these rows with
-- their type (one copy, not two), after a daily run's filter on the touched streams.

with

billable as (
    select * from {{ ref('int_messages_billability') }}
    where not_billable_reason is null
)

select
    {{ stream_key('agent_id', 'user_key', 'carrier_id') }} as stream_key,
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
