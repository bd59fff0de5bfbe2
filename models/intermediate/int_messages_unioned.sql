{{ config(materialized='view') }}

-- SPEC §1, §9: one staged shape for every input: `messages` files and Google activity logs
-- mapped onto the messages contract. Every later model is shared by both sources.

with

messages as (
    select * from {{ ref('stg_messages') }}
),

activity_log_messages as (
    select * from {{ ref('int_activity_log_messages') }}
)

{%- set columns = [
    'source_kind', 'source_file', 'source_row', 'parse_error', 'message_id', 'agent_id', 'user_key', 'carrier_id',
    'direction', 'content_kind', 'text_bytes', 'text_key', 'file_size_bytes_raw', 'file_size_bytes', 'suggestions',
    'status', 'sent_at_raw', 'sent_at', 'delivered_at_raw', 'delivered_at', 'is_tester_raw', 'is_tester',
] %}

select
    {{ columns | join(',\n    ') }},
    cast(null as string) as google_billing_event_id,
    cast(null as string) as delivery_receipt,
    loaded_at
from messages

union all

select
    {{ columns | join(',\n    ') }},
    google_billing_event_id,
    delivery_receipt,
    loaded_at
from activity_log_messages
