"""Shared helpers of the Python tests: run the CLI exactly as `make run` does (SPEC §8)."""
from __future__ import annotations

import atexit
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

# `make pytest` runs the tests in parallel processes (pytest-xdist): each gets dbt target/ and logs/ folders and a
# DuckDB spill folder of its own, since two dbt runs writing one target/ (manifest, partial_parse.msgpack) at the
# same time can spoil each other, and DuckDB names its spill files alike in every process. A test that needs its
# own folders still sets DBT_TARGET_PATH / DBT_LOG_PATH for its runs.
if os.environ.get("PYTEST_XDIST_WORKER"):
    _worker = os.environ["PYTEST_XDIST_WORKER"]
    os.environ["DBT_TARGET_PATH"] = str(ROOT / "target" / f"pytest-{_worker}")
    os.environ["DBT_LOG_PATH"] = str(ROOT / "logs" / f"pytest-{_worker}")
    os.environ["RBM_DUCKDB_TEMP_DIR"] = str(ROOT / "target" / f"pytest-{_worker}" / "duckdb_tmp")


# dbt keeps one parsed project per target/ folder, for one profile: a run with another memory limit (or on a database
# of another name: the run script gives dbt the file's name only, rbm/report.py dbt_command) in the same folder made
# the next run_cli parse everything again (thirteenth session: ~100 full parses in a `make pytest`). So run_cli keeps
# a target/ per profile under the process's own folder, and every other dbt run of a test (dbt called directly, the
# CLI on a database of the test's own) gets the test's own.
_TARGETS = Path(os.environ.get("DBT_TARGET_PATH") or ROOT / "target" / "pytest-main")
_PROFILE_ENV = ("RBM_DUCKDB_PATH", "RBM_DBT_THREADS", "RBM_DUCKDB_MEMORY_LIMIT", "RBM_DUCKDB_TEMP_DIR")


@pytest.fixture(autouse=True)
def _dbt_target_of_the_test(tmp_path, monkeypatch):
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))


def _target_of_profile(environment: dict) -> str:
    import hashlib

    values = dict(environment, RBM_DUCKDB_PATH=Path(environment.get("RBM_DUCKDB_PATH", "")).name)
    profile = "\n".join(f"{name}={values.get(name, '')}" for name in _PROFILE_ENV)
    return str(_TARGETS / f"profile-{hashlib.sha256(profile.encode()).hexdigest()[:12]}")


# dbt's own start-up (importing it: ~3 s of CPU) was most of a run_cli on the tests' small inputs. run_cli's runs get
# a dbt forked from one that has imported it already (tests/python/dbt_zygote.py, one per test process, through
# RBM_DBT_COMMAND); RBM_TESTS_REAL_DBT=1 runs the real dbt instead. Tests that start the run script themselves get
# the real one (Ctrl-C, process groups).
_ZYGOTE: dict = {}


def _dbt_zygote() -> str | None:
    """The RBM_DBT_COMMAND of run_cli's runs (the zygote started on first use), or None for the real dbt."""
    if os.environ.get("RBM_TESTS_REAL_DBT"):
        return None
    if "command" not in _ZYGOTE:
        import shlex

        script = Path(__file__).resolve().with_name("dbt_zygote.py")
        socket_path = Path(tempfile.gettempdir()) / f"rbm-dbt-zygote-{os.getpid()}.sock"
        socket_path.unlink(missing_ok=True)
        # In a session of its own, as the run script starts dbt: a Ctrl-C to the terminal reaches the client only,
        # which passes it on to its dbt.
        server = subprocess.Popen([sys.executable, str(script), "serve", str(socket_path)], cwd=ROOT,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert server.stdout.readline().strip() == "ready", "the tests' dbt (dbt_zygote.py) did not start"

        def stop() -> None:
            server.kill()
            server.wait()
            socket_path.unlink(missing_ok=True)

        atexit.register(stop)
        _ZYGOTE["command"] = shlex.join([sys.executable, str(script), "client", str(socket_path)])
    return _ZYGOTE["command"]


def dbt_executable() -> list[str]:
    """The command line of a dbt that a test calls directly: the tests' pre-started one (_dbt_zygote), or the real
    dbt with RBM_TESTS_REAL_DBT=1."""
    import shlex

    zygote = _dbt_zygote()
    return shlex.split(zygote) if zygote else [str(Path(sys.executable).parent / "dbt")]


def run_cli(tmp: Path, *args: str, db: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """`scripts/rbm.py run …` on its own database file (`db`, default `tmp`/rbm.duckdb); returns the finished
    process."""
    database = db or tmp / "rbm.duckdb"
    environment = dict(os.environ, RBM_DUCKDB_PATH=str(database), **(env or {}))
    if "RBM_DBT_COMMAND" not in environment and (zygote := _dbt_zygote()):
        environment["RBM_DBT_COMMAND"] = zygote
    if "DBT_TARGET_PATH" not in (env or {}):
        environment["DBT_TARGET_PATH"] = _target_of_profile(environment)
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/rbm.py"), "run", *args],
        cwd=ROOT, env=environment, capture_output=True, text=True,
    )


def daily_files(out_dir: Path, messages: int, days: int, seed: int) -> tuple[list[Path], Path]:
    """Generated traffic in one file per arrival day (scripts/generate_traffic.py --files-per-day: ~1% of the rows
    2-3 days late): (the daily files in date order, the agents file)."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts/generate_traffic.py"), "--out-dir", str(out_dir),
                           "--messages", str(messages), "--days", str(days), "--files-per-day", "--seed", str(seed)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return sorted((out_dir / "messages").glob("messages_*.csv")), out_dir / "agents.csv"


def tampered(output: Path, name: str) -> bytes:
    """Changes one byte of a report file and puts its modification time back: on disk as the previous run left it
    by the record (size, mtime), so only a run that writes every file again corrects it. Returns its bytes."""
    path = output / name
    stat, data = path.stat(), path.read_bytes()
    path.write_bytes(data.replace(b",", b";", 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return data


def read_reports(output: Path) -> dict[tuple[str, str], list[tuple[str, ...]]]:
    """Report files under output: (carrier_id, generation_date) -> data rows, in file order."""
    files = {}
    for path in sorted(output.glob("*/rbm_billable_events_*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        date = path.stem.removeprefix("rbm_billable_events_")
        files[(path.parent.name, date)] = [tuple(r) for r in rows[1:]]
    return files


def assert_summary_counts_match_outcomes(stdout: str, db: Path) -> None:
    """The run summary's row counts (billed, not billable with every reason, quarantined, exact duplicates) are
    those of int_message_outcomes, whatever the summary reads them from."""
    import re

    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        outcomes = dict(con.sql("select outcome, count(*) from int_message_outcomes group by 1").fetchall())
        reasons = con.sql("select outcome_reason, count(*) from int_message_outcomes where outcome = 'not_billable'"
                          " group by 1 order by 1").fetchall()
    for label, outcome in [("billed", "billed"), ("quarantined", "quarantined"),
                           ("exact duplicates", "exact_duplicate")]:
        assert re.search(rf"^  {label} +{outcomes.get(outcome, 0)}\b", stdout, re.MULTILINE), (label, outcomes)
    line = re.search(r"^  not billable +(\d+)(?:  (.*))?$", stdout, re.MULTILINE)
    assert line, "no `not billable` line in the summary"
    assert int(line.group(1)) == outcomes.get("not_billable", 0)
    assert (line.group(2) or "") == ", ".join(f"{reason} {count}" for reason, count in reasons)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
