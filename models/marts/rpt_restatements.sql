{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    on_schema_change='append_new_columns'
) }}

-- Restatement log (daily operation): the restatements of every run (int_report_restatements),
-- appended, never rewritten (kept on --full-refresh). The rows are appended by fct_report_rows'
-- post-hook (macro log_restatements), in the transaction that replaces the report rows they were
-- compared with, so that the log and those rows never disagree: a build stopped before logs nothing
-- (the next run compares with the same rows again), one stopped after has logged its change once
-- (README "Daily operation"). This model only creates the table: it adds no row itself.

with

restated as (
    select * from {{ ref('int_report_restatements') }}
)

select {{ restatement_log_columns() | join(', ') }}
from restated
where false
