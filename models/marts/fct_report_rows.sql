{{ config(post_hook="{{ log_restatements() }}", **stream_scoped_config('event_first_at')) }}
-- depends_on: {{ ref('int_report_restatements') }}
-- depends_on: {{ ref('rpt_restatements') }}

-- SPEC §6: the rows of the carrier reports, with the carrier and generation date that decide
-- the file each lands in. US: one row per billed message, session rows carrying the session's
-- totals. Global: one row per event (macro report_rows_ctes).
-- Built after int_report_restatements, which compares the rows this run recomputes with the ones stored
-- here by the previous run (so no second copy of the published rows is kept); the post-hook appends those
-- restatements to the log rpt_restatements in the transaction that replaces the rows (macro log_restatements).

with

all_billed as (
    select * from {{ ref('fct_billable_messages') }}
),

billed as (
    {{ select_recomputed_rows('all_billed', 'event_first_at') }}
),

agents as (
    select * from {{ ref('int_agents_checked') }}
    where quarantine_reason is null and not is_exact_duplicate
),

{{ report_rows_ctes('billed', 'agents') }}

select * from report_rows
