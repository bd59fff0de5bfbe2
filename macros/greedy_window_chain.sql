{#- The chaining rule shared by US sessions (SPEC §4) and global conversations (SPEC §5):
    scan a stream's triggers in stream order; the first trigger opens a window; scanning
    resumes at the first trigger that starts at or after that window's end; repeat.

    `triggers` is a CTE with one row per possible trigger: stream_key, start_seq (stream_seq of
    its first message), starts_at, window_end_at. Renders CTEs ending in `<prefix>_chosen`: the rows
    of `triggers` that open a window. The calling model must begin with `with recursive`.

    Linear: each trigger's successor is found with one sorted window pass, and the recursion
    only walks chains inside "segments": a trigger starting at or after the end of every earlier
    window of its stream is always chosen, so each such segment head seeds its own walk. -#}
{% macro greedy_window_chain_ctes(triggers, prefix) %}
{{ prefix }}_ranked as (
    select
        stream_key,
        start_seq,
        starts_at,
        window_end_at,
        row_number() over (partition by stream_key order by start_seq) as trigger_rank,
        max(window_end_at) over (
            partition by stream_key order by start_seq rows between unbounded preceding and 1 preceding
        ) as latest_earlier_end_at
    from {{ triggers }}
),

{{ prefix }}_points as (
    -- A window's end, ordered before a trigger starting at the same instant ("at or after").
    select stream_key, window_end_at as point_at, 0 as point_kind, trigger_rank, cast(null as bigint) as rank_at_point
    from {{ prefix }}_ranked
    union all
    select stream_key, starts_at as point_at, 1 as point_kind, trigger_rank, trigger_rank as rank_at_point
    from {{ prefix }}_ranked
),

{{ prefix }}_successors as (
    select
        stream_key,
        trigger_rank,
        next_rank
    from (
        select
            stream_key,
            point_kind,
            trigger_rank,
            min(rank_at_point) over (
                partition by stream_key order by point_at, point_kind, trigger_rank
                rows between current row and unbounded following
            ) as next_rank
        from {{ prefix }}_points
    ) as scanned
    where point_kind = 0
),

{{ prefix }}_links as (
    select
        ranked.stream_key,
        ranked.trigger_rank,
        successors.next_rank,
        ranked.latest_earlier_end_at is null or ranked.starts_at >= ranked.latest_earlier_end_at as is_segment_head
    from {{ prefix }}_ranked as ranked
    inner join {{ prefix }}_successors as successors
        on ranked.stream_key = successors.stream_key and ranked.trigger_rank = successors.trigger_rank
),

{{ prefix }}_walk as (
    select stream_key, trigger_rank, next_rank
    from {{ prefix }}_links
    where is_segment_head
    union all
    select links.stream_key, links.trigger_rank, links.next_rank
    from {{ prefix }}_walk as walk
    inner join {{ prefix }}_links as links
        on walk.stream_key = links.stream_key and walk.next_rank = links.trigger_rank
    where not links.is_segment_head
),

{{ prefix }}_chosen as (
    select {{ triggers }}.*
    from {{ triggers }}
    inner join {{ prefix }}_ranked as ranked
        on {{ triggers }}.stream_key = ranked.stream_key and {{ triggers }}.start_seq = ranked.start_seq
    inner join {{ prefix }}_walk as walk
        on ranked.stream_key = walk.stream_key and ranked.trigger_rank = walk.trigger_rank
)
{% endmacro %}

{#- Assign every message of a stream to the chosen window covering it (SPEC §4, §5): the window
    opened at or before the message in stream order whose end is after the message's time. Windows
    never overlap (a chosen window starts at or after the end of the one before), so at most one
    window covers a message. `windows` holds stream_key, start_seq, starts_at, window_end_at,
    start_message_id and event_type. Renders two CTEs, `<name>_buckets` and `<name>`: every message
    with is_in_window, and its window's window_start_message_id and window_event_type.

    Linear, with no sort of the messages: time is cut into buckets of session_window_hours, each window
    is listed under every bucket from its start's to its end's (two for a 24 h session, up to three for a
    conversation that runs 24 h from a reply), and a message meets only the windows listed under its own
    bucket: at most two per stream, since every window of a stream lasts at least session_window_hours
    and they never overlap. -#}
{% macro assign_to_windows_cte(name, messages, windows) %}
{{ name }}_buckets as (
    select
        stream_key,
        {{ each_integer_between(time_bucket('starts_at'), time_bucket('window_end_at')) }} as time_bucket,
        start_seq,
        start_message_id,
        window_end_at,
        event_type
    from {{ windows }}
),

{{ name }} as (
    select
        m.*,
        w.start_seq is not null as is_in_window,
        w.start_message_id as window_start_message_id,
        w.event_type as window_event_type
    from {{ messages }} as m
    left join {{ name }}_buckets as w
        on
            m.stream_key = w.stream_key
            and {{ time_bucket('m.event_at') }} = w.time_bucket
            and w.start_seq <= m.stream_seq
            and m.event_at < w.window_end_at
)
{% endmacro %}

{#- The time bucket of a timestamp for assign_to_windows_cte: session_window_hours since the epoch, the
    division truncated (before 1970 bucket 0 is twice as wide). Any step function that never decreases
    with time would do; both sides of the match use this one. -#}
{% macro time_bucket(timestamp) -%}
    {%- set hours = var('session_window_hours') | string | trim -%}
    {%- if not hours.isdigit() or hours | int < 1 -%}
        {{ exceptions.raise_compiler_error("session_window_hours must be a whole number of hours, 1 or more: got '" ~ hours ~ "'") }}
    {%- endif -%}
    {{ integer_divide(epoch_microseconds(timestamp), (hours | int) * 3600000000) }}
{%- endmacro %}
