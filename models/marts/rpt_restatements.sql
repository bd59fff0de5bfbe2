{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    on_schema_change='append_new_columns'
) }}
-- depends_on: {{ ref('fct_report_rows') }}
-- depends_on: {{ ref('audit_conservation') }}
-- depends_on: {{ ref('rpt_report_files') }}
-- depends_on: {{ ref('rbm_billable_events') }}

-- Restatement log (daily operation): the restatements of every run that got this far, appended, never
-- rewritten (kept on --full-refresh). Appended last, after every other model and the guards (their
-- failure skips this model), not where the restatements are computed
-- (int_report_restatements): a build stopped before publishing its reports logged restatements that the
-- run publishing the same change then logged again (README "Daily operation").

with

restated as (
    select * from {{ ref('int_report_restatements') }}
)

select
    carrier_id,
    generation_date,
    file_path,
    restated_at,
    change_kind,
    rows_added,
    rows_removed,
    rows_changed,
    rows_before,
    rows_after,
    status_before,
    period_was_final
from restated
