{{ config(materialized='view') }}

-- SPEC §2: every accepted message is billable or not billable with a reason. Test traffic is
-- never billable; an MT is billable only once delivered, at delivered_at; an MO at sent_at.

with

checked as (
    select * from {{ ref('int_messages_checked') }}
    where quarantine_reason is null and not is_exact_duplicate
),

agents as (
    select * from {{ ref('int_agents_checked') }}
    where quarantine_reason is null and not is_exact_duplicate
),

carriers as (
    select * from {{ ref('stg_carriers') }}
)

select
    checked.source_kind,
    checked.source_file,
    checked.source_row,
    checked.message_id,
    checked.agent_id,
    checked.user_key,
    checked.carrier_id,
    carriers.billing_model,
    agents.billing_category,
    checked.direction,
    checked.content_kind,
    checked.text_bytes,
    checked.file_size_bytes,
    checked.suggestions,
    checked.status,
    checked.sent_at,
    checked.delivered_at,
    checked.is_tester,
    checked.google_billing_event_id,
    case when checked.direction = 'MT' then checked.delivered_at else checked.sent_at end as event_at,
    case
        when checked.is_tester then 'tester'
        when checked.direction = 'MT' and checked.status != 'delivered' then 'mt_not_delivered'
    end as not_billable_reason
from checked
inner join agents on checked.agent_id = agents.agent_id
inner join carriers on checked.carrier_id = carriers.carrier_id
