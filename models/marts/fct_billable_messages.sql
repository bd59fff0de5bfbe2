{{ config(materialized='view') }}

-- SPEC §8: one row per billed message of either billing model, with the event it is billed in.
-- A view: the two event tables are the stored rows (no second copy of every billed message).

with

us_events as (
    select * from {{ ref('int_us_billable_events') }}
),

global_events as (
    select * from {{ ref('int_global_billable_events') }}
),

all_events as (
    select * from us_events
    union all
    select * from global_events
)

select
    message_id,
    billing_event_id,
    google_billing_event_id,
    billing_model,
    carrier_id,
    agent_id,
    stream_key,
    stream_seq,
    direction,
    event_at,
    message_type,
    event_type,
    is_grouped,
    segment_count,
    size_kilobytes,
    first_message_id,
    event_mt_messages,
    event_mo_messages,
    event_size_kilobytes,
    event_first_at,
    event_last_at
from all_events
