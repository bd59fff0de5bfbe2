{{ config(**stream_scoped_config('event_at')) }}

-- SPEC §5, §6: every global-model message with the event it is billed in: a conversation when
-- inside one's window (from its first message on), else the MT alone as a basic or single
-- message. An MO outside every conversation is never billed on its own and is left out here
-- (the conservation audit counts it as not billable).

with

messages as (
    select * from {{ ref('int_messages_sequenced') }}
    where billing_model = 'global'
),

scoped_messages as (
    {{ select_recomputed_rows('messages', 'event_at') }}
),

all_conversations as (
    select * from {{ ref('int_global_conversations') }}
),

recomputed_conversations as (
    {{ select_recomputed_rows('all_conversations', 'starts_at') }}
),

conversations as (
    select
        stream_key,
        start_seq,
        starts_at,
        start_message_id,
        window_end_at,
        conversation_type as event_type
    from recomputed_conversations
),

{{ assign_to_windows_cte('assigned', 'scoped_messages', 'conversations') }},

billed as (
    select * from assigned
    where is_in_window or direction = 'MT'
),

{{ billable_event_rows('billed') }}
