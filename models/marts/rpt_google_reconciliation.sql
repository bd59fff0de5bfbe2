-- SPEC §9: reconciliation of our event grouping with Google's billing_event_id in activity logs.
-- One row per pair (Google event, our event) that share billed messages, plus one row per Google
-- event's messages we do not bill (with our reason) and per our event's messages Google does not bill.

with

activity_messages as (
    -- Every activity-log message Google assigned to a billing event, whatever we decided for it.
    select
        message_id,
        carrier_id,
        outcome_reason,
        google_billing_event_id
    from {{ ref('int_message_outcomes') }}
    where
        source_kind = 'activity_log'
        and outcome != 'exact_duplicate'
        and coalesce(google_billing_event_id, '') != ''
),

billed as (
    select
        message_id,
        carrier_id,
        billing_event_id,
        event_type,
        nullif(google_billing_event_id, '') as google_billing_event_id
    from {{ ref('fct_billable_messages') }}
    -- Every billed message of an activity log, with or without Google's id (ours_only rows).
    where message_id in (
        select message_id from {{ ref('int_message_outcomes') }}
        where source_kind = 'activity_log' and outcome = 'billed'
    )
),

google_sizes as (
    select
        google_billing_event_id,
        count(*) as google_event_messages
    from activity_messages
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
        billed.google_billing_event_id,
        billed.billing_event_id,
        min(billed.carrier_id) as carrier_id,
        min(billed.event_type) as our_event_type,
        count(*) as shared_messages
    from billed
    where billed.google_billing_event_id is not null
    group by billed.google_billing_event_id, billed.billing_event_id
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
        activity_messages.google_billing_event_id,
        cast(null as string) as billing_event_id,
        min(activity_messages.carrier_id) as carrier_id,
        'google_only' as kind,
        count(*) as shared_messages,
        min(google_sizes.google_event_messages) as google_event_messages,
        cast(0 as bigint) as our_event_messages,
        cast(null as string) as our_event_type,
        activity_messages.outcome_reason as our_reason
    from activity_messages
    inner join google_sizes on activity_messages.google_billing_event_id = google_sizes.google_billing_event_id
    where activity_messages.outcome_reason != 'billed'
    group by activity_messages.google_billing_event_id, activity_messages.outcome_reason
),

ours_only as (
    select
        cast(null as string) as google_billing_event_id,
        billed.billing_event_id,
        min(billed.carrier_id) as carrier_id,
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
