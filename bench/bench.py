#!/usr/bin/env python3
"""rbm-billing benchmark (`make bench`): how fast is a `make run`, compared with DuckDB alone?

One invocation generates realistic traffic with the same generator as the demo data
(scripts/generate_traffic.py; reused when already generated for the same size, seed and
generator source) and measures, each step as a separate process timed from the outside:

  floor             a fresh `python -c` DuckDB process reading the same CSV (all columns as text)
                    and sorting it by stream and time (agent_id, user_id, carrier_id, sent_at,
                    message_id) into a table of an on-disk database: the least any build can do;
  dbt floor         the floor's query as the only model of a one-model dbt project
                    (bench/dbt_floor), `dbt build` on a fresh database: dbt's own start-up and
                    parse plus the floor, the least any dbt build can do;
  fixed cost        a full run of 1,000 messages of the same generator: what a run costs
                    whatever its size (start-up, parsing the project, every model, the export);
  full run          `scripts/rbm.py run` (what `make run` calls; dbt start-up included) on a
                    fresh database file;
  incremental       the same traffic split into one file per day: a full run on every day but
                    the last one (a folder holding only those files), then the last day's file is
                    added and the second run (loads only the new file) is timed;
  single stream     one agent, one user, 1M messages (or N if smaller): the worst case for any
                    sequential rule; a full run, with its own floor;
  peer              the plain-Python state machine of the same rules (tests/python/rbm_reference.py,
                    bill()) on the same messages parsed from the CSV; parse and bill() timed apart.
                    Above --peer-max-rows (2M) it runs on the first rows and is extrapolated.

For each step: wall time, messages/second, peak memory (RSS of the whole process tree, sampled
every 50 ms), peak disk (what the step's own folder and DuckDB's spill folder grew by, sampled
every second) and the time as a ratio to the floor. Printed and written to bench/results.md with
the machine's cores and memory and the targets (PASS / FAIL).

The DuckDB memory limit and temp directory of the project are passed as the environment
variables RBM_DUCKDB_MEMORY_LIMIT / RBM_DUCKDB_TEMP_DIR (profiles.yml reads them), so that
larger-than-memory runs spill to disk; the floor uses the same settings.

Usage
    bench.py [--messages N] [--work-dir bench/work] [--results bench/results.md]
             [--memory-limit 4GB] [--temp-dir DIR] [--seed 42]
             [--skip-single-stream] [--skip-peer] [--skip-incremental] [--peer-max-rows 2000000]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GENERATOR = ROOT / "scripts" / "generate_traffic.py"
RBM = ROOT / "scripts" / "rbm.py"
TESTS = ROOT / "tests" / "python"

MESSAGE_COLUMNS = [
    "message_id", "agent_id", "user_id", "carrier_id", "direction", "content_kind", "text",
    "file_size_bytes", "suggestions", "status", "sent_at", "delivered_at", "is_tester",
]
SORT_KEY = "agent_id, user_id, carrier_id, sent_at, message_id"
SALT = "rbm-demo-salt-change-me"  # the demo salt of dbt_project.yml (a benchmark uses no secret)
DAYS = 7
START_DATE = "2026-11-01"
SINGLE_STREAM_MESSAGES = 1_000_000
FIXED_COST_MESSAGES = 1_000
DBT_FLOOR_PROJECT = Path(__file__).resolve().parent / "dbt_floor"
SAMPLE_SECONDS = 0.05
DISK_SAMPLE_SECONDS = 1.0  # a walk of the step's folders (a few hundred files at most: spill files, reports)
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# The order of the result rows (the smoke test checks that every one is written).
STEPS = [
    ("floor", "floor: DuckDB reads the CSV and sorts it by stream and time"),
    ("dbt_floor", "dbt floor: the floor's query as a one-model dbt project (dbt start-up included)"),
    ("fixed_cost", "fixed cost: full run of 1,000 messages (start-up, parse, every model, export)"),
    ("full_run", "full run (`scripts/rbm.py run`, dbt start-up included)"),
    ("incremental_base", "incremental: initial full run, every day but the last"),
    ("incremental_day", "incremental: one more day (second run, grown glob)"),
    ("single_stream_floor", "single stream: floor on its file"),
    ("single_stream", "single stream: full run (one agent, one user)"),
    ("peer_parse", "peer: parse the CSV into typed rows (Python)"),
    ("peer_bill", "peer: `bill()` of tests/python/rbm_reference.py"),
    ("peer_total", "peer: parse + bill()"),
]


# --------------------------------------------------------------------------------------------
# measuring a process tree


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name (field 2) may hold spaces and parentheses: split after the last ')'
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(name))
    return children


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0  # gone, or a kernel thread / zombie without VmRSS


def tree_rss_kib(root: int) -> int:
    """RSS of a process and all its descendants, KiB."""
    children = _children_map()
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_kib(pid)
        todo.extend(children.get(pid, ()))
    return total


def folders_bytes(folders: tuple[Path, ...]) -> int:
    """Disk space the files under these folders take (allocated blocks, as `du` and `df` count them)."""
    total, todo = 0, [str(f) for f in folders]
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:  # removed while walked
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


@dataclass
class Measured:
    returncode: int
    seconds: float
    peak_rss_mib: float
    log: Path
    output: str = ""
    peak_disk_mib: float | None = None


def measure(command: list[str], log: Path, env: dict | None = None, cwd: Path = ROOT,
            disk: tuple[Path, ...] = ()) -> Measured:
    """Run a command, its stdout+stderr to `log`; wall time and peak RSS of its process tree, and when `disk` names
    folders (the step's own and DuckDB's spill folder), the most disk space its files there took above what they
    took at its start (what a run of that size needs free besides its input)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak = 0
    disk_base = folders_bytes(disk) if disk else 0
    disk_peak = 0
    with open(log, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, disk_peak
            next_disk = 0.0
            while not done.is_set():
                peak = max(peak, tree_rss_kib(process.pid))
                if disk and time.perf_counter() >= next_disk:
                    disk_peak = max(disk_peak, folders_bytes(disk) - disk_base)
                    next_disk = time.perf_counter() + DISK_SAMPLE_SECONDS
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = process.wait()
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    return Measured(returncode, seconds, peak / 1024, log, log.read_text(encoding="utf-8", errors="replace"),
                    disk_peak / 1024 ** 2 if disk else None)


def dbt_parse_note(output: str) -> str:
    """Whether the step's dbt parsed the project in full (a new target/, or another profile) or reused the parse kept
    in target/ (as every run of an installed checkout does; rbm/report.py dbt_command): ~5 s of a run."""
    if "Running with dbt" not in output:
        return ""
    if "Starting full parse" in output or "Unable to do partial parsing" in output:
        return "dbt parsed the project in full"
    return "dbt reused its parsed project"


# --------------------------------------------------------------------------------------------
# data


def _generator_digest() -> str:
    return hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:16]


def generate(work: Path, kind: str, messages: int, seed: int, memory_limit: str) -> Path:
    """Generated traffic in work/data/<kind>-<N>-s<seed>, reused when the stamp matches."""
    folder = work / "data" / f"{kind}-{messages}-s{seed}"
    stamp = folder / "stamp.json"
    wanted = {"kind": kind, "messages": messages, "seed": seed, "days": DAYS, "start_date": START_DATE,
              "generator": _generator_digest()}
    if stamp.exists():
        try:
            if json.loads(stamp.read_text()) == wanted:
                print(f"  reusing {folder}", flush=True)
                return folder
        except ValueError:
            pass
    shutil.rmtree(folder, ignore_errors=True)
    command = [PYTHON, str(GENERATOR), "--out-dir", str(folder), "--messages", str(messages),
               "--seed", str(seed), "--memory-limit", memory_limit]
    if kind == "single":
        command.append("--single-stream")  # days: enough for ~1 message per 30 s
    else:
        command += ["--days", str(DAYS), "--start-date", START_DATE]
    if kind == "days":
        command.append("--files-per-day")
    print(f"  generating {kind} traffic, {messages} messages -> {folder}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    print(f"  generated in {time.perf_counter() - started:.1f}s", flush=True)
    stamp.write_text(json.dumps(wanted))
    return folder


def memory_bytes(text: str) -> int | None:
    """'4GB', '8GiB', '512MB', '80%' -> bytes (None when not an absolute size)."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?i?B?)\s*", text, re.IGNORECASE)
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2).upper()
    powers = {"": 0, "B": 0, "K": 1, "M": 2, "G": 3, "T": 4}
    base = 1024 if "I" in unit else 1000
    return int(number * base ** powers.get(unit.replace("I", "").replace("B", "") or "", 0))


# --------------------------------------------------------------------------------------------
# steps

FLOOR_CODE = """
import sys, duckdb
database, pattern, memory_limit, temp_dir = sys.argv[1:5]
columns = {columns}
con = duckdb.connect(database)
con.execute(f"set memory_limit = '{{memory_limit}}'")
con.execute(f"set temp_directory = '{{temp_dir}}'")
con.execute("set TimeZone = 'UTC'")
con.execute("set enable_progress_bar = false")
con.execute(
    "create table sorted as select * from read_csv("
    + "'" + pattern.replace("'", "''") + "'"
    + ", header = true, all_varchar = true, columns = " + columns + ")"
    + " order by {sort_key}"
)
print(con.execute("select count(*) from sorted").fetchone()[0])
"""


def run_floor(csv_pattern: str, step_dir: Path, settings: "Settings") -> Measured:
    """The fastest of settings.floor_repeats runs (each a fresh process on a fresh database)."""
    shutil.rmtree(step_dir, ignore_errors=True)
    step_dir.mkdir(parents=True)
    code = FLOOR_CODE.format(columns=repr(floor_columns()), sort_key=SORT_KEY)
    best = None
    for attempt in range(1, max(1, settings.floor_repeats) + 1):
        database = step_dir / "floor.duckdb"
        result = measure([PYTHON, "-c", code, str(database), csv_pattern, settings.memory_limit,
                          str(settings.temp_dir)], step_dir / f"log_{attempt}.txt",
                         disk=(step_dir, settings.temp_dir))
        drop_database(database)
        if result.returncode != 0:
            return result
        if best is None or result.seconds < best.seconds:
            best = result
    return best


def floor_columns() -> str:
    """The floor's column types: every message column as text (DuckDB's struct literal)."""
    return "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in MESSAGE_COLUMNS) + "}"


def run_dbt_floor(csv_path: str, step_dir: Path, settings: "Settings") -> Measured:
    """The floor's query as the one model of bench/dbt_floor, `dbt build` on a fresh database and a fresh target/
    (a full parse, as the full run's first build on a new database does)."""
    step_dir = fresh(step_dir)
    database = step_dir / "dbt_floor.duckdb"
    env = rbm_env(database, settings)
    env.update(DBT_TARGET_PATH=str(step_dir / "target"), DBT_LOG_PATH=str(step_dir / "logs"),
               RBM_BENCH_CSV=csv_path, RBM_BENCH_COLUMNS=floor_columns(), RBM_BENCH_SORT_KEY=SORT_KEY)
    command = [str(Path(PYTHON).parent / "dbt"), "build", "--project-dir", str(DBT_FLOOR_PROJECT),
               "--profiles-dir", str(DBT_FLOOR_PROJECT)]
    measured = measure(command, step_dir / "log.txt", env=env, cwd=step_dir, disk=(step_dir, settings.temp_dir))
    drop_database(database)
    return measured


def rbm_env(database: Path, settings: "Settings") -> dict:
    env = dict(os.environ)
    env.update(
        RBM_DUCKDB_PATH=str(database),
        RBM_DUCKDB_MEMORY_LIMIT=settings.memory_limit,
        RBM_DUCKDB_TEMP_DIR=str(settings.temp_dir),
        # dbt's own files away from the project's target/ and logs/ (other runs use those)
        DBT_TARGET_PATH=str(settings.work / "dbt_target"),
        DBT_LOG_PATH=str(settings.work / "dbt_logs"),
    )
    env.pop("BILLING_SALT", None)
    return env


def run_rbm(messages: str, agents: Path, database: Path, output: Path, log: Path, settings: "Settings") -> Measured:
    command = [PYTHON, str(RBM), "run", "--messages", messages, "--agents", str(agents), "--output", str(output)]
    # the database's folder holds the run's own files (its private folder, the WAL) and, in the bench, its output
    return measure(command, log, env=rbm_env(database, settings), disk=(database.parent, settings.temp_dir))


def fresh(step_dir: Path) -> Path:
    shutil.rmtree(step_dir, ignore_errors=True)
    step_dir.mkdir(parents=True)
    return step_dir


def drop_database(database: Path) -> None:
    for path in (database, Path(str(database) + ".wal")):
        path.unlink(missing_ok=True)


def model_timings(log: str) -> list[tuple[str, float]]:
    """(model, seconds) of the `OK created` lines of a dbt log, slowest first."""
    timings = []
    for line in ANSI.sub("", log).splitlines():
        match = re.search(r"OK created \S+ \S+ model (\S+) \.*\s*\[\S+ in ([0-9.]+)s\]", line)
        if match:
            timings.append((match.group(1), float(match.group(2))))
    return sorted(timings, key=lambda t: -t[1])


def test_timings(log: str) -> tuple[int, float]:
    """(count, total seconds) of the data tests of a dbt log (`PASS … [PASS in 0.05s]`)."""
    found = re.findall(r"\[(?:PASS|WARN|FAIL|ERROR) in ([0-9.]+)s\]", ANSI.sub("", log))
    return len(found), sum(float(s) for s in found)


def dbt_seconds(log: str) -> float | None:
    """dbt's own 'Finished running … in … (X s)' time: the build without start-up."""
    match = re.search(r"Finished running .*\(([0-9.]+)s\)", ANSI.sub("", log))
    return float(match.group(1)) if match else None


def input_rows(log: str) -> int | None:
    match = re.search(r"input rows\s+(\d+)", log)
    return int(match.group(1)) if match else None


def report_rows(output: Path) -> int:
    total = 0
    for path in output.glob("*/rbm_billable_events_*.csv"):
        with open(path, newline="", encoding="utf-8") as handle:
            total += sum(1 for _ in csv.reader(handle)) - 1
    return total


def count_csv_rows(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            total += sum(1 for _ in csv.reader(handle)) - 1
    return total


# --------------------------------------------------------------------------------------------
# the peer (runs in its own process: `bench.py --peer-worker CSV AGENTS MAX_ROWS`)


def peer_worker(messages_csv: str, agents_csv: str, max_rows: int) -> int:
    sys.path.insert(0, str(TESTS))
    from adversarial import CARRIERS, to_typed, typed_agents  # noqa: E402
    from rbm_reference import bill  # noqa: E402

    started = time.perf_counter()
    with open(messages_csv, newline="", encoding="utf-8") as handle:
        rows = list(itertools.islice(csv.DictReader(handle), max_rows))
    messages = to_typed(rows)
    del rows
    with open(agents_csv, newline="", encoding="utf-8") as handle:
        agents = typed_agents(list(csv.DictReader(handle)))
    parsed = time.perf_counter()
    result = bill(messages, agents, CARRIERS, SALT)
    billed = time.perf_counter()
    print(json.dumps({"rows": len(messages), "parse_s": parsed - started, "bill_s": billed - parsed,
                      "report_rows": len(result.report_rows)}))
    return 0


# --------------------------------------------------------------------------------------------
# the benchmark


@dataclass
class Settings:
    work: Path
    memory_limit: str
    temp_dir: Path
    floor_repeats: int = 3
    # dbt threads of the runs (profiles.yml reads RBM_DBT_THREADS from the environment the runs inherit)
    dbt_threads: str = field(default_factory=lambda: os.environ.get("RBM_DBT_THREADS", "2"))


@dataclass
class Row:
    key: str
    label: str
    messages: int | None = None
    seconds: float | None = None
    peak_rss_mib: float | None = None
    peak_disk_mib: float | None = None
    floor_seconds: float | None = None
    floor_name: str = "floor"
    note: str = ""
    ok: bool = True

    @property
    def rate(self) -> float | None:
        if self.ok and self.messages and self.seconds:
            return self.messages / self.seconds
        return None

    @property
    def ratio(self) -> float | None:
        if self.ok and self.seconds is not None and self.floor_seconds:
            return self.seconds / self.floor_seconds
        return None


@dataclass
class Bench:
    messages: int
    settings: Settings
    rows: dict[str, Row] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # step key -> the dbt log of that run (per-model timings for the lead)
    logs: dict[str, str] = field(default_factory=dict)
    full_run_report_rows: int | None = None
    single_stream_messages: int | None = None
    load_before: str = "?"
    load_after: str = "?"

    def row(self, key: str) -> Row:
        if key not in self.rows:
            self.rows[key] = Row(key, dict(STEPS)[key])
        return self.rows[key]

    def record(self, key: str, measured: Measured, messages: int | None, floor: float | None,
               floor_name: str = "floor", note: str = "") -> Row:
        row = self.row(key)
        parse = dbt_parse_note(measured.output)
        note = f"{note}; {parse}" if note and parse else note or parse
        row.messages, row.seconds, row.peak_rss_mib = messages, measured.seconds, measured.peak_rss_mib
        row.peak_disk_mib = measured.peak_disk_mib
        row.floor_seconds, row.floor_name, row.note = floor, floor_name, note
        row.ok = measured.returncode == 0
        if not row.ok:
            row.note = (note + "; " if note else "") + f"FAILED (exit {measured.returncode}, log {measured.log})"
        status = "ok" if row.ok else f"FAILED exit {measured.returncode}"
        disk = "" if measured.peak_disk_mib is None else f", peak disk {measured.peak_disk_mib:.0f} MiB"
        print(f"  {key}: {measured.seconds:.2f}s, peak RSS {measured.peak_rss_mib:.0f} MiB{disk} ({status})",
              flush=True)
        return row

    def skip(self, key: str, why: str) -> None:
        self.row(key).note = f"skipped ({why})"


def run(args: argparse.Namespace) -> Bench:
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    (work / ".gitignore").write_text("# generated by bench/bench.py: data, databases and logs\n*\n")
    temp_dir = (args.temp_dir or work / "duckdb_tmp").resolve()
    temp_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(work=work, memory_limit=args.memory_limit, temp_dir=temp_dir,
                        floor_repeats=args.floor_repeats)
    bench = Bench(messages=args.messages, settings=settings, load_before=load_average())
    runs = work / "runs"
    n = args.messages

    print(f"[bench] {n} messages, DuckDB memory_limit {args.memory_limit}, temp {temp_dir}", flush=True)

    # --- data
    print("[bench] data", flush=True)
    main_data = generate(work, "main", n, args.seed, args.memory_limit)
    days_data = None if args.skip_incremental else generate(work, "days", n, args.seed, args.memory_limit)
    single_n = min(SINGLE_STREAM_MESSAGES, n)
    single_data = None if args.skip_single_stream else generate(work, "single", single_n, args.seed,
                                                                args.memory_limit)
    fixed_data = generate(work, "main", FIXED_COST_MESSAGES, args.seed, args.memory_limit)
    main_csv = main_data / "messages.csv"

    # --- floor
    print("[bench] floor", flush=True)
    measured = run_floor(str(main_csv), runs / "floor", settings)
    floor_row = bench.record("floor", measured, n, None)
    floor = measured.seconds if floor_row.ok else None
    floor_row.floor_seconds = floor

    # --- what dbt and the project cost whatever the size (README "Performance": why 4× at 1M is out of reach)
    print("[bench] dbt floor", flush=True)
    bench.record("dbt_floor", run_dbt_floor(str(main_csv), runs / "dbt_floor", settings), n, floor)
    print("[bench] fixed cost", flush=True)
    step = fresh(runs / "fixed_cost")
    database = step / "rbm.duckdb"
    # A first run, not measured, leaves dbt's parsed project of the bench's profile in its target/ (a run of an
    # installed checkout finds it there: rbm/report.py dbt_command), so that the runs measured below parse alike
    # whatever ran before; its log says whether it parsed (a fresh work dir, another memory limit).
    warm_up = step / "warm-up" / "rbm.duckdb"
    run_rbm(str(fixed_data / "messages.csv"), fixed_data / "agents.csv", warm_up, warm_up.parent / "output",
            warm_up.parent / "log.txt", settings)
    drop_database(warm_up)
    measured = run_rbm(str(fixed_data / "messages.csv"), fixed_data / "agents.csv", database, step / "output",
                       step / "log.txt", settings)
    bench.record("fixed_cost", measured, FIXED_COST_MESSAGES, floor)
    drop_database(database)

    # --- full run
    print("[bench] full run", flush=True)
    step = fresh(runs / "full_run")
    database = step / "rbm.duckdb"
    measured = run_rbm(str(main_csv), main_data / "agents.csv", database, step / "output", step / "log.txt",
                       settings)
    row = bench.record("full_run", measured, n, floor)
    bench.logs["full_run"] = measured.output
    read = input_rows(measured.output)
    if row.ok:
        bench.full_run_report_rows = report_rows(step / "output")
        if read is not None and read != n:
            bench.notes.append(f"the full run read {read} input rows, expected {n}.")
    drop_database(database)

    # --- one-day incremental
    print("[bench] one-day incremental", flush=True)
    if days_data is None:
        bench.skip("incremental_base", "--skip-incremental")
        bench.skip("incremental_day", "--skip-incremental")
    else:
        run_incremental(bench, days_data, runs, floor, settings)

    # --- single stream
    if single_data is None:
        bench.skip("single_stream_floor", "--skip-single-stream")
        bench.skip("single_stream", "--skip-single-stream")
    else:
        print("[bench] single stream", flush=True)
        bench.single_stream_messages = single_n
        single_csv = single_data / "messages.csv"
        measured = run_floor(str(single_csv), runs / "single_stream_floor", settings)
        single_floor_row = bench.record("single_stream_floor", measured, single_n, None)
        single_floor = measured.seconds if single_floor_row.ok else None
        single_floor_row.floor_seconds, single_floor_row.floor_name = single_floor, "its own floor"
        step = fresh(runs / "single_stream")
        database = step / "rbm.duckdb"
        measured = run_rbm(str(single_csv), single_data / "agents.csv", database, step / "output",
                           step / "log.txt", settings)
        bench.record("single_stream", measured, single_n, single_floor, floor_name="single-stream floor")
        bench.logs["single_stream"] = measured.output
        drop_database(database)

    # --- peer
    if args.skip_peer:
        for key in ("peer_parse", "peer_bill", "peer_total"):
            bench.skip(key, "--skip-peer")
    else:
        print("[bench] peer (plain-Python reference)", flush=True)
        peer_rows = min(n, args.peer_max_rows)
        step = fresh(runs / "peer")
        measured = measure([PYTHON, str(Path(__file__).resolve()), "--peer-worker", str(main_csv),
                            str(main_data / "agents.csv"), str(peer_rows)], step / "log.txt")
        result = None
        if measured.returncode == 0:
            try:
                result = json.loads(measured.output.strip().splitlines()[-1])
            except (ValueError, IndexError):
                result = None
        if result is None:
            for key in ("peer_parse", "peer_bill", "peer_total"):
                row = bench.row(key)
                row.ok, row.note = False, f"FAILED (exit {measured.returncode}, log {measured.log})"
        else:
            scale = n / result["rows"]
            extrapolated = result["rows"] < n
            note = (f"measured on the first {result['rows']} rows, extrapolated ×{scale:.2f} (linear)"
                    if extrapolated else "")
            for key, seconds in (("peer_parse", result["parse_s"]), ("peer_bill", result["bill_s"]),
                                 ("peer_total", result["parse_s"] + result["bill_s"])):
                row = bench.row(key)
                row.messages, row.seconds, row.floor_seconds = n, seconds * scale, floor
                row.peak_rss_mib = measured.peak_rss_mib if key == "peer_total" else None
                row.note = note
            bench.rows["peer_total"].note = (
                (note + "; " if note else "")
                + f"peak RSS of the peer process on {result['rows']} rows; its start-up not counted"
            )
            if not extrapolated and bench.full_run_report_rows is not None:
                same = result["report_rows"] == bench.full_run_report_rows
                bench.notes.append(
                    f"report rows: full run {bench.full_run_report_rows}, peer {result['report_rows']}"
                    + (" (equal)." if same else " (DIFFERENT: see tests/python/test_crosscheck.py).")
                )
            print(f"  peer: parse {result['parse_s']:.2f}s, bill {result['bill_s']:.2f}s on {result['rows']} rows,"
                  f" peak RSS {measured.peak_rss_mib:.0f} MiB", flush=True)
    bench.load_after = load_average()
    return bench


def load_average() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _link(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


# --------------------------------------------------------------------------------------------
# the report


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def targets(bench: Bench) -> list[tuple[str, str, str]]:
    """(target, measured, verdict)."""
    n = bench.messages
    full, single = bench.rows.get("full_run"), bench.rows.get("single_stream")
    out = []

    def ratio_target(name: str, limit: float, applies: bool, why_not: str) -> None:
        if not applies:
            out.append((name, f"not measured: {why_not}", "n/a"))
        elif full is None or not full.ok or full.ratio is None:
            out.append((name, "the full run or the floor failed", "FAIL"))
        else:
            out.append((name, f"{full.ratio:.2f}× the floor at N={n:,}{floor_context()}",
                        "PASS" if full.ratio <= limit else "FAIL"))

    def floor_context() -> str:
        """What of the ratio no build of this size can avoid: the fixed cost, and dbt alone on the floor's query."""
        said = [f"{row.ratio:.2f}× for {what}" for row, what in (
            (bench.rows.get("fixed_cost"), "a run of 1,000 messages (fixed cost)"),
            (bench.rows.get("dbt_floor"), "dbt alone running the floor's query"),
        ) if row is not None and row.ratio is not None]
        return " (against " + " and ".join(said) + ")" if said else ""

    # Each ratio target belongs to its own size: a 100M run says nothing of the 10M target.
    ratio_target("10M messages: full run within 3× the floor", 3.0, 10_000_000 <= n < 100_000_000,
                 f"this run has N={n:,} (use --messages 10000000)")
    ratio_target("1M messages: full run within 4× the floor", 4.0, 1_000_000 <= n < 10_000_000,
                 f"this run has N={n:,} (use --messages 1000000)")

    name = "single stream of 1M messages under 60 s"
    if single is None or single.seconds is None:
        out.append((name, "not measured: " + (single.note if single else "skipped"), "n/a"))
    elif not single.ok:
        out.append((name, "the single-stream run failed", "FAIL"))
    elif (bench.single_stream_messages or 0) < SINGLE_STREAM_MESSAGES:
        out.append((name, f"not measured at 1M: {bench.single_stream_messages:,} messages in "
                          f"{single.seconds:.1f} s (N is smaller)", "n/a"))
    else:
        out.append((name, f"{single.seconds:.1f} s", "PASS" if single.seconds < 60 else "FAIL"))

    name = "100M messages complete with the DuckDB memory limit at 8 GiB"
    limit = memory_bytes(bench.settings.memory_limit)
    if n < 100_000_000:
        out.append((name, f"not measured: this run has N={n:,} (use --messages 100000000 --memory-limit 8GiB)",
                    "n/a"))
    elif limit is None or limit > 8 * 1024 ** 3:
        out.append((name, f"not measured: memory limit {bench.settings.memory_limit} is above 8 GiB", "n/a"))
    elif full is None or not full.ok:
        out.append((name, "the full run failed", "FAIL"))
    else:
        out.append((name, f"completed in {full.seconds:.0f} s, peak RSS {full.peak_rss_mib:,.0f} MiB", "PASS"))

    peer = bench.rows.get("peer_total")
    name = "peer: plain-Python state machine of the same rules (report the ratio)"
    if peer is None or peer.seconds is None:
        out.append((name, "not measured: " + (peer.note if peer else "skipped"), "n/a"))
    elif full is None or not full.ok or not full.seconds:
        out.append((name, f"peer parse + bill() {peer.seconds:.1f} s; no ratio: the full run failed", "n/a"))
    else:
        bill_row = bench.rows["peer_bill"]
        out.append((name, f"peer parse + bill() {peer.seconds:.1f} s, bill() alone {bill_row.seconds:.1f} s; "
                          f"full run / peer = {full.seconds / peer.seconds:.2f} "
                          f"(full run / bill() alone = {full.seconds / bill_row.seconds:.2f})", "reported"))
    return out


def machine() -> dict[str, str]:
    info = {"cores (nproc)": str(os.cpu_count() or "?")}
    try:
        info["cores (nproc)"] = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or info[
            "cores (nproc)"]
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    info["memory"] = f"{int(line.split()[1]) / 1024 ** 2:.1f} GiB"
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["os"] = f"{platform.system()} {platform.release()}"
    info["python"] = platform.python_version()
    try:
        import duckdb

        info["duckdb"] = duckdb.__version__
    except ImportError:
        pass
    try:
        from importlib.metadata import version

        info["dbt-core / dbt-duckdb"] = f"{version('dbt-core')} / {version('dbt-duckdb')}"
    except Exception:  # noqa: BLE001 - informational only
        pass
    return info


def render(bench: Bench) -> str:
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "# rbm-billing benchmark",
        "",
        f"Date: {now}. Messages: **{bench.messages:,}** (generated by `scripts/generate_traffic.py`, "
        f"{DAYS} days from {START_DATE}).",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()) + ".",
        f"DuckDB memory limit: **{bench.settings.memory_limit}** (`RBM_DUCKDB_MEMORY_LIMIT`), "
        f"temp directory `{bench.settings.temp_dir}` (`RBM_DUCKDB_TEMP_DIR`); "
        f"dbt threads {bench.settings.dbt_threads} (`RBM_DBT_THREADS`).",
        "",
        "Every step is a separate process timed from the outside (wall clock); peak RSS is the sum over the "
        "process and all its descendants, sampled every 50 ms; peak disk is the most space the step's files took "
        "above what they took at its start (its own folder, the database and the reports in it, and DuckDB's "
        "spill folder; the input files not counted), sampled every second. × floor = the step's time over the floor's "
        f"time measured in the same run (the fastest of {bench.settings.floor_repeats} floor runs; the other "
        "steps run once). Timings are noisy when other work shares the machine: load average "
        f"{bench.load_before} before the run, {bench.load_after} after. dbt keeps its parsed project in its "
        "target/ folder: a first, unmeasured run of the fixed cost's data leaves it there, and each run of "
        "the project reuses it, as every run of an installed checkout does (the notes say; the first run of a "
        "fresh clone parses the whole project, ~5 s more). The dbt floor is a project of its own, parsed in full.",
        "",
        "| step | messages | wall s | messages/s | peak RSS MiB | peak disk MiB | × floor | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, label in STEPS:
        row = bench.rows.get(key) or Row(key, label, note="not run")
        ratio = _fmt(row.ratio, ".2f")
        if row.ratio is not None and row.floor_name != "floor":
            ratio += f" ({row.floor_name})"
        lines.append(
            f"| {label} | {_fmt(row.messages, ',')} | {_fmt(row.seconds, '.2f')} | {_fmt(row.rate, ',.0f')} "
            f"| {_fmt(row.peak_rss_mib, ',.0f')} | {_fmt(row.peak_disk_mib, ',.0f')} | {ratio} | {row.note} |"
        )
    lines += ["", "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for name, measured, verdict in targets(bench):
        lines.append(f"| {name} | {measured} | **{verdict}** |")

    for key, title in (("full_run", "full run"), ("incremental_day", "one-day incremental (second run)"),
                       ("single_stream", "single stream")):
        log, row = bench.logs.get(key), bench.rows.get(key)
        timings = model_timings(log or "")
        if not timings or row is None or row.seconds is None:
            continue
        lines.extend(["", f"## Where the time goes: {title}, slowest dbt models", ""])
        dbt_s = dbt_seconds(log)
        if dbt_s is not None:
            lines.append(
                f"Wall {row.seconds:.1f} s, of which dbt's build (\"Finished running … in\") {dbt_s:.1f} s; the rest "
                f"({row.seconds - dbt_s:.1f} s) is Python and dbt start-up (parsing the project), the input checks, "
                f"the report export and the summary. dbt runs {bench.settings.dbt_threads} thread(s); "
                "with more than one, the times below overlap."
            )
            lines.append("")
        lines.extend(["| model | s |", "|---|---:|"])
        for model, seconds in timings[:12]:
            lines.append(f"| {model} | {seconds:.2f} |")
        rest = timings[12:]
        if rest:
            lines.append(f"| {len(rest)} other models | {sum(s for _, s in rest):.2f} |")
        lines.append(f"| all {len(timings)} models (sum) | {sum(s for _, s in timings):.2f} |")
        tests, tests_s = test_timings(log)
        if tests:
            lines.append(f"| {tests} data tests (sum) | {tests_s:.2f} |")
    if bench.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in bench.notes]
    lines += ["", f"Logs of every step: `{bench.settings.work / 'runs'}`.", ""]
    return "\n".join(lines)


def print_table(bench: Bench) -> None:
    print()
    print(f"{'step':<22}{'messages':>12}{'wall s':>10}{'msg/s':>12}{'RSS MiB':>10}{'x floor':>9}  notes")
    for key, _label in STEPS:
        row = bench.rows.get(key) or Row(key, "")
        print(f"{key:<22}{_fmt(row.messages, ','):>12}{_fmt(row.seconds, '.2f'):>10}{_fmt(row.rate, ',.0f'):>12}"
              f"{_fmt(row.peak_rss_mib, ',.0f'):>10}{_fmt(row.ratio, '.2f'):>9}  {row.note}")
    print()
    for name, measured, verdict in targets(bench):
        print(f"{verdict:<9}{name}: {measured}")
    print()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages to generate (default 1000000)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "work",
                        help="generated data, databases and logs (default bench/work)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.md",
                        help="markdown results file (default bench/results.md)")
    parser.add_argument("--memory-limit", default=os.environ.get("RBM_DUCKDB_MEMORY_LIMIT", "4GB"),
                        help="DuckDB memory_limit of the runs and the floor (default $RBM_DUCKDB_MEMORY_LIMIT or 4GB)")
    parser.add_argument("--temp-dir", type=Path, default=None,
                        help="DuckDB temp_directory, where it spills (default WORK_DIR/duckdb_tmp)")
    parser.add_argument("--floor-repeats", type=int, default=3,
                        help="run each floor this many times and keep the fastest (default 3)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument("--skip-single-stream", action="store_true", help="skip the single-stream step")
    parser.add_argument("--skip-peer", action="store_true", help="skip the plain-Python peer")
    parser.add_argument("--skip-incremental", action="store_true",
                        help="skip the one-day incremental step (and the per-day traffic it needs)")
    parser.add_argument("--peer-max-rows", type=int, default=2_000_000,
                        help="above this many messages the peer runs on the first rows and is extrapolated")
    parser.add_argument("--peer-worker", nargs=3, metavar=("CSV", "AGENTS", "MAX_ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error("--messages must be >= 1")
    return args


def run_incremental(bench: "Bench", days_data: Path, runs: Path, floor: float | None, settings: "Settings") -> None:
    """A full run on every day but the last, then the last day's file added to the glob (second run)."""
    day_files = sorted((days_data / "messages").glob("messages_*.csv"))
    last_day = (dt.date.fromisoformat(START_DATE) + dt.timedelta(days=DAYS - 1)).isoformat()
    increment = days_data / "messages" / f"messages_{last_day}.csv"
    base = [p for p in day_files if p.name < increment.name]
    late = [p for p in day_files if p.name > increment.name]
    if not increment.exists() or not base:
        bench.skip("incremental_base", "the per-day traffic has no last day or no earlier day")
        bench.skip("incremental_day", "the per-day traffic has no last day or no earlier day")
    else:
        step = fresh(runs / "incremental")
        inbox = step / "in"
        inbox.mkdir()
        for path in base:
            _link(path, inbox / path.name)
        base_rows = count_csv_rows(base)
        day_rows = count_csv_rows([increment])
        database = step / "rbm.duckdb"
        glob_pattern = str(inbox / "messages_*.csv")
        measured = run_rbm(glob_pattern, days_data / "agents.csv", database, step / "output", step / "log_base.txt",
                           settings)
        bench.record("incremental_base", measured, base_rows, floor,
                     note=f"{len(base)} daily files, {base[0].name[9:19]} .. {base[-1].name[9:19]}")
        if measured.returncode == 0:
            _link(increment, inbox / increment.name)
            measured = run_rbm(glob_pattern, days_data / "agents.csv", database, step / "output",
                               step / "log_day.txt", settings)
            read = input_rows(measured.output)
            note = f"adds {increment.name} ({day_rows} rows)"
            if read is not None:
                note += f"; the build then holds {read} rows"
            bench.record("incremental_day", measured, day_rows, floor, note=note)
            bench.logs["incremental_day"] = measured.output
            if late:
                late_rows = count_csv_rows(late)
                bench.notes.append(
                    f"incremental: the {len(late)} file(s) after {last_day} hold only late arrivals "
                    f"({late_rows} rows) and are left out of both incremental runs."
                )
        else:
            bench.skip("incremental_day", "the initial run failed")
        drop_database(database)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.peer_worker:
        messages_csv, agents_csv, max_rows = args.peer_worker
        return peer_worker(messages_csv, agents_csv, int(max_rows))
    bench = run(args)
    print_table(bench)
    text = render(bench)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text, encoding="utf-8")
    print(f"[bench] results written to {args.results}")
    failed = [row.key for row in bench.rows.values() if not row.ok]
    if failed:
        print(f"[bench] failed steps: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
