#!/usr/bin/env python3
"""rbm-billing command line: `make run` calls `rbm.py run` (SPEC §8).

It checks that every input file is usable before dbt starts (a file that cannot be used stops
the run with a message naming the file and what is wrong), runs the dbt project, has the
database write the report files into a temporary folder and moves them into place only once
everything succeeded, then prints a summary of the run.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rbm import inputs, report, state  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rbm.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build the billing and write the carrier reports")
    run.add_argument("--messages", help="file or glob of messages CSV/Parquet files (SPEC §1; default: the demo data)")
    run.add_argument("--agents", help="agents file (SPEC §1; default: the demo agents)")
    run.add_argument("--activity", help="file or glob of Google activity logs (SPEC §9)")
    run.add_argument("--carrier", default="", help="carrier_id of the activity logs (SPEC §9)")
    run.add_argument("--output", default=str(ROOT / "output"), help="folder of the report files")
    run.add_argument("--target", default="duckdb", choices=["duckdb", "spark"], help="dbt target")
    run.add_argument("--full-refresh", action="store_true", help="rebuild everything from the input files")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return locked_run(args)
    except KeyboardInterrupt:  # Ctrl-C: dbt stops too; the next run rebuilds what this one left (rbm/state.py)
        print("interrupted", file=sys.stderr)
        return 130


def locked_run(args: argparse.Namespace) -> int:
    database = report.database_location(args.target)
    try:  # the folder of the database and of the files beside it (rbm/state.py)
        database.parent.mkdir(parents=True, exist_ok=True)
        open(state.lock_file(database), "a").close()
    except OSError as error:
        setting = "RBM_DUCKDB_PATH" if args.target == "duckdb" else "RBM_SPARK_DIR"
        print(f"error: {setting} {database}: its folder cannot be created or written into"
              f" ({error.strerror or error})", file=sys.stderr)
        print("nothing was built; the reports of the previous run are unchanged.", file=sys.stderr)
        return 2
    try:
        with state.run_lock(database):
            return run(args)
    except state.RunInProgress as error:
        print(f"error: {error}", file=sys.stderr)
        print("nothing was built; the reports of the previous run are unchanged.", file=sys.stderr)
        return 2


# An option given but empty (MESSAGES="$MESSAGES_GLOB" with the shell variable unset) is an error, not the default:
# a run on the demo data, or without agents, would replace the reports of a real database.
LEFT_OUT = {"messages": "to bill the demo data", "agents": "for the demo agents", "activity": "",
            "output": "for output/"}


def output_problem(output: Path) -> str | None:
    """Why the report files cannot be written into `output` (created here if missing), checked before the build."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".rbm-check-", dir=output):
            return None
    except FileExistsError:
        return "exists and is not a folder"
    except OSError as error:
        return f"cannot be created or written into ({error.strerror or error})"


def database_problem(database: Path) -> str | None:
    """Why DuckDB cannot open the database file, checked before dbt (whose trace of it runs to 230 lines)."""
    if not database.exists():
        return None  # a new database
    import duckdb

    try:
        duckdb.connect(str(database)).close()  # read-write, as dbt opens it; a clean close writes nothing
    except duckdb.Error as error:
        message = str(error)
        held = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", message)
        if held:
            return f"is held by another process (PID {held[2]}, {held[1]}); close it and run again"
        if "not a valid DuckDB database file" in message:
            return "is not a DuckDB database file"
        if database.is_dir():
            return "is a folder, not a DuckDB database file"
        return f"cannot be opened ({message.splitlines()[0]})"
    return None


def run(args: argparse.Namespace) -> int:
    for option, default in LEFT_OUT.items():
        if getattr(args, option) == "":
            name = option.upper()
            print(f"error: {name} is empty (an unset shell variable?): give a path"
                  + (f", or leave {name} out {default}" if default else "") + ".", file=sys.stderr)
            print("nothing was built; the reports of the previous run are unchanged.", file=sys.stderr)
            return 2
    if args.messages is None and args.activity is None:
        args.messages = str(ROOT / "data/demo/messages.csv")
    args.agents = args.agents or str(ROOT / "data/demo/agents.csv")
    args.messages, args.activity = args.messages or "", args.activity or ""
    try:
        run_inputs = inputs.resolve(
            messages=args.messages, agents=args.agents, activity=args.activity, carrier=args.carrier,
            cache=report.database_location(args.target).parent / ".rbm-normalized",
        )
    except inputs.InputError as error:
        print(f"error: {error}", file=sys.stderr)
        print("nothing was built; the reports of the previous run are unchanged.", file=sys.stderr)
        return 2

    problem = output_problem(Path(args.output))
    if problem:
        print(f"error: OUTPUT {args.output}: {problem}", file=sys.stderr)
        print("nothing was built; the reports of the previous run are unchanged.", file=sys.stderr)
        return 2
    if args.target == "spark" and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        print("error: TARGET=spark needs Java 17 (java on the PATH, or JAVA_HOME); see README \"Spark\".",
              file=sys.stderr)
        return 2
    problem = database_problem(report.duckdb_path()) if args.target == "duckdb" else None
    if problem:
        print(f"error: RBM_DUCKDB_PATH {report.duckdb_path()}: {problem}", file=sys.stderr)
        print("nothing was built; the reports of the previous run are unchanged.", file=sys.stderr)
        return 2
    dbt_vars = {}  # the inputs go in the environment (rbm/report.py dbt_command)
    if os.environ.get("BILLING_SALT"):
        dbt_vars["billing_salt"] = os.environ["BILLING_SALT"]
    database = report.database_location(args.target)
    current = state.fingerprint(run_inputs.agents, dbt_vars.get("billing_salt", ""), args.target)
    # A run checks what guards the invoice: the report contract, the conservation audit and the
    # session rows' agreement and the stream order's numbering (singular tests), and the seeds' data tests (a
    # user edits seeds/carriers.csv: a billing_model other than us / global fails the build by name, before any
    # model reads it). `make test` runs every unit and generic test.
    build = ["build", "--exclude-resource-type", "unit_test", "--exclude", "test_type:generic,path:models"]
    reason = "asked for (--full-refresh)" if args.full_refresh else state.needs_full_refresh(database, current)
    if reason:
        print(f"full rebuild: {reason}")
        build.append("--full-refresh")
    # The run's start, passed to dbt too (macro run_started): what this run loaded and restated carries it.
    run_started = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    # The report files the previous run wrote, taken out of the state before the build changes the database
    # (if this run fails after it, the next one writes every file). A full build writes every file.
    exported = state.take_export(database) if args.target == "duckdb" else None
    if reason or not database.exists():
        exported = None
    # Until this build succeeds, the next run rebuilds in full (rbm/state.py): a failed build may have loaded files.
    mark = state.mark_building(database, current)
    ok = report.run_dbt(build, args.target, dbt_vars, run_inputs.dbt_inputs(),
                        run_started=run_started.strftime("%Y-%m-%d %H:%M:%S"))
    if not ok:
        state.build_failed(database, mark)
        print("error: the dbt build failed (see the log above); the reports of the previous run are unchanged.",
              file=sys.stderr)
        return 1
    state.save(database, current)
    output = Path(args.output)
    if args.target == "spark":  # Spark writes the same files (README "Spark")
        from rbm import spark_export

        written = spark_export.export_reports(output)
    else:
        # A daily run writes again only the report files it may have changed (README "Daily operation").
        unchanged = report.unchanged_report_files(exported, output)
        written = report.export_reports(args.target, output, unchanged)
        state.save(database, current, report.export_record(output, database))
    report.print_summary(args.target, run_inputs, written, output, run_started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
