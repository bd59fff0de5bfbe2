{{ config(**stream_scoped_config('starts_at')) }}

-- SPEC §4: the triggers that open sessions: the first trigger of a stream, then the first
-- trigger at or after the end of the previous session's window, and so on.

with recursive

all_triggers as (
    select * from {{ ref('int_us_session_triggers') }}
),

triggers as (
    {{ select_recomputed_rows('all_triggers', 'starts_at') }}
),

{{ greedy_window_chain_ctes('triggers', 'session') }}

select
    stream_key,
    start_seq,
    start_message_id,
    starts_at,
    window_end_at,
    session_type
from session_chosen
