"""Run dbt, have the database write the report files, and print the run summary (SPEC §6, §8)."""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from rbm import warn

ROOT = Path(__file__).resolve().parent.parent
REPORT_COLUMNS = [
    "billing_event_id", "type", "agent_id", "agent_owner", "billing_party", "max_duration_single_message",
    "max_duration_a2p_conversation", "max_duration_p2a_conversation", "start_time", "duration",
    "mt_messages", "mo_messages", "size_kilobytes", "agent_name", "owner_name", "segment_count", "session_type",
]
# A fixed, total order of the rows of a file, so a re-run writes the same bytes (SPEC §8): total because
# (billing_event_id, stream_seq) is unique (data test on fct_report_rows). Few sort keys: the sort is most of
# the export's time.
REPORT_ORDER = "start_time, agent_id, billing_event_id, stream_seq"
# The not-billable reasons audit_conservation counts in a column of their own (not_billable_<reason>_rows).
AUDITED_NOT_BILLABLE_REASONS = ("tester", "mt_not_delivered", "mo_outside_conversation")
# Quarantine reasons of a row that is right itself but refers to an agent or carrier that is not usable.
REFERENCE_REASONS = {"unknown_agent", "agent_quarantined", "unknown_carrier"}


def duckdb_path() -> Path:
    """SPEC §8: $RBM_DUCKDB_PATH when set, else a file inside the project."""
    return Path(os.environ.get("RBM_DUCKDB_PATH") or ROOT / "rbm_billing.duckdb").resolve()


def spark_dir() -> Path:
    """README "Spark": $RBM_SPARK_DIR holds the Spark warehouse and its metastore (default: the project)."""
    return Path(os.environ.get("RBM_SPARK_DIR") or ROOT).resolve()


def database_location(target: str) -> Path:
    """Where the built relations live: the DuckDB file, or the Spark warehouse folder."""
    return duckdb_path() if target == "duckdb" else spark_dir() / "spark-warehouse"


# The run's inputs (rbm/inputs.py RunInputs.dbt_inputs) travel in this environment variable, not in --vars:
# dbt parses the whole project again whenever --vars change, but keeps its parsed project (target/
# partial_parse.msgpack) when only an environment variable read by the models does (macro run_input).
RUN_INPUTS_ENV = "RBM_RUN_INPUTS"
# The run's start (macro run_started); its own variable, read by dbt only when it runs the SQL, not when it parses.
RUN_STARTED_ENV = "RBM_RUN_STARTED"
# Above this size (an environment variable, like one command-line argument, holds at most 128 KiB on Linux: a
# daily glob over hourly files passes it within months) the inputs go in a file named by RBM_RUN_INPUTS_FILE,
# which the models read through the database (macro run_input). The file is in the system's temporary folder:
# the engine must see it (a local DuckDB or Spark; on a cluster dbt is run directly, README "On a cluster").
RUN_INPUTS_MAX_CHARS = 100_000
RUN_INPUTS_FILE_ENV = "RBM_RUN_INPUTS_FILE"
# Another dbt to run, as a command line (default: the dbt beside this Python); the tests' is a pre-started one
# (tests/python/dbt_zygote.py).
DBT_COMMAND_ENV = "RBM_DBT_COMMAND"


def dbt_command(args: list[str], target: str, dbt_vars: dict, run_inputs: dict,
                inputs_file: Path | None = None) -> tuple[list[str], dict]:
    """The dbt command line and environment of a run: `dbt_vars` as --vars, `run_inputs` in RBM_RUN_INPUTS, or
    when too large for the environment written to `inputs_file`, named by RBM_RUN_INPUTS_FILE."""
    import json

    env = dict(os.environ, RBM_DUCKDB_PATH=str(duckdb_path()), RBM_SPARK_DIR=str(spark_dir()))
    if target == "duckdb":
        # dbt keeps its parsed project (target/partial_parse.msgpack) only for the profile it was parsed with, whose
        # values include the DuckDB path: every run on a new database parsed the whole project again (~5 s, most of
        # a small run). dbt runs in the database's folder (dbt_working_folder) and is given the file's name only, so
        # the profile is the same for every database of that name; every other path dbt is given is absolute.
        # `./`: a bare name is read as DuckDB reads a path, `~x.duckdb` in the home folder, `x:y.duckdb` as an
        # extension's (review, twenty-fifth session)
        env["RBM_DUCKDB_PATH"] = f"./{duckdb_path().name}"
        env["RBM_DUCKDB_TEMP_DIR"] = duckdb_settings()["temp_directory"]
        for name in ("DBT_TARGET_PATH", "DBT_LOG_PATH"):  # relative ones in the project, as before
            if env.get(name):
                env[name] = str(ROOT / env[name])
    # dbt stopped (Ctrl-C: run_dbt) leaves its semaphores to Python's resource tracker, which then warned of them
    # after `interrupted` (user trial, seventeenth session): nothing is lost, and the next run rebuilds.
    env["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"),
                                                   "ignore:resource_tracker:UserWarning"]))
    # dbt colours its log for a terminal only: a cron job's log file or a pipe gets plain text (user trial, eighteenth
    # session: 101 of 130 lines of a daily run's log began with an escape code). DBT_USE_COLORS of your own wins.
    if not sys.stdout.isatty():
        env.setdefault("DBT_USE_COLORS", "false")
    env.pop(RUN_INPUTS_ENV, None)
    env.pop(RUN_INPUTS_FILE_ENV, None)
    inputs_json = json.dumps(run_inputs, sort_keys=True)
    if len(inputs_json) <= RUN_INPUTS_MAX_CHARS:
        env[RUN_INPUTS_ENV] = inputs_json
    elif inputs_file is None:
        raise ValueError("the run's inputs are too large for the environment: give dbt_command an inputs_file")
    else:
        inputs_file.write_text(inputs_json + "\n", encoding="utf-8")
        env[RUN_INPUTS_FILE_ENV] = str(inputs_file.resolve())
    import shlex

    other_dbt = os.environ.get(DBT_COMMAND_ENV)
    dbt = shlex.split(other_dbt) if other_dbt else [str(Path(sys.executable).parent / "dbt")]
    if os.sep in dbt[0]:  # a relative one as from here: dbt runs in another folder (dbt_working_folder)
        dbt[0] = os.path.abspath(dbt[0])
    command = [*dbt, *args, "--project-dir", str(ROOT), "--profiles-dir", str(ROOT), "--target", target]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    return command, env


def dbt_working_folder(target: str) -> Path:
    """Where dbt runs: the DuckDB file's folder (dbt_command gives it the file's name only), else the project."""
    return duckdb_path().parent if target == "duckdb" else ROOT


def run_dbt(args: list[str], target: str, dbt_vars: dict, run_inputs: dict | None = None,
            run_started: str | None = None) -> bool:
    """Run dbt in its own process (it holds the database open with its own settings). `run_started` (UTC,
    YYYY-MM-DD HH:MM:SS) is the run's start as the models record it (macro run_started).
    dbt runs in a process group of its own: Ctrl-C reaches this script only, which stops dbt (and Spark's JVM)
    with SIGTERM and says `interrupted` (scripts/rbm.py). A SIGINT reaching dbt itself prints a Python traceback
    when it lands while dbt waits for a model, which a user should not have to read."""
    import signal
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rbm-run-inputs-") as folder:
        command, env = dbt_command(args, target, dbt_vars, run_inputs or {}, Path(folder) / "run_inputs.json")
        if run_started:
            env[RUN_STARTED_ENV] = run_started
        process = subprocess.Popen(command, cwd=dbt_working_folder(target), env=env, start_new_session=True)
        try:
            return process.wait() == 0
        except BaseException:  # Ctrl-C, or this script stopped: dbt stops too
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            raise


def duckdb_settings() -> dict[str, str]:
    """The memory limit and spill folder of the export and the summary: the same environment variables and
    defaults as dbt's connection (profiles.yml): without them DuckDB's own default applies, 80% of the
    machine's memory, and its own temp folder."""
    temp = Path(os.environ.get("RBM_DUCKDB_TEMP_DIR") or ".duckdb_tmp")
    return {
        "memory_limit": os.environ.get("RBM_DUCKDB_MEMORY_LIMIT") or "6GB",
        "temp_directory": str(temp if temp.is_absolute() else ROOT / temp),  # relative to the project (dbt_command)
    }


def connect(read_only: bool = True, *, target: str = "duckdb"):
    if target == "spark":  # the same queries on the Spark tables (rbm/spark_export.py)
        from rbm import spark_export

        return spark_export.connect()
    import duckdb

    return duckdb.connect(str(duckdb_path()), read_only=read_only, config=duckdb_settings())


def guard_failed(name: str) -> bool:
    """Whether the dbt build that just ran failed the singular test `name` (dbt's run_results.json)."""
    import json

    results = ROOT / (os.environ.get("DBT_TARGET_PATH") or "target") / "run_results.json"  # dbt's, in the project
    try:
        return any(result.get("unique_id", "").endswith(f".{name}") and result.get("status") == "fail"
                   for result in json.loads(results.read_text(encoding="utf-8")).get("results", []))
    except (OSError, ValueError, AttributeError):
        return False


def no_usable_agent(target: str) -> str | None:
    """After a build that the guard assert_some_agent_is_usable failed (the agents file(s) loaded rows but not one
    of them is usable, each quarantined): why, with the first line of each reason; None when the guard did not fail
    (review, twenty-second session: a later failed build was blamed on the agents file of an earlier one), or when
    the database cannot tell. Read from int_agents_checked itself: quarantined_agents is downstream of the guard,
    so it still holds the previous run's rows."""
    if not guard_failed("assert_some_agent_is_usable"):
        return None
    try:
        with connect(target=target) as con:
            usable, loaded = con.sql(
                "select count(case when quarantine_reason is null and not is_exact_duplicate then 1 end), count(*)"
                " from int_agents_checked"
            ).fetchall()[0]
            if usable or not loaded:
                return None
            reasons = con.sql(agent_reasons_query("int_agents_checked", "quarantine_reason")).fetchall()
    except Exception:  # noqa: BLE001 - an explanation only: the build's failure is reported either way
        return None
    return "; ".join(f"{reason} {count} {first_place(line, source_file)}" for reason, count, line, source_file in reasons)


def agent_reasons_query(table: str, reason_column: str) -> str:
    """SQL: (reason, rows, its first row, that row's file) of the agents rows in `table`, most frequent first. The
    first line of each reason (user trial, eighteenth session: only the counts sent you to the table), with its file
    (user trial, twenty-first session: AGENTS may be several files)."""
    return (f"select {reason_column}, count(*), min_by(source_row, row_order), min_by(source_file, row_order)"
            " from (select *, row_number() over (order by source_file, source_row) as row_order"
            f" from {table}) as agents group by 1 order by 2 desc, 1")


def first_place(row: int, source_file: str | None) -> str:
    """`(first at line N of FILE)`."""
    return f"(first at {row_word(source_file)} {row} of {source_file})"


def row_word(source_file: str | None) -> str:
    """What a source_row counts in the file: records of a Parquet file, lines of a CSV file (README "Bad input")."""
    from rbm.inputs import is_parquet

    return "record" if is_parquet(source_file or "") else "line"


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Written beside the report files (daily operation): the manifest of report files with their
# final/provisional status, and the log of restated files, whose times are written as the reports write theirs
# (ISO 8601 in UTC with a Z, SPEC §6), on either engine.
UTC_SECONDS = {
    "duckdb": "strftime({}, '%Y-%m-%dT%H:%M:%SZ')",
    "spark": "date_format({}, \"yyyy-MM-dd'T'HH:mm:ss'Z'\")",
}


def side_files(target: str = "duckdb") -> dict[str, str]:
    return {
        "report_files.csv": "select file_path, carrier_id, generation_date, row_count, event_count, status,"
                            " events_start_on from rpt_report_files order by file_path",
        "restatements.csv": f"select {UTC_SECONDS[target].format('restated_at')} as restated_at, file_path,"
                            " change_kind, rows_added, rows_removed, rows_changed, rows_before, rows_after,"
                            " status_before, period_was_final from rpt_restatements order by 1, file_path",
    }


def export_reports(target: str, output: Path, unchanged: frozenset[str] = frozenset()) -> list[Path]:
    """One file per carrier and generation date, written by the database with COPY into a
    temporary folder, then moved into place: a failed run leaves the previous reports as they were.
    Report files of an earlier run that no longer have events (late data moved them) are removed.
    A file in `unchanged` (paths relative to `output`, from unchanged_report_files) is not written, and one written
    with the bytes it had is left as it was (move_into_place). Returns the files whose bytes changed (new ones
    too)."""
    output.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".rbm-export-", dir=output))
    written: list[tuple[Path, Path]] = []
    current: set[Path] = set()
    try:
        with connect() as con:
            files = con.sql("select carrier_id, generation_date from rpt_report_files order by 1, 2").fetchall()
            queries = {}
            for carrier_id, generation_date in files:
                relative = Path(carrier_id) / f"rbm_billable_events_{generation_date}.csv"
                current.add(output / relative)
                if relative.as_posix() in unchanged:
                    continue
                (staging / carrier_id).mkdir(parents=True, exist_ok=True)
                queries[staging / relative] = (
                    f"select {', '.join(REPORT_COLUMNS)} from fct_report_rows"
                    f" where carrier_id = {sql_literal(carrier_id)}"
                    f" and generation_date = {sql_literal(generation_date)}"
                    f" order by {REPORT_ORDER}"
                )
                written.append((staging / relative, output / relative))
            for name, query in side_files().items():
                queries[staging / name] = query
            copy_all_to_csv(con, queries)
        previous = previous_report_files(output)
        changed = []
        try:
            for source, destination in written:
                if move_into_place(source, destination):
                    changed.append(destination)
            for name in side_files():
                move_into_place(staging / name, output / name)
            remove_stale_files(previous - current, output)
        except OSError as error:
            # some files of the previous run are replaced already (scripts/rbm.py)
            error.rbm_files_replaced = len(changed)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return changed


def move_into_place(source: Path, destination: Path) -> bool:
    """Moves a report file (or side file) just written over `destination`, unless that holds the same bytes
    already: then it is left as it was, modification time included (a tool that sends changed files on sends
    nothing; review, fifteenth session: the summary listed files whose bytes this run did not change as written).
    Whether it changed."""
    import filecmp

    if destination.is_file() and filecmp.cmp(source, destination, shallow=False):
        source.unlink()
        return False
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, destination)
    return True


def export_code() -> str:
    """What else decides a report file's bytes besides the database's rows: this module (columns, order, CSV
    options) and the DuckDB version that writes the CSV."""
    import hashlib

    import duckdb

    return hashlib.sha256(Path(__file__).read_bytes() + duckdb.__version__.encode()).hexdigest()


def export_record(output: Path, database: Path) -> dict:
    """The report files now in `output`, as this run left them, and the database they were written from
    (state.save keeps it for the next run; state.take_export)."""
    from rbm import state

    files = {}
    for path in sorted(output.glob("*/rbm_billable_events_*.csv")):
        stat = path.stat()
        files[path.relative_to(output).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return {"output": str(output.resolve()), "code": export_code(), "database": state.database_identity(database),
            "files": files}


def main_tables(con) -> set[str]:
    """The tables and views in the DuckDB database's schema `main`."""
    return {name for (name,) in con.sql("select table_name from information_schema.tables"
                                         " where table_schema = 'main'").fetchall()}


def has_report_tables() -> bool:
    """Whether the DuckDB database holds the tables the report files are written from."""
    with connect() as con:
        return {"rpt_report_files", "fct_report_rows"} <= main_tables(con)


def loaded_files(tables: tuple[str, ...] = ("stg_messages", "stg_activity_log")) -> set[str]:
    """The files (as delivered) the DuckDB database's staging `tables` were read from: by default the input files
    whose rows it holds, what a full rebuild must read again; ("stg_agents",): the agents file of its last build."""
    if not duckdb_path().exists():
        return set()
    with connect() as con:
        stored = main_tables(con)
        return {path for table in tables if table in stored for (path,) in con.sql(
            f"select distinct source_file from {table} where source_file is not null").fetchall()}


def loaded_activity_carriers() -> dict[str, str]:
    """The activity logs (as delivered) the DuckDB database holds rows of, each with the carrier it was loaded
    with (SPEC §9: CARRIER=… of its run)."""
    if not duckdb_path().exists():
        return {}
    with connect() as con:
        if "stg_activity_log" not in main_tables(con):
            return {}
        return dict(con.sql("select source_file, min(carrier_id) from stg_activity_log where source_file is not null"
                            " and carrier_id is not null group by source_file").fetchall())


def unchanged_report_files(exported: dict | None, output: Path) -> frozenset[str]:
    """The report files a daily run need not write again: files the previous run wrote into this same folder
    with the same export code (`exported`, from state.take_export, which also checks that the database is the
    one they were written from), still on disk as it left them (size and modification time), of which this
    run recomputed no row and which it did not restate (rpt_report_files.is_recomputed). Every other file is
    written. test_incremental checks that the files are byte-identical to a full build's."""
    if not exported or exported.get("output") != str(output.resolve()) or exported.get("code") != export_code():
        return frozenset()
    with connect() as con:
        kept = {path for (path,) in con.execute(
            "select file_path from rpt_report_files where not is_recomputed").fetchall()}
    unchanged = set()
    for relative, (size, mtime_ns) in exported.get("files", {}).items():
        try:
            stat = (output / relative).stat()
        except OSError:
            continue
        if relative in kept and stat.st_size == size and stat.st_mtime_ns == mtime_ns:
            unchanged.add(relative)
    return frozenset(unchanged)


def copy_to_csv(con, query: str, path: Path) -> None:
    con.execute(f"copy ({query}) to {sql_literal(str(path))} (format csv, header true, delimiter ',')")


def copy_all_to_csv(con, queries: dict[Path, str]) -> None:
    """Each query into its file, as many files at a time as DuckDB has threads (its own count of the cores, within a
    container's quota; at most eight: each sorts a file), the threads shared among them: a COPY of a report file
    (its sort, and CSV writing that keeps the row order) runs mostly on one thread, and two at a time with two
    threads each oversubscribed the cores (10M messages, 2 cores, five runs each: 13.2 s with 2 threads, 11.5 s
    with 1; nineteenth session). A run writing one file keeps every thread for it."""
    from concurrent.futures import ThreadPoolExecutor

    cores = con.execute("select current_setting('threads')").fetchall()[0][0]
    workers = max(1, min(len(queries), cores, 8))
    con.execute(f"set threads = {max(1, cores // workers)}")  # this export's own database instance (connect)

    def copy(item: tuple[Path, str]) -> None:
        with con.cursor() as cursor:
            copy_to_csv(cursor, item[1], item[0])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(copy, queries.items()))


# In OUTPUT, the database whose reports it holds: a run removes the report files it no longer has and rewrites
# report_files.csv and restatements.csv, so two databases writing one OUTPUT would delete each other's files.
# Per target: the DuckDB and the Spark build of the same inputs write the same files (README "Spark").
OUTPUT_OWNER_FILE = ".rbm-output.json"


def _output_owners(output: Path) -> dict:
    """target -> the database that last wrote `output` (OUTPUT_OWNER_FILE); {} when none or unreadable."""
    import json

    try:
        owners = json.loads((output / OUTPUT_OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return owners if isinstance(owners, dict) else {}


def output_owner(output: Path, target: str) -> str | None:
    """The database (path) of `target` whose reports `output` holds, when that database still exists."""
    owner = _output_owners(output).get(target)
    return owner if isinstance(owner, str) and Path(owner).exists() else None


def claim_output(output: Path, target: str) -> None:
    import json

    owners = {**_output_owners(output), target: str(database_location(target))}
    (output / OUTPUT_OWNER_FILE).write_text(json.dumps(owners, sort_keys=True) + "\n", encoding="utf-8")


def remove_stale_files(stale: set[Path], output: Path) -> None:
    """Removes report files of an earlier run that no longer have events, and a carrier's folder they leave empty
    (review, fourteenth session: a daily run left an empty folder a full build of the same inputs does not have)."""
    for path in sorted(stale):
        path.unlink(missing_ok=True)
        if path.parent != output and output in path.parents:
            try:
                path.parent.rmdir()
            except OSError:  # other files are still in it
                pass


def previous_report_files(output: Path) -> set[Path]:
    """The report files the previous run listed in its manifest (only those are ever removed)."""
    manifest = output / "report_files.csv"
    if not manifest.exists():
        return set()
    import csv

    with open(manifest, newline="", encoding="utf-8") as handle:
        return {output / row["file_path"] for row in csv.DictReader(handle)}


SUMMARY_FILES_LISTED = 60  # report files the summary names one by one
# The quarantine reasons of a message whose agent or carrier is not listed: the column that names it, what it is, and
# where it is missing from.
UNKNOWN_REFERENCES = {"unknown_agent": ("agent_id", "agent id", "AGENTS"),
                      "unknown_carrier": ("carrier_id", "carrier id", "the carriers list")}
UNKNOWN_IDS_LISTED = 5


def unknown_ids_said(reason: str, ids: list[tuple]) -> str:
    """`  (2 agent ids not in AGENTS: a 10, b 3)`: the ids of an unknown_agent / unknown_carrier reason, most rows
    first, the first UNKNOWN_IDS_LISTED of them."""
    if not ids:
        return ""
    _, noun, where = UNKNOWN_REFERENCES[reason]
    # Only ids of a plain shape are printed (review, twenty-third session: the table masks what may be personal data
    # by its own rules; a terminal and a cron log get nothing else): printable ASCII without spaces, not digits alone.
    shown = [(value, count) for value, count in ids
             if value and re.fullmatch(r"[!-~]{1,128}", value) and not re.fullmatch(r"[+(]?[0-9().-]+", value)]
    listed = ", ".join(f"{value} {count}" for value, count in shown[:UNKNOWN_IDS_LISTED])
    more = ", …" if len(shown) > UNKNOWN_IDS_LISTED else ""
    hidden = f"{', ' if listed else ''}{len(ids) - len(shown)} not shown" if len(ids) > len(shown) else ""
    return f"  ({len(ids)} {noun}{'s' * (len(ids) > 1)} not in {where}: {listed}{more}{hidden})"


def staged_message_rows(columns: str) -> str:
    """SQL: `columns` of every staged message row, of a messages file or an activity log (the summary's checks)."""
    return (f"(select {columns} from stg_messages union all select {columns} from int_activity_log_messages)"
            " as staged")


def print_summary(target: str, run_inputs, written: list[Path], output: Path, run_started) -> None:
    with connect(target=target) as con:
        def rows(query: str) -> list[tuple]:
            return con.sql(query).fetchall()

        # The counts come from the audit (one row per file, carrier and day), not from int_message_outcomes (a
        # view over every input row); only an activity log's other rows (receipts, ...) need that view.
        totals = rows(
            "select " + ", ".join(f"coalesce(sum({column}), 0)" for column in [
                "input_rows", "billed_rows", "not_billable_rows", "quarantined_rows", "exact_duplicate_rows",
                *(f"not_billable_{reason}_rows" for reason in AUDITED_NOT_BILLABLE_REASONS)])
            + " from audit_conservation"
        )[0]
        input_rows = totals[0]
        # The counts are the database's (every file loaded so far); what this run added is said apart.
        started = sql_literal(run_started.strftime('%Y-%m-%d %H:%M:%S'))
        database_files = rows("select count(distinct source_file) from audit_conservation")[0][0]
        # Every staged file with the rows this run loaded from it (0: loaded before).
        staged_rows = rows(
            f"select source_file, sum(case when loaded_at = {started} then 1 else 0 end) from ("
            "select source_file, loaded_at from stg_messages"
            " union all select source_file, loaded_at from stg_activity_log) as staged"
            " group by source_file"
        )
        loaded_per_file = {path: count for path, count in staged_rows if count}
        # Review (twelfth session): a file of only a header loads no row, so the summary said "from 0 file(s)".
        empty_files = sorted(set(run_inputs.delivered_files()) - {path for path, _ in staged_rows})
        outcome = dict(zip(["billed", "not_billable", "quarantined", "exact_duplicate"], totals[1:5]))
        not_billable = list(zip(AUDITED_NOT_BILLABLE_REASONS, totals[5:]))
        if run_inputs.activity:
            not_billable += rows(
                "select outcome_reason, count(*) from int_message_outcomes"
                " where source_kind = 'activity_log' and outcome = 'not_billable'"
                f" and outcome_reason not in ({', '.join(map(sql_literal, AUDITED_NOT_BILLABLE_REASONS))})"
                " group by 1"
            )
        not_billable = sorted((reason, count) for reason, count in not_billable if count)
        # An event is counted at its first message (one per event; a count(distinct) of the ids took 1 s at 10M).
        per_carrier = rows(
            """
            select carrier_id, billing_model, count(*) as billed_messages,
                   count(case when message_id = first_message_id then 1 end) as billable_events,
                   count(case when is_grouped and message_id = first_message_id then 1 end) as grouped_events
            from fct_billable_messages group by 1, 2 order by 1
            """
        )
        quarantined = rows("select reason, count(*) from quarantined_messages group by 1 order by 2 desc, 1")
        # Which agents and carriers the messages name that are not in AGENTS / the carriers list, most rows first:
        # the count alone sent you to the table to find what to add (user trial, sixteenth session's open point).
        # As quarantined_messages shows them (an id shaped like personal data is masked there).
        unknown_ids = {reason: rows(f"select {column}, count(*) from quarantined_messages where reason = '{reason}'"
                                    " group by 1 order by 2 desc, 1")
                       for reason, (column, _, _) in UNKNOWN_REFERENCES.items()}
        quarantined_agents = rows(agent_reasons_query("quarantined_agents", "reason"))
        unbalanced = rows("select count(*) from audit_conservation where not is_balanced")[0][0]
        statuses = dict(rows("select status, count(*) from rpt_report_files group by 1"))
        # A new file of a period already final before this run was opened by late rows (period_was_final).
        restated = rows(
            "select file_path, change_kind, rows_added, rows_removed, rows_changed, status_before, period_was_final"
            f" from rpt_restatements where restated_at = {started} order by file_path"
        )
        # Bad input of this run's files, per file (README "Bad input"): a file of which nothing is billed (dates in
        # another format, say) still ends the run with exit 0 (SPEC §7), so the summary names it. The counts are
        # the audit's (a file is loaded once; an activity log's receipts are rows of it too).
        audited = {path: (audited_rows, billed, quarantined) for path, audited_rows, billed, quarantined in rows(
            "select source_file, sum(input_rows), sum(billed_rows), sum(quarantined_rows) from audit_conservation"
            " group by source_file"
        ) if path in loaded_per_file}
        reasons_per_file: dict[str, list[tuple]] = {}
        # An activity-log MT quarantined for its delivery time: the bad value is on its receipt's line, which the
        # summary names too (user trial, nineteenth session).
        for source_file, reason, count, first_line, receipt in rows(
            "select source_file, reason, count(*), min(source_row), min_by(reason_detail, source_row)"
            " from quarantined_messages"
            " group by source_file, reason order by source_file, 3 desc, reason"
        ):
            if source_file in loaded_per_file:
                # (quarantined_messages gives the receipt for the reasons of its delivery time; a line that did not
                # parse has the CSV reader's message there instead, which the summary leaves to the table)
                where = (f"{first_line}, its {receipt}" if receipt and receipt.startswith("delivery receipt at line ")
                         else first_line)
                reasons_per_file.setdefault(source_file, []).append((reason, count, where))
        # Rows of this run's files with an exact copy elsewhere (counted once, whichever copy: int_messages_rejected
        # marks the later one in file-name order, not in load order).
        # An activity log counts its message rows (review, thirteenth session: an activity log delivered twice had
        # no warning; code review: its receipts, spam reports and malformed lines are never a message's copy).
        copied_per_file = dict(rows(
            "select staged.source_file, count(*) from " + staged_message_rows("source_file, message_id, loaded_at")
            + " inner join (select distinct message_id from int_messages_rejected where is_exact_duplicate) as copies"
            f" on staged.message_id = copies.message_id where staged.loaded_at = {started}"
            " group by staged.source_file"
        ))
        # Which other file holds those copies, so that the warning names it, and two files holding the same rows
        # (both read again by a full rebuild) get one warning, not one blaming each (user trial, eighteenth
        # session). Only the message_ids with an exact copy are joined: a handful, not every staged row.
        copy_partners = {(mine, other): count for mine, other, count in rows(
            "with copied as (select staged.* from " + staged_message_rows("source_file, message_id, loaded_at")
            + " where staged.message_id in"
            " (select message_id from int_messages_rejected where is_exact_duplicate))"
            " select mine.source_file, other.source_file, count(*) from copied as mine"
            " inner join (select distinct source_file, message_id from copied) as other"
            " on mine.message_id = other.message_id and mine.source_file != other.source_file"
            f" where mine.loaded_at = {started} group by 1, 2"
        )} if copied_per_file else {}
        activity_messages = dict(rows(
            "select source_file, count(*) from int_activity_log_messages group by 1"
        )) if run_inputs.activity else {}
        # SPEC §9: a type the mapping seed does not know is not a message, so it is neither billed nor quarantined;
        # a type Google spells another way (TEXT_MESSAGE) took a carrier's bill away without a word (review,
        # thirteenth session).
        unknown_types: dict[str, list] = {}
        for source_file, activity_type, count in rows(
            "select source_file, activity_type, count(*) from int_activity_log_other_rows"
            " where activity_role = 'unknown_activity_type' group by 1, 2 order by 1, 2"
        ) if run_inputs.activity else []:
            counted = unknown_types.setdefault(source_file, [0, None])
            counted[0] += count
            # Only a value shaped like a type is shown: a shifted column may hold Google's hashed user_id (code
            # review, thirteenth session), and that never leaves staging (SPEC §1).
            if counted[1] is None and activity_type and re.fullmatch(r"[A-Za-z_/]{1,40}", activity_type):
                counted[1] = activity_type
        # A delivery receipt without an activity_id, agent or user delivers no MT (it matches on all three: agents
        # choose their ids), so an MT it may have been Google's receipt of is billed as not delivered, without a word
        # (review, nineteenth session): say so, with the first such line.
        unmatchable_receipts = {source_file: (count, first_line) for source_file, count, first_line in rows(
            "select source_file, count(*), min(source_row) from int_activity_log_other_rows"
            " where activity_role = 'delivery_receipt' and not has_message_keys group by 1"
        )} if run_inputs.activity else {}
        # A message_id of this run's files in another file too (loaded before, or by this run: review, twelfth
        # session), with other content: SPEC §7 quarantines every copy (the earlier one may keep a reason of its
        # own, a bad time say). Most likely a corrected file delivered under a new name, which corrects nothing
        # (README "Daily operation").
        # The copy this run loaded may be quarantined for a defect of its own, the one loaded before as the
        # conflicting duplicate (review, fourteenth session: then a daily run took a billed message off the bill
        # without this warning).
        # With the columns the copies differ in (int_messages_rejected; user trial, twenty-first session).
        conflicts = rows(
            "select quarantined.message_id, quarantined.source_file, quarantined.source_row, quarantined.loaded_at,"
            " quarantined.carrier_id, rejected.differing_columns from quarantined_messages as quarantined"
            " left join int_messages_rejected as rejected on quarantined.source_kind = rejected.source_kind"
            " and quarantined.source_file = rejected.source_file and quarantined.source_row = rejected.source_row"
            " where quarantined.message_id in (select message_id from quarantined_messages"
            " where message_id is not null group by message_id"
            f" having max(case when loaded_at = {started} then 1 else 0 end) = 1"
            " and max(case when reason = 'conflicting_duplicate_message_id' then 1 else 0 end) = 1"
            " and min(source_file) <> max(source_file))"
            " order by quarantined.message_id, quarantined.loaded_at, quarantined.source_file, quarantined.source_row"
        )
        # Rows dated after the run started (a sender's clock or time zone; user trial, eighteenth session): billed as
        # dated, in report files dated ahead, and not counted towards which files are final (README "Daily
        # operation"). Checked on this run's rows only; the billed ones are looked up only when there are any.
        staged_ahead = (
            "select source_file, source_row, message_id, greatest(sent_at, coalesce(delivered_at, sent_at)) as dated"
            " from " + staged_message_rows("source_file, source_row, message_id, sent_at, delivered_at, loaded_at")
            + f" where loaded_at = {started} and (sent_at > {started} or delivered_at > {started})"
        )
        # Billed: not set aside (quarantined, or an exact duplicate's copy, counted once; review, nineteenth session),
        # and not left out as not billable.
        ahead = rows(
            "select count(*) over (), dated, source_file, source_row from (" + staged_ahead + ") as ahead"
            " where message_id in (select message_id from fct_billable_messages) and not exists (select 1"
            " from int_messages_rejected as set_aside where set_aside.source_file = ahead.source_file"
            " and set_aside.source_row = ahead.source_row)"
            " order by dated desc, source_file, source_row limit 1"
        ) if rows(f"select count(*) from ({staged_ahead}) as ahead")[0][0] else []
        # Per kind: rows, the Google events and our events they touch, and their messages (one unit per column:
        # a google_split row is a pair, a google_only row one reason of one Google event; user trial, nineteenth
        # session). The totals count each event once.
        reconciliation = rows(
            """
            select
                coalesce(kind, 'all'), count(*), count(distinct google_billing_event_id),
                count(distinct billing_event_id), sum(shared_messages)
            from rpt_google_reconciliation group by rollup (kind) order by kind is null, kind
            """
        ) if run_inputs.activity else []

    print()
    print("=" * 72)
    print(f"rbm-billing run summary  (target {target}, database {database_location(target)})")
    print("=" * 72)
    print(f"input rows             {input_rows:>10}  in the database, from {database_files} file(s); this run loaded "
          f"{sum(loaded_per_file.values())} row(s) from {len(loaded_per_file)} file(s)"
          + (f"; its inputs include {len(empty_files)} file(s) without a row (e.g. {empty_files[0]})"
             if empty_files else ""))
    print(f"  billed               {outcome.get('billed', 0):>10}")
    print((f"  not billable         {outcome.get('not_billable', 0):>10}  "
           + ", ".join(f"{reason} {count}" for reason, count in not_billable)).rstrip())
    print(f"  quarantined          {outcome.get('quarantined', 0):>10}")
    print(f"  exact duplicates     {outcome.get('exact_duplicate', 0):>10}  (counted once)")
    print()
    print(f"{'carrier':<16}{'model':<8}{'billed msgs':>12}{'events':>10}{'sessions/conv.':>16}")
    for carrier_id, model, billed, events, grouped in per_carrier:
        print(f"{carrier_id:<16}{model:<8}{billed:>12}{events:>10}{grouped:>16}")
    print()
    if quarantined or quarantined_agents:
        print("quarantined rows by reason (table quarantined_messages / quarantined_agents):")
        for reason, count in quarantined:
            print(f"  messages  {reason:<36}{count:>8}" + unknown_ids_said(reason, unknown_ids.get(reason, [])))
        for reason, count, line, source_file in quarantined_agents:
            print(f"  agents    {reason:<36}{count:>8}  {first_place(line, source_file)}")
    else:
        print("quarantined rows: none")
    if run_inputs.activity:
        kinds = [row for row in reconciliation if row[0] != "all"]  # a kind is never `all` (its accepted values)
        google_events, our_events = next((row[2:4] for row in reconciliation if row[0] == "all"), (0, 0))
        print(f"Google reconciliation (table rpt_google_reconciliation): {google_events} Google event(s) against "
              f"{our_events} of ours")
        print(f"  {'kind':<20}{'rows':>8}{'Google events':>15}{'our events':>12}{'messages':>10}")
        for kind, count, google, ours, messages in kinds:
            print(f"  {kind:<20}{count:>8}{google:>15}{ours:>12}{messages or 0:>10}")
    print(f"conservation audit: {'balanced' if unbalanced == 0 else f'{unbalanced} UNBALANCED group(s)'}"
          " (table audit_conservation)")
    total = sum(statuses.values())
    print(f"report files: {total} under {output.resolve()}/<carrier_id>/"
          f"  (final {statuses.get('final', 0)}, provisional {statuses.get('provisional', 0)};"
          " see report_files.csv)")
    print(f"  written by this run {len(written)}, unchanged since the previous run {total - len(written)}")
    for path in written[:SUMMARY_FILES_LISTED]:
        print(f"  {path.relative_to(output)}")
    if len(written) > SUMMARY_FILES_LISTED:  # a year of daily files would push the rest off the screen
        print(f"  ... and {len(written) - SUMMARY_FILES_LISTED} more (report_files.csv lists every file)")
    published = [row for row in restated if row[1] != "new_file"]
    were_final = [row[0] for row in published if row[5] == "final"]
    print(f"restated by this run: {len(published)} published file(s) ({len(were_final)} of them final before this "
          f"run), {len(restated) - len(published)} new file(s) (log: restatements.csv)")
    for file_path, kind, added, removed, changed, status_before, _ in published:
        print(f"  {file_path}: {kind}, rows added {added}, removed {removed}, changed {changed}"
              + ("  (was final)" if status_before == "final" else ""))
    if reasons_per_file:
        print("quarantined from this run's files (table quarantined_messages: source_file, source_row):")
        for source_file in sorted(reasons_per_file)[:SUMMARY_FILES_LISTED]:
            reasons = reasons_per_file[source_file]
            place = row_word(source_file)
            print(f"  {source_file}: {sum(count for _, count, _ in reasons)} of {audited.get(source_file, (0,))[0]} "
                  f"row(s): " + ", ".join(f"{reason} {count} (first at {place} {line})" for reason, count, line in reasons))
        if len(reasons_per_file) > SUMMARY_FILES_LISTED:
            print(f"  ... and {len(reasons_per_file) - SUMMARY_FILES_LISTED} more file(s)")
    print("=" * 72)
    copied_whole = {}  # file -> (rows, the files that hold a copy of every one of them)
    for source_file, copied in sorted(copied_per_file.items()):
        audited_rows, _, quarantined = audited.get(source_file, (0, 0, 0))
        # Every row that could be a copy is one: the quarantined rows of a file delivered twice are quarantined
        # in both copies, never exact duplicates.
        if copied == activity_messages.get(source_file, audited_rows) - quarantined:
            holders = sorted(other for (mine, other), count in copy_partners.items()
                             if mine == source_file and count == copied)
            copied_whole[source_file] = (copied, holders, quarantined)
    conflicting_files = {row[1] for row in conflicts}
    for source_file, (audited_rows, billed, quarantined) in sorted(audited.items()):
        reasons = reasons_per_file.get(source_file, [])
        if billed or not quarantined or source_file in copied_whole:  # copies: their own warning (below)
            continue
        if source_file in conflicting_files and {reason for reason, _, _ in reasons} == {
                "conflicting_duplicate_message_id"}:
            continue  # the conflict's own warning (below) says what to do
        said = (f"nothing in {source_file} was billed: {quarantined} of its {audited_rows} row(s) were "
                "quarantined (" + ", ".join(f"{reason} {count}" for reason, count, _ in reasons) + "). ")
        if {reason for reason, _, _ in reasons} <= REFERENCE_REASONS:
            # Review (twelfth session): the rows are right, their agents or carriers are not usable (an agents file
            # with `Conversational` for `conversational`, say): the advice to fix this file misled.
            warn(said + "Its rows refer to agents or carriers that are unknown or quarantined: check the "
                 "agent_id and carrier_id values of this file, or the agents file (table quarantined_agents says "
                 "why an agent is quarantined) or the carriers file (a changed agents or carriers file rebuilds "
                 "in full).")
            continue
        warn(said + "Fix the file where it is, under its own name, and run FULL_REFRESH=1 (a fixed copy under a "
             "new name would conflict with these rows, SPEC §7; README \"Daily operation\").")
    # Lines that are not UTF-8 are quarantined one by one (SPEC §7), the rest of the file billed: a file saved in
    # another encoding loses only its lines with an accent, and the sessions they were part of split without a word
    # (user trial, twenty-first session: a Latin-1 file). Say so, with the first line, and what to do.
    for source_file, reasons in sorted(reasons_per_file.items()):
        if not audited.get(source_file, (0, 0))[1]:
            continue  # nothing billed: its own warning lists the reasons (review, twenty-first session)
        for reason, count, line in reasons:
            if reason == "invalid_utf8":
                warn(f"{count} line(s) of {source_file} are not valid UTF-8 (the first: line {line}): they are "
                     "quarantined (invalid_utf8) and the rest of the file is billed without them. Was the file saved "
                     "in another encoding (Latin-1, Windows-1252)? Save it as UTF-8 under its own name and run "
                     "FULL_REFRESH=1 (README \"Daily operation\").")
    # Files holding two copies of one message_id with other content: a corrected copy. Its unchanged rows are exact
    # copies, but the conflict's warning (below) is the one that says what happened (user trial, twentieth session:
    # a full rebuild gave both, "delivered twice?" and "corrects nothing").
    copies_of: dict[str, list] = {}  # message_id -> its conflicting copies, in the query's order
    for row in conflicts:
        copies_of.setdefault(row[0], []).append(row)
    # Pairs of the files holding copies, not of the copies (perf audit, twenty-fourth session: 40,000 copies of one
    # id made 1.6 billion pairs, 67 s).
    files_of = [{row[1] for row in copies} for copies in copies_of.values()]
    conflict_pairs = {(mine, other) for files in files_of for mine in files for other in files if mine != other}
    warned_twins = set()
    for source_file, (copied, holders, quarantined) in sorted(copied_whole.items()):
        what = ("valid " if quarantined else "") + ("message row" if source_file in activity_messages else "row")
        twin = next((other for other in holders if source_file in copied_whole.get(other, (0, []))[1]), None)
        if twin in warned_twins or any((source_file, other) in conflict_pairs for other in holders):
            continue
        warned_twins.add(source_file)
        if twin:
            warn(f"{source_file} and {twin} hold the same {what}s ({copied} row(s), counted once): nothing was "
                 "billed twice. Was one of them delivered twice?")
        else:
            where = ", ".join(holders) if holders else "other files"
            warn(f"every {what} of {source_file} has an exact copy in {where} ({copied} row(s), "
                 "counted once): nothing was billed twice. Was it delivered twice?")
    for source_file, (count, example) in sorted(unknown_types.items()):
        if source_file in loaded_per_file:
            warn(f"{count} row(s) of {source_file} have an activity type that the mapping seed does not "
                 f"know{f' (e.g. {example!r})' if example else ''}: they are not messages, so neither billed nor "
                 "quarantined (SPEC §9). If "
                 "one is a message or receipt type spelled another way, add it to seeds/activity_type_mapping.csv "
                 "and run FULL_REFRESH=1.")
    for source_file, (count, first_line) in sorted(unmatchable_receipts.items()):
        if source_file in loaded_per_file:
            warn(f"{count} delivery receipt(s) of {source_file} have no activity_id, agent_id or user_id (e.g. line "
                 f"{first_line}): a receipt delivers only the MT of its id, agent and user, so these deliver "
                 "nothing, and an MT they were meant for is not billed (mt_not_delivered; SPEC §9).")
    if conflicts:
        ids = sorted(copies_of)
        first = copies_of[ids[0]]
        carriers_of = {i: {row[4] for row in copies if row[4] is not None} for i, copies in copies_of.items()}
        # Copies in two carriers' files (activity logs loaded with two CARRIERs) are no correction but an id used
        # twice (user trial, twentieth session: the advice about corrected files misled).
        across = [i for i in ids if len(carriers_of[i]) > 1]
        differing = next((row[5] for row in first if row[5]), None)
        said = (f"{len(ids)} message_id(s) of this run's files are in another file too, with other "
                f"content (e.g. line {first[-1][2]} of {first[-1][1]} and line {first[0][2]} of {first[0][1]}"
                f"{f', which differ in {differing}' if differing else ''}): "
                "SPEC §7 quarantines every copy, so none is billed.")
        if across:
            example = ", ".join(sorted(carriers_of[across[0]]))
            said += (f" {'The copies' if len(across) == len(ids) else f'{len(across)} of them'} are of two carriers"
                     f" ({example}): a message_id must be unique across every file of the database (SPEC §1), the"
                     " carriers' too; give each carrier a database of its own if their ids can repeat.")
        if len(across) < len(ids):
            said += (" A corrected file under a new name corrects nothing: replace the file it corrects (same name) and"
                     " run FULL_REFRESH=1 (README \"Daily operation\").")
        warn(said)
    if were_final:
        warn(f"this run changed {len(were_final)} report file(s) that were final (e.g. {were_final[0]}): "
             "an invoice sent from them needs a correction (restatements.csv, status_before).")
    if ahead:
        count, dated, source_file, source_row = ahead[0]
        place = row_word(source_file)
        warn(f"{count} billed row(s) loaded by this run are dated after the run started (the latest: "
             f"{dated:%Y-%m-%dT%H:%M:%S}Z, {place} {source_row} of {source_file}): they are billed as dated, in report "
             "files dated ahead, and do not count towards which files are final. A sender's clock or time zone?")
    late_files = [row[0] for row in restated if row[1] == "new_file" and row[6]]
    if late_files:
        warn(f"this run wrote {len(late_files)} new report file(s) for a period already final (e.g. "
             f"{late_files[0]}): late rows opened them; an invoice of that period may need them.")
