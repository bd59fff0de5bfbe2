-- SPEC §2, §7: per source file, carrier and day, every input row is accounted for:
-- input = billed + not billable + quarantined + exact duplicates. Input rows are counted
-- from staging, independently of the outcomes, so a row lost on the way shows here.

with

staged_lines as (
    select
        source_kind,
        source_file,
        carrier_id,
        cast(sent_at as date) as sent_date
    from {{ ref('stg_messages') }}
    union all
    select
        'activity_log' as source_kind,
        source_file,
        carrier_id,
        cast(occurred_at as date) as sent_date
    from {{ ref('stg_activity_log') }}
),

staged as (
    select
        source_kind,
        source_file,
        carrier_id,
        sent_date,
        count(*) as input_rows
    from staged_lines
    group by source_kind, source_file, carrier_id, sent_date
),

outcomes as (
    select
        source_kind,
        source_file,
        carrier_id,
        sent_date,
        sum(case when outcome = 'billed' then 1 else 0 end) as billed_rows,
        sum(case when outcome = 'not_billable' then 1 else 0 end) as not_billable_rows,
        sum(case when outcome_reason = 'tester' then 1 else 0 end) as not_billable_tester_rows,
        sum(case when outcome_reason = 'mt_not_delivered' then 1 else 0 end) as not_billable_mt_not_delivered_rows,
        sum(case when outcome_reason = 'mo_outside_conversation' then 1 else 0 end)
            as not_billable_mo_outside_conversation_rows,
        sum(case when outcome = 'quarantined' then 1 else 0 end) as quarantined_rows,
        sum(case when outcome = 'exact_duplicate' then 1 else 0 end) as exact_duplicate_rows,
        sum(case when outcome = 'unaccounted' then 1 else 0 end) as unaccounted_rows
    from {{ ref('int_message_outcomes') }}
    group by source_kind, source_file, carrier_id, sent_date
),

joined as (
    select
        coalesce(staged.source_kind, outcomes.source_kind) as source_kind,
        coalesce(staged.source_file, outcomes.source_file) as source_file,
        coalesce(staged.carrier_id, outcomes.carrier_id) as carrier_id,
        coalesce(staged.sent_date, outcomes.sent_date) as sent_date,
        coalesce(staged.input_rows, 0) as input_rows,
        coalesce(outcomes.billed_rows, 0) as billed_rows,
        coalesce(outcomes.not_billable_rows, 0) as not_billable_rows,
        coalesce(outcomes.not_billable_tester_rows, 0) as not_billable_tester_rows,
        coalesce(outcomes.not_billable_mt_not_delivered_rows, 0) as not_billable_mt_not_delivered_rows,
        coalesce(outcomes.not_billable_mo_outside_conversation_rows, 0) as not_billable_mo_outside_conversation_rows,
        coalesce(outcomes.quarantined_rows, 0) as quarantined_rows,
        coalesce(outcomes.exact_duplicate_rows, 0) as exact_duplicate_rows,
        coalesce(outcomes.unaccounted_rows, 0) as unaccounted_rows
    from staged
    full outer join outcomes
        on
            staged.source_kind = outcomes.source_kind
            and staged.source_file = outcomes.source_file
            and staged.carrier_id is not distinct from outcomes.carrier_id
            and staged.sent_date is not distinct from outcomes.sent_date
)

select
    *,
    input_rows = billed_rows + not_billable_rows + quarantined_rows + exact_duplicate_rows
    and unaccounted_rows = 0 as is_balanced
from joined
