{{ config(**stream_scoped_config('event_at')) }}

-- SPEC §4, §6: one row per billable US message with the event it is billed in. Messages
-- inside a session window (from its trigger on, in stream order) share the session's event;
-- every other message is its own event.

with

messages as (
    select * from {{ ref('int_messages_sequenced') }}
    where billing_model = 'us'
),

scoped_messages as (
    {{ select_recomputed_rows('messages', 'event_at') }}
),

all_sessions as (
    select * from {{ ref('int_us_sessions') }}
),

recomputed_sessions as (
    {{ select_recomputed_rows('all_sessions', 'starts_at') }}
),

sessions as (
    select
        stream_key,
        start_seq,
        starts_at,
        start_message_id,
        window_end_at,
        session_type as event_type
    from recomputed_sessions
),

{{ assign_to_windows_cte('assigned', 'scoped_messages', 'sessions') }},

{{ billable_event_rows('assigned') }}
