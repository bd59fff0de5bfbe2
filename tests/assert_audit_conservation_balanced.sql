-- SPEC §2, §7: nothing is dropped silently. For every source file, carrier and sent day the input rows
-- equal billed + not billable + quarantined + exact duplicates, the not-billable rows equal the sum of
-- their reasons, and no row is unaccounted. Returns the groups where the equation does not hold.

with

audit as (
    select * from {{ ref('audit_conservation') }}
)

select
    *,
    input_rows - (billed_rows + not_billable_rows + quarantined_rows + exact_duplicate_rows) as missing_rows
from audit
where
    input_rows != billed_rows + not_billable_rows + quarantined_rows + exact_duplicate_rows
    or not_billable_rows
    != not_billable_tester_rows + not_billable_mt_not_delivered_rows + not_billable_mo_outside_conversation_rows
    or unaccounted_rows != 0
    or is_balanced is null
    or not is_balanced
