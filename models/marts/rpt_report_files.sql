-- SPEC §6, §8: the manifest of report files: one row per carrier and generation date with events.
-- A file is final when no event in it can still change: its events start on day G - 2, so once the
-- newest data reaches day G (00:00 UTC; G + 1 for a global carrier: files_final_from) nothing the rows on hand
-- hold can join, split or start an event of the file (rows that arrive later than that can still restate
-- it: rpt_restatements logs it). Before that it is provisional. The newest data is the carrier's own
-- latest event not after the run's start: one event dated in the future (a wrong device clock) would
-- otherwise make every file final, today's too; and another carrier's data does not tell that this
-- carrier's has arrived.

with

-- Read twice: inlined, not stored whole first.
report_rows as {{ inlined_cte() }} (
    select * from {{ ref('fct_report_rows') }}
),

newest_data as (
    select
        carrier_id,
        max(event_at) as newest_event_at
    from {{ ref('fct_billable_messages') }}
    where event_at <= {{ run_started() }}
    group by carrier_id
),

carriers as (
    select * from {{ ref('stg_carriers') }}
),

-- This run's restatements (the log, rpt_restatements, appends them after this model).
restated as (
    select * from {{ ref('int_report_restatements') }}
),

-- Daily operation: the files a daily run may have changed, those it writes again (rbm/report.py): the files of
-- the rows it recomputed (as fct_report_rows: select_touched_rows) and the files it restated (rows removed).
-- Every file on a full build (--full-refresh, also from DBT_FULL_REFRESH); on a first build, where
-- int_touched_streams is empty, the run script writes every file (a new database).
recomputed_rows as (
    {{ select_touched_rows('report_rows', 'event_first_at') }}
),

recomputed_files as (
    select distinct
        carrier_id,
        generation_date
    from recomputed_rows
    union
    select
        carrier_id,
        generation_date
    from restated
),

files as (
    select
        carrier_id,
        generation_date,
        count(*) as row_count,
        count(distinct billing_event_id) as event_count
    from report_rows
    group by carrier_id, generation_date
),

files_final_from as (
    select
        files.*,
        {{ report_file_final_from_at('files.generation_date', 'carriers.billing_model') }} as final_from_at
    from files
    left join carriers on files.carrier_id = carriers.carrier_id
)

select
    files.carrier_id,
    files.generation_date,
    concat(files.carrier_id, '/rbm_billable_events_', files.generation_date, '.csv') as file_path,
    -- SPEC §6: a file of date G holds the events that start on day G - 2 (what a month's close selects by).
    {{ format_iso_date(dbt.dateadd('day', -2, 'cast(files.generation_date as timestamp)')) }} as events_start_on,
    files.row_count,
    files.event_count,
    newest_data.newest_event_at,
    coalesce(newest_data.newest_event_at >= files.final_from_at, false) as is_final,
    case
        when newest_data.newest_event_at >= files.final_from_at then 'final'
        else 'provisional'
    end as status,
    {% if flags.FULL_REFRESH -%}
        true
    {%- else -%}
        recomputed_files.carrier_id is not null
    {%- endif %} as is_recomputed
from files_final_from as files
left join newest_data on files.carrier_id = newest_data.carrier_id
left join recomputed_files
    on
        files.carrier_id = recomputed_files.carrier_id
        and files.generation_date = recomputed_files.generation_date
