{{ config(materialized='table') }}

-- The floor's query (bench/bench.py FLOOR_CODE): the messages file read as text, sorted by stream and time.
select *
from read_csv(
    '{{ env_var("RBM_BENCH_CSV") | replace("'", "''") }}',
    header = true, all_varchar = true, columns = {{ env_var("RBM_BENCH_COLUMNS") }}
)
order by {{ env_var("RBM_BENCH_SORT_KEY") }}
