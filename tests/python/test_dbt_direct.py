"""dbt used directly (README "Daily operation": running dbt yourself), not through `make run`: the traps of the
input vars stop the build with an error naming them instead of losing or mixing rows."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, dbt_executable, run_cli

FIXTURE = ROOT / "tests/fixtures/bad_input/good"


def dbt_build(tmp_path: Path, database: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, RBM_DUCKDB_PATH=str(database), DBT_TARGET_PATH=str(tmp_path / "dbt_target"),
               DBT_LOG_PATH=str(tmp_path / "dbt_logs"))
    for name in ("RBM_RUN_INPUTS", "RBM_RUN_INPUTS_FILE"):
        env.pop(name, None)
    return subprocess.run([*dbt_executable(), "build", "--profiles-dir", str(ROOT), "--project-dir", str(ROOT),
                           "--exclude-resource-type", "unit_test", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True)


def staged_files(database: Path) -> list[tuple[str, int]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select source_file, count(*) from stg_messages group by 1 order by 1").fetchall()


def test_a_glob_in_a_path_var_stops_the_build(tmp_path):
    """A glob given as messages_path was loaded once under its own name, and the files it matched later were never
    read (every test passing). It is refused, naming the var; a list of files is the way."""
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(FIXTURE / "messages.csv", landing / "messages_1.csv")
    database = tmp_path / "direct.duckdb"
    glob = f"{landing}/messages_*.csv"
    done = dbt_build(tmp_path, database, "--vars",
                     f"{{messages_path: '{glob}', agents_path: '{FIXTURE / 'agents.csv'}'}}")
    assert done.returncode != 0
    assert f"var messages_path holds a glob, '{glob}': running dbt yourself, give the list of files" in done.stdout, \
        done.stdout[-3000:]
    listed = dbt_build(tmp_path, database, "--vars",
                       f"{{messages_path: ['{landing / 'messages_1.csv'}'], agents_path: '{FIXTURE / 'agents.csv'}'}}")
    assert listed.returncode == 0, listed.stdout[-3000:]
    assert [file for file, _ in staged_files(database)] == [str(landing / "messages_1.csv")]


@pytest.mark.parametrize("rebuild", [[], ["--full-refresh"]], ids=["incremental", "full_refresh"])
def test_dbt_build_without_vars_on_a_database_of_your_own_files_stops(tmp_path, rebuild):
    """`dbt build` with no --vars reads the demo messages (the var's default). On a database `make run` built from
    a user's own files, that loaded the demo rows into it (their agents unknown there: quarantined for good), and
    the next `make run` rewrote every report from the mixed rows; with --full-refresh it replaced the user's rows.
    It stops instead, and the rows stay as they were."""
    database = tmp_path / "rbm.duckdb"
    built = run_cli(tmp_path, "--messages", str(FIXTURE / "messages.csv"), "--agents", str(FIXTURE / "agents.csv"),
                    "--output", str(tmp_path / "out"), db=database)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    before = staged_files(database)
    done = dbt_build(tmp_path, database, *rebuild)
    assert done.returncode != 0
    assert "messages_path is the demo data (data/demo/messages.csv, the default when no --vars are given), but" \
        in done.stdout and f"holds files of your own (e.g. {FIXTURE / 'messages.csv'})" in done.stdout, \
        done.stdout[-3000:]
    assert staged_files(database) == before
    # Stopped before any model ran (on-run-start): the agents were replaced by the demo agents before.
    assert staged_agents_files(database) == [str(FIXTURE / "agents.csv")]


def test_dbt_build_of_the_agents_without_vars_on_a_database_of_your_own_agents_stops(tmp_path):
    """Code review (twelfth session): `dbt build -s stg_agents+` without --vars loads no messages, so the messages
    guard let it through, and it replaced the user's agents with the demo agents. It stops too, before any model."""
    database = tmp_path / "rbm.duckdb"
    built = run_cli(tmp_path, "--messages", str(FIXTURE / "messages.csv"), "--agents", str(FIXTURE / "agents.csv"),
                    "--output", str(tmp_path / "out"), db=database)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    done = dbt_build(tmp_path, database, "-s", "stg_agents+")
    assert done.returncode != 0
    assert "agents_path is the demo data (data/demo/agents.csv, the default when no --vars are given), but" \
        in done.stdout and f"holds files of your own (e.g. {FIXTURE / 'agents.csv'})" in done.stdout, \
        done.stdout[-3000:]
    assert staged_agents_files(database) == [str(FIXTURE / "agents.csv")]


def staged_agents_files(database: Path) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return [file for (file,) in con.execute("select distinct source_file from stg_agents order by 1").fetchall()]


def stored_events(database: Path) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select * from fct_billable_messages order by all").fetchall()


def test_dbt_build_with_another_salt_than_the_database_stops(tmp_path):
    """Review (twelfth session): `dbt build` without billing_salt on a database `make run` built with BILLING_SALT
    keyed the new rows with the demo salt: one stream's rows got two keys, a session was billed as four single
    events, and the next `make run` published it without a word. An incremental build with another salt than the
    stored events' stops before any model runs; a full rebuild re-keys on purpose, and a `make run` on the database
    re-keyed so (dbt's own rebuild without the salt) stops too, until FULL_REFRESH=1 keys it with its salt again."""
    database, output = tmp_path / "rbm.duckdb", tmp_path / "out"
    files = {"messages_path": str(FIXTURE / "messages.csv"), "agents_path": str(FIXTURE / "agents.csv")}
    arguments = ("--messages", files["messages_path"], "--agents", files["agents_path"], "--output", str(output))
    built = run_cli(tmp_path, *arguments, db=database, env={"BILLING_SALT": "salt-1"})
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    published, events = report_files(output), stored_events(database)
    assert events
    without_salt = "{" + ", ".join(f"{name}: '{path}'" for name, path in files.items()) + "}"
    done = dbt_build(tmp_path, database, "--vars", without_salt)
    assert done.returncode != 0
    assert "holds billing_event_ids made with another salt than this build's" in done.stdout, done.stdout[-3000:]
    assert stored_events(database) == events
    salted = dbt_build(tmp_path, database, "--vars", without_salt[:-1] + ", billing_salt: salt-1}")
    assert salted.returncode == 0, salted.stdout[-3000:]
    assert stored_events(database) == events
    # A full refresh of part of the salted models would re-key those alone (code review, twelfth session).
    partial = dbt_build(tmp_path, database, "--full-refresh", "-s", "stg_messages", "--vars", without_salt)
    assert partial.returncode != 0 and "another salt than this build's" in partial.stdout, partial.stdout[-3000:]

    assert dbt_build(tmp_path, database, "--full-refresh", "--vars", without_salt).returncode == 0
    assert stored_events(database) != events  # re-keyed with the demo salt, on purpose
    daily = run_cli(tmp_path, *arguments, db=database, env={"BILLING_SALT": "salt-1"})
    assert daily.returncode != 0 and "another salt than this build's" in daily.stdout, daily.stdout[-3000:]
    assert report_files(output) == published
    rebuilt = run_cli(tmp_path, *arguments, "--full-refresh", db=database, env={"BILLING_SALT": "salt-1"})
    assert rebuilt.returncode == 0, rebuilt.stdout[-2000:] + rebuilt.stderr[-2000:]
    assert report_files(output) == published and stored_events(database) == events


def report_files(output: Path) -> dict[str, bytes]:
    return {str(path.relative_to(output)): path.read_bytes() for path in sorted(output.glob("*/*.csv"))}


def test_dbt_build_without_vars_on_a_database_of_activity_logs_stops(tmp_path):
    """The same on a database of Google activity logs only (SPEC §9): its messages table is empty, its own files are
    in stg_activity_log."""
    database = tmp_path / "rbm.duckdb"
    log = ROOT / "tests/fixtures/activity/att/rbm_activity_2023-08-28.csv"
    built = run_cli(tmp_path, "--activity", str(log), "--carrier", "att", "--agents",
                    str(ROOT / "tests/fixtures/activity/agents.csv"), "--output", str(tmp_path / "out"), db=database)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    done = dbt_build(tmp_path, database)
    assert done.returncode != 0
    assert f"stg_activity_log\" holds files of your own (e.g. {log})" in done.stdout, done.stdout[-3000:]
    assert staged_files(database) == []


def test_building_a_model_and_its_parents_on_a_new_database_passes(tmp_path):
    """`dbt build -s +int_us_sessions`, the everyday debugging command: with dbt's default (eager) test selection it
    ran a relationships test of fct_billable_messages, not built, and failed. dbt_project.yml sets buildable."""
    done = dbt_build(tmp_path, tmp_path / "new.duckdb", "-s", "+int_us_sessions", "--vars",
                     f"{{messages_path: '{FIXTURE / 'messages.csv'}', agents_path: '{FIXTURE / 'agents.csv'}'}}")
    assert done.returncode == 0 and "ERROR=0" in done.stdout, done.stdout[-3000:]


def test_a_database_of_an_earlier_version_asks_for_a_full_refresh(tmp_path):
    """Review (eleventh session): on a database built before int_messages_sequenced existed, a plain `dbt build`
    numbered every row again but recomputed no stream (int_touched_streams took the database for a new one), so
    the new rows were not billed and the build failed on the conservation audit. It now stops first, saying to
    rebuild once with --full-refresh (`make run` does so by itself: the code changed), which then passes."""
    database = tmp_path / "rbm.duckdb"
    inputs = f"{{messages_path: ['{FIXTURE / 'messages.csv'}'], agents_path: '{FIXTURE / 'agents.csv'}'}}"
    assert dbt_build(tmp_path, database, "--vars", inputs).returncode == 0
    with duckdb.connect(str(database)) as con:
        con.execute("drop table int_messages_sequenced")
    again = dbt_build(tmp_path, database, "--vars", inputs)
    assert again.returncode != 0
    assert "built by an earlier version of rbm-billing (it has no int_messages_sequenced)" in again.stdout, \
        again.stdout[-3000:]
    assert dbt_build(tmp_path, database, "--vars", inputs, "--full-refresh").returncode == 0


def test_the_reports_of_your_own_dbt_build_are_written_by_export(tmp_path):
    """Review (twelfth session): running dbt yourself, nothing wrote the report files but a `make run`. `rbm.py export`
    writes them from the database as it is: the same bytes as a `make run` of the same files."""
    database, output = tmp_path / "direct.duckdb", tmp_path / "exported"
    files = {"messages_path": str(FIXTURE / "messages.csv"), "agents_path": str(FIXTURE / "agents.csv")}
    missing = subprocess.run([sys.executable, str(ROOT / "scripts/rbm.py"), "export", "--output", str(output)],
                             cwd=ROOT, env=dict(os.environ, RBM_DUCKDB_PATH=str(database)), capture_output=True,
                             text=True)
    assert missing.returncode == 2 and "no database there" in missing.stderr, missing.stderr
    built = dbt_build(tmp_path, database, "--vars",
                      "{" + ", ".join(f"{name}: '{path}'" for name, path in files.items()) + "}")
    assert built.returncode == 0, built.stdout[-3000:]
    exported = subprocess.run([sys.executable, str(ROOT / "scripts/rbm.py"), "export", "--output", str(output)],
                              cwd=ROOT, env=dict(os.environ, RBM_DUCKDB_PATH=str(database)), capture_output=True,
                              text=True)
    assert exported.returncode == 0, exported.stdout[-2000:] + exported.stderr[-2000:]
    ran = run_cli(tmp_path / "run", "--messages", files["messages_path"], "--agents", files["agents_path"],
                  "--output", str(tmp_path / "ran"))
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert report_files(output) and report_files(output) == report_files(tmp_path / "ran")
    assert (output / "report_files.csv").read_bytes() == (tmp_path / "ran" / "report_files.csv").read_bytes()
    assert f"wrote {len(report_files(output))} report file(s) into {output}, 0 already there" in exported.stdout
    again = subprocess.run([sys.executable, str(ROOT / "scripts/rbm.py"), "export", "--output", str(output)],
                           cwd=ROOT, env=dict(os.environ, RBM_DUCKDB_PATH=str(database)), capture_output=True,
                           text=True)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert (f"wrote 0 report file(s) into {output}, {len(report_files(output))} already there with the same bytes"
            in again.stdout), again.stdout[-2000:]
    # A database that fails a check a run makes before it writes (here the conservation audit) is not published.
    with duckdb.connect(str(database)) as con:
        con.execute("update audit_conservation set billed_rows = billed_rows + 1")
    before = report_files(output)
    refused = subprocess.run([sys.executable, str(ROOT / "scripts/rbm.py"), "export", "--output", str(output)],
                             cwd=ROOT, env=dict(os.environ, RBM_DUCKDB_PATH=str(database)), capture_output=True,
                             text=True)
    assert refused.returncode == 2 and "its rows are not published" in refused.stderr, refused.stderr[-2000:]
    assert "assert_audit_conservation_balanced" in refused.stdout, refused.stdout[-3000:]
    assert report_files(output) == before


def test_a_session_window_that_is_not_a_whole_number_of_hours_stops_the_build(tmp_path):
    """Review (sixteenth session): messages meet their windows in time buckets of session_window_hours (macro
    time_bucket), truncated to whole hours: 0 divided by zero, 1.5 cut windows at 1 h buckets. The build stops
    before any model runs, naming the var."""
    done = dbt_build(tmp_path, tmp_path / "new.duckdb", "-s", "int_us_billable_events", "--vars",
                     f"{{messages_path: '{FIXTURE / 'messages.csv'}', agents_path: '{FIXTURE / 'agents.csv'}', "
                     "session_window_hours: 1.5}")
    assert done.returncode != 0
    assert "session_window_hours must be a whole number of hours, 1 or more: got '1.5'" in done.stdout, \
        done.stdout[-3000:]
