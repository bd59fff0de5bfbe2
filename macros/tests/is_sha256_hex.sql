{#- Generic test: the column holds 64 lowercase hexadecimal characters (SPEC §6 billing_event_id). -#}
{% test is_sha256_hex(model, column_name) %}
select {{ column_name }}
from {{ model }}
where not {{ matches_regex(column_name, '[0-9a-f]{64}') }}
{% endtest %}
