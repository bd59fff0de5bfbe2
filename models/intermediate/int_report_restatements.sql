{#- This run's rows only: fct_report_rows appends them to the log, rpt_restatements, in the transaction that
    replaces its rows (its post-hook). Incremental only so that a daily run compares the touched streams alone
    (macro recomputes_touched_streams). -#}
{{ config(**this_run_rows_config()) }}
-- depends_on: {{ ref('int_touched_streams') }}
-- depends_on: {{ ref('fct_billable_messages') }}
-- depends_on: {{ ref('int_agents_checked') }}
-- depends_on: {{ ref('stg_carriers') }}
{#- The report rows stored by the previous run, read before this run replaces them. Not a ref():
    fct_report_rows is built after this model (it depends on it). -#}
{%- set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='fct_report_rows'
) if execute else none -%}
{#- The previous run's file statuses (final or provisional), for status_before: built after this model too. -#}
{%- set previous_files = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='rpt_report_files'
) if execute else none -%}
{#- Its newest data per carrier, a column since the fifteenth session (a database built before lacks it). -#}
{%- set previous_newest = previous_files is not none and 'newest_event_at' in (
    adapter.get_columns_in_relation(previous_files) | map(attribute='name') | map('lower') | list
) -%}

-- The restatements of this run (daily operation): when a run changes a report file already published
-- by an earlier run (late data joined, split or started an event), one row per changed file says when
-- and how many rows were added, removed or changed. Rows are matched by event and exact content.
-- The first build of a database publishes everything and restates nothing.
-- An incremental run compares only the rows it recomputes (int_touched_streams), built here as
-- fct_report_rows builds them (macro report_rows_ctes), with the previous run's rows of fct_report_rows:
-- every other report row stays as stored. A full rebuild compares every row (select_recomputed_rows).
-- Not the log itself: a build stopped before fct_report_rows replaced its rows left the rows it compares with
-- as they were, and the next run computes the same change again (README "Daily operation").

{% if previous is not none %}

    with

    all_billed as (
        select * from {{ ref('fct_billable_messages') }}
    ),

    agents as (
        select * from {{ ref('int_agents_checked') }}
        where quarantine_reason is null and not is_exact_duplicate
    ),

    previous_rows as (
        select * from {{ previous }}
    ),

    -- Apart from previous_rows: a CTE read twice is materialized whole (1.5 s at 10M on a daily run).
    previous_file_rows as (
        select
            carrier_id,
            generation_date
        from {{ previous }}
    ),

    billed as (
        {{ select_recomputed_rows('all_billed', 'event_first_at') }}
    ),

    {{ report_rows_ctes('billed', 'agents') }},

    compared_previous_rows as (
        {{ select_recomputed_rows('previous_rows', 'event_first_at') }}
    ),

    files_before as (
        select
            carrier_id,
            generation_date,
            count(*) as rows_before
        from previous_file_rows
        group by carrier_id, generation_date
    ),

    -- Rows are matched by event and exact content; of a row found n times before and m times now, min(n, m)
    -- copies match (counts, not a numbering window: cheaper). The same counts of the new and the old rows.
    {% for side, compared in [('new', 'report_rows'), ('old', 'compared_previous_rows')] %}
        {{ side }}_rows as (
            select
                carrier_id,
                generation_date,
                billing_event_id,
                {{ report_row_fingerprint() }} as row_fingerprint
            from {{ compared }}
        ),

        {{ side }}_copies as (
            select
                carrier_id,
                generation_date,
                billing_event_id,
                row_fingerprint,
                count(*) as copies
            from {{ side }}_rows
            group by carrier_id, generation_date, billing_event_id, row_fingerprint
        ),
    {% endfor %}

    matched as (
        select
            coalesce(new_copies.carrier_id, old_copies.carrier_id) as carrier_id,
            coalesce(new_copies.generation_date, old_copies.generation_date) as generation_date,
            coalesce(new_copies.billing_event_id, old_copies.billing_event_id) as billing_event_id,
            coalesce(new_copies.copies, 0) as new_copies,
            coalesce(old_copies.copies, 0) as old_copies
        from new_copies
        full outer join old_copies
            on new_copies.carrier_id = old_copies.carrier_id
            and new_copies.generation_date = old_copies.generation_date
            and new_copies.billing_event_id = old_copies.billing_event_id
            and new_copies.row_fingerprint = old_copies.row_fingerprint
    ),

    per_event as (
        select
            carrier_id,
            generation_date,
            billing_event_id,
            sum(new_copies) as new_rows,
            sum(old_copies) as old_rows,
            sum(case when new_copies > old_copies then new_copies - old_copies else 0 end) as unmatched_new_rows,
            sum(case when old_copies > new_copies then old_copies - new_copies else 0 end) as unmatched_old_rows
        from matched
        group by carrier_id, generation_date, billing_event_id
    ),

    -- Of an event's rows that match no row of the other side, as many as both sides have are changed (a row
    -- rewritten); the new ones beyond are added, the old ones beyond removed. So a file's counts add up:
    -- rows_after = rows_before + rows_added - rows_removed (README "Daily operation").
    per_event_changes as (
        select
            carrier_id,
            generation_date,
            old_rows,
            new_rows,
            least(unmatched_new_rows, unmatched_old_rows) as changed_rows,
            unmatched_new_rows - least(unmatched_new_rows, unmatched_old_rows) as added_rows,
            unmatched_old_rows - least(unmatched_new_rows, unmatched_old_rows) as removed_rows
        from per_event
    ),

    changes_per_file as (
        select
            carrier_id,
            generation_date,
            sum(added_rows) as rows_added,
            sum(removed_rows) as rows_removed,
            sum(changed_rows) as rows_changed,
            -- A file after the run: its rows before, less the compared rows it had, plus the recomputed ones.
            sum(old_rows) as compared_old_rows,
            sum(new_rows) as compared_new_rows
        from per_event_changes
        group by carrier_id, generation_date
    ),

    -- A restated file that was final: an invoice may already have been sent from it (README "Daily operation").
    statuses_before as (
        {% if previous_files is not none %}
            select
                carrier_id,
                generation_date,
                status
            from {{ previous_files }}
        {% else %}
            select
                cast(null as string) as carrier_id,
                cast(null as string) as generation_date,
                cast(null as string) as status
            where false
        {% endif %}
    ),

    carriers as (
        select * from {{ ref('stg_carriers') }}
    ),

    -- A new file of a period already final (late rows opened it; an invoice of the period may need it) is told
    -- from a carrier's first files and from files a run bringing several days at once makes final, which are
    -- final at once too (review, fifteenth session: att's first log after vodafone_uk's was warned of as late):
    -- by the carrier's newest data before this run, as the previous run's manifest decided its statuses with.
    newest_before as (
        {% if previous_newest %}
            select
                carrier_id,
                max(newest_event_at) as newest_event_at
            from {{ previous_files }}
            group by carrier_id
        {% elif previous_files is not none %}
            -- A manifest built before newest_event_at existed (the first run after an upgrade, a full rebuild): a
            -- file that was final tells the carrier's data had reached its final-from time at least (review,
            -- fifteenth session: with no bound, that run's late files went unwarned).
            select
                previous_files.carrier_id,
                max({{ report_file_final_from_at('previous_files.generation_date', 'carriers.billing_model') }})
                    as newest_event_at
            from {{ previous_files }} as previous_files
            left join carriers on previous_files.carrier_id = carriers.carrier_id
            where previous_files.status = 'final'
            group by previous_files.carrier_id
        {% else %}
            select
                cast(null as string) as carrier_id,
                cast(null as timestamp) as newest_event_at
            where false
        {% endif %}
    ),

    per_file as (
        select
            changes_per_file.*,
            statuses_before.status as status_before,
            coalesce(
                newest_before.newest_event_at >= {{ report_file_final_from_at(
                    'changes_per_file.generation_date', 'carriers.billing_model'
                ) }},
                false
            ) as period_was_final,
            coalesce(files_before.rows_before, 0) as rows_before,
            coalesce(files_before.rows_before, 0) - changes_per_file.compared_old_rows + changes_per_file.compared_new_rows
                as rows_after
        from changes_per_file
        left join files_before
            on
                changes_per_file.carrier_id = files_before.carrier_id
                and changes_per_file.generation_date = files_before.generation_date
        left join statuses_before
            on
                changes_per_file.carrier_id = statuses_before.carrier_id
                and changes_per_file.generation_date = statuses_before.generation_date
        left join newest_before on changes_per_file.carrier_id = newest_before.carrier_id
        left join carriers on changes_per_file.carrier_id = carriers.carrier_id
    )

    select
        carrier_id,
        generation_date,
        concat(carrier_id, '/rbm_billable_events_', generation_date, '.csv') as file_path,
        {{ run_started() }} as restated_at,
        case when rows_before = 0 then 'new_file' when rows_after = 0 then 'file_removed' else 'restated' end
            as change_kind,
        cast(rows_added as bigint) as rows_added,
        cast(rows_removed as bigint) as rows_removed,
        cast(rows_changed as bigint) as rows_changed,
        cast(rows_before as bigint) as rows_before,
        cast(rows_after as bigint) as rows_after,
        status_before,
        period_was_final
    from per_file
    where rows_added + rows_removed + rows_changed > 0

{% else %}

    select
        cast(null as string) as carrier_id,
        cast(null as string) as generation_date,
        cast(null as string) as file_path,
        cast(null as timestamp) as restated_at,
        cast(null as string) as change_kind,
        cast(null as bigint) as rows_added,
        cast(null as bigint) as rows_removed,
        cast(null as bigint) as rows_changed,
        cast(null as bigint) as rows_before,
        cast(null as bigint) as rows_after,
        cast(null as string) as status_before,
        cast(null as boolean) as period_was_final
    where false

{% endif %}
