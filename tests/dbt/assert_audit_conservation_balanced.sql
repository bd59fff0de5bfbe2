-- SPEC §2, §7: nothing is dropped silently. For every source file, carrier and sent day the input rows
-- equal billed + not billable + quarantined + exact duplicates, and no row is unaccounted.
-- Returns the groups where the equation does not hold (written out here, not read from is_balanced, so
-- that a wrong is_balanced cannot hide a loss).

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
    or unaccounted_rows != 0
    or is_balanced is null
    or not is_balanced
