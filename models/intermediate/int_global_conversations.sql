{{ config(**stream_scoped_config('starts_at')) }}

-- SPEC §5: the pairs that open conversations: the first of a stream, then the first one that
-- starts at or after the end of the previous conversation's window ("the stream starts afresh").

with recursive

all_triggers as (
    select * from {{ ref('int_global_conversation_triggers') }}
),

triggers as (
    {{ select_recomputed_rows('all_triggers', 'starts_at') }}
),

{{ greedy_window_chain_ctes('triggers', 'conversation') }}

select
    stream_key,
    start_seq,
    start_message_id,
    starts_at,
    window_end_at,
    conversation_type
from conversation_chosen
