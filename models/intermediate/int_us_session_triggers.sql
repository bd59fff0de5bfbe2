{{ config(**stream_scoped_config('starts_at')) }}

-- SPEC §4: candidate i triggers a session when candidates i..i+3 all fall before
-- time(i) + 24 h and hold at least 2 MO and at least 1 MT.

with

all_candidates as (
    select * from {{ ref('int_us_trigger_candidates') }}
),

candidates as (
    {{ select_recomputed_rows('all_candidates', 'event_at') }}
),

next_four as (
    select
        *,
        lead(event_at, 3) over (partition by stream_key order by candidate_seq) as fourth_event_at,
        sum(case when direction = 'MO' then 1 else 0 end) over (
            partition by stream_key order by candidate_seq rows between current row and 3 following
        ) as mo_in_four,
        sum(case when direction = 'MT' then 1 else 0 end) over (
            partition by stream_key order by candidate_seq rows between current row and 3 following
        ) as mt_in_four
    from candidates
)

select
    stream_key,
    stream_seq as start_seq,
    message_id as start_message_id,
    event_at as starts_at,
    {{ window_end('event_at') }} as window_end_at,
    case when direction = 'MT' then 'a2p_session' else 'p2a_session' end as session_type
from next_four
where
    fourth_event_at is not null
    and fourth_event_at < {{ window_end('event_at') }}
    and mo_in_four >= 2
    and mt_in_four >= 1
