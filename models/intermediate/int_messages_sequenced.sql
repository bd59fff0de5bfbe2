{{ config(**stream_scoped_config('event_at')) }}

-- SPEC §2: number every classified message in stream order (event time, then message_id). stream_seq
-- is the one order every later rule of both billing models uses; this model stores the numbered rows
-- that daily runs keep.

with

classified as (
    select * from {{ ref('int_messages_classified') }}
),

-- Daily operation: only the rows of the touched streams from their recompute_from on. Every row of
-- such a stream before recompute_from is kept as stored, and comes before every recomputed row in
-- stream order, so the recomputed rows are numbered after the kept ones. This holds because every row
-- whose billability a run can change is at or after its stream's recompute_from (int_touched_streams:
-- an arrived row, or one sharing a message_id with it); a new kind of change must lower it the same way.
messages as (
    {{ select_recomputed_rows('classified', 'event_at') }}
),

kept_rows as (
    {% if recomputes_touched_streams() %}
        select
            stored.stream_key,
            count(*) as kept_rows
        from {{ this }} as stored
        inner join {{ ref('int_touched_streams') }} as touched
            on
                stored.stream_key = touched.touched_stream_key
                and stored.event_at < touched.recompute_from
        group by stored.stream_key
    {% else %}
        select
            cast(null as string) as stream_key,
            cast(null as bigint) as kept_rows
        where false
    {% endif %}
),

numbered as (
    select
        messages.stream_key,
        coalesce(kept_rows.kept_rows, 0)
        + row_number() over (partition by messages.stream_key order by messages.event_at, messages.message_id)
            as stream_seq,
        messages.message_id,
        messages.agent_id,
        messages.carrier_id,
        messages.billing_model,
        messages.billing_category,
        messages.direction,
        messages.event_at,
        messages.message_type,
        messages.segment_count,
        messages.size_kilobytes,
        messages.google_billing_event_id
    from messages
    left join kept_rows on messages.stream_key = kept_rows.stream_key
)

select * from numbered
