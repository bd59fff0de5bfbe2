-- SPEC §9: reconciliation of our event grouping with Google's billing_event_id in activity logs.
-- One row per pair (Google event, our event) that share billed messages, plus one row per Google
-- event's messages we do not bill (with our reason) and per our event's messages Google does not bill.
-- Each row names its agent, the first day and the first activity log of its messages, and the report
-- file (generation date) of our event, so that one day, month, log or report file can be reconciled.

with

loaded_activities as (
    -- What a receipt can be of: a message, or an activity of a type the mapping seed does not know (which keeps
    -- Google's id itself: int_message_outcomes).
    select
        message_id as activity_id,
        carrier_id,
        agent_id,
        user_key
    from {{ ref('int_activity_log_messages') }}
    union all
    select
        activity_id,
        carrier_id,
        agent_id,
        user_key
    from {{ ref('int_activity_log_other_rows') }}
    where activity_role = 'unknown_activity_type'
),

receipts_without_message as (
    -- SPEC §9: a receipt is the message's of the same activity_id, carrier, agent and user
    -- (int_activity_log_messages). Google bills the message of a receipt whose message is in no loaded log (user
    -- trial, nineteenth session: that Google event was in no row), so the receipt stands for it: one message for
    -- all its receipts (delivery, read, a log delivered twice). A receipt without one of those ids is its own.
    select
        receipts.google_billing_event_id,
        receipts.carrier_id,
        receipts.activity_id as message_id,
        receipts.agent_id,
        min(receipts.source_file) as source_file,
        min(cast(receipts.occurred_at as date)) as sent_date,
        case when receipts.has_message_keys then 'message_not_in_logs' else 'receipt_without_ids' end
            as outcome_reason
    from {{ ref('int_activity_log_other_rows') }} as receipts
    left join loaded_activities
        on
            receipts.activity_id = loaded_activities.activity_id
            and receipts.carrier_id = loaded_activities.carrier_id
            and receipts.agent_id = loaded_activities.agent_id
            and receipts.user_key = loaded_activities.user_key
    where
        receipts.activity_role in ('delivery_receipt', 'read_receipt')
        and coalesce(receipts.google_billing_event_id, '') != ''
        and loaded_activities.activity_id is null
    group by
        receipts.google_billing_event_id,
        receipts.carrier_id,
        receipts.activity_id,
        receipts.agent_id,
        receipts.user_key,
        receipts.has_message_keys,
        case when not receipts.has_message_keys then receipts.source_file end,
        case when not receipts.has_message_keys then receipts.source_row end
),

activity_rows as (
    -- Every activity-log message Google assigned to a billing event, whatever we decided for it (an activity of
    -- an unknown type that is no message's too: int_message_outcomes), and the receipts that stand for theirs.
    select
        message_id,
        carrier_id,
        agent_id,
        source_file,
        sent_date,
        outcome_reason,
        google_billing_event_id
    from {{ ref('int_message_outcomes') }}
    where
        source_kind = 'activity_log'
        and outcome != 'exact_duplicate'
        and coalesce(google_billing_event_id, '') != ''
    union all
    select
        message_id,
        carrier_id,
        agent_id,
        source_file,
        sent_date,
        outcome_reason,
        google_billing_event_id
    from receipts_without_message
),

billed_rows as (
    select
        message_id,
        carrier_id,
        source_file,
        sent_date
    from {{ ref('int_message_outcomes') }}
    where source_kind = 'activity_log' and outcome = 'billed'
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
    from activity_rows
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
        activity_rows.google_billing_event_id,
        cast(null as string) as billing_event_id,
        min(activity_rows.carrier_id) as carrier_id,
        min(activity_rows.agent_id) as agent_id,
        min(activity_rows.sent_date) as first_sent_date,
        min(activity_rows.source_file) as source_file,
        cast(null as date) as our_generation_date,
        'google_only' as kind,
        count(*) as shared_messages,
        min(google_sizes.google_event_messages) as google_event_messages,
        cast(0 as bigint) as our_event_messages,
        cast(null as string) as our_event_type,
        activity_rows.outcome_reason as our_reason
    from activity_rows
    inner join google_sizes on activity_rows.google_billing_event_id = google_sizes.google_billing_event_id
    where activity_rows.outcome_reason != 'billed'
    group by activity_rows.google_billing_event_id, activity_rows.outcome_reason
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
