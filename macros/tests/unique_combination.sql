{#- Generic test: the combination of `columns` is unique (a multi-column primary key).
    Fails with one row per repeated combination. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as copies
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
