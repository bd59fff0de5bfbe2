-- SPEC §9: reconciliation of our event grouping with Google's billing_event_id in activity logs.
-- One row per pair (Google event, our event) that share billed messages, plus one row per Google
-- event's messages we do not bill (with our reason) and per our event's messages Google does not bill.
-- Each row names its agent, the first day and the first activity log of its messages, and the report
-- file (generation date) of our event, so that one day, month, log or report file can be reconciled.

with

activity_outcomes as (
    -- Read once: google_rows and billed_rows both come from it (the view unions and windows every staged row).
    select * from {{ ref('int_message_outcomes') }}
    where source_kind = 'activity_log'
),

google_rows as (
    -- The rows Google assigned to its events: messages, whatever we decided for them, and activities of an unknown
    -- type that are no message of their event (int_message_outcomes). A message is its activity_id within the event
    -- (SPEC §9: an MT and its receipts share the id), so its copies in one event are one message (a log delivered
    -- twice, two conflicting copies), and a copy in another event is a message of that event too (review, twentieth
    -- session: Google's second event was in no row); a row without an id is a message of its own.
    select
        google_billing_event_id,
        case
            when message_id is null then concat('row:', source_file, '#', cast(source_row as string))
            else concat('id:', message_id)
        end as google_message,
        message_id,
        carrier_id,
        agent_id,
        source_file,
        sent_date,
        outcome_reason
    from activity_outcomes
    where coalesce(google_billing_event_id, '') != ''
),

receipts as (
    -- Delivery and read receipts of Google's events; an id of spaces only is no id (has_message_keys).
    select
        google_billing_event_id,
        usable_activity_id as activity_id,
        case when usable_activity_id is null then 'receipts without an id' else concat('id:', usable_activity_id) end
            as google_message,
        case when usable_activity_id is null then 'receipt_without_ids' else 'message_not_in_logs' end
            as outcome_reason,
        carrier_id,
        agent_id,
        source_file,
        occurred_at
    from (
        select
            *,
            case when coalesce({{ is_blank('activity_id') }}, true) then null else activity_id end as usable_activity_id
        from {{ ref('int_activity_log_other_rows') }}
        where
            activity_role in ('delivery_receipt', 'read_receipt')
            and coalesce(google_billing_event_id, '') != ''
    ) as with_ids
),

event_message_ids as (
    select distinct
        google_billing_event_id,
        message_id
    from google_rows
    where message_id is not null
),

events_with_an_id as (
    select google_billing_event_id from google_rows
    union
    select google_billing_event_id from receipts
    where activity_id is not null
),

receipts_without_message as (
    -- Google bills the message of a delivery or read receipt; when no row of the receipt's event has its
    -- activity_id, that message is in no loaded log (user trial, nineteenth session: the event was in no row), and
    -- its receipts stand for it, one message (a log delivered twice included). Receipts without an activity_id stand
    -- for one message when their event has no other row (no message, no receipt with an id). Matched within Google's
    -- event, not by id alone: agents choose their ids, and another agent's message of the same id is in another event.
    select
        receipts.google_billing_event_id,
        receipts.google_message,
        min(receipts.carrier_id) as carrier_id,
        min(receipts.agent_id) as agent_id,
        min(receipts.source_file) as source_file,
        min(cast(receipts.occurred_at as date)) as sent_date,
        receipts.outcome_reason
    from receipts
    left join event_message_ids
        on
            receipts.google_billing_event_id = event_message_ids.google_billing_event_id
            and receipts.activity_id = event_message_ids.message_id
    left join events_with_an_id on receipts.google_billing_event_id = events_with_an_id.google_billing_event_id
    where
        (receipts.activity_id is not null and event_message_ids.google_billing_event_id is null)
        or (receipts.activity_id is null and events_with_an_id.google_billing_event_id is null)
    group by receipts.google_billing_event_id, receipts.google_message, receipts.outcome_reason
),

google_messages as (
    -- One row per message of each Google event, with what we decided for it: the copy counted (an exact copy in the
    -- same event says nothing more; conflicting copies are all quarantined).
    select
        google_billing_event_id,
        google_message,
        min(carrier_id) as carrier_id,
        min(agent_id) as agent_id,
        min(source_file) as source_file,
        min(sent_date) as sent_date,
        coalesce(min(case when outcome_reason != 'exact_duplicate' then outcome_reason end), 'exact_duplicate')
            as outcome_reason
    from (
        {%- set google_side = [
            'google_billing_event_id', 'google_message', 'carrier_id', 'agent_id', 'source_file', 'sent_date',
            'outcome_reason',
        ] %}
        select {{ google_side | join(', ') }} from google_rows
        union all
        select {{ google_side | join(', ') }} from receipts_without_message
    ) as google_side
    group by google_billing_event_id, google_message
),

billed_rows as (
    select
        message_id,
        carrier_id,
        source_file,
        sent_date
    from activity_outcomes
    where outcome = 'billed'
),

billed as (
    -- Every billed message of an activity log, with or without Google's id (ours_only rows).
    select
        billable.message_id,
        billable.carrier_id,
        billable.agent_id,
        billed_rows.source_file,
        billed_rows.sent_date,
        billable.billing_event_id,
        billable.event_type,
        {{ report_generation_day('billable.event_first_at') }} as our_generation_date,
        nullif(billable.google_billing_event_id, '') as google_billing_event_id
    from {{ ref('fct_billable_messages') }} as billable
    inner join billed_rows
        on
            billable.message_id = billed_rows.message_id
            and billable.carrier_id = billed_rows.carrier_id
),

google_sizes as (
    select
        google_billing_event_id,
        count(*) as google_event_messages
    from google_messages
    group by google_billing_event_id
),

our_sizes as (
    select
        billing_event_id,
        count(*) as our_event_messages
    from billed
    group by billing_event_id
),

links as (
    select
        google_billing_event_id,
        billing_event_id,
        min(carrier_id) as carrier_id,
        min(agent_id) as agent_id,
        min(sent_date) as first_sent_date,
        min(source_file) as source_file,
        min(our_generation_date) as our_generation_date,
        min(event_type) as our_event_type,
        count(*) as shared_messages
    from billed
    where google_billing_event_id is not null
    group by google_billing_event_id, billing_event_id
),

fan_out as (
    select
        links.*,
        count(*) over (partition by links.google_billing_event_id) as our_events_in_google_event,
        count(*) over (partition by links.billing_event_id) as google_events_in_our_event
    from links
),

paired as (
    select
        fan_out.google_billing_event_id,
        fan_out.billing_event_id,
        fan_out.carrier_id,
        fan_out.agent_id,
        fan_out.first_sent_date,
        fan_out.source_file,
        fan_out.our_generation_date,
        case
            when fan_out.our_events_in_google_event > 1 and fan_out.google_events_in_our_event > 1 then 'regrouped'
            when fan_out.our_events_in_google_event > 1 then 'google_merged'
            when fan_out.google_events_in_our_event > 1 then 'google_split'
            when
                fan_out.shared_messages = google_sizes.google_event_messages
                and fan_out.shared_messages = our_sizes.our_event_messages
                then 'identical'
            else 'different_members'
        end as kind,
        fan_out.shared_messages,
        google_sizes.google_event_messages,
        our_sizes.our_event_messages,
        fan_out.our_event_type,
        cast(null as string) as our_reason
    from fan_out
    inner join google_sizes on fan_out.google_billing_event_id = google_sizes.google_billing_event_id
    inner join our_sizes on fan_out.billing_event_id = our_sizes.billing_event_id
),

google_only as (
    -- Messages Google bills that we do not, with the rule (our outcome reason) that says so.
    select
        google_messages.google_billing_event_id,
        cast(null as string) as billing_event_id,
        min(google_messages.carrier_id) as carrier_id,
        min(google_messages.agent_id) as agent_id,
        min(google_messages.sent_date) as first_sent_date,
        min(google_messages.source_file) as source_file,
        cast(null as date) as our_generation_date,
        'google_only' as kind,
        count(*) as shared_messages,
        min(google_sizes.google_event_messages) as google_event_messages,
        cast(0 as bigint) as our_event_messages,
        cast(null as string) as our_event_type,
        google_messages.outcome_reason as our_reason
    from google_messages
    inner join google_sizes on google_messages.google_billing_event_id = google_sizes.google_billing_event_id
    where google_messages.outcome_reason != 'billed'
    group by google_messages.google_billing_event_id, google_messages.outcome_reason
),

ours_only as (
    select
        cast(null as string) as google_billing_event_id,
        billed.billing_event_id,
        min(billed.carrier_id) as carrier_id,
        min(billed.agent_id) as agent_id,
        min(billed.sent_date) as first_sent_date,
        min(billed.source_file) as source_file,
        min(billed.our_generation_date) as our_generation_date,
        'ours_only' as kind,
        count(*) as shared_messages,
        cast(0 as bigint) as google_event_messages,
        min(our_sizes.our_event_messages) as our_event_messages,
        min(billed.event_type) as our_event_type,
        cast(null as string) as our_reason
    from billed
    inner join our_sizes on billed.billing_event_id = our_sizes.billing_event_id
    where billed.google_billing_event_id is null
    group by billed.billing_event_id
)

select * from paired
union all
select * from google_only
union all
select * from ours_only
