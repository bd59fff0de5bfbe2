{#- Run before any model (on-run-start, dbt_project.yml): a build that would mix rows it must not mix
    stops before it writes anything. Inside a model, such a stop came only after every model dbt ran
    before it (review, twelfth session: a refused `dbt build` without --vars had already replaced the
    agents with the demo agents). Only builds that write models are checked (dbt build, dbt run); the demo
    files only when they would be loaded (stg_messages, stg_agents selected: `dbt build -s audit_conservation`
    loads nothing). -#}
{% macro refuse_unsafe_build() %}
    {%- if execute and flags.WHICH in ['build', 'run'] -%}
        {%- if 'model.rbm_billing.stg_messages' in selected_resources -%}
            {%- do refuse_demo_into_own_files('messages_path', as_path_list(run_input('messages_path')),
                                              'data/demo/messages.csv', ['stg_messages', 'stg_activity_log']) -%}
        {%- endif -%}
        {%- if 'model.rbm_billing.stg_agents' in selected_resources -%}
            {%- do refuse_demo_into_own_files('agents_path', as_path_list(run_input('agents_path')),
                                              'data/demo/agents.csv', ['stg_agents']) -%}
        {%- endif -%}
        {%- do refuse_keys_of_another_salt() -%}
    {%- endif -%}
{% endmacro %}

{#- SPEC §6: billing_event_id is deterministic across runs, salted. A daily (incremental) build with
    another salt than the stored rows were keyed with would key the new rows of a stream apart from its
    stored ones (the user key is salted too): one stream split in two, sessions missed, and the ids of
    published reports changed (review, twelfth session: `dbt build` without billing_salt on a database
    `make run` built with BILLING_SALT). One stored event tells the salt: its id is recomputed from its
    first message with this build's salt. A full rebuild re-keys every row on purpose. -#}
{% macro refuse_keys_of_another_salt() %}
    {%- set salted = ['stg_messages', 'stg_activity_log', 'int_us_billable_events', 'int_global_billable_events'] -%}
    {%- set rekeyed = [] -%}
    {%- for model in salted if 'model.rbm_billing.' ~ model in selected_resources -%}
        {%- do rekeyed.append(model) -%}
    {%- endfor -%}
    {#- A full rebuild re-keys every salted row only when it rebuilds every model that stores them (review,
        twelfth session: `--full-refresh -s stg_messages` re-keyed the user keys alone). -#}
    {%- if flags.FULL_REFRESH and rekeyed | length == salted | length -%}{{ return(none) }}{%- endif -%}
    {%- for table in ['int_us_billable_events', 'int_global_billable_events'] -%}
        {%- set stored = adapter.get_relation(database=target.database, schema=target.schema, identifier=table) -%}
        {%- if stored is not none -%}
            {%- set other_salt = run_query(
                "select count(*) from (select billing_event_id, first_message_id from " ~ stored ~ " limit 1)"
                ~ " as sampled where billing_event_id != " ~ billing_event_id('first_message_id')
            ).columns[0].values()[0] -%}
            {%- if other_salt > 0 -%}
                {%- do exceptions.raise_compiler_error(
                    stored ~ " holds billing_event_ids made with another salt than this build's: built on,"
                    ~ " one stream's rows would be keyed with two salts (the stream split, sessions missed, ids"
                    ~ " of published reports changed). Build with the salt the database was keyed with (dbt:"
                    ~ " --vars '{billing_salt: ...}'), or rebuild every row with this build's salt (make run:"
                    ~ " FULL_REFRESH=1, which also gives back your ids to a database a dbt build without"
                    ~ " billing_salt re-keyed; dbt: --full-refresh of every model)."
                ) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
