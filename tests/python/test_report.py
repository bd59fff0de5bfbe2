"""rbm/report.py: the export and the summary open the database with the run's memory limit and spill folder
(issue: scale; 100M messages must complete with the DuckDB memory limit at 8 GiB)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, read_reports, run_cli
from rbm import report


def test_export_connection_uses_the_memory_limit_and_spill_folder(tmp_path, monkeypatch):
    database = tmp_path / "rbm.duckdb"
    duckdb.connect(str(database)).close()
    monkeypatch.setenv("RBM_DUCKDB_PATH", str(database))
    monkeypatch.setenv("RBM_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("RBM_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    with report.connect() as con:
        limit, temp = con.sql("select current_setting('memory_limit'), current_setting('temp_directory')").fetchall()[0]
    assert limit == "286.1 MiB"  # 300 MB
    assert temp == str(tmp_path / "spill")


def test_default_spill_folder_is_dbts(monkeypatch):
    monkeypatch.delenv("RBM_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("RBM_DUCKDB_TEMP_DIR", raising=False)
    assert report.duckdb_settings() == {"memory_limit": "6GB", "temp_directory": str(ROOT / ".duckdb_tmp")}


# The run's inputs travel in RBM_RUN_INPUTS, not in --vars, so that dbt keeps its parsed project between runs
# on the same database (issue: scale; a full parse is ~2.4 s of every run).

def test_dbt_command_passes_the_inputs_in_the_environment():
    inputs = {"messages_path": ["/data/messages_2026-11-01.csv"], "agents_path": ["/data/agents.csv"]}
    command, env = report.dbt_command(["build"], "duckdb", {"billing_salt": "s"}, inputs)
    assert json.loads(env[report.RUN_INPUTS_ENV]) == inputs
    assert json.loads(command[command.index("--vars") + 1]) == {"billing_salt": "s"}


def test_dbt_command_puts_inputs_too_large_for_the_environment_in_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv(report.RUN_INPUTS_ENV, "stale")
    inputs = {"messages_path": [f"/data/messages_{i:06d}.csv" for i in range(10_000)]}
    command, env = report.dbt_command(["build"], "duckdb", {}, inputs, tmp_path / "inputs.json")
    assert report.RUN_INPUTS_ENV not in env and "--vars" not in command
    assert json.loads(Path(env[report.RUN_INPUTS_FILE_ENV]).read_text(encoding="utf-8")) == inputs
    with pytest.raises(ValueError):
        report.dbt_command(["build"], "duckdb", {}, inputs)


def test_a_second_run_with_more_files_keeps_dbts_parsed_project(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    lines = (ROOT / "data/demo/messages.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (landing / "messages_1.csv").write_text("".join(lines[:300]), encoding="utf-8")
    env = {"DBT_TARGET_PATH": str(tmp_path / "dbt_target"), "DBT_LOG_PATH": str(tmp_path / "dbt_logs")}
    runs = []
    for part in (lines[300:600], lines[600:900]):
        runs.append(run_cli(tmp_path, "--messages", str(landing / "*.csv"), "--output", str(tmp_path / "out"),
                            env=env))
        (landing / f"messages_{len(runs) + 1}.csv").write_text("".join(lines[:1] + part), encoding="utf-8")
    assert all(run.returncode == 0 for run in runs), runs[-1].stdout[-2000:] + runs[-1].stderr[-2000:]
    assert "Starting full parse" in runs[0].stdout
    assert "\x1b[" not in runs[0].stdout + runs[1].stdout  # not a terminal: dbt's log without colour codes
    # the new file was loaded; the counts are the database's, what the run added is said apart
    assert re.search(r"input rows +599  in the database, from 2 file\(s\); this run loaded 300 row\(s\) from 1"
                     r" file\(s\)", runs[1].stdout), runs[1].stdout[-2500:]
    assert "partial parsing" not in runs[1].stdout and "full parse" not in runs[1].stdout, runs[1].stdout[:1500]
    # and parses no model again: the inputs, new every run, are read only when the SQL runs (macro run_input)
    parsing = re.findall(r"Partial parsing enabled: .*", (tmp_path / "dbt_logs" / "dbt.log").read_text("utf-8"))
    assert parsing == ["Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed."], parsing


def test_a_run_on_a_new_database_keeps_dbts_parsed_project(tmp_path):
    """dbt parsed the whole project again (~5 s) for every new database: its profile held the DuckDB path. dbt now
    runs in the database's folder with the file's name only, so a new database of the same name in another folder
    reuses the parse, and the database is where RBM_DUCKDB_PATH says, the spill folder where the run's is."""
    env = {"DBT_TARGET_PATH": str(tmp_path / "dbt_target"), "DBT_LOG_PATH": str(tmp_path / "dbt_logs"),
           "RBM_DUCKDB_TEMP_DIR": "target/spill-of-this-test"}
    runs = [run_cli(tmp_path, "--output", str(tmp_path / f"out_{name}"), db=tmp_path / name / "rbm.duckdb", env=env)
            for name in ("first", "second")]
    assert all(run.returncode == 0 for run in runs), runs[-1].stdout[-2000:] + runs[-1].stderr[-2000:]
    assert "Starting full parse" in runs[0].stdout
    assert "partial parsing" not in runs[1].stdout and "full parse" not in runs[1].stdout, runs[1].stdout[:1500]
    assert read_reports(tmp_path / "out_first") == read_reports(tmp_path / "out_second")
    for name in ("first", "second"):
        assert (tmp_path / name / "rbm.duckdb").is_file()
        with duckdb.connect(str(tmp_path / name / "rbm.duckdb"), read_only=True) as con:
            assert con.sql("select count(*) from stg_messages").fetchall()[0][0] > 0
    assert sorted(path.name for path in (tmp_path / "first").iterdir()) == ["rbm.duckdb", "rbm.duckdb.rbm-lock",
                                                                           "rbm.duckdb.rbm-state.json"]
    _, env_of_dbt = report.dbt_command(["build"], "duckdb", {}, {})
    assert env_of_dbt["RBM_DUCKDB_PATH"] == f"./{report.duckdb_path().name}"
    assert Path(env_of_dbt["RBM_DUCKDB_TEMP_DIR"]).is_absolute()


@pytest.mark.parametrize("name", ["~rbm.duckdb", "billing:2026.duckdb"])
def test_a_database_name_duckdb_could_read_otherwise_is_the_file_built(tmp_path, name):
    """dbt is given the database file's name (rbm/report.py dbt_command) as `./<name>`: a bare `~rbm.duckdb` was
    opened in the home folder, `billing:2026.duckdb` as a `billing` extension's (review, twenty-fifth session)."""
    run = run_cli(tmp_path, "--output", str(tmp_path / "out"), db=tmp_path / name)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    with duckdb.connect(str(tmp_path / name), read_only=True) as con:
        assert con.sql("select count(*) from fct_report_rows").fetchall()[0][0] > 0


def test_a_run_with_more_input_files_than_the_environment_holds(tmp_path):
    """A daily glob over hourly files grows past what one environment variable holds (128 KiB on Linux): the
    run passes its inputs in a file instead, and bills them as one file with the same rows."""
    lines = (ROOT / "data/demo/messages.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    rows = [line for number, line in enumerate(lines[1:]) if number % 5]  # not the demo data (the vars' default)
    landing = tmp_path
    for level in range(3):  # long folder names: 200 files make a list longer than 128 KiB
        landing = landing / (f"{level}" * 200)
    landing.mkdir(parents=True)
    parts = 200
    for part in range(parts):
        (landing / f"messages_{part:04d}.csv").write_text("".join(lines[:1] + rows[part::parts]), encoding="utf-8")
    (tmp_path / "one.csv").write_text("".join(lines[:1] + rows), encoding="utf-8")
    assert len(json.dumps(sorted(str(p) for p in landing.glob("*.csv")))) > 128 * 1024
    many = run_cli(tmp_path, "--messages", str(landing / "*.csv"), "--output", str(tmp_path / "many"),
                   db=tmp_path / "many.duckdb")
    assert many.returncode == 0, many.stdout[-2000:] + many.stderr[-2000:]
    with duckdb.connect(str(tmp_path / "many.duckdb"), read_only=True) as con:
        assert con.execute("select count(distinct source_file), count(*) from stg_messages").fetchall() == [
            (parts, len(rows))]
    one = run_cli(tmp_path, "--messages", str(tmp_path / "one.csv"), "--output", str(tmp_path / "one"),
                  db=tmp_path / "one.duckdb")
    assert one.returncode == 0
    assert read_reports(tmp_path / "many") == read_reports(tmp_path / "one") != {}


def test_a_second_database_writing_the_same_output_says_so(tmp_path):
    """SPEC §8: OUTPUT holds the reports of the run's database, one file per date with events: a run of another
    database replaces the first one's reports, files it has no events for included. Two databases sharing one
    OUTPUT (one per carrier, say) would so replace each other's reports: the run warns, naming the other database
    (OUTPUT/.rbm-output.json)."""
    output = tmp_path / "out"

    def run(database: Path, messages: Path, agents: Path) -> subprocess.CompletedProcess:
        database.parent.mkdir(exist_ok=True)
        done = subprocess.run([sys.executable, str(ROOT / "scripts/rbm.py"), "run", "--messages", str(messages),
                               "--agents", str(agents), "--output", str(output)], cwd=ROOT,
                              env=dict(os.environ, RBM_DUCKDB_PATH=str(database)), capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done

    first_db, second_db = tmp_path / "first" / "rbm.duckdb", tmp_path / "second" / "rbm.duckdb"
    first = run(first_db, ROOT / "tests/fixtures/messages.csv", ROOT / "tests/fixtures/agents.csv")
    assert "held the reports" not in first.stdout + first.stderr
    first_files = {p.relative_to(output): p.read_bytes() for p in output.rglob("*.csv")}
    second = run(second_db, ROOT / "data/demo/messages.csv", ROOT / "data/demo/agents.csv")
    assert f"warning: OUTPUT {output} held the reports of another database, {first_db}" in second.stderr
    # ... and says how to write them again: the export it names gives back the first database's files.
    command = re.search(r"RBM_DUCKDB_PATH=(\S+) \.venv/bin/python scripts/rbm\.py export --output", second.stderr)
    assert command and command.group(1) == str(first_db), second.stderr
    again_first = tmp_path / "first_again"
    exported = subprocess.run([sys.executable, str(ROOT / "scripts/rbm.py"), "export", "--output", str(again_first)],
                              cwd=ROOT, env=dict(os.environ, RBM_DUCKDB_PATH=command.group(1)), capture_output=True,
                              text=True)
    assert exported.returncode == 0, exported.stdout[-2000:] + exported.stderr[-2000:]
    assert {p.relative_to(again_first): p.read_bytes() for p in again_first.rglob("*.csv")} == first_files
    with duckdb.connect(str(second_db), read_only=True) as con:
        files = {path for (path,) in con.sql("select file_path from rpt_report_files").fetchall()}
    assert {p.relative_to(output).as_posix() for p in output.glob("*/*.csv")} == files
    again = run(second_db, ROOT / "data/demo/messages.csv", ROOT / "data/demo/agents.csv")
    assert "held the reports" not in again.stdout + again.stderr


def test_a_users_own_carriers_file_decides_the_billing_model(tmp_path):
    """SPEC §1: a user can point a var (carriers_path; make run CARRIERS=…) at their own carriers file instead of
    the seed. Here att is billed by the global model. A row that is not right stops the run before building,
    naming the file, the line and the column."""
    seed = (ROOT / "seeds/carriers.csv").read_text(encoding="utf-8")
    own = tmp_path / "carriers.csv"
    own.write_text(seed.replace("att,AT&T,US,us", "att,AT&T,US,global"), encoding="utf-8")
    arguments = ("--messages", str(ROOT / "tests/fixtures/messages.csv"), "--agents",
                 str(ROOT / "tests/fixtures/agents.csv"), "--output", str(tmp_path / "out"))
    done = run_cli(tmp_path, *arguments, "--carriers", str(own))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
        models = con.sql("select distinct billing_model from fct_billable_messages where carrier_id = 'att'")
        assert models.fetchall() == [("global",)]
    for broken, problem, encoding in [
        ("att,AT&T,US,US", "line 2, column billing_model: 'US' is not `us` or `global`", "utf-8"),
        ("att ,AT&T,US,us", "line 2, column carrier_id: 'att ' is not a carrier id", "utf-8"),
        ("tmobile,AT&T,US,us", f"line 3, column carrier_id: tmobile is already on line 2 of {own}", "utf-8"),
        ("20801001,AT&T,US,us", "line 2, column carrier_id: 20801001 has the shape of a phone", "utf-8"),
        # A spreadsheet's empty row, said as such (review, twenty-first session).
        ("att,AT&T,US,us\n, ,,", "line 3 is an empty row (no value in any column", "utf-8"),
        # Rows the build's CSV reader rejects (audit, twenty-third session: the carrier was dropped without a word,
        # and its report files removed).
        ("att,AT&T Télé,US,us", "line 2 is not valid UTF-8 (not shown)", "latin-1"),
        ("att,AT&T,US,us,extra", "line 2 has 5 field(s), the header 4", "utf-8"),
        ("att,AT&T,us", "line 2 has 3 field(s), the header 4", "utf-8"),
        ('att,"AT&T"x,US,us', "line 2: ',' expected after '\"' (a stray quote?)", "utf-8"),
        # Blank lines above count, as in an editor (review, twenty-third session).
        ('att,AT&T,US,us\n\n\nx,"Y"z,US,us', "line 5: ',' expected after '\"' (a stray quote?)", "utf-8"),
    ]:
        own.write_bytes(seed.replace("att,AT&T,US,us", broken).encode(encoding))
        stopped = run_cli(tmp_path / "bad", *arguments, "--carriers", str(own))
        assert stopped.returncode == 2 and f"{own}: {problem}" in stopped.stderr, stopped.stderr[-2000:]
    # The same carrier in two files of CARRIERS (audit, twenty-third session: the build failed, naming no line).
    own.write_text(seed, encoding="utf-8")
    (tmp_path / "carriers_more.csv").write_text("carrier_id,carrier_name,country,billing_model\natt,AT&T,US,us\n",
                                                 encoding="utf-8")
    stopped = run_cli(tmp_path / "bad", *arguments, "--carriers", str(tmp_path / "carriers*.csv"))
    assert stopped.returncode == 2, stopped.stderr[-2000:]
    assert (f"{tmp_path / 'carriers_more.csv'}: line 2, column carrier_id: att is already on line 2 of {own}"
            in stopped.stderr), stopped.stderr[-2000:]


def test_a_user_who_moves_carrier_starts_a_new_stream(tmp_path):
    """README decision 5: a conversation stream is one agent, one user and one carrier (each carrier's report holds
    its own network's events). MT, MO on att, then MO, MT on tmobile within 24 h would trigger a US session in one
    stream; on two carriers they are four single events, two in each carrier's report."""
    fixture = ROOT / "tests/fixtures/bad_input/good"
    header = (fixture / "messages.csv").read_text(encoding="utf-8").splitlines()[0]
    rows = []
    for minute, (carrier, direction) in enumerate([("att", "MT"), ("att", "MO"), ("tmobile", "MO"),
                                                   ("tmobile", "MT")]):
        at = f"2025-05-11T10:0{minute}:00Z"
        status, delivered = ("delivered", at) if direction == "MT" else ("received", "")
        rows.append(f"m{minute},agent-0_conv@rbm.goog,+15550770001,{carrier},{direction},text,hi,,,{status},{at},"
                    f"{delivered},false")
    messages = tmp_path / "messages.csv"
    messages.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    done = run_cli(tmp_path, "--messages", str(messages), "--agents", str(fixture / "agents.csv"),
                   "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    reports = read_reports(tmp_path / "out")
    assert sorted(reports) == [("att", "2025-05-13"), ("tmobile", "2025-05-13")]
    # type, mt_messages, mo_messages, session_type of each row (one hour: ordered by billing_event_id)
    assert {carrier: sorted((row[1], row[10], row[11], row[16]) for row in rows)
            for (carrier, _), rows in reports.items()} == {
        "att": [("a2p_rich_message", "1", "0", ""), ("p2a_rich_message", "0", "1", "")],
        "tmobile": [("a2p_rich_message", "1", "0", ""), ("p2a_rich_message", "0", "1", "")],
    }


def test_billed_rows_dated_after_the_run_started_get_a_warning(tmp_path):
    """A row dated in the future is billed as dated (README "Daily operation": it does not count towards which files
    are final); the summary warns once, for the run that loads it, naming its line (user trial, eighteenth session:
    such rows were billed without a word). A quarantined row dated ahead is not counted: it is not billed."""
    fixture = ROOT / "tests/fixtures/bad_input/good"
    header = (fixture / "messages.csv").read_text(encoding="utf-8").splitlines()[0]
    folder = tmp_path / "messages"
    folder.mkdir()

    def mo(message_id: str, at: str, direction: str = "MO") -> str:
        return f"{message_id},agent-0_conv@rbm.goog,+15550770001,att,{direction},text,hi,,,received,{at},,false"

    (folder / "day1.csv").write_text("\n".join([header, mo("a1", "2025-05-11T10:00:00Z")]) + "\n", encoding="utf-8")
    arguments = ("--messages", str(folder / "*.csv"), "--agents", str(fixture / "agents.csv"),
                 "--output", str(tmp_path / "out"))
    first = run_cli(tmp_path, *arguments)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "dated after the run started" not in first.stderr, first.stderr[-2000:]
    (folder / "day2.csv").write_text("\n".join([
        header, mo("b1", "2025-05-12T10:00:00Z"), mo("b2", "2099-03-04T05:06:07Z"), mo("b3", "2099-01-01T00:00:00Z"),
        mo("b4", "2099-12-31T00:00:00Z", direction="XX"),  # quarantined (invalid_direction): not billed
        mo("b2", "2099-03-04T05:06:07Z"),  # an exact duplicate: counted once
    ]) + "\n", encoding="utf-8")
    second = run_cli(tmp_path, *arguments)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert (f"warning: 2 billed row(s) loaded by this run are dated after the run started (the latest: "
            f"2099-03-04T05:06:07Z, line 3 of {folder / 'day2.csv'})") in second.stderr, second.stderr[-2000:]
    # the rows are billed as dated, in a file dated ahead
    assert ("att", "2099-03-06") in read_reports(tmp_path / "out")
    again = run_cli(tmp_path, *arguments)  # nothing new loaded: nothing to warn about again
    assert again.returncode == 0 and "dated after the run started" not in again.stderr, again.stderr[-2000:]


def test_a_second_run_writing_the_same_output_at_once_stops(tmp_path):
    """Two runs of two databases into one OUTPUT at the same time replaced each other's files without a word, and
    one summary listed files the other had removed. A run holds OUTPUT/.rbm-lock (naming its database) while it
    runs; another run stops before building, naming that database, and leaves OUTPUT as it was."""
    import fcntl

    output = tmp_path / "out"
    output.mkdir()
    with open(output / ".rbm-lock", "w", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("/elsewhere/other.duckdb\n")
        held.flush()
        done = run_cli(tmp_path, "--messages", str(ROOT / "tests/fixtures/messages.csv"), "--agents",
                       str(ROOT / "tests/fixtures/agents.csv"), "--output", str(output))
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"error: another run, of /elsewhere/other.duckdb, is writing OUTPUT {output}; run again when it has" \
           " ended" in done.stderr, done.stderr
    assert sorted(p.name for p in output.iterdir()) == [".rbm-lock"]
    assert not (tmp_path / "rbm.duckdb").exists()
    after = run_cli(tmp_path, "--messages", str(ROOT / "tests/fixtures/messages.csv"), "--agents",
                    str(ROOT / "tests/fixtures/agents.csv"), "--output", str(output))
    assert after.returncode == 0, after.stdout[-2000:] + after.stderr[-2000:]
    # the run's database (run_cli runs it at a path of its own)
    assert (output / ".rbm-lock").read_text(encoding="utf-8").endswith("/rbm.duckdb\n")


def test_the_summary_names_at_most_60_written_files(tmp_path, monkeypatch, capsys):
    """A full rebuild of a year for six carriers writes ~2,000 files: the summary names the first 60 and says how many
    more (report_files.csv lists every file), so the audit and the errors stay on the screen."""
    from datetime import datetime
    from types import SimpleNamespace

    output = tmp_path / "out"
    done = run_cli(tmp_path, "--messages", str(ROOT / "tests/fixtures/messages.csv"), "--agents",
                   str(ROOT / "tests/fixtures/agents.csv"), "--output", str(output))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    monkeypatch.setenv("RBM_DUCKDB_PATH", str(tmp_path / "rbm.duckdb"))
    written = [output / "att" / f"rbm_billable_events_2026-{day // 28 + 1:02d}-{day % 28 + 1:02d}.csv"
               for day in range(61)]
    inputs = SimpleNamespace(activity="", messages=[], delivered_files=lambda: [])
    report.print_summary("duckdb", inputs, written, output, datetime(2026, 1, 1))
    printed = capsys.readouterr().out.splitlines()
    listed = [line.strip() for line in printed if line.startswith("  att/")]
    assert listed == [str(path.relative_to(output)) for path in written[:60]]
    assert printed[printed.index(f"  {written[59].relative_to(output)}") + 1] == \
        "  ... and 1 more (report_files.csv lists every file)"


def test_an_output_lock_that_cannot_be_opened_is_one_line(tmp_path):
    """OUTPUT's lock file cannot be opened (here a folder in its place; in a shared OUTPUT, another user's file): one
    error line naming it, before anything is built."""
    output = tmp_path / "out"
    (output / ".rbm-lock").mkdir(parents=True)
    done = run_cli(tmp_path, "--messages", str(ROOT / "tests/fixtures/messages.csv"), "--agents",
                   str(ROOT / "tests/fixtures/agents.csv"), "--output", str(output))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stderr.startswith(f"error: OUTPUT {output}: its lock file {output / '.rbm-lock'} cannot be opened ("), \
        done.stderr


def test_the_specs_copy_is_the_contract():
    """README links to docs/SPEC.md, a copy of the team's ../shared/SPEC.md (so that the links work in any clone):
    it must not drift from the contract."""
    shared = ROOT.parent / "shared" / "SPEC.md"
    if not shared.exists():
        pytest.skip("no ../shared/SPEC.md beside this clone")
    assert (ROOT / "docs/SPEC.md").read_bytes() == shared.read_bytes()
