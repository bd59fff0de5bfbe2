"""The dbt models against the independent Python reference of the rules (tests/python/rbm_reference.py),
on adversarial random traffic: timings clustered on the 24 h edges, exact ties, every kind and status.
Property-based: hypothesis picks the seeds; each example is one full run of the CLI."""
from __future__ import annotations

import random

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import adversarial
import rbm_reference
from conftest import read_reports, run_cli

SALT = "crosscheck-salt"


def check_against_reference(tmp_path, seed: int, n_streams: int, arrival_files: int = 1) -> int:
    """One run of the CLI on the traffic; with arrival_files > 1, the traffic is cut by time into that many
    files, about 10% of each file's rows arriving in a later one (late data), loaded one file per run into
    the same database (daily operation). Either way the result must be the reference's."""
    messages, agents = adversarial.generate(seed, n_streams)
    adversarial.write_csv(tmp_path / "agents.csv", agents, adversarial.AGENT_COLUMNS)
    output = tmp_path / "out"
    landing = tmp_path / "landing"
    landing.mkdir()
    for number, rows in enumerate(arrivals(messages, arrival_files, seed), start=1):
        adversarial.write_csv(landing / f"messages_{number}.csv", rows, adversarial.MESSAGE_COLUMNS)
        done = run_cli(tmp_path, "--messages", str(landing / "messages_*.csv"), "--agents",
                       str(tmp_path / "agents.csv"), "--output", str(output), env={"BILLING_SALT": SALT})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "full rebuild" not in done.stdout

    expected = rbm_reference.bill(
        adversarial.to_typed(messages), adversarial.typed_agents(agents), adversarial.CARRIERS, SALT
    )
    # Every report file, every row, every column; file order aside (a file's rows are compared sorted).
    actual_files = {key: sorted(rows) for key, rows in read_reports(output).items()}
    expected_files = {key: sorted(rows) for key, rows in expected.files().items()}
    assert actual_files.keys() == expected_files.keys()
    mismatches = [key for key in expected_files if actual_files[key] != expected_files[key]]
    assert not mismatches, _first_difference(actual_files, expected_files, mismatches[0])

    # Per message: the event it is billed in, and nothing billed that the reference does not bill.
    with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
        billed = dict(con.sql("select message_id, billing_event_id from fct_billable_messages").fetchall())
    assert billed == {mid: event["billing_event_id"] for mid, event in expected.message_events.items()}
    return sum(len(rows) for rows in expected_files.values())


def arrivals(messages: list[dict], files: int, seed: int) -> list[list[dict]]:
    """The rows cut by sent_at into `files` slices; a row of a slice arrives in a later file 10% of the time."""
    if files == 1:
        return [messages]
    rng = random.Random(seed)
    ordered = sorted(messages, key=lambda row: row["sent_at"] or "")
    slices = [ordered[len(ordered) * k // files:len(ordered) * (k + 1) // files] for k in range(files)]
    loads: list[list[dict]] = [[] for _ in range(files)]
    for k, rows in enumerate(slices):
        for row in rows:
            loads[rng.randint(k + 1, files - 1) if k < files - 1 and rng.random() < 0.1 else k].append(row)
    return loads


def _first_difference(actual, expected, key):
    missing = sorted(set(expected[key]) - set(actual[key]))[:3]
    extra = sorted(set(actual[key]) - set(expected[key]))[:3]
    return f"file {key}: rows only in the reference {missing}; rows only in dbt {extra}"


def test_large_adversarial_traffic_matches_reference(tmp_path):
    assert check_against_reference(tmp_path, seed=20261125, n_streams=1500) > 1000


def test_adversarial_traffic_loaded_day_by_day_matches_reference(tmp_path):
    """Daily operation on the 24 h edges: late rows that join, split or start sessions and conversations."""
    assert check_against_reference(tmp_path, seed=7_2026, n_streams=600, arrival_files=4) > 300


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**31), n_streams=st.integers(min_value=1, max_value=300))
def test_random_traffic_matches_reference(tmp_path_factory, seed, n_streams):
    check_against_reference(tmp_path_factory.mktemp("crosscheck"), seed, n_streams)
