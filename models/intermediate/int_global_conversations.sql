{{ config(**stream_scoped_config()) }}

-- SPEC §5: the pairs that open conversations: the first of a stream, then the first one that
-- starts at or after the end of the previous conversation's window ("the stream starts afresh").

with recursive

triggers as (
    select * from {{ ref('int_global_conversation_triggers') }}
    {{ where_stream_is_touched() }}
),

{{ greedy_window_chain_ctes('triggers', 'conversation') }}

select
    triggers.stream_key,
    triggers.start_seq,
    triggers.start_message_id,
    triggers.starts_at,
    triggers.window_end_at,
    triggers.conversation_type
from triggers
inner join conversation_chosen
    on triggers.stream_key = conversation_chosen.stream_key and triggers.start_seq = conversation_chosen.start_seq
