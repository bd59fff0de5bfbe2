{{ config(**stream_scoped_config()) }}

-- SPEC §4: the triggers that open sessions: the first trigger of a stream, then the first
-- trigger at or after the end of the previous session's window, and so on.

with recursive

triggers as (
    select * from {{ ref('int_us_session_triggers') }}
    {{ where_stream_is_touched() }}
),

{{ greedy_window_chain_ctes('triggers', 'session') }}

select
    triggers.stream_key,
    triggers.start_seq,
    triggers.start_message_id,
    triggers.starts_at,
    triggers.window_end_at,
    triggers.session_type
from triggers
inner join session_chosen
    on triggers.stream_key = session_chosen.stream_key and triggers.start_seq = session_chosen.start_seq
