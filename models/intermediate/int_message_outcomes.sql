{{ config(materialized='view') }}

-- SPEC §2, §7: where every staged input row ended: quarantined (with its reason) or an exact
-- duplicate of a row counted once (the rows set aside), else billed or not billable (with its
-- reason). An accepted row that is neither billed nor not billable is 'unaccounted', which the
-- conservation audit's test rejects; an input row found in none of these counts is caught there
-- too, since the audit counts the input rows from staging on their own.
-- A view: its readers only count it (the audit, the run summary), so it is never stored; a daily
-- run would otherwise rewrite one row per input row ever loaded (issue: scale). The accepted rows
-- come from billability itself, not from a join of every checked row to billability.

with

set_aside as (
    select * from {{ ref('int_messages_checked') }}
    where quarantine_reason is not null or is_exact_duplicate
),

billability as (
    select * from {{ ref('int_messages_billability') }}
),

billed as (
    select message_id from {{ ref('fct_billable_messages') }}
),

-- SPEC §7: an exact copy of a row is counted once, a receipt's too (user trial, twentieth session: a log delivered
-- twice counted its receipts twice as not billable, its messages once): the later one in file-name order, as for
-- messages (int_messages_rejected).
activity_other_rows as (
    select
        *,
        row_number() over (
            partition by
                activity_id,
                carrier_id,
                agent_id,
                user_key,
                direction,
                activity_type,
                occurred_at_raw,
                size_bytes_raw,
                google_billing_event_id
            order by source_file, source_row
        ) > 1 as is_exact_duplicate
    from {{ ref('int_activity_log_other_rows') }}
),

activity_message_ids as (
    select distinct
        message_id,
        google_billing_event_id
    from {{ ref('int_activity_log_messages') }}
    where message_id is not null
)

select
    source_kind,
    source_file,
    source_row,
    message_id,
    carrier_id,
    agent_id,
    cast(sent_at as date) as sent_date,
    google_billing_event_id,
    case when quarantine_reason is not null then 'quarantined' else 'exact_duplicate' end as outcome,
    coalesce(quarantine_reason, 'exact_duplicate') as outcome_reason
from set_aside

union all

select
    billability.source_kind,
    billability.source_file,
    billability.source_row,
    billability.message_id,
    billability.carrier_id,
    billability.agent_id,
    cast(billability.sent_at as date) as sent_date,
    billability.google_billing_event_id,
    case
        when billed.message_id is not null then 'billed'
        when billability.not_billable_reason is not null then 'not_billable'
        when billability.billing_model = 'global' and billability.direction = 'MO' then 'not_billable'
        else 'unaccounted'
    end as outcome,
    case
        when billed.message_id is not null then 'billed'
        when billability.not_billable_reason is not null then billability.not_billable_reason
        when billability.billing_model = 'global' and billability.direction = 'MO' then 'mo_outside_conversation'
        else 'unaccounted'
    end as outcome_reason
from billability
left join billed on billability.message_id = billed.message_id

union all

-- SPEC §9: receipts and other non-message activities are never billed.
select
    activity_other_rows.source_kind,
    activity_other_rows.source_file,
    activity_other_rows.source_row,
    activity_other_rows.activity_id as message_id,
    activity_other_rows.carrier_id,
    activity_other_rows.agent_id,
    cast(activity_other_rows.occurred_at as date) as sent_date,
    -- Receipts share their message's Google id: only the message itself counts for reconciliation (a receipt
    -- whose message is in no loaded log: rpt_google_reconciliation). An activity of an unknown type that is no
    -- message of its Google event keeps Google's id: if Google billed it, the reconciliation shows it (google_only,
    -- unknown_activity_type). Matched within the event: another agent's message of the same id is in another one.
    case
        when activity_other_rows.activity_role = 'unknown_activity_type' and activity_message_ids.message_id is null
            then activity_other_rows.google_billing_event_id
    end as google_billing_event_id,
    case when activity_other_rows.is_exact_duplicate then 'exact_duplicate' else 'not_billable' end as outcome,
    case
        when activity_other_rows.is_exact_duplicate then 'exact_duplicate' else activity_other_rows.activity_role
    end as outcome_reason
from activity_other_rows
left join activity_message_ids
    on
        activity_other_rows.activity_id = activity_message_ids.message_id
        and activity_other_rows.google_billing_event_id = activity_message_ids.google_billing_event_id
