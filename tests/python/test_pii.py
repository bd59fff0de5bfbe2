"""No PII (SPEC §1): after a run on input holding user_ids, no input user_id appears anywhere the project
writes: in clear, or as its MD5 or SHA-256 hex digest (lower or upper case), in any table or view of the
DuckDB database, in the database file itself, in any report file, in dbt's target/ folder (run_results.json,
manifest, compiled SQL) and logs/, or in what the run printed. The scan itself is shown able to fail: a
user_id planted in a scratch table, view or file in any of those forms is found.

The run uses the bad-input fixture (tests/fixtures/bad_input/mixed), so the user_ids of malformed lines
(rows the CSV reader rejects, quarantined rows) are scanned for too. dbt's target/ and logs/ are given
their own folders (DBT_TARGET_PATH, DBT_LOG_PATH) so that what is scanned is exactly what this run wrote.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/bad_input"


# ---------------------------------------------------------------------------------------------------------
# The scan


def input_user_ids(paths: list[Path]) -> set[str]:
    """Every user_id (3rd column) of the messages files, malformed lines included: the files are read
    leniently as text (invalid bytes replaced), so a line the pipeline rejects still gives its user_id
    (ids shorter than 6 characters are left out: they would match unrelated text)."""
    found: set[str] = set()
    for path in paths:
        text = path.read_bytes().decode("utf-8", errors="replace").replace("\x00", "")
        records = list(csv.reader(io.StringIO(text, newline="")))
        for record in records[1:]:
            if len(record) >= 3 and len(record[2].strip()) >= 6:
                found.add(record[2])
    return found


def pii_needles(user_ids: set[str]) -> dict[str, str]:
    """Lower-case needle -> what it is. The haystacks are lower-cased, so upper-case hex is found too."""
    needles = {}
    for user_id in sorted(user_ids):
        for form in {user_id, user_id.strip()}:
            data = form.encode("utf-8")
            needles[form.lower()] = f"user_id {user_id!r} in clear"
            needles[hashlib.md5(data).hexdigest()] = f"MD5 of user_id {user_id!r}"
            needles[hashlib.sha256(data).hexdigest()] = f"SHA-256 of user_id {user_id!r}"
    return needles


@dataclass
class Finding:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.what} found in {self.where}"


class Scanner:
    def __init__(self, needles: dict[str, str]):
        self.needles = needles
        self.pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))

    def search(self, haystack: str, where: str) -> list[Finding]:
        return [Finding(where, self.needles[m.group(0)]) for m in self.pattern.finditer(haystack.lower())]

    def search_value(self, value, where: str) -> list[Finding]:
        if value is None:
            return []
        if isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
            return self.search(raw.hex() + " " + raw.decode("utf-8", errors="replace"), where)
        return self.search(str(value), where)

    def scan_database(self, db_path: Path) -> list[Finding]:
        """Every row of every table and view (information_schema), every column as text."""
        findings = []
        with duckdb.connect(str(db_path), read_only=True) as con:
            relations = con.sql(
                "select table_catalog, table_schema, table_name, table_type from information_schema.tables"
                " order by all"
            ).fetchall()
            assert relations, f"no relation in {db_path}"
            for catalog, schema, name, kind in relations:
                qualified = ".".join('"' + part.replace('"', '""') + '"' for part in (catalog, schema, name))
                cursor = con.sql(f"select * from {qualified}")
                columns = cursor.columns
                for row in cursor.fetchall():
                    for column, value in zip(columns, row):
                        findings += self.search_value(value, f"{kind.lower()} {schema}.{name}.{column}")
                findings += self.search(" ".join(columns), f"column names of {schema}.{name}")
        return findings

    def scan_file(self, path: Path, where: str | None = None) -> list[Finding]:
        data = path.read_bytes()
        return self.search(data.decode("utf-8", errors="replace") + " " + data.decode("latin-1"), where or str(path))

    def scan_tree(self, folder: Path) -> list[Finding]:
        findings = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            findings += self.scan_file(path)
        return findings


# ---------------------------------------------------------------------------------------------------------
# The run


@dataclass
class Run:
    workdir: Path
    db: Path
    output: Path
    target: Path
    logs: Path
    process: subprocess.CompletedProcess
    messages: list[Path]


def run_cli(workdir: Path, messages: str, agents: str, output: Path, db: Path | None = None,
            extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """`scripts/rbm.py run` (what `make run` calls), with its own database, dbt target/ and logs/ folders."""
    env = {name: value for name, value in os.environ.items() if name != "BILLING_SALT"}  # the demo salt, unless given
    env.update(RBM_DUCKDB_PATH=str(db or workdir / "rbm.duckdb"), DBT_TARGET_PATH=str(workdir / "target"),
               DBT_LOG_PATH=str(workdir / "logs"), **(extra_env or {}))
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/rbm.py"), "run", "--messages", messages, "--agents", agents,
         "--output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )


@pytest.fixture(scope="module")
def pii_run(tmp_path_factory) -> Run:
    workdir = tmp_path_factory.mktemp("pii")
    inputs = workdir / "inputs"
    shutil.copytree(FIXTURE / "mixed", inputs)
    output = workdir / "out"
    process = run_cli(workdir, str(inputs / "messages_*.csv"), str(inputs / "agents.csv"), output)
    # What the run printed is part of its log.
    (workdir / "logs").mkdir(exist_ok=True)
    (workdir / "logs/cli_stdout.txt").write_text(process.stdout, encoding="utf-8")
    (workdir / "logs/cli_stderr.txt").write_text(process.stderr, encoding="utf-8")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return Run(workdir, workdir / "rbm.duckdb", output, workdir / "target", workdir / "logs", process,
               sorted(inputs.glob("messages_*.csv")))


@pytest.fixture(scope="module")
def scanner(pii_run) -> Scanner:
    return Scanner(pii_needles(input_user_ids(pii_run.messages)))


# ---------------------------------------------------------------------------------------------------------
# The tests


def test_user_ids_of_every_input_row_are_scanned_for(pii_run, scanner):
    user_ids = input_user_ids(pii_run.messages)
    assert len(user_ids) >= 10
    # Good traffic, a quarantined row, a line with too few fields, the unterminated quote on the last line.
    assert {"+15550100001", "+15550990002", "+15550990003", "+15550990001"} <= user_ids
    assert len(scanner.needles) >= 3 * len(user_ids)


def test_no_user_id_in_any_table_or_view(pii_run, scanner):
    findings = scanner.scan_database(pii_run.db)
    assert not findings, "\n".join(map(str, findings[:20]))


def test_no_user_id_in_the_database_files(pii_run, scanner):
    files = [p for p in pii_run.workdir.iterdir() if p.is_file() and p.name.startswith("rbm.duckdb")]
    assert files
    findings = [f for path in files for f in scanner.scan_file(path)]
    assert not findings, "\n".join(map(str, findings[:20]))


def test_no_user_id_left_beside_the_database(pii_run, scanner):
    """The run repairs a broken input file (here: a quote left open) in a copy beside the database, which holds
    the rows in clear; the copy is gone once the run ends. Every file the run left in its folder, the inputs
    and its own folders aside, is scanned."""
    assert "a quote left open" in pii_run.process.stderr
    own = {pii_run.workdir / "inputs", pii_run.output, pii_run.target, pii_run.logs}
    left = [p for p in pii_run.workdir.rglob("*") if p.is_file() and not any(f in p.parents for f in own)]
    assert not [p for p in left if ".rbm-run-" in str(p)], left
    findings = [f for path in left for f in scanner.scan_file(path)]
    assert not findings, "\n".join(map(str, findings[:20]))


def test_no_user_id_in_the_report_files(pii_run, scanner):
    assert any(pii_run.output.rglob("*.csv"))
    findings = scanner.scan_tree(pii_run.output)
    assert not findings, "\n".join(map(str, findings[:20]))


def test_no_user_id_in_dbt_target_folder(pii_run, scanner):
    for artifact in ("run_results.json", "manifest.json"):
        assert (pii_run.target / artifact).is_file()
    assert any((pii_run.target / "compiled").rglob("*.sql"))
    findings = scanner.scan_tree(pii_run.target)
    assert not findings, "\n".join(map(str, findings[:20]))


def test_no_user_id_in_logs_or_printed_output(pii_run, scanner):
    assert (pii_run.logs / "dbt.log").is_file()
    findings = scanner.scan_tree(pii_run.logs)
    assert not findings, "\n".join(map(str, findings[:20]))


# The scan can fail: a user_id planted in any form, anywhere it looks, is found.
PLANTED_USER = "+15550100003"
FORMS = {
    "clear": lambda u: u,
    "clear inside a longer value": lambda u: f"call {u} tomorrow",
    "md5 lower": lambda u: hashlib.md5(u.encode()).hexdigest(),
    "md5 upper": lambda u: hashlib.md5(u.encode()).hexdigest().upper(),
    "sha256 lower": lambda u: hashlib.sha256(u.encode()).hexdigest(),
    "sha256 upper": lambda u: hashlib.sha256(u.encode()).hexdigest().upper(),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", ["table", "view"])
def test_scan_finds_a_user_id_planted_in_a_relation(pii_run, scanner, tmp_path, form, kind):
    assert PLANTED_USER in input_user_ids(pii_run.messages)
    scratch = tmp_path / "scratch.duckdb"
    shutil.copy(pii_run.db, scratch)
    value = FORMS[form](PLANTED_USER).replace("'", "''")
    with duckdb.connect(str(scratch)) as con:
        if kind == "table":
            con.execute("create schema leaks")
            con.execute("create table leaks.leak (id integer, note varchar)")
            con.execute(f"insert into leaks.leak values (1, '{value}')")
        else:
            con.execute(f"create view main.leaky_view as select 1 as id, '{value}' as note")
    findings = scanner.scan_database(scratch)
    assert findings, f"the scan missed a planted {form} user_id in a {kind}"
    assert all(PLANTED_USER in f.what for f in findings)
    expected_where = "base table leaks.leak.note" if kind == "table" else "view main.leaky_view.note"
    assert {f.where for f in findings} == {expected_where}


def test_scan_finds_a_user_id_planted_in_a_blob_column(pii_run, scanner, tmp_path):
    scratch = tmp_path / "scratch.duckdb"
    shutil.copy(pii_run.db, scratch)
    digest = hashlib.sha256(PLANTED_USER.encode()).digest()
    with duckdb.connect(str(scratch)) as con:
        con.execute("create table main.digests (d blob)")
        con.execute("insert into main.digests values (?)", [digest])
    assert {f.where for f in scanner.scan_database(scratch)} == {"base table main.digests.d"}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("place", ["output", "target", "logs"])
def test_scan_finds_a_user_id_planted_in_a_file(pii_run, scanner, tmp_path, form, place):
    folder = tmp_path / place
    shutil.copytree(getattr(pii_run, place), folder)
    victim = sorted(p for p in folder.rglob("*") if p.is_file())[0]
    victim.write_bytes(victim.read_bytes() + f"\n{FORMS[form](PLANTED_USER)}\n".encode())
    findings = scanner.scan_tree(folder)
    assert findings, f"the scan missed a planted {form} user_id in {place}"
    assert {f.where for f in findings} == {str(victim)}


def test_the_salt_is_never_written_down(tmp_path):
    """README "Secrets": with the salt, a user key can be reversed (phone numbers are a small space). The run
    passes BILLING_SALT to the engine in a private file that lives only while the run does: it is not in dbt's
    log, its target/ folder, the database, the reports or what the run prints; and it is used (the events'
    billing_event_id is SHA-256 of salt|first message id, SPEC §6)."""
    salt = "salt-that-must-stay-secret-7f3a"
    output = tmp_path / "out"
    process = run_cli(tmp_path, str(FIXTURE / "good/messages.csv"), str(FIXTURE / "good/agents.csv"), output,
                      extra_env={"BILLING_SALT": salt})
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    found = [str(p) for p in tmp_path.rglob("*") if p.is_file() and salt.encode() in p.read_bytes()]
    assert not found and salt not in process.stdout + process.stderr, found
    assert "BILLING_SALT is not set" not in process.stderr
    with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
        [(first, event)] = con.sql("select first_message_id, billing_event_id from fct_billable_messages limit 1").fetchall()
    assert event == hashlib.sha256(f"{salt}|{first}".encode()).hexdigest()


def test_a_killed_runs_private_folder_is_removed_by_the_next_run_of_its_database(tmp_path):
    """Review (fourteenth session): a run killed with SIGKILL (out of memory, say) leaves its private folder, with
    the salt's file and repaired copies of input files (user ids in clear), beside the database. The next run of
    that database removes it, and says so; a folder of another database in the same folder stays (its run may be
    going on), also of one whose name starts with this one's (code review, fourteenth session)."""
    from rbm import state

    parent, prefix = state.private_folders(tmp_path / "rbm.duckdb")
    assert parent == tmp_path.resolve()
    left = parent / (prefix + "k1ll3d00")
    other = parent / (state.private_folders(tmp_path / "rbm.duckdb-eu")[1] + "runn1ng0")  # database rbm.duckdb-eu
    for folder in (left, other):
        folder.mkdir()
        (folder / "billing_salt").write_text("salt-of-a-killed-run")
        (folder / "0d0c-messages.csv").write_text("m1,agent,+15550100001\n")
    process = run_cli(tmp_path, str(FIXTURE / "good/messages.csv"), str(FIXTURE / "good/agents.csv"), tmp_path / "out")
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    assert not left.exists() and f"removed {left}" in process.stdout
    assert sorted(p.name for p in other.iterdir()) == ["0d0c-messages.csv", "billing_salt"]
    assert sorted(p.name for p in tmp_path.glob(".rbm-run-*")) == [other.name]


def test_a_run_of_your_own_files_without_a_salt_warns(pii_run):
    """README "Secrets": without BILLING_SALT the keys are salted with the public demo salt, so anyone can reverse
    the user keys; a run of files other than the demo data says so, last, after its summary."""
    stderr = pii_run.process.stderr
    assert "warning: BILLING_SALT is not set" in stderr and "can be reversed" in stderr, stderr[-2000:]
    assert pii_run.process.stdout.rstrip().endswith("=" * 72)


def test_a_user_id_shifted_into_another_column_of_an_activity_log_is_masked(tmp_path):
    """README decision 13 for activity logs (review, thirteenth session: a phone number in agent_id, the agent and
    user columns swapped, reached quarantined_messages in clear; stg_activity_log did not mask). Phone numbers
    in agent_id, direction, time, type and size_bytes, and Google's hashed user ids in type, agent_id and direction:
    none of them is anywhere in the database."""
    phones = ["+14155550197", "+14155550198", "14155550199", "+14155550200", "14155550201", "+14155550202"]
    google_hash = "9f1b0c7e5a2d4c83b6e1f07a9d3c5b28"
    google_hash_64 = "66666c3d" * 8
    header = "activity_id\tbilling_event_id\tagent_id\tuser_id\tdirection\ttime\ttype\tsize_bytes\n"
    rows = [
        f"z1\tG1\t{phones[0]}\t{phones[1]}\tMO\t2023-08-28T08:00:00.000Z\ttext_message\t0\n",
        f"z2\tG2\tacme_conv_agent\tu2\t{phones[2]}\t2023-08-28T08:01:00.000Z\ttext_message\t0\n",
        f"z3\tG3\tacme_conv_agent\tu3\tMO\t{phones[4]}\ttext_message\t0\n",
        f"z4\tG4\tacme_conv_agent\tu4\tMO\t2023-08-28T08:03:00.000Z\t{phones[4]}\t0\n",
        f"z5\tG5\tacme_conv_agent\tu5\tMT\t2023-08-28T08:04:00.000Z\tfile_transfer\t{phones[5]}\n",
        f"z6\tG6\tacme_conv_agent\tu6\tMO\t2023-08-28T08:05:00.000Z\ttext_message\t{phones[3]}\n",
        # Google's hashed user_id in the type column, in agent_id (the agent and user columns swapped) and in
        # direction (user trial, nineteenth session: the swapped one reached quarantined_messages in clear).
        f"z7\tG7\tacme_conv_agent\tu7\tMO\t2023-08-28T08:06:00.000Z\t{google_hash}\t0\n",
        f"z8\tG8\t{google_hash_64}\tacme_conv_agent@rbm.goog\tMO\t2023-08-28T08:07:00.000Z\ttext_message\t0\n",
        f"z9\tG9\tacme_conv_agent\t{google_hash}\t{google_hash_64}\t2023-08-28T08:08:00.000Z\ttext_message\t0\n",
    ]
    log = tmp_path / "rbm_activity_2023-08-28.csv"
    log.write_text(header + "".join(rows), encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name != "BILLING_SALT"}
    env.update(RBM_DUCKDB_PATH=str(tmp_path / "rbm.duckdb"))
    done = subprocess.run([sys.executable, str(ROOT / "scripts/rbm.py"), "run", "--activity", str(log), "--carrier",
                           "att", "--agents", str(ROOT / "tests/fixtures/activity/agents.csv"), "--output",
                           str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
        quarantined = con.sql("select message_id, reason from quarantined_messages order by 1").fetchall()
    # z4, z7: an unknown type (not a message)
    assert [m for m, _ in quarantined] == ["z1", "z2", "z3", "z5", "z6", "z8", "z9"], quarantined
    findings = Scanner(pii_needles({*phones, google_hash, google_hash_64})).scan_database(tmp_path / "rbm.duckdb")
    findings += Scanner(pii_needles({*phones, google_hash})).search(done.stdout + done.stderr, "printed output")
    assert not findings, "\n".join(map(str, findings[:20]))
    assert "have an activity type that the mapping seed does not know:" in done.stderr, done.stderr


def test_every_table_and_column_of_a_run_is_documented(pii_run):
    """Docs for every model and column (dbt docs, the YAML beside the models and seeds): each table and view a run
    leaves in the database has a description, so has each of its columns, and no documented column is missing."""
    import yaml

    documented = {}
    for path in [*ROOT.glob("models/**/*.yml"), *ROOT.glob("seeds/*.yml")]:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for node in [*(content.get("models") or []), *(content.get("seeds") or [])]:
            documented[node["name"]] = (node.get("description"),
                                        {c["name"]: c.get("description") for c in node.get("columns") or []})
    with duckdb.connect(str(pii_run.db), read_only=True) as con:
        stored = con.sql("select table_name, column_name from information_schema.columns"
                         " where table_schema = 'main' order by table_name, ordinal_position").fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in stored:
        columns.setdefault(table, []).append(column)
    assert len(columns) >= 30, sorted(columns)
    problems = []
    for table, names in sorted(columns.items()):
        description, described = documented.get(table, (None, {}))
        if not (description or "").strip():
            problems.append(f"{table}: no description")
        problems += [f"{table}.{name}: no description" for name in names if not (described.get(name) or "").strip()]
        problems += [f"{table}.{name}: documented, not in the table" for name in described if name not in names]
    assert not problems, problems
