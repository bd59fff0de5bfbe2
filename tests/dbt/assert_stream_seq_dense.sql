-- SPEC §2: stream_seq numbers each conversation stream 1, 2, … n with no gap or repeat, on a full
-- build and after daily runs alike (a daily run numbers the recomputed rows after the kept ones).
-- A daily run that numbers from the wrong offset leaves a gap or an overlap, so the last number is not
-- the stream's row count. (A repeat elsewhere is the unique (stream_key, stream_seq) test's, `make test`.)

with

sequenced as (
    select * from {{ ref('int_messages_sequenced') }}
),

per_stream as (
    select
        stream_key,
        count(*) as messages,
        min(stream_seq) as first_seq,
        max(stream_seq) as last_seq
    from sequenced
    group by stream_key
)

select * from per_stream
where first_seq != 1 or last_seq != messages
