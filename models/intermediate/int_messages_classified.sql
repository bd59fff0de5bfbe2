{{ config(**stream_scoped_config('event_at')) }}

-- Number every billable message in stream order (SPEC §2: event time, then message_id; stream_seq is
-- the one order every later rule uses) and classify it: its US event type (SPEC §3) or its global
-- message type (SPEC §5), by its carrier's billing model, with its own segment_count and size_kilobytes.

with

billable as (
    select * from {{ ref('int_billable_messages') }}
),

-- Daily operation: only the rows of the touched streams from their recompute_from on. Every row of
-- such a stream before recompute_from is kept as stored, and comes before every recomputed row in
-- stream order, so the recomputed rows are numbered after the kept ones. This holds because every row
-- whose billability a run can change is at or after its stream's recompute_from (int_touched_streams:
-- an arrived row, or one sharing a message_id with it); a new kind of change must lower it the same way.
messages as (
    {{ select_recomputed_rows('billable', 'event_at') }}
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
        messages.*,
        coalesce(kept_rows.kept_rows, 0)
        + row_number() over (partition by messages.stream_key order by messages.event_at, messages.message_id)
            as stream_seq
    from messages
    left join kept_rows on messages.stream_key = kept_rows.stream_key
),

flagged as (
    select
        *,
        -- SPEC §3: a text MT stays "rich" only with suggestions limited to reply, dial and
        -- open_url (in the browser); any other kind makes it rich media.
        coalesce(suggestions, '') = ''
        or {{ matches_regex('suggestions', '(reply|dial|open_url)?([|](reply|dial|open_url)?)*') }}
            as has_only_rich_suggestions,
        coalesce(suggestions, '') = '' as has_no_suggestions,
        coalesce(text_bytes, 0) as text_byte_count
    from numbered
),

classified as (
    select
        *,
        case
            when billing_model = 'us'
                then
                    case
                        when direction = 'MT' and content_kind = 'text' and has_only_rich_suggestions
                            then 'a2p_rich_message'
                        when direction = 'MT' then 'a2p_rich_media_message'
                        when content_kind in ('text', 'suggested_reply') then 'p2a_rich_message'
                        when content_kind = 'file' then 'p2a_rich_media_message'
                        when content_kind = 'suggested_action' then 'p2a_suggested_action'
                    end
            -- SPEC §5 (Decision: bytes, not characters): basic = plain text of at most 160 bytes.
            when
                direction = 'MT' and content_kind = 'text' and has_no_suggestions
                and text_byte_count <= {{ var('basic_message_max_bytes') }}
                then 'basic_message'
            when direction = 'MT' then 'single_message'
            -- SPEC §5: an MO is never billed on its own; it is billed only inside a conversation.
            else 'p2a_message'
        end as message_type
    from flagged
),

typed as (
    select
        stream_key,
        stream_seq,
        message_id,
        agent_id,
        carrier_id,
        billing_model,
        billing_category,
        direction,
        event_at,
        message_type,
        case
            when message_type in ('a2p_rich_message', 'p2a_rich_message') then {{ segment_count('text_bytes') }}
            else 0
        end as segment_count,
        {{ bytes_to_rounded_kilobytes('file_size_bytes') }} as size_kilobytes,
        google_billing_event_id
    from classified
)

select * from typed
