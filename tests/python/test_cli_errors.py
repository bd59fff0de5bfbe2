"""What the CLI says when it cannot run (SPEC §7, §8; README "Bad input", "Your own data"): one line starting with
`error:` naming the file or setting and the problem, exit code 2, no traceback, nothing built, and no user data
(SPEC §1 PII) in the message.

Most cases stop in the checks before dbt starts, so they take about a second each; those that build say so.
Also here: the Makefile's options, Ctrl-C (`interrupted`, exit code 130), files read like their lower-case
names, and a bad carriers seed failing the build by its test's name.
"""
from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from conftest import run_cli, tampered

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/bad_input"
ACTIVITY = ROOT / "tests/fixtures/activity"
MESSAGES = FIXTURE / "good/messages.csv"
AGENTS = FIXTURE / "good/agents.csv"
HEADER = MESSAGES.read_text(encoding="utf-8").splitlines()[0] + "\n"
ROW = "{id},agent-0_conv@rbm.goog,+15550990005,att,MO,text,{text},,,received,2025-05-11T10:0{n}:00Z,,false\n"


def assert_clean_error(done, *names: str) -> None:
    """The run stopped with exit code 2 and `error:` lines naming every one of `names`, without a traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    assert done.stderr.startswith("error: "), done.stderr[-2000:]
    for name in names:
        assert name in done.stderr, (name, done.stderr)


def data_lines(path: Path, count: int) -> bytes:
    """The first `count` data lines of a file (its header line left out)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        return b"".join(handle.readlines()[1:count + 1])


# ---------------------------------------------------------------------------------------------------------
# Headers (findings #10, #22)


@pytest.mark.parametrize("kind", ["messages", "activity"])
def test_a_file_without_header_line_is_named_without_its_values(tmp_path, kind):
    """A headerless file's first line is data: the error says so and shows none of its values (user ids, texts)."""
    if kind == "messages":
        path = tmp_path / "messages.csv"
        path.write_bytes(data_lines(MESSAGES, 3))
        args = ["--messages", str(path)]
    else:
        path = tmp_path / "rbm_activity_2023-08-28.csv"
        path.write_bytes(data_lines(ACTIVITY / "att/rbm_activity_2023-08-28.csv", 3))
        args = ["--activity", str(path), "--carrier", "att"]
    lines = [line.replace("\t", ",").split(",") for line in path.read_bytes().decode().splitlines()]
    # Its ids, user ids, texts and times (the other values are also words of the message: MT, text, delivered, ...).
    shown = [0, 1, 2, 3, 5] if kind == "activity" else [0, 1, 2, 6, 10]
    done = run_cli(tmp_path, *args, "--agents", str(AGENTS), "--output", str(tmp_path / "out"))
    assert_clean_error(done, str(path), "no header line")
    assert "Expected header" in done.stderr
    for line in lines:
        for index in shown:
            assert not line[index] or line[index] not in done.stderr, (line[index], done.stderr)
    assert not (tmp_path / "rbm.duckdb").exists()


@pytest.mark.parametrize("header, says", [
    (HEADER.replace(",user_id,", ",message_id,"), ["duplicated column(s): message_id", "missing column(s): user_id"]),
    (HEADER.replace("\n", ",\n"), ["an empty column name (field 14"]),
    # Two columns swapped (user trial, seventeenth session: the error did not say which).
    (HEADER.replace("agent_id,user_id", "user_id,agent_id"),
     ["columns are in the wrong order (column 2 is user_id, the contract's is agent_id)"]),
])
def test_a_duplicated_or_empty_header_column_is_named(tmp_path, header, says):
    path = tmp_path / "messages.csv"
    path.write_text(header + ROW.format(id="m1", text="Hi", n=1).replace("\n", "," * header.endswith(",\n") + "\n"))
    done = run_cli(tmp_path, "--messages", str(path), "--agents", str(AGENTS), "--output", str(tmp_path / "out"))
    assert_clean_error(done, str(path), *says)


@pytest.mark.parametrize("kind", ["agents", "carriers", "agents.parquet", "agents, one of two"])
def test_an_agents_or_carriers_file_with_its_header_line_only_stops_the_run(tmp_path, kind):
    """User trial, twenty-first session: an agents file cut after its header line made every message unknown_agent
    and removed every report file of the database, final ones included, with exit code 0 (a carriers file: every
    message unknown_carrier). It stops the run like an empty file. One of two agents files without rows is fine."""
    messages = tmp_path / "messages.csv"
    messages.write_text(HEADER + ROW.format(id="m1", text="Hi", n=1), encoding="utf-8")
    header_only = tmp_path / "agents.csv"
    # Blank lines and a spreadsheet's empty rows are no rows (review, twenty-first session).
    header_only.write_bytes(AGENTS.read_bytes().splitlines(keepends=True)[0] + b"\r\n \r\n,,,,\r\n\"\",,,,\r\n")
    agents, more = str(header_only), []
    if kind == "carriers":
        header_only = tmp_path / "carriers.csv"
        header_only.write_text("carrier_id,carrier_name,country,billing_model\n", encoding="utf-8")
        agents, more = str(AGENTS), ["--carriers", str(header_only)]
    elif kind == "agents.parquet":
        header_only = tmp_path / "agents.parquet"
        duckdb.sql(f"copy (select * from read_csv('{AGENTS}', all_varchar = true) limit 0) to '{header_only}'")
        agents = str(header_only)
    elif kind == "agents, one of two":
        shutil.copy(AGENTS, tmp_path / "agents_full.csv")
        agents = str(tmp_path / "agents*.csv")
    done = run_cli(tmp_path, "--messages", str(messages), "--agents", agents, *more, "--output", str(tmp_path / "out"))
    if kind == "agents, one of two":
        assert done.returncode == 0, done.stderr[-2000:]
        return
    assert_clean_error(done, str(header_only), "only the header line")
    assert not (tmp_path / "rbm.duckdb").exists()


def test_an_agents_file_without_one_usable_row_stops_before_the_reports(tmp_path):
    """User trial, twenty-first session: an agents file whose every row was quarantined (a billing_category spelled
    another way) quarantined every message and removed every report file, final ones included, with exit code 0.
    On a database with published reports the build stops at the guard assert_some_agent_is_usable, before any model
    that reads the agents, and the run names the reasons and the file; the next run rebuilds in full, and restates
    nothing (the billing tables kept the previous run's rows). A first build carries on."""
    out = tmp_path / "out"
    first = run_cli(tmp_path, "--messages", str(MESSAGES), "--agents", str(AGENTS), "--output", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    published = {path: path.read_bytes() for path in sorted(out.rglob("*.csv"))}
    assert any(path.name.startswith("rbm_billable_events_") for path in published)
    agents = tmp_path / "agents_renamed_categories.csv"
    agents.write_text(AGENTS.read_text(encoding="utf-8").replace(",conversational", ",Conversational")
                      .replace(",non_conversational", ",Non-conversational"), encoding="utf-8")
    done = run_cli(tmp_path, "--messages", str(MESSAGES), "--agents", str(agents), "--output", str(out))
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    error = done.stderr[done.stderr.index("error: "):]
    assert error.startswith("error: not one row of the agents file(s) is usable"), error
    assert f"unknown_billing_category {len(AGENTS.read_text().splitlines()) - 1} (first at line 2 of {agents})" \
        in error, error
    assert "the reports of the previous run are unchanged." in error, error
    assert "FAIL 1 assert_some_agent_is_usable" in done.stdout, done.stdout[-3000:]
    assert {path: path.read_bytes() for path in sorted(out.rglob("*.csv"))} == published
    # A first build has nothing to protect: it carries on and quarantines (SPEC §7; review, twenty-second session).
    first_build = run_cli(tmp_path / "new", "--messages", str(MESSAGES), "--agents", str(agents),
                          "--output", str(tmp_path / "new" / "out"))
    assert first_build.returncode == 0, first_build.stderr[-2000:]
    assert "not one row of the agents file(s) is usable" not in first_build.stderr, first_build.stderr[-2000:]
    with duckdb.connect(str(tmp_path / "new" / "rbm.duckdb"), read_only=True) as con:
        assert con.sql("select distinct reason from quarantined_messages where reason like 'agent%'").fetchall() == [
            ("agent_quarantined",)]
    again = run_cli(tmp_path, "--messages", str(MESSAGES), "--agents", str(AGENTS), "--output", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "full rebuild: the previous run's build did not complete" in again.stdout
    assert {path: path.read_bytes() for path in sorted(out.rglob("*.csv"))} == published


def test_parquet_files_with_a_quote_or_a_glob_character_in_their_name_are_read(tmp_path):
    """Review, twenty-first session: the input checks built `read_parquet('<path>')` from the name as it is, so an
    agents file `o'brien agents.parquet` stopped the run as "not a readable Parquet file", and a messages file
    `day [1].parquet` (matched by a glob of MESSAGES) had its columns checked in `day 1.parquet`."""
    agents = tmp_path / "o'brien agents.parquet"
    quoted = str(agents).replace("'", "''")
    duckdb.sql(f"copy (select * from read_csv('{AGENTS}', all_varchar = true)) to '{quoted}'")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "day 1.parquet").write_bytes(b"not a Parquet file")  # what `day [1].parquet` would be read as
    duckdb.sql(f"copy (select * from read_csv('{MESSAGES}', all_varchar = true)) to '{folder / 'day [1].parquet'}'")
    # `?` matches the brackets: the glob gives `day [1].parquet` only.
    done = run_cli(tmp_path, "--messages", str(folder / "day ?1?.parquet"), "--agents", str(agents),
                   "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr[-2000:]
    rows = sum(1 for _ in duckdb.sql(f"select 1 from read_csv('{MESSAGES}', all_varchar = true)").fetchall())
    assert f"this run loaded {rows} row(s) from 1 file(s)" in done.stdout, done.stdout[-3000:]


# ---------------------------------------------------------------------------------------------------------
# The Makefile's options (findings #5a, #21, #22)


def make_run(tmp_path: Path, *variables: str, dry_run: bool = False) -> subprocess.CompletedProcess:
    """`make run VAR=value …` in the project, on a database in tmp_path (`make -n`: the commands, not run)."""
    env = dict(os.environ, RBM_DUCKDB_PATH=str(tmp_path / "rbm.duckdb"))
    for name in ("MESSAGES", "AGENTS", "ACTIVITY", "CARRIER", "OUTPUT", "FULL_REFRESH"):
        env.pop(name, None)
    return subprocess.run(["make", "--no-print-directory", *(["-n"] if dry_run else []), "run", *variables],
                          cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("value, full", [("0", False), ("false", False), ("no", False), ("", False),
                                         ("1", True), ("yes", True)])
def test_full_refresh_is_off_for_0_false_no_or_empty(tmp_path, value, full):
    done = make_run(tmp_path, f"FULL_REFRESH={value}", dry_run=True)
    assert done.returncode == 0, done.stderr
    assert ("--full-refresh" in done.stdout) == full, done.stdout


@pytest.mark.parametrize("what, example", [("ACTIVITY", "rbm_activity_*"), ("MESSAGES", "*")])
def test_a_folder_given_for_the_files_says_it_is_a_folder(tmp_path, what, example):
    """User trial, nineteenth session: ACTIVITY=<a folder of logs> said "no file matches" the folder."""
    from rbm.inputs import InputError, expand

    (tmp_path / "rbm_activity_2026-11-01.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        expand(str(tmp_path), what)
    assert str(raised.value) == (f"{what}: {str(tmp_path)!r} is a folder: give its files, e.g. "
                                 f"{what}='{tmp_path / example}'")


@pytest.mark.parametrize("odd", ["a link to nothing", "a pipe", "a name not UTF-8"])
def test_a_glob_matching_what_cannot_be_read_stops_the_run(tmp_path, odd):
    """Audit, twenty-third session: a link to nothing or a pipe matched by a glob was left out without a word (its
    rows neither billed nor quarantined), and a file name that is not UTF-8 stopped the build with `std::bad_cast`.
    Each is named before anything is built; a folder matched by a glob is still passed over."""
    from rbm.inputs import InputError, expand

    (tmp_path / "messages_1.csv").write_text("x\n", encoding="utf-8")
    (tmp_path / "messages_sub.csv").mkdir()
    if odd == "a link to nothing":
        (tmp_path / "messages_2.csv").symlink_to(tmp_path / "gone.csv")
        says = f"MESSAGES: {str(tmp_path / 'messages_2.csv')!r} (matched by"
    elif odd == "a pipe":
        os.mkfifo(tmp_path / "messages_2.csv")
        says = f"MESSAGES: {str(tmp_path / 'messages_2.csv')!r} (matched by"
    else:
        os.close(os.open(os.fsencode(tmp_path) + b"/messages_\xff.csv", os.O_CREAT | os.O_WRONLY))
        says = "MESSAGES: the file name"
    with pytest.raises(InputError) as raised:
        expand(str(tmp_path / "messages_*.csv"), "MESSAGES")
    assert str(raised.value).startswith(says), str(raised.value)
    assert ("a link to nothing" if odd == "a link to nothing" else "not a regular file" if odd == "a pipe"
            else "is not valid UTF-8") in str(raised.value)


def test_own_files_without_agents_get_a_warning_naming_the_demo_agents(tmp_path):
    """User trial, nineteenth session: ACTIVITY (or MESSAGES) of your own without AGENTS bills with the demo agents:
    every row of another agent is quarantined, and no warning said that AGENTS was not given. The demo run alone
    (`make run`) says nothing of it."""
    logs = ROOT / "tests/fixtures/activity/att/rbm_activity_2023-08-28.csv"
    done = make_run(tmp_path, f"ACTIVITY={logs}", "CARRIER=att", f"OUTPUT={tmp_path / 'out'}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert ("warning: AGENTS is not given, so your files are billed with the bundled demo agents "
            "(data/demo/agents.csv)") in done.stderr, done.stderr[-2000:]
    demo = make_run(tmp_path / "demo", f"OUTPUT={tmp_path / 'demo_out'}")
    assert demo.returncode == 0 and "AGENTS is not given" not in demo.stderr, demo.stderr[-2000:]


def test_a_path_starting_with_a_dash_is_taken_as_a_path(tmp_path):
    done = make_run(tmp_path, "MESSAGES=-x.csv", f"OUTPUT={tmp_path / 'out'}")
    assert "error: MESSAGES: no file matches '-x.csv'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("carrier, carriers, says", [
    ("atnt", None, "CARRIER atnt is not a carrier of the carriers seed"),
    ("ATT", None, "CARRIER ATT is not a carrier of the carriers seed"),
    ("att", "other", "CARRIER att is not a carrier of CARRIERS"),
    ("att", "no activity", "CARRIER att is the carrier of ACTIVITY files (SPEC §9), and there are none"),
])
def test_a_carrier_that_is_not_listed_or_without_activity_logs_stops(tmp_path, carrier, carriers, says):
    """Review, thirteenth session: every row of a log loaded with an unknown CARRIER was quarantined unknown_carrier,
    and a run with the right one afterwards loaded nothing (the file was loaded); CARRIER without ACTIVITY was
    ignored and the demo data billed."""
    args = ["--activity", str(ACTIVITY / "att/rbm_activity_*.csv*"), "--agents", str(ACTIVITY / "agents.csv")]
    if carriers == "other":
        (tmp_path / "carriers.csv").write_text("carrier_id,carrier_name,country,billing_model\nverizon,V,US,us\n",
                                               encoding="utf-8")
        args += ["--carriers", str(tmp_path / "carriers.csv")]
    elif carriers == "no activity":
        args = []
    done = run_cli(tmp_path, *args, "--carrier", carrier, "--output", str(tmp_path / "out"))
    assert_clean_error(done, says)
    assert not (tmp_path / "rbm.duckdb").exists()


def test_a_parquet_activity_log_is_named_as_not_read(tmp_path):
    path = tmp_path / "rbm_activity_2023-08-28.parquet"
    with duckdb.connect() as con:
        con.execute("copy (select 'a1' as activity_id, 'G1' as billing_event_id, 'acme_notify_agent' as agent_id,"
                    " 'user-hash-1' as user_id, 'MO' as direction, '2023-08-28T08:00:00.000Z' as time,"
                    f" 'text_message' as type, '0' as size_bytes) to '{path}' (format parquet)")
    done = run_cli(tmp_path, "--activity", str(path), "--carrier", "att", "--agents", str(ACTIVITY / "agents.csv"),
                   "--output", str(tmp_path / "out"))
    assert_clean_error(done, f"{path}: an activity log is read as text", "not as Parquet")


@pytest.mark.parametrize("variable", ["MESSAGES", "AGENTS", "ACTIVITY", "OUTPUT"])
def test_a_variable_given_empty_is_an_error(tmp_path, variable):
    """`AGENTS="$AGENTS_FILE"` with the shell variable unset: not a run without agents, or on the demo data."""
    done = make_run(tmp_path, f"{variable}=", *([] if variable == "OUTPUT" else [f"OUTPUT={tmp_path / 'out'}"]))
    assert f"error: {variable} is empty" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "rbm.duckdb").exists()


def test_make_run_without_messages_bills_the_demo_data(tmp_path):
    """SPEC §8: `make run` alone runs the demo data (the option is not passed; the CLI's default applies)."""
    done = make_run(tmp_path, dry_run=True)
    assert done.returncode == 0, done.stderr
    assert "scripts/rbm.py run" in done.stdout and "--messages" not in done.stdout and "--agents" not in done.stdout


def test_a_run_without_messages_on_a_database_of_your_own_files_stops(tmp_path):
    """`make run` alone (the demo data) on a database that holds a user's own files would load the demo messages
    into it, where their agents are unknown: quarantined there for good. It stops instead, and changes nothing."""
    output = tmp_path / "out"
    done = run_cli(tmp_path, "--messages", str(MESSAGES), "--agents", str(AGENTS), "--output", str(output))
    assert done.returncode == 0, done.stderr[-2000:]
    reports = {path: path.read_bytes() for path in output.rglob("*.csv")}
    with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
        staged = con.execute("select count(*) from stg_messages").fetchone()
    again = run_cli(tmp_path, "--agents", str(AGENTS), "--output", str(output))
    assert again.returncode == 2, again.stdout[-2000:] + again.stderr[-2000:]
    assert "error: MESSAGES is not given, so this run would load the demo messages into" in again.stderr
    assert f"which holds your own files (e.g. {MESSAGES})" in again.stderr, again.stderr
    # The demo file given by its path (user trial, seventeenth session: dbt's error, in its words, with a trace).
    given = run_cli(tmp_path, "--messages", str(ROOT / "data/demo/messages.csv"), "--agents", str(AGENTS),
                    "--output", str(output))
    assert given.returncode == 2, given.stdout[-2000:] + given.stderr[-2000:]
    assert given.stderr.startswith("error: MESSAGES is the bundled demo file, so this run would load the demo"
                                   " messages into"), given.stderr
    assert {path: path.read_bytes() for path in output.rglob("*.csv")} == reports
    with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from stg_messages").fetchone() == staged


def test_a_run_without_agents_on_a_database_of_your_own_agents_stops(tmp_path):
    """Review (twelfth session): MESSAGES given and AGENTS left out (the demo agents) on a database built with the
    user's agents rebuilt it in full with the demo agents: every message of an agent they do not know quarantined,
    every published report emptied, exit 0. It stops instead, and changes nothing; the demo data alone still runs."""
    output = tmp_path / "out"
    done = run_cli(tmp_path, "--messages", str(MESSAGES), "--agents", str(AGENTS), "--output", str(output))
    assert done.returncode == 0, done.stderr[-2000:]
    reports = {path: path.read_bytes() for path in output.rglob("*.csv")}
    again = run_cli(tmp_path, "--messages", str(MESSAGES), "--output", str(output))
    assert again.returncode == 2, again.stdout[-2000:] + again.stderr[-2000:]
    assert again.stderr.startswith("error: AGENTS is not given, so this run would bill with the demo agents"), \
        again.stderr
    assert f"was built with an agents file of your own ({AGENTS})" in again.stderr, again.stderr
    # The demo agents given by their path, relative (user trial, seventeenth session: dbt's error, with a trace).
    given = run_cli(tmp_path, "--messages", str(MESSAGES), "--agents", "data/demo/agents.csv",
                    "--output", str(output))
    assert given.returncode == 2, given.stdout[-2000:] + given.stderr[-2000:]
    assert given.stderr.startswith("error: AGENTS is the bundled demo agents file, so this run would bill with the"
                                   " demo agents"), given.stderr
    assert {path: path.read_bytes() for path in output.rglob("*.csv")} == reports
    assert run_cli(tmp_path / "demo", "--output", str(tmp_path / "demo_out")).returncode == 0


def test_the_demo_messages_by_a_link_without_agents_on_a_database_of_your_own_agents_stop(tmp_path):
    """Review (seventeenth session): the demo messages read through a link (or a glob), AGENTS left out, on a
    database built with the demo messages and the user's own agents: the run script checked the path as typed and
    only one of the two files, so dbt stopped the build with its compile error and a macro trace. Both files are
    checked as dbt gets them (links resolved, globs expanded)."""
    output = tmp_path / "out"
    demo = ROOT / "data/demo/messages.csv"
    done = run_cli(tmp_path, "--messages", str(demo), "--agents", str(AGENTS), "--output", str(output))
    assert done.returncode == 0, done.stderr[-2000:]
    link = tmp_path / "landing" / "today.csv"
    link.parent.mkdir()
    link.symlink_to(demo)
    for messages in (str(demo), str(link), str(ROOT / "data/demo/messages*.csv")):
        again = run_cli(tmp_path, "--messages", messages, "--output", str(output))
        assert again.returncode == 2, again.stdout[-2000:] + again.stderr[-2000:]
        assert again.stderr.startswith("error: AGENTS is not given, so this run would bill with the demo agents"), \
            again.stderr


# ---------------------------------------------------------------------------------------------------------
# Tracebacks that became one-line errors (finding #14)


# Runs scripts/rbm.py with an export that fails as a full disk does, after the build succeeded.
EXPORT_DISK_FULL = """
import errno, os, runpy, sys
sys.path.insert(0, sys.argv[1])
from rbm import report
def full(*args, **options):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "rbm_billable_events_2025-05-13.csv")
report.export_reports = full
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


# The same, failing while the written files are moved into place, after the first one.
EXPORT_DISK_FULL_WHILE_MOVING = """
import errno, os, runpy, sys
sys.path.insert(0, sys.argv[1])
from rbm import report
replace, moved = os.replace, []
def full(source, destination):
    if "rbm_billable_events_" in str(destination):  # the report files only (os is every module's)
        if moved:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(destination))
        moved.append(destination)
    replace(source, destination)
os.replace = full
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_a_full_disk_while_the_files_are_moved_into_place_says_which_were_replaced(tmp_path):
    """A failure after some report files were moved into place cannot say the previous reports are unchanged."""
    output = tmp_path / "out"
    arguments = ("run", "--messages", str(MESSAGES), "--agents", str(AGENTS), "--output", str(output))
    env = dict(os.environ, RBM_DUCKDB_PATH=str(tmp_path / "rbm.duckdb"))
    failed = subprocess.run([sys.executable, "-c", EXPORT_DISK_FULL_WHILE_MOVING, str(ROOT),
                             str(ROOT / "scripts/rbm.py"), *arguments], cwd=ROOT, env=env, capture_output=True,
                            text=True)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr[-3000:]
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: the report files could not be written into OUTPUT {output}: [Errno 28]"), last
    assert last.endswith(". 1 report file(s) were replaced before it failed, the others are the previous run's;"
                         " the next run writes every file."), last


def test_a_full_disk_during_the_export_is_one_line_and_the_next_run_writes_every_file(tmp_path):
    """OUTPUT's disk full while the report files are written: one error line, not a traceback; the previous
    reports stay (the files are moved into place only at the end), and the next run writes every file."""
    output = tmp_path / "out"
    arguments = ("run", "--messages", str(MESSAGES), "--agents", str(AGENTS), "--output", str(output))
    database = tmp_path / "rbm.duckdb"
    assert rbm(tmp_path, *arguments[1:], database=database).returncode == 0
    reports = {path: path.read_bytes() for path in output.rglob("*.csv")}
    env = dict(os.environ, RBM_DUCKDB_PATH=str(database))
    failed = subprocess.run([sys.executable, "-c", EXPORT_DISK_FULL, str(ROOT), str(ROOT / "scripts/rbm.py"),
                             *arguments], cwd=ROOT, env=env, capture_output=True, text=True)
    assert failed.returncode == 1, failed.stdout[-2000:] + failed.stderr[-2000:]
    assert "Traceback" not in failed.stderr, failed.stderr[-3000:]
    assert failed.stderr.strip().splitlines()[-1] == (
        f"error: the report files could not be written into OUTPUT {output}: [Errno 28] No space left on device: "
        "'rbm_billable_events_2025-05-13.csv'. The reports of the previous run are unchanged; the next run writes"
        " every file.")
    assert {path: path.read_bytes() for path in output.rglob("*.csv")} == reports
    # A file changed by hand with its size and time kept is corrected: the next run wrote every file again.
    name = sorted(str(path.relative_to(output)) for path in output.glob("*/rbm_billable_events_*.csv"))[0]
    tampered(output, name)
    again = rbm(tmp_path, *arguments[1:], database=database)
    assert again.returncode == 0 and "written by this run 1, unchanged since the previous run" in again.stdout, \
        again.stdout[-2000:]
    assert {path: path.read_bytes() for path in output.rglob("*.csv")} == reports


def rbm(tmp_path: Path, *args: str, database: Path | None = None) -> subprocess.CompletedProcess:
    """`scripts/rbm.py run …` on the database `database` as given (run_cli moves a database to a path of its own)."""
    env = dict(os.environ, RBM_DUCKDB_PATH=str(database or tmp_path / "rbm.duckdb"))
    return subprocess.run([sys.executable, str(ROOT / "scripts/rbm.py"), "run", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("kind", ["a file", "cannot be created"])
def test_an_unusable_output_stops_the_run_before_the_build(tmp_path, kind):
    if kind == "a file":
        output = tmp_path / "reports"
        output.write_text("not a folder\n")
    else:
        output = Path("/proc/rbm-no-such-folder/reports")  # /proc takes no new folder, not even from root
    done = run_cli(tmp_path, "--messages", str(MESSAGES), "--agents", str(AGENTS), "--output", str(output))
    assert_clean_error(done, f"OUTPUT {output}")
    assert "dbt" not in done.stdout and not (tmp_path / "rbm.duckdb").exists()


def test_a_database_folder_that_cannot_be_created_is_an_error(tmp_path):
    database = Path("/proc/rbm-no-such-folder/rbm.duckdb")
    done = rbm(tmp_path, "--messages", str(MESSAGES), "--agents", str(AGENTS), "--output", str(tmp_path / "out"),
               database=database)
    assert_clean_error(done, f"RBM_DUCKDB_PATH {database}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("cut", [300, -8])
def test_a_truncated_or_corrupt_gzip_file_is_named(tmp_path, cut):
    """A gzipped activity log cut short (a transfer that stopped), or whose last bytes (the CRC) are wrong."""
    data = (ACTIVITY / "att/rbm_activity_2023-08-29.csv.gz").read_bytes()
    path = tmp_path / "rbm_activity_2023-08-29.csv.gz"
    path.write_bytes(data[:cut] if cut > 0 else data[:cut] + bytes(8))
    done = run_cli(tmp_path, "--activity", str(path), "--carrier", "att", "--agents", str(ACTIVITY / "agents.csv"),
                   "--output", str(tmp_path / "out"))
    assert_clean_error(done, str(path), "truncated or corrupt")


def test_lone_cr_line_ends_in_the_header_are_read(tmp_path):
    """A file whose lines all end in a lone CR (old Mac), and one whose header line alone does: both are read and
    their rows billed (README "Bad input": lone CRs are repaired). Builds: ~8 s."""
    (tmp_path / "messages_cr.csv").write_bytes(
        (HEADER + ROW.format(id="cr-1", text="a", n=1) + ROW.format(id="cr-2", text="b", n=2)).replace("\n", "\r")
        .encode())
    (tmp_path / "messages_hdr.csv").write_bytes(
        (HEADER.replace("\n", "\r") + ROW.format(id="hdr-1", text="c", n=3) + ROW.format(id="hdr-2", text="d", n=4))
        .encode())
    done = run_cli(tmp_path, "--messages", str(tmp_path / "messages_*.csv"), "--agents", str(AGENTS),
                   "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
        outcomes = con.sql("select message_id, outcome from int_message_outcomes order by 1").fetchall()
    assert outcomes == [("cr-1", "billed"), ("cr-2", "billed"), ("hdr-1", "billed"), ("hdr-2", "billed")]


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process has ended
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _sigterm_reached(pid: int) -> bool:
    """A SIGTERM reached the stopped process: it waits to be delivered (a handler is set: /proc status, ShdPnd), or it
    ended the process at once (no handler: the kernel kills a stopped process for a fatal signal; a CI run saw it).
    A stopped process cannot end on its own, so an ended one was signalled."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields["State"].strip().startswith(("Z", "X")):
        return True
    return bool(int(fields["ShdPnd"].strip(), 16) & (1 << (signal.SIGTERM - 1)))


def test_ctrl_c_says_interrupted_without_a_traceback(tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) during the build: `interrupted`, exit code 130. The next run
    rebuilds in full (rbm/state.py), as before."""
    env = dict(os.environ, RBM_DUCKDB_PATH=str(tmp_path / "rbm.duckdb"))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts/rbm.py"), "run", "--messages", str(MESSAGES), "--agents", str(AGENTS),
         "--output", str(tmp_path / "out")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        # Ctrl-C as in a terminal: a test run started in the background (`nohup … &`, as CI may be) hands its
        # processes SIGINT ignored, and the CLI then rightly ignores it (eighteenth session: the test failed so).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    try:
        for line in process.stdout:  # dbt has started to build
            seen.append(line)
            if " START " in line:
                break
        # dbt (in a process group of its own, rbm/report.py run_dbt) is held still until the Ctrl-C has landed: the
        # fixture's build takes ~4 s, and on a loaded CI machine it once finished before the signal (exit 0, 18th
        # session).
        dbt = _children(process.pid)
        assert len(dbt) == 1, (dbt, seen)
        os.killpg(dbt[0], signal.SIGSTOP)
        try:
            os.killpg(process.pid, signal.SIGINT)
            # The script's answer to Ctrl-C is SIGTERM to dbt.
            deadline = time.monotonic() + 60
            while not _sigterm_reached(dbt[0]) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _sigterm_reached(dbt[0]), "the script did not stop dbt"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(dbt[0], signal.SIGCONT)
        stdout, stderr = process.communicate(timeout=120)
    finally:  # a failed assertion leaves no run behind
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.communicate(timeout=120)
    stdout = "".join(seen) + stdout
    assert process.returncode == 130, (process.returncode, stdout[-2000:], stderr[-2000:])
    assert "interrupted" in stderr and "Traceback" not in stdout + stderr, stdout[-2000:] + stderr[-3000:]
    # Nor Python's resource tracker on the semaphores dbt left (user trial, seventeenth session).
    assert "resource_tracker" not in stdout + stderr and "leaked" not in stdout + stderr, stderr[-3000:]


# ---------------------------------------------------------------------------------------------------------
# A database DuckDB cannot open (finding #15)


@pytest.mark.parametrize("kind, says", [
    ("corrupt", "is not a DuckDB database file"),
    ("a folder", "is a folder, not a DuckDB database file"),
    ("held", "is held by another process (PID {pid}"),
])
def test_a_database_that_cannot_be_opened_stops_the_run_before_dbt(tmp_path, kind, says):
    database = tmp_path / "rbm.duckdb"
    holder = None
    if kind == "corrupt":
        database.write_bytes(os.urandom(100_000))
    elif kind == "a folder":
        database.mkdir()
    else:
        holder = duckdb.connect(str(database))  # an analyst's session (this process)
    try:
        done = rbm(tmp_path, "--messages", str(MESSAGES), "--agents", str(AGENTS), "--output", str(tmp_path / "out"))
    finally:
        if holder:
            holder.close()
    assert_clean_error(done, f"RBM_DUCKDB_PATH {database}: " + says.format(pid=os.getpid()))
    assert "Running with dbt" not in done.stdout and "full rebuild" not in done.stdout, done.stdout[-2000:]
    assert len(done.stderr.splitlines()) <= 2, done.stderr


# ---------------------------------------------------------------------------------------------------------
# Parquet, gzip and file names (findings #12, #20)


def parquet_with_invalid_utf8(tmp_path: Path, binary: bool = False) -> Path:
    """Three rows of the good messages as Parquet, in which one user_id's last byte is 0xFF (not UTF-8); `binary`: the
    user_id column plain BINARY (no UTF-8 annotation), which staging reads as text."""
    good = tmp_path / "good.parquet"
    user_id = "cast(user_id as blob)" if binary else "user_id"
    duckdb.sql(f"copy (select * replace ({user_id} as user_id) from read_csv('{MESSAGES}', all_varchar = true)"
               f" limit 3) to '{good}' (format parquet, compression uncompressed)")
    data = good.read_bytes()
    assert data.count(b"+15550100008") > 0
    path = tmp_path / "messages.parquet"
    path.write_bytes(data.replace(b"+15550100008", b"+1555010000\xff"))
    good.unlink()
    return path


@pytest.mark.parametrize("binary", [False, True])
def test_a_parquet_string_that_is_not_utf8_is_named_without_its_value(tmp_path, binary):
    """DuckDB rejects the whole file, and its message holds the value (a user_id): the run stops before the build
    naming the file and the column only. So does a plain BINARY column (audit, twenty-third session: the failed
    build showed the user_id)."""
    path = parquet_with_invalid_utf8(tmp_path, binary)
    done = run_cli(tmp_path, "--messages", str(path), "--agents", str(AGENTS), "--output", str(tmp_path / "out"))
    assert_clean_error(done, str(path), "user_id", "not valid UTF-8")
    assert "1555010000" not in done.stdout + done.stderr, done.stderr
    assert "Running with dbt" not in done.stdout


def test_a_gzip_file_not_named_gz_is_named_as_gzip(tmp_path):
    """A gzipped activity log whose name does not end in .gz: DuckDB (and the checks) decide by the name, so the
    run says what the file is instead of 'the header line is not UTF-8'."""
    path = tmp_path / "rbm_activity_2023-08-30.csv.gz_st"
    path.write_bytes((ACTIVITY / "att/rbm_activity_2023-08-30.csv_st.csv.gz").read_bytes())
    done = run_cli(tmp_path, "--activity", str(path), "--carrier", "att", "--agents", str(ACTIVITY / "agents.csv"),
                   "--output", str(tmp_path / "out"))
    assert_clean_error(done, str(path), "gzip", "end in .gz")


def test_upper_case_extensions_are_read_like_lower_case_ones(tmp_path):
    """messages_a.PARQUET and messages_b.CSV.GZ (with one CRLF line among LF lines: read from a repaired copy) are
    read as Parquet and as gzipped CSV; every row is billed. Builds: ~8 s."""
    one = tmp_path / "one.csv"
    one.write_text(HEADER + ROW.format(id="pq-1", text="a", n=1))
    duckdb.sql(f"copy (select * from read_csv('{one}', all_varchar = true)) to '{tmp_path / 'messages_a.PARQUET'}'"
               " (format parquet)")
    one.unlink()
    rows = ROW.format(id="gz-1", text="b", n=2).replace("\n", "\r\n") + ROW.format(id="gz-2", text="c", n=3)
    (tmp_path / "messages_b.CSV.GZ").write_bytes(gzip.compress((HEADER + rows).encode()))
    done = run_cli(tmp_path, "--messages", str(tmp_path / "messages_*"), "--agents", str(AGENTS),
                   "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
        outcomes = con.sql("select message_id, outcome from int_message_outcomes order by 1").fetchall()
    assert outcomes == [("gz-1", "billed"), ("gz-2", "billed"), ("pq-1", "billed")]


# ---------------------------------------------------------------------------------------------------------
# The carriers seed (finding #18)


def test_a_carrier_with_an_unknown_billing_model_fails_the_build_by_name(tmp_path):
    """A user-edited carriers seed with billing_model `US` (not `us`): the seed's accepted_values test runs in every
    run and fails the build, naming the column and the accepted values (before, only the conservation audit
    failed). On a copy of the project, whose seed is edited. Builds: ~15 s (dbt parses the copy in full)."""
    project = tmp_path / "project"
    for part in ("models", "macros", "seeds", "tests/dbt", "scripts", "rbm"):
        shutil.copytree(ROOT / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(ROOT / name, project / name)
    with open(project / "seeds/carriers.csv", "a", encoding="utf-8") as handle:
        handle.write("sprint,Sprint,US,US\n")
    env = dict(os.environ, RBM_DUCKDB_PATH=str(tmp_path / "rbm.duckdb"), DBT_TARGET_PATH=str(project / "target"),
               DBT_LOG_PATH=str(project / "logs"))
    done = subprocess.run([sys.executable, str(project / "scripts/rbm.py"), "run", "--messages", str(MESSAGES),
                           "--agents", str(AGENTS), "--output", str(tmp_path / "out")],
                          cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "Failure in test accepted_values_carriers_billing_model__us__global" in done.stdout, done.stdout[-5000:]
    assert "error: the dbt build failed" in done.stderr
    # no report written: OUTPUT holds at most the run's lock (rbm/state.py output_lock)
    assert not (tmp_path / "out").exists() or [p.name for p in (tmp_path / "out").iterdir()] == [".rbm-lock"]
