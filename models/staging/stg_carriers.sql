{{
    config(
        pre_hook="{{ load_raw_files('rbm_raw_carriers', run_input('carriers_path', []), carriers_contract_columns()) }}",
        post_hook="{{ drop_raw_files('rbm_raw_carriers') }}",
    )
}}

-- depends_on: {{ ref('carriers') }}

-- SPEC §1 carriers: the carriers and their billing model, from the shipped seed `carriers`, or from the
-- user's own file when the var carriers_path names one (make run CARRIERS=…; the run script checks every
-- row of it first, rbm/inputs.py check_carriers_file, so a bad row stops the run with its line and column).

with

{% if run_input('carriers_path', []) %}
    carriers as (
        select * from rbm_raw_carriers
    ),
{% else %}
    carriers as (
        select * from {{ ref('carriers') }}
    ),
{% endif %}

renamed as (
    select
        cast(carrier_id as string) as carrier_id,
        cast(carrier_name as string) as carrier_name,
        cast(country as string) as country,
        cast(billing_model as string) as billing_model
    from carriers
)

select * from renamed
