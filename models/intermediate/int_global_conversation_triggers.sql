{{ config(**stream_scoped_config('starts_at')) }}

-- SPEC §5: outside a conversation, a conversation starts from two consecutive messages of a
-- conversational agent's stream in opposite directions, the second less than 24 h after the
-- first. MT then MO: the latest pending MT and its reply (A2P). MO then MT: the latest waiting
-- MO and the agent's next MT (P2A). Either way the window runs 24 h from the MO.

with

messages as (
    select * from {{ ref('int_messages_sequenced') }}
    where billing_model = 'global' and billing_category = 'conversational'
),

scoped as (
    {{ select_recomputed_rows('messages', 'event_at') }}
),

paired as (
    select
        *,
        lead(direction) over (partition by stream_key order by stream_seq) as next_direction,
        lead(event_at) over (partition by stream_key order by stream_seq) as next_event_at
    from scoped
)

select
    stream_key,
    stream_seq as start_seq,
    message_id as start_message_id,
    event_at as starts_at,
    case
        when direction = 'MT' then {{ window_end('next_event_at') }}
        else {{ window_end('event_at') }}
    end as window_end_at,
    case when direction = 'MT' then 'a2p_conversation' else 'p2a_conversation' end as conversation_type
from paired
where
    next_direction is not null
    and next_direction != direction
    and next_event_at < {{ window_end('event_at') }}
