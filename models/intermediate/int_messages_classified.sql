{{ config(materialized='view') }}

-- Classify every billable message by its carrier's billing model: its US event type (SPEC §3) or its
-- global message type (SPEC §5), with its own segment_count and size_kilobytes. A message's type
-- depends on the message alone, not on its stream: int_messages_sequenced numbers and stores the rows.

with

billable as (
    select * from {{ ref('int_billable_messages') }}
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
    from billable
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
