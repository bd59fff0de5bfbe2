#!/usr/bin/env python3
"""rbm-billing command line: `make run` calls `rbm.py run` (SPEC §8).

It checks that every input file is usable before dbt starts (a file that cannot be used stops
the run with a message naming the file and what is wrong), runs the dbt project, has the
database write the report files into a temporary folder and moves them into place only once
everything succeeded, then prints a summary of the run.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rbm import inputs, report, state, warn  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rbm.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build the billing and write the carrier reports")
    run.add_argument("--messages", help="file or glob of messages CSV/Parquet files (SPEC §1; default: the demo data)")
    run.add_argument("--agents", help="agents file (SPEC §1; default: the demo agents)")
    run.add_argument("--activity", help="file or glob of Google activity logs (SPEC §9)")
    run.add_argument("--carrier", default="", help="carrier_id of the activity logs (SPEC §9)")
    run.add_argument("--carriers", help="your own carriers file (SPEC §1; default: the seed)")
    run.add_argument("--output", default=str(ROOT / "output"), help="folder of the report files")
    run.add_argument("--target", default="duckdb", choices=["duckdb", "spark"], help="dbt target")
    run.add_argument("--full-refresh", action="store_true", help="rebuild everything from the input files")
    export = sub.add_parser("export", help="write the carrier reports of the DuckDB database as it is (after a dbt "
                                           "build of your own), without building")
    export.add_argument("--output", default=str(ROOT / "output"), help="folder of the report files")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Stopped from outside (kill, a CI timeout): unwind like Ctrl-C, so that dbt, in a process group of its own
    # (rbm/report.py run_dbt), is stopped too rather than left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return export(args) if args.command == "export" else locked_run(args)
    except KeyboardInterrupt:  # Ctrl-C: dbt stops too; the next run rebuilds what this one left (rbm/state.py)
        print("interrupted", file=sys.stderr)
        return 130


def stopped(message: str) -> int:
    """A run stopped before its build: the error, and that nothing changed (exit code 2)."""
    print(f"error: {message}", file=sys.stderr)
    print("nothing was built; the reports of the previous run are unchanged.", file=sys.stderr)
    return 2


def locked_run(args: argparse.Namespace) -> int:
    database = report.database_location(args.target)
    try:  # the folder of the database and of the files beside it (rbm/state.py)
        database.parent.mkdir(parents=True, exist_ok=True)
        open(state.lock_file(database), "a").close()
    except OSError as error:
        setting = "RBM_DUCKDB_PATH" if args.target == "duckdb" else "RBM_SPARK_DIR"
        return stopped(f"{setting} {database}: its folder cannot be created or written into"
                       f" ({error.strerror or error})")
    try:
        with state.run_lock(database):
            # The run's private folder (only this user can read it), beside the database: repaired copies of broken
            # input files (rbm/inputs.py sanitized_copy: the rows in clear, user ids included; they can be large)
            # and the salt's file live there only while the run does. Named after the database: a run holding its
            # lock removes what a run of the same database left when it was killed (review, fourteenth session: a
            # SIGKILL left the salt and a repaired copy in clear for good), never another database's folder.
            parent, prefix = state.private_folders(database)
            for left in sorted(parent.glob(glob.escape(prefix) + "*")):
                shutil.rmtree(left, ignore_errors=True)
                print(f"removed {left}: the private folder of a run of this database that did not end (it may hold"
                      " repaired copies of input files and the salt)")
            private = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
            try:
                with contextlib.ExitStack() as held:  # the OUTPUT lock, once run() has checked OUTPUT
                    return run(args, private, held)
            finally:
                shutil.rmtree(private, ignore_errors=True)
    except state.RunInProgress as error:
        return stopped(f"{error}")


def loaded_with_another_carrier(run_inputs: inputs.RunInputs, stored: dict[str, str]) -> dict[str, str]:
    """This run's activity logs that an earlier run loaded with another carrier (path -> that carrier; `stored`:
    report.loaded_activity_carriers). A file is loaded once: they keep it, unless FULL_REFRESH=1."""
    delivered = set(run_inputs.delivered_files())
    return {path: carrier for path, carrier in stored.items() if path in delivered and carrier != run_inputs.carrier}


def another_carrier_said(kept: dict[str, str]) -> str:
    """The start of the warnings about loaded_with_another_carrier's files."""
    return (f"{len(kept)} file(s) of this run were loaded before with another carrier (e.g. {min(kept)} as "
            f"{kept[min(kept)]})")


def rebuild_other_carriers(run_inputs: inputs.RunInputs, reason: str, full_refresh: bool,
                           private: Path) -> str | None:
    """A full rebuild of a database holding activity logs of carriers other than this run's CARRIER (a run reads one
    carrier's logs, so theirs are never among its files): they are read again, each with the carrier it was loaded
    with (review, fourteenth session: the rebuild removed their reports, final ones included, until their own next
    run). On a rebuild the run did not ask for, a file of this run that an earlier run loaded with another carrier
    keeps it too (README "Google activity logs": FULL_REFRESH=1 loads it again with this run's). Returns why the
    run must stop, if it must."""
    stored = report.loaded_activity_carriers()
    delivered = set(run_inputs.delivered_files())
    others = {path: carrier for path, carrier in stored.items() if carrier != run_inputs.carrier
              and path not in delivered}
    gone = sorted(path for path in others if not os.path.exists(path))
    if gone and not full_refresh:
        return (f"a full rebuild is needed ({reason}) and reads again the activity logs of the other carriers this "
                f"database holds, but {len(gone)} of them are no longer where they were loaded from, e.g. {gone[0]} "
                f"({others[gone[0]]}): rebuilt without them, their rows would leave that carrier's bills. Put them "
                "back, or FULL_REFRESH=1 to rebuild without them.")
    if gone:
        warn(f"FULL_REFRESH=1 rebuilds without {len(gone)} activity log(s) of other carriers that are no "
             f"longer where they were loaded from (e.g. {gone[0]}, {others[gone[0]]}): their rows leave the bills.")
    others = {path: carrier for path, carrier in others.items() if path not in gone}
    unknown = sorted({carrier for carrier in others.values() if carrier not in run_inputs.known_carriers})
    if unknown:
        return (f"a full rebuild is needed ({reason}) and reads again the activity logs of the other carriers this "
                f"database holds, but {', '.join(unknown)} is not a carrier of {run_inputs.carriers_source} any more: "
                "each of its rows would be quarantined as unknown_carrier and its reports removed. Give the carriers "
                "file that lists it (CARRIERS=…).")
    kept = {} if full_refresh else loaded_with_another_carrier(run_inputs, stored)
    if kept:
        run_inputs.keep_activity_carriers(kept)
        warn(f"{another_carrier_said(kept)} and keep it in this full rebuild; to load one as {run_inputs.carrier}, "
             "run FULL_REFRESH=1.")
    if others:
        try:
            run_inputs.add_activity_logs(others, private)
        except inputs.InputError as error:
            return (f"a full rebuild is needed ({reason}) and reads again the activity logs of the other carriers "
                    f"this database holds, but one cannot be read: {error}")
        print(f"full rebuild: reads again {len(others)} activity log(s) of {len(set(others.values()))} other "
              f"carrier(s) this database holds, each with the carrier it was loaded with (e.g. {min(others)} as "
              f"{others[min(others)]})")
    return None


def export(args: argparse.Namespace) -> int:
    """Review (twelfth session): running dbt yourself (README "Daily operation"), the report files could only be
    written by a `make run`. This writes them from $RBM_DUCKDB_PATH as it is, the same way a run does (every file;
    report_files.csv and restatements.csv beside them), holding the run's locks, once the checks a run makes
    before it writes pass on the database (the contract, the conservation audit, the session rows, the stream
    order): a build of your own may have failed them, or not run them (`dbt run`)."""
    database, output = report.duckdb_path(), Path(args.output)
    if not database.is_file():
        return stopped(f"RBM_DUCKDB_PATH {database}: no database there; build one first (make run, or dbt build)")
    try:
        with state.run_lock(database):
            problem = database_problem(database)
            if problem:
                return stopped(f"RBM_DUCKDB_PATH {database}: {problem}")
            if (state.read(database) or {}).get("build_incomplete"):
                return stopped(f"RBM_DUCKDB_PATH {database}: the last make run's build did not complete; run it "
                               "again (make run) rather than publish what it left")
            if not report.has_report_tables():
                return stopped(f"RBM_DUCKDB_PATH {database}: no report rows there (rpt_report_files is missing); "
                               "build it first (make run, or dbt build)")
            problem = output_problem(output)
            if problem:
                return stopped(f"OUTPUT {output}: {problem}")
            with state.output_lock(output, database):
                if not report.run_dbt(["test", *GUARD_TESTS], "duckdb", {}):
                    return stopped(f"a check of {database} failed (see the log above): its rows are not published")
                owner = report.output_owner(output, "duckdb")
                if owner and owner != str(database):
                    warn(f"OUTPUT {output} held the reports of another database, {owner}: they are "
                         "replaced.")
                written = report.export_reports("duckdb", output)
                report.claim_output(output, "duckdb")
    except (state.RunInProgress, state.OutputLockError) as error:
        return stopped(f"{error}")
    total = len(list(output.glob("*/rbm_billable_events_*.csv")))
    print(f"wrote {len(written)} report file(s) into {output}, {total - len(written)} already there with the same "
          "bytes left as they were (report_files.csv lists them all)")
    return 0


# What a run checks besides building (every node but the unit tests and the models' generic tests): the report
# contract, the conservation audit, the session rows' agreement, the stream order's numbering (singular tests) and
# the seeds' data tests. `make test` runs every unit and generic test.
GUARD_TESTS = ["--exclude-resource-type", "unit_test", "--exclude", "test_type:generic,path:models"]

DEMO_MESSAGES = "data/demo/messages.csv"  # what `make run` bills when MESSAGES is not given (SPEC §8)
DEMO_AGENTS = "data/demo/agents.csv"  # and with which agents when AGENTS is not given


def is_demo_file(path: str, demo: str) -> bool:
    """Whether `path` is the bundled demo file `demo` (data/demo/…), named as dbt's default var does or as this
    script does (absolute, links resolved): the rule of the macro is_demo_file (macros/raw_inputs.sql)."""
    return path == demo or Path(path).as_posix().endswith("/" + demo)


def own_files(loaded: set[str], demo: str) -> list[str]:
    """The files of `loaded` other than the bundled demo file `demo`."""
    return sorted(path for path in loaded if not is_demo_file(path, demo))


def only_the_demo_file(paths: list[str], demo: str) -> bool:
    """Whether the files a run reads (as dbt gets them: globs expanded, links resolved) are the demo file alone: when
    the macro refuse_demo_into_own_files stops the build."""
    return len(paths) == 1 and is_demo_file(paths[0], demo)


def default_on_own_files(run_inputs: inputs.RunInputs, messages_given: bool, agents_given: bool) -> str | None:
    """Why a demo input of this run (the demo messages, the demo agents: left out, or given by their path) must not
    go into the DuckDB database, which holds the user's own files; None when it may. Both are checked, on the files
    as dbt gets them. User trial (seventeenth session): AGENTS given as the demo file stopped the build in dbt's
    words instead (macro refuse_demo_into_own_files, `--vars`, a macro trace)."""
    database = report.duckdb_path()
    if only_the_demo_file(run_inputs.messages, DEMO_MESSAGES):
        # `make run` alone would load the demo messages into it (their agents unknown there: quarantined for good,
        # in every later report of quarantined rows).
        own = own_files(report.loaded_files(), DEMO_MESSAGES)
        if own:
            why = "is the bundled demo file" if messages_given else "is not given"
            return (f"MESSAGES {why}, so this run would load the demo messages into {database}, which holds "
                    f"your own files (e.g. {own[0]}): give MESSAGES (the files to bill; the files loaded before are "
                    "not read again), or another RBM_DUCKDB_PATH for the demo.")
    if only_the_demo_file(run_inputs.agents, DEMO_AGENTS):
        # Review (twelfth session): MESSAGES without AGENTS rebuilt it with the demo agents (the agents file
        # changed): every message quarantined as of an unknown agent, every published report emptied.
        own = own_files(report.loaded_files(("stg_agents",)), DEMO_AGENTS)
        if own:
            why = "is the bundled demo agents file" if agents_given else "is not given"
            return (f"AGENTS {why}, so this run would bill with the demo agents, but {database} was built "
                    f"with an agents file of your own ({own[0]}): every message of an agent the demo does not know "
                    "would be quarantined and the published reports emptied. Give your agents file as AGENTS.")
    return None


# An option given but empty (MESSAGES="$MESSAGES_GLOB" with the shell variable unset) is an error, not the default:
# a run on the demo data, or without agents, would replace the reports of a real database.
LEFT_OUT = {"messages": "to bill the demo data", "agents": "for the demo agents", "activity": "",
            "output": "for output/", "carriers": "for the shipped seed"}


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


def loaded_as_it_is(database: Path, full_refresh: bool, target: str):
    """Whether an input file (as delivered) was loaded by the database's builds and has the size and modification
    time it had then (rbm/state.py): an incremental build does not read it again, so neither do the input checks
    (rbm/inputs.py RunInputs.unchecked; changed_loaded_files compares the contents later). The database must hold
    rows of it too (a database put back from a copy older than its state file would load it again): DuckDB only,
    whose tables are asked (a Spark run checks every file)."""
    records = ({} if full_refresh or target != "duckdb" or not database.exists()
               else state.loaded_file_records(database))
    try:
        held = report.loaded_files() if records else set()
    except Exception:  # noqa: BLE001 (held by another run, not a database: said later, by database_problem)
        held = set()

    def loaded(path: str) -> bool:
        record = records.get(path)
        if not record or not isinstance(record[2], str) or path not in held:
            return False
        try:
            return state.file_stats([path])[path] == record[:2]
        except OSError:
            return False
    return loaded


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


def run(args: argparse.Namespace, private: Path, held: contextlib.ExitStack) -> int:
    for option, default in LEFT_OUT.items():
        if getattr(args, option) == "":
            name = option.upper()
            return stopped(f"{name} is empty (an unset shell variable?): give a path"
                           + (f", or leave {name} out {default}" if default else "") + ".")
    demo = args.messages is None and args.activity is None
    messages_given, agents_given = args.messages is not None, args.agents is not None
    if demo:
        args.messages = str(ROOT / DEMO_MESSAGES)
    args.agents = args.agents or str(ROOT / DEMO_AGENTS)
    args.messages, args.activity = args.messages or "", args.activity or ""
    try:
        run_inputs = inputs.resolve(
            messages=args.messages, agents=args.agents, activity=args.activity, carrier=args.carrier,
            carriers=args.carriers or "",
            cache=private,
            loaded=loaded_as_it_is(report.database_location(args.target), args.full_refresh, args.target),
        )
    except inputs.InputError as error:
        return stopped(f"{error}")

    output = Path(args.output)
    problem = output_problem(output)
    if problem:
        return stopped(f"OUTPUT {args.output}: {problem}")
    try:
        held.enter_context(state.output_lock(output, report.database_location(args.target)))
    except (state.RunInProgress, state.OutputLockError) as error:
        return stopped(f"{error}")
    if args.target == "spark" and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        print("error: TARGET=spark needs Java 17 (java on the PATH, or JAVA_HOME); see README \"Spark\".",
              file=sys.stderr)
        return 2
    problem = database_problem(report.duckdb_path()) if args.target == "duckdb" else None
    if problem:
        return stopped(f"RBM_DUCKDB_PATH {report.duckdb_path()}: {problem}")
    problem = default_on_own_files(run_inputs, messages_given, agents_given) if args.target == "duckdb" else None
    if problem:
        return stopped(problem)
    if not agents_given and (run_inputs.activity or (messages_given
                                                   and not only_the_demo_file(run_inputs.messages, DEMO_MESSAGES))):
        # User trial, nineteenth session: an activity log billed with the demo agents, without AGENTS, quarantined every
        # row as of an unknown agent, and the warnings did not say that no agents file was given.
        warn(f"AGENTS is not given, so your files are billed with the bundled demo agents ({DEMO_AGENTS}): the "
             "messages of any other agent are quarantined (unknown_agent). Give your agents file as AGENTS.")
    owner = report.output_owner(output, args.target)
    if owner and owner != str(report.database_location(args.target)):
        # SPEC §8: OUTPUT holds the reports of the run's database, one file per date with events, so the files of
        # the other database's previous run that this one does not write are removed. Said aloud: two databases
        # sharing one OUTPUT (say, one per carrier) would replace each other's reports (README "Daily operation").
        # Nothing is lost: that database keeps its rows and its restatement log, and (DuckDB) `export` writes them
        # again; on Spark, a run of that warehouse with an OUTPUT of its own does.
        again = (f"RBM_DUCKDB_PATH={shlex.quote(owner)} .venv/bin/python scripts/rbm.py export --output <a folder of "
                 "its own> writes them again" if args.target == "duckdb" else
                 "a run of it with an OUTPUT of its own writes them again")
        warn(f"OUTPUT {output} held the reports of another database, {owner}: this run replaces them "
             "with its own, report_files.csv and the restatement log restatements.csv included. That database "
             f"keeps them: {again}. Give each database its own OUTPUT (one database can hold several carriers).")
    dbt_vars = {}  # the inputs go in the environment (rbm/report.py dbt_command)
    salt = os.environ.get("BILLING_SALT", "")
    if salt:
        # Not as a dbt var, which dbt writes into its log and target/ (README "Secrets"): in a file only this user
        # can read, in the run's private folder, which the engine reads when the SQL runs (macro salt_literal).
        salt_file = private / "billing_salt"
        salt_file.touch(mode=0o600)
        salt_file.write_text(salt, encoding="utf-8")
        run_inputs.billing_salt_file = str(salt_file)
    database = report.database_location(args.target)
    current = state.fingerprint(run_inputs.agents + run_inputs.carriers, salt, args.target)
    # A run checks what guards the invoice (GUARD_TESTS; a user's seeds/carriers.csv with a billing_model other
    # than us / global fails the build by name, before any model reads it).
    build = ["build", *GUARD_TESTS]
    # A state file left beside a deleted database tells nothing of a new one (review, twelfth session).
    if not args.full_refresh and database.exists() and state.salt_replaced(database, current):
        which = (f"not set, but {database} was built with a salt of its own" if not salt
                 else f"not the salt {database} was built with")
        return stopped(f"BILLING_SALT is {which}: rebuilt with this one, every event would get a new "
                       "billing_event_id, in every report, final ones included. Run with the same BILLING_SALT, or "
                       "FULL_REFRESH=1 to give every event a new id on purpose (README \"Secrets\").")
    reason = "asked for (--full-refresh)" if args.full_refresh else state.needs_full_refresh(database, current)
    if reason:
        try:
            inputs.check_left_out_files(run_inputs, private)
        except inputs.InputError as error:
            return stopped(f"{error}")
    if reason and args.target == "duckdb":
        problem = rebuild_other_carriers(run_inputs, reason, args.full_refresh, private)
        if problem:
            return stopped(problem)
    if reason and args.target == "duckdb" and not args.full_refresh:
        # A full rebuild reads only this run's files: the rows of a file loaded before and not among them leave the
        # bills, and report files may be removed (README "Daily operation"). A file that is no longer where it was
        # loaded from (archived from the landing folder) cannot have been left out on purpose: stop. One that is
        # still there was left out by the run's inputs (another dataset on the same database): say so.
        left_out = sorted(report.loaded_files() - set(run_inputs.delivered_files()))
        gone = [path for path in left_out if not os.path.exists(path)]
        if gone:
            return stopped(f"a full rebuild is needed ({reason}), but {len(gone)} file(s) loaded by earlier runs "
                           f"are no longer where they were loaded from, e.g. {gone[0]}: rebuilt without them, their "
                           "rows would leave the bills. Put them back (or give them in MESSAGES / ACTIVITY), or "
                           "FULL_REFRESH=1 to rebuild from this run's files only.")
        if left_out:
            warn(f"this full rebuild reads only this run's files: {len(left_out)} file(s) loaded by "
                 f"earlier runs are not among them (e.g. {left_out[0]}), and their rows leave the bills.")
    # Every input file the database's builds loaded, as the state records it (path -> [bytes, mtime, SHA-256]).
    # Nothing on a new database: a state file left beside a deleted database records files no database holds now.
    previously_loaded = {} if reason or not database.exists() else state.loaded_file_records(database)
    if not reason and args.target == "duckdb":
        # Finance review: a file taken out of the glob was silently still billed (a file is loaded once).
        left_out = sorted(set(previously_loaded) - set(run_inputs.delivered_files()))
        stored = report.loaded_activity_carriers() if left_out or run_inputs.carrier else {}
        if left_out:  # another carrier's logs are never among a run's files (CARRIER=…): not worth a note
            left_out = [path for path in left_out if stored.get(path, run_inputs.carrier) == run_inputs.carrier]
        if left_out:
            print(f"note: {len(left_out)} file(s) loaded by earlier runs are not among this run's inputs (e.g. "
                  f"{left_out[0]}): their rows stay in the bills. To take a file's rows out of the bills, rebuild "
                  "without it: FULL_REFRESH=1.")
        # A log loaded before with another CARRIER keeps it: the run loaded nothing of it and said nothing (user
        # trial, nineteenth session: a wrong CARRIER corrected in the next run left the rows on the wrong bill).
        relabeled = loaded_with_another_carrier(run_inputs, stored) if run_inputs.carrier else {}
        if relabeled:
            warn(f"{another_carrier_said(relabeled)}: a file is loaded once, so their rows stay on that carrier's "
                 f"bills. To load them as {run_inputs.carrier}, run FULL_REFRESH=1.")
    stats = state.file_stats(run_inputs.delivered_files())
    changed, unchanged_inputs = state.changed_loaded_files(previously_loaded, stats)
    if changed:
        return stopped(f"{len(changed)} input file(s) changed since a run loaded them, e.g. {changed[0]}: a file "
                       "is loaded once, so what was added or changed in it would never be billed. Deliver new rows in "
                       "a new file. To correct rows already delivered, replace the file and run FULL_REFRESH=1 (a "
                       "corrected copy under a new name would quarantine both copies of each changed row, SPEC §7).")
    # What the database holds once this build succeeds: every file of this run, and on an incremental run the files
    # earlier runs loaded too. The files this build loads are hashed while dbt runs (state.changed_loaded_files).
    kept = {**previously_loaded, **unchanged_inputs}
    hashing = ThreadPoolExecutor(max_workers=1)
    held.callback(hashing.shutdown, cancel_futures=True)
    hashes = {path: hashing.submit(state.content_hash, path, stat) for path, stat in stats.items()
              if path not in unchanged_inputs}
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
        # The guard assert_some_agent_is_usable (tests/dbt) stopped the build: say why in the file's terms.
        reasons = report.no_usable_agent(args.target)
        if reasons:
            print(f"error: not one row of the agents file(s) is usable, each is quarantined: {reasons} (the codes: "
                  "README \"Bad input\"). Billed with them, every message would be quarantined "
                  "(agent_quarantined) and every report file removed, so the build stopped there. Correct the "
                  "agents file and run again (the next run rebuilds in full).", file=sys.stderr)
        print("error: the dbt build failed (see the log above); the reports of the previous run are unchanged.",
              file=sys.stderr)
        return 1
    loaded = {**kept, **{path: [*stats[path], hashed(digest)] for path, digest in hashes.items()}}
    state.save(database, current, loaded)
    if args.target == "spark":  # Spark writes the same files (README "Spark")
        from rbm import spark_export

        written = spark_export.export_reports(output)
    else:
        # A daily run writes again only the report files it may have changed (README "Daily operation").
        unchanged = report.unchanged_report_files(exported, output)
        try:
            written = report.export_reports(args.target, output, unchanged)
        except (OSError, duckdb_io_error()) as error:  # a full disk, say: the files are moved into place at the end
            cause = (str(error).strip().splitlines() or [type(error).__name__])[0]
            replaced = getattr(error, "rbm_files_replaced", 0)
            now = (f"{replaced} report file(s) were replaced before it failed, the others are the previous run's"
                   if replaced else "The reports of the previous run are unchanged")
            print(f"error: the report files could not be written into OUTPUT {output}: {cause}. {now}; the next "
                  "run writes every file.", file=sys.stderr)
            return 1
        state.save(database, current, loaded, report.export_record(output, database))
    report.claim_output(output, args.target)
    report.print_summary(args.target, run_inputs, written, output, run_started)
    if not salt and not demo:
        # README "Secrets": with the public demo salt, anyone can reverse the user keys (phone numbers are few).
        warn("BILLING_SALT is not set, so the user keys and billing_event_id are salted with the public "
             "demo salt of dbt_project.yml: the user keys of these files can be reversed. Set BILLING_SALT (and "
             "keep it; README \"Secrets\").")
    return 0


def hashed(digest) -> str | None:
    """An input file's SHA-256 from the hashing thread; None when it failed (the next run then cannot tell a
    same-size edit of that file, but the build's result is kept)."""
    try:
        return digest.result()
    except Exception:  # noqa: BLE001 - the hash only guards later runs: it must not undo a built run
        return None


def duckdb_io_error() -> type:
    import duckdb

    return duckdb.IOException


if __name__ == "__main__":
    sys.exit(main())
