"""The same project on Apache Spark gives the same results as on DuckDB (README "Spark").

The Spark tests run with `make test-spark` (which installs the Spark extras and sets RBM_SPARK_TESTS=1);
`make test` skips them. Each one runs the CLI (`scripts/rbm.py run`, as `make run` does) on both
targets, each on its own database / Spark warehouse, and compares:
  - the demo data (generated traffic with every kind of message): every output file, byte for byte;
  - the bad-input fixture (one row per kind of defect): the report files, and where every input row
    ended (billed / not billable / quarantined, with its reason);
  - Google activity logs (tab- and `;`-separated, gzipped and renamed): the report files, the billed
    messages with both event ids, and the reconciliation;
  - daily operation (README "Daily operation"): generated daily files with late rows, the first two days
    loaded, then the later files added on the same database: every output file of the second run,
    byte for byte, the restatement log but its run times, and the summary.
Spark's relations are read in a Spark session of their own, on the run's warehouse.

The first test needs no Spark: it keeps the models free of the two DuckDB-only spellings that Spark
rejects (README "Spark": writing SQL that runs on both engines).
"""
from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, daily_files, run_cli

SPARK_INSTALLED = all(importlib.util.find_spec(m) is not None for m in ("pyspark", "dbt.adapters.spark"))
spark = pytest.mark.skipif(
    os.environ.get("RBM_SPARK_TESTS") != "1" or not SPARK_INSTALLED,
    reason="Spark tests run with `make test-spark` (installs the Spark extras, needs Java 17)",
)
SALT = "spark-equality-salt"


def test_models_use_sql_that_runs_on_spark():
    """`varchar` without a length is a syntax error on Spark (`string` is VARCHAR on DuckDB), and Spark
    has no count(distinct …) over (…) (macro count_distinct_over)."""
    offenders = []
    for path in sorted([*ROOT.glob("models/**/*.sql"), *ROOT.glob("models/**/*.yml"), *ROOT.glob("tests/dbt/*.sql"),
                        *ROOT.glob("macros/**/*.sql"), ROOT / "dbt_project.yml", ROOT / "tests/unit_test_generator/lib.py"]):
        text = path.read_text(encoding="utf-8")
        if path.name in ("raw_inputs.sql", "engine_functions.sql"):  # where the DuckDB variants live
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith(("#", "--", "{#")):  # comments
                continue
            if re.search(r"\bvarchar\b(?!\s*\()", line, re.IGNORECASE) or re.search(
                r"count\(\s*distinct\b[^)]*\)\s*over\b", line, re.IGNORECASE
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "SQL that does not run on Spark:\n" + "\n".join(offenders)


class Run:
    """One CLI run: its process, its output folder, and a reader of its tables."""

    def __init__(self, tmp: Path, target: str, args: tuple[str, ...]):
        self.target = target
        self.output = tmp / f"out_{target}"
        self.db = tmp / "rbm.duckdb"
        self.spark_dir = tmp / "spark"
        env = {"BILLING_SALT": SALT, "RBM_SPARK_DIR": str(self.spark_dir)}
        self.done = run_cli(tmp, *args, "--output", str(self.output), "--target", target, db=self.db, env=env)
        assert self.done.returncode == 0, f"{target}: " + self.done.stdout[-4000:] + self.done.stderr[-4000:]

    def rows(self, **queries: str) -> dict[str, list[tuple]]:
        """Each query's rows (sorted, as text): on the DuckDB file, or in a Spark session on the run's
        warehouse (a process of its own, as the export uses: views and tables alike)."""
        if self.target == "spark":
            script = (
                "import json, sys; sys.path.insert(0, sys.argv[1]); from rbm import spark_export; "
                "con = spark_export.connect(); queries = json.load(sys.stdin); "
                "print('@rows@' + json.dumps({name: [[None if v is None else str(v) for v in row] "
                "for row in con.sql(query).fetchall()] for name, query in queries.items()}))"
            )
            done = subprocess.run([sys.executable, "-c", script, str(ROOT)], input=json.dumps(queries), cwd=ROOT,
                                  env=dict(os.environ, RBM_SPARK_DIR=str(self.spark_dir)),
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            found = json.loads(done.stdout[done.stdout.index("@rows@") + len("@rows@"):].splitlines()[0])
        else:
            with duckdb.connect(str(self.db), read_only=True) as con:
                found = {name: [[None if v is None else str(v) for v in row] for row in con.sql(query).fetchall()]
                         for name, query in queries.items()}
        return {name: sorted(tuple("<NULL>" if v is None else v for v in row) for row in rows)
                for name, rows in found.items()}

    def files(self) -> dict[str, bytes]:
        """Every file the run wrote, but the two naming its database (rbm/report.py OUTPUT_OWNER_FILE, rbm/state.py
        OUTPUT_LOCK_FILE)."""
        return {str(p.relative_to(self.output)): p.read_bytes() for p in sorted(self.output.rglob("*"))
                if p.is_file() and p.name not in (".rbm-output.json", ".rbm-lock")}

    def summary(self) -> list[str]:
        """The run summary's counts (not the lines naming the target, the database or folders)."""
        text = self.done.stdout[self.done.stdout.rindex("rbm-billing run summary"):]
        return [line for line in text.splitlines()[2:] if not re.search(r"/|target|database", line)]


def both(tmp: Path, *args: str) -> tuple[Run, Run]:
    (tmp / "duckdb").mkdir()
    (tmp / "spark").mkdir()
    return Run(tmp / "duckdb", "duckdb", args), Run(tmp / "spark", "spark", args)


def assert_same_files(duck: Run, spark_run: Run, pattern: str = "") -> None:
    duck_files, spark_files = duck.files(), spark_run.files()
    if pattern:
        duck_files = {k: v for k, v in duck_files.items() if re.search(pattern, k)}
        spark_files = {k: v for k, v in spark_files.items() if re.search(pattern, k)}
    assert duck_files, "no output files"
    assert sorted(spark_files) == sorted(duck_files)
    different = [name for name in duck_files if duck_files[name] != spark_files[name]]
    assert not different, f"files that differ between DuckDB and Spark: {different}"


def assert_same_rows(duck: Run, spark_run: Run, queries: dict[str, str], non_empty: list[str]) -> None:
    """Each query gives the same rows on both engines; the ones named in non_empty have rows at all."""
    duck_rows, spark_rows = duck.rows(**queries), spark_run.rows(**queries)
    for name in non_empty:
        assert duck_rows[name], f"{name}: no rows"
    for name in queries:
        assert spark_rows[name] == duck_rows[name], name


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Run, Run]:
    return both(tmp_path_factory.mktemp("spark_demo"))  # the bundled demo data (make run's default)


@spark
def test_demo_data_gives_byte_identical_files(demo):
    duck, spark_run = demo
    assert any(name.endswith(".csv") and "/rbm_billable_events_" in name for name in duck.files())
    assert_same_files(duck, spark_run)


@spark
def test_demo_data_summary_is_the_same(demo):
    duck, spark_run = demo
    assert spark_run.summary() == duck.summary()


@pytest.fixture(scope="module")
def bad_input(tmp_path_factory) -> tuple[Run, Run]:
    fixture = ROOT / "tests/fixtures/bad_input/mixed"
    return both(tmp_path_factory.mktemp("spark_bad_input"), "--messages", str(fixture / "messages_*.csv"),
                "--agents", str(fixture / "agents.csv"))


@spark
def test_bad_input_gives_identical_reports(bad_input):
    assert_same_files(*bad_input, pattern=r"rbm_billable_events_")


@spark
def test_bad_input_rows_end_in_the_same_place(bad_input):
    queries = {
        "outcomes": "select source_kind, source_file, source_row, message_id, outcome, outcome_reason"
                    " from int_message_outcomes",
        "quarantined_messages": "select source_file, source_row, message_id, reason from quarantined_messages",
        "quarantined_agents": "select source_file, source_row, agent_id, reason from quarantined_agents",
    }
    assert_same_rows(*bad_input, queries, non_empty=["quarantined_messages", "quarantined_agents"])


@pytest.fixture(scope="module")
def activity(tmp_path_factory) -> tuple[Run, Run]:
    fixture = ROOT / "tests/fixtures/activity"
    return both(tmp_path_factory.mktemp("spark_activity"), "--activity", str(fixture / "att/rbm_activity_*.csv*"),
                "--carrier", "att", "--agents", str(fixture / "agents.csv"))


@spark
def test_activity_logs_give_identical_reports_and_reconciliation(activity):
    assert_same_files(*activity, pattern=r"rbm_billable_events_")
    queries = {
        "billed": "select message_id, billing_event_id, google_billing_event_id, event_type from fct_billable_messages",
        "reconciliation": "select * from rpt_google_reconciliation",
    }
    assert_same_rows(*activity, queries, non_empty=["billed", "reconciliation"])


@pytest.fixture(scope="module")
def daily(tmp_path_factory) -> tuple[dict[str, Run], int]:
    """The first two arrival days loaded, then every later file added (the third day and the late rows of the
    days after), on each engine's own database: (the second run per target, how many files it added). One landing
    folder for both, so that the files' paths are the same."""
    work = tmp_path_factory.mktemp("spark_daily")
    files, agents = daily_files(work / "generated", messages=1500, days=3, seed=11)
    assert len(files) >= 4
    landing = work / "landing"
    landing.mkdir()
    for path in files[:2]:
        shutil.copy(path, landing)
    args = ("--messages", str(landing / "*.csv"), "--agents", str(agents))
    for target in ("duckdb", "spark"):
        (work / target).mkdir()
        Run(work / target, target, args)
    for path in files[2:]:
        shutil.copy(path, landing)
    return {target: Run(work / target, target, args) for target in ("duckdb", "spark")}, len(files) - 2


def restatement_rows(run: Run) -> list[list[str]]:
    """restatements.csv without its first column, restated_at: the time of the run that restated."""
    rows = list(csv.reader(io.StringIO((run.output / "restatements.csv").read_text(encoding="utf-8"))))
    assert rows[0][0] == "restated_at"
    return [row[1:] for row in rows]


@spark
def test_a_daily_run_gives_identical_files_restatements_and_summary(daily):
    """The second run on each engine is a daily run (no full rebuild, only the new files loaded) that opens a new
    report file and restates published ones (the generator sends rows up to three days late). Its files are those
    of DuckDB's daily run, byte for byte; restatements.csv differs in its run times only, and the summaries agree."""
    second, added_files = daily
    duck, spark_run = second["duckdb"], second["spark"]
    for run in (duck, spark_run):
        assert "full rebuild" not in run.done.stdout, run.target + ": " + run.done.stdout[-3000:]
        loaded = re.search(r"this run loaded [0-9,]+ row\(s\) from ([0-9]+) file\(s\)", run.done.stdout)
        assert loaded and int(loaded.group(1)) == added_files, run.target + ": " + run.done.stdout[-3000:]
    logged = restatement_rows(duck)
    assert {"restated", "new_file"} <= {row[1] for row in logged[1:]}, logged
    assert restatement_rows(spark_run) == logged
    assert_same_files(duck, spark_run, pattern=r"^(?!restatements\.csv$)")
    assert spark_run.summary() == duck.summary()
