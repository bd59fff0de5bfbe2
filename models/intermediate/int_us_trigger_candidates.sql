{{ config(materialized='view') }}

-- SPEC §4: trigger candidates are the rich and rich-media events (MT and MO) of conversational
-- agents on US carriers. Decision: suggested actions do not count toward a trigger.

with

messages as (
    select * from {{ ref('int_messages_sequenced') }}
)

select
    stream_key,
    stream_seq,
    message_id,
    direction,
    event_at,
    row_number() over (partition by stream_key order by stream_seq) as candidate_seq
from messages
where
    billing_model = 'us'
    and billing_category = 'conversational'
    and message_type in (
        'a2p_rich_message', 'a2p_rich_media_message', 'p2a_rich_message', 'p2a_rich_media_message'
    )
