"""Daily operation (README): loading one arrival-day file at a time, with rows 2-3 days late and
sessions crossing midnight, gives after every load the same report files, byte for byte, as one
full build of the files loaded so far on a fresh database; a re-run with no new file changes nothing."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, daily_files, run_cli, tampered


def report_bytes(output: Path) -> dict[str, bytes]:
    return {str(p.relative_to(output)): p.read_bytes() for p in sorted(output.glob("*/rbm_billable_events_*.csv"))}


@pytest.fixture(scope="module")
def arrival_files(tmp_path_factory) -> tuple[list[Path], Path]:
    files, agents = daily_files(tmp_path_factory.mktemp("arrivals"), messages=4000, days=3, seed=7)
    assert len(files) >= 4
    return files, agents


def late_rows(path: Path) -> int:
    """Rows of an arrival file sent two or more days before the file's day."""
    day = path.stem.removeprefix("messages_")
    with open(path, newline="", encoding="utf-8") as handle:
        return sum(1 for row in csv.DictReader(handle) if row["sent_at"][:10] < day and
                   (int(day[8:10]) - int(row["sent_at"][8:10])) >= 2)


def stored_rows(database: Path) -> dict[str, list[tuple]]:
    """The per-message tables analysts query (and the stream order every rule uses), sorted."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        return {table: con.sql(f"select * from {table} order by all").fetchall()
                for table in ("int_messages_sequenced", "fct_billable_messages")}


def written_files(stdout: str) -> set[str]:
    """The report files a run wrote, from its summary (listed under "written by this run")."""
    listed = stdout.split("written by this run", 1)[1].split("restated by this run", 1)[0].splitlines()[1:]
    return {line.strip() for line in listed if line.strip()}


def recomputed_files(database: Path) -> set[str]:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        return {path for (path,) in con.sql("select file_path from rpt_report_files where is_recomputed").fetchall()}


def full_build(tmp_path: Path, messages: Path | str, agents: Path, name: str = "full") -> tuple[Path, Path]:
    """One full build of `messages` on a fresh database, what every daily run is compared with: (its report
    folder, its database)."""
    output, database = tmp_path / f"{name}_out", tmp_path / name / "rbm.duckdb"
    done = run_cli(tmp_path, "--messages", str(messages), "--agents", str(agents), "--output", str(output), db=database)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return output, database


def report_lines(output: Path) -> dict[str, list[str]]:
    """Report file path -> its data lines (header left out)."""
    return {path: data.decode().splitlines()[1:] for path, data in report_bytes(output).items()}


def file_statuses(output: Path) -> dict[str, str]:
    """Report file path -> its status (final / provisional) in the run's report_files.csv; {} before any run."""
    manifest = output / "report_files.csv"
    if not manifest.exists():
        return {}
    with open(manifest, newline="", encoding="utf-8") as handle:
        return {row["file_path"]: row["status"] for row in csv.DictReader(handle)}


def period_was_final(statuses: dict[str, str]):
    """From the previous run's manifest statuses: whether a report file's period was final before the run, as
    "true" / "false" (restatements.csv). A file of its carrier of that date or later was final: a later file final
    means the carrier's data had passed this one's date too."""
    newest_final = {}  # carrier -> newest date of a file that was final
    for path, status in statuses.items():
        if status == "final":
            carrier, date = path.split("/")[0], path[-14:-4]
            newest_final[carrier] = max(date, newest_final.get(carrier, date))
    return lambda path: str(path[-14:-4] <= newest_final.get(path.split("/")[0], "")).lower()


def expected_restatements(before: dict[str, list[str]], after: dict[str, list[str]],
                          statuses: dict[str, str]) -> list[dict]:
    """The restatement log rows of one run, recomputed from the report files themselves (README "Daily
    operation"): per file and event, the new rows that are not an exact old row and the old rows that are not an
    exact new row; as many of them as both sides have are changed, the new ones beyond are added, the old ones
    beyond removed. A file is logged when anything differs. Its period_was_final comes from the statuses before
    the run (helper period_was_final)."""
    logged = []
    was_final = period_was_final(statuses)
    for path in sorted(set(before) | set(after)):
        old_events, new_events = {}, {}
        for events, lines in ((old_events, before.get(path, [])), (new_events, after.get(path, []))):
            for line in lines:
                events.setdefault(line.split(",", 1)[0], []).append(line)
        added = removed = changed = 0
        for event in set(old_events) | set(new_events):
            unmatched_old, unmatched_new = list(old_events.get(event, [])), []
            for line in new_events.get(event, []):
                if line in unmatched_old:
                    unmatched_old.remove(line)
                else:
                    unmatched_new.append(line)
            rewritten = min(len(unmatched_old), len(unmatched_new))
            changed += rewritten
            added += len(unmatched_new) - rewritten
            removed += len(unmatched_old) - rewritten
        rows_before, rows_after = len(before.get(path, [])), len(after.get(path, []))
        if added + removed + changed:
            kind = "new_file" if rows_before == 0 else "file_removed" if rows_after == 0 else "restated"
            logged.append(dict(file_path=path, change_kind=kind, rows_added=str(added), rows_removed=str(removed),
                               rows_changed=str(changed), rows_before=str(rows_before), rows_after=str(rows_after),
                               status_before=statuses.get(path, ""),
                               period_was_final=was_final(path)))
    return logged


def test_incremental_loads_equal_full_builds(tmp_path, arrival_files):
    files, agents = arrival_files
    assert sum(late_rows(f) for f in files) > 0, "the fixture must hold rows arriving 2+ days late"
    landing = tmp_path / "landing"
    landing.mkdir()
    incremental_db, incremental_out = tmp_path / "daily" / "rbm.duckdb", tmp_path / "daily_out"
    restated_total = 0
    logged_before: list[dict] = []
    skipped_any = rewritten_alike = False
    for count, path in enumerate(files, start=1):
        published = report_lines(incremental_out) if incremental_out.exists() else {}
        statuses = file_statuses(incremental_out)
        shutil.copy(path, landing / path.name)
        daily = run_cli(tmp_path, "--messages", str(landing / "*.csv"), "--agents", str(agents),
                        "--output", str(incremental_out), db=incremental_db)
        assert daily.returncode == 0, daily.stdout[-2000:] + daily.stderr[-2000:]
        assert "full rebuild" not in daily.stdout
        # The restatement log of this run agrees with the files it rewrote (the first build restates nothing).
        with open(incremental_out / "restatements.csv", newline="") as handle:
            logged = list(csv.DictReader(handle))
        this_run = [{k: v for k, v in row.items() if k != "restated_at"} for row in logged[len(logged_before):]]
        # The model's counts add up (README "Daily operation"), whatever the oracle says.
        assert all(int(row["rows_after"]) == int(row["rows_before"]) + int(row["rows_added"]) - int(row["rows_removed"])
                   for row in this_run), this_run
        expected = expected_restatements(published, report_lines(incremental_out), statuses) if count > 1 else []
        assert this_run == expected, f"restatements of load {count}"
        logged_before = logged
        # A daily run writes again exactly the files it recomputed rows of or restated (rpt_report_files), so every
        # file it restated; the first build writes every file.
        # ... and of those the files whose bytes changed are listed as written, the others left as they were.
        written, now = written_files(daily.stdout), report_lines(incremental_out)
        assert {row["file_path"] for row in this_run if row["change_kind"] != "file_removed"} <= written
        if count == 1:
            assert written == set(now)
        else:
            recomputed = recomputed_files(incremental_db)
            assert written == {path for path in recomputed if published.get(path) != now.get(path)}, \
                f"files written by load {count}"
            assert {path: mtimes[path] for path in set(now) - written} == {
                path: (incremental_out / path).stat().st_mtime_ns for path in set(now) - written}
            rewritten_alike = rewritten_alike or bool(recomputed - written)
        mtimes = {path: (incremental_out / path).stat().st_mtime_ns for path in now}
        skipped_any = skipped_any or len(written) < len(now)

        full_out, full_db = full_build(tmp_path, landing / "*.csv", agents, name=f"full{count}")
        assert report_bytes(incremental_out) == report_bytes(full_out), f"after loading {count} file(s)"
        assert (incremental_out / "report_files.csv").read_bytes() == (full_out / "report_files.csv").read_bytes()
        # Not only the printed lines: every stored billed row, stream_seq included (numbered after the kept rows).
        assert stored_rows(incremental_db) == stored_rows(full_db), f"stored rows after loading {count} file(s)"
        with open(incremental_out / "restatements.csv", newline="") as handle:
            restated_total = sum(1 for _ in csv.DictReader(handle))
    assert restated_total > 0, "late rows and midnight-crossing sessions must restate published files"
    assert skipped_any, "some daily run must leave a file it did not change in place"
    assert rewritten_alike, "some daily run must recompute a file whose bytes stay the same"

    # A re-run with no new file: identical files, left as they were (the side files too), nothing restated.
    before = {p: p.read_bytes() for p in incremental_out.rglob("*.csv")}
    before_mtimes = {p: p.stat().st_mtime_ns for p in before}
    again = run_cli(tmp_path, "--messages", str(landing / "*.csv"), "--agents", str(agents),
                    "--output", str(incremental_out), db=incremental_db)
    assert again.returncode == 0
    assert "restated by this run: 0 published file(s)" in again.stdout
    assert "written by this run 0," in again.stdout
    assert {p: p.read_bytes() for p in incremental_out.rglob("*.csv")} == before
    assert {p: p.stat().st_mtime_ns for p in incremental_out.rglob("*.csv")} == before_mtimes


def test_changed_agents_file_forces_a_full_rebuild(tmp_path, arrival_files):
    files, agents = arrival_files
    database, output = tmp_path / "rbm.duckdb", tmp_path / "out"
    first = run_cli(tmp_path, "--messages", str(files[0]), "--agents", str(agents), "--output", str(output), db=database)
    assert first.returncode == 0 and "full rebuild" not in first.stdout
    changed = tmp_path / "agents.csv"
    text = agents.read_text(encoding="utf-8")
    changed.write_text(text.replace("non_conversational", "conversational"), encoding="utf-8")
    published, statuses = report_lines(output), file_statuses(output)
    second = run_cli(tmp_path, "--messages", str(files[0]), "--agents", str(changed), "--output", str(output),
                     db=database)
    assert second.returncode == 0
    assert "full rebuild: the agents or carriers file changed since the previous run\n" in second.stdout
    # A full rebuild compares every published row: its restatement log matches the files it rewrote.
    with open(output / "restatements.csv", newline="") as handle:
        logged = [{k: v for k, v in row.items() if k != "restated_at"} for row in csv.DictReader(handle)]
    assert logged and logged == expected_restatements(published, report_lines(output), statuses)
    # The rebuild says which part changed (rbm/state.py FINGERPRINT_PARTS).
    salted = run_cli(tmp_path, "--messages", str(files[0]), "--agents", str(changed), "--output", str(output),
                     db=database, env={"BILLING_SALT": "another-salt"})
    assert salted.returncode == 0
    assert "full rebuild: the salt (BILLING_SALT) changed since the previous run\n" in salted.stdout


def test_report_files_are_written_again_when_not_as_the_previous_run_left_them(tmp_path, arrival_files):
    """A run skips a report file it did not change only when the previous run wrote it into the same folder and
    it is still on disk as it was (size, modification time); otherwise it writes it again, and a file written
    again with the bytes it had is left as it was (only a changed file counts as written). Where the record is
    not trusted, a file changed by hand with its size and modification time kept is corrected."""
    files, agents = arrival_files
    database, output = tmp_path / "rbm.duckdb", tmp_path / "out"
    arguments = ("--messages", str(files[0]), "--agents", str(agents))
    assert run_cli(tmp_path, *arguments, "--output", str(output), db=database).returncode == 0
    published = report_bytes(output)
    assert len(published) >= 4
    edited, shortened, deleted, *kept = sorted(published)
    (output / edited).write_bytes(published[edited].replace(b",", b";", 1))  # same size, new mtime
    (output / shortened).write_bytes(published[shortened][:-1])
    (output / deleted).unlink()
    kept_mtimes = {name: (output / name).stat().st_mtime_ns for name in kept}

    again = run_cli(tmp_path, *arguments, "--output", str(output), db=database)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert report_bytes(output) == published
    assert f"written by this run 3, unchanged since the previous run {len(kept)}" in again.stdout
    assert {name: (output / name).stat().st_mtime_ns for name in kept} == kept_mtimes

    other = tmp_path / "other"
    elsewhere = run_cli(tmp_path, *arguments, "--output", str(other), db=database)
    assert elsewhere.returncode == 0
    assert report_bytes(other) == published and "unchanged since the previous run 0" in elsewhere.stdout

    # The record is taken out of the state before a build (a run failing after its build leaves none): without
    # it, every file is written.
    from rbm import state

    assert state.take_export(database) is not None
    assert "exported" not in json.loads(state.state_file(database).read_text())
    first = sorted(published)[0]
    tampered(other, first)
    after_failure = run_cli(tmp_path, *arguments, "--output", str(other), db=database)
    assert after_failure.returncode == 0, after_failure.stdout[-2000:] + after_failure.stderr[-2000:]
    assert f"written by this run 1, unchanged since the previous run {len(published) - 1}\n  {first}\n" \
        in after_failure.stdout, after_failure.stdout[-2000:]
    assert report_bytes(other) == published

    # The record holds only for the database file as the run left it: not for a copy put back in its place (a
    # restored backup), nor for a new database beside the old state file, built from other rows.
    assert run_cli(tmp_path, *arguments, "--output", str(other), db=database).returncode == 0
    shutil.copy(database, tmp_path / "backup.duckdb")
    shutil.move(tmp_path / "backup.duckdb", database)
    tampered(other, first)
    restored = run_cli(tmp_path, *arguments, "--output", str(other), db=database)
    assert restored.returncode == 0 and "written by this run 1," in restored.stdout, restored.stdout[-2000:]
    assert report_bytes(other) == published
    database.unlink()
    assert state.state_file(database).exists()
    other_rows = run_cli(tmp_path, "--messages", str(files[1]), "--agents", str(agents), "--output", str(other),
                         db=database)
    assert other_rows.returncode == 0, other_rows.stdout[-2000:] + other_rows.stderr[-2000:]
    expected = report_bytes(full_build(tmp_path, files[1], agents)[0])
    assert report_bytes(other) == expected
    first = sorted(expected)[0]

    # A full build that the run script does not ask for (dbt reads --full-refresh from DBT_FULL_REFRESH too)
    # recomputes every file: every file is written.
    tampered(other, first)
    forced = run_cli(tmp_path, "--messages", str(files[1]), "--agents", str(agents), "--output", str(other),
                     db=database, env={"DBT_FULL_REFRESH": "1"})
    assert forced.returncode == 0 and "written by this run 1," in forced.stdout, forced.stdout[-3000:]
    assert report_bytes(other) == expected


def session_rows(message_id: str, direction: str, text: str, minute: int) -> str:
    """A message row of one conversational US stream on 2025-05-11 (bad_input fixture agents)."""
    at = f"2025-05-11T10:{minute:02d}:00Z"
    status, delivered = ("delivered", at) if direction == "MT" else ("received", "")
    return f"{message_id},agent-0_conv@rbm.goog,+15550770001,att,{direction},text,{text},,,{status},{at},{delivered},false"


MESSAGES_HEADER = (ROOT / "tests/fixtures/bad_input/good/messages.csv").read_text(encoding="utf-8").splitlines()[0]
BAD_INPUT_AGENTS = ROOT / "tests/fixtures/bad_input/good/agents.csv"


def two_day_session_run(tmp_path: Path, day_1: list[str], day_2: list[str]):
    """Day 1 loaded, then day 2 added: the published lines, the lines after, the second run, and a full build's
    report files of both days."""
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "messages_2025-05-11.csv").write_text("\n".join([MESSAGES_HEADER, *day_1]) + "\n", encoding="utf-8")
    database, output = tmp_path / "rbm.duckdb", tmp_path / "out"
    arguments = ("--messages", str(landing / "*.csv"), "--agents", str(BAD_INPUT_AGENTS), "--output", str(output))
    first = run_cli(tmp_path, *arguments, db=database)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    published, statuses = report_lines(output), file_statuses(output)
    (landing / "messages_2025-05-12.csv").write_text("\n".join([MESSAGES_HEADER, *day_2]) + "\n", encoding="utf-8")
    second = run_cli(tmp_path, *arguments, db=database)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert "full rebuild" not in second.stdout
    full_out, _ = full_build(tmp_path, landing / "*.csv", BAD_INPUT_AGENTS)
    return published, report_lines(output), second, report_bytes(full_out), report_bytes(output), statuses


def test_a_file_whose_rows_only_change_order_is_written_again(tmp_path):
    """Day 2 quarantines MO m3 (a conflicting duplicate arrives) and adds a late one-segment MO m6 after m4: the
    session keeps the same rows, [A, MT, A, B, MT] become [A, MT, B, A, MT]. Nothing is restated (rows are
    matched as a set), yet the file's bytes change: the run writes it again since it recomputed its rows."""
    long_text = "x" * 200
    day_1 = [session_rows("m1", "MO", "hi", 0), session_rows("m2", "MT", "hello", 1),
             session_rows("m3", "MO", "ok", 2), session_rows("m4", "MO", long_text, 3),
             session_rows("m5", "MT", "bye", 10)]
    day_2 = [session_rows("m3", "MO", "changed", 2), session_rows("m6", "MO", "ok", 5)]
    published, after, second, full, written, _ = two_day_session_run(tmp_path, day_1, day_2)
    assert published != after and sorted(published.values()) != sorted(after.values())
    assert [sorted(lines) for lines in published.values()] == [sorted(lines) for lines in after.values()]
    assert "restated by this run: 0 published file(s)" in second.stdout
    assert written == full


def test_restatement_counts_add_up_when_a_late_message_starts_a_session(tmp_path):
    """Three single events (MO, MT, MO) become one session of four rows when a late MO arrives. The session's
    event is the first message's: its row is rewritten (changed 1) and it gains three rows (added 3); the other
    two events leave the file (removed 2). 3 + 3 - 2 = 4 rows after (README "Daily operation")."""
    day_1 = [session_rows("m1", "MO", "hi", 0), session_rows("m2", "MT", "hello", 1),
             session_rows("m3", "MO", "ok", 2)]
    day_2 = [session_rows("m4", "MO", "thanks", 3)]
    published, after, _, full, written, statuses = two_day_session_run(tmp_path, day_1, day_2)
    assert [len(rows) for rows in published.values()] == [3] and [len(rows) for rows in after.values()] == [4]
    with open(tmp_path / "out" / "restatements.csv", newline="") as handle:
        logged = [{k: v for k, v in row.items() if k != "restated_at"} for row in csv.DictReader(handle)]
    assert [(row["change_kind"], row["rows_added"], row["rows_removed"], row["rows_changed"], row["rows_before"],
             row["rows_after"]) for row in logged] == [("restated", "3", "2", "1", "3", "4")]
    assert logged == expected_restatements(published, after, statuses)
    assert written == full


def test_a_late_run_that_swaps_one_row_of_a_session_for_another_is_a_restatement(tmp_path):
    """rpt_restatements matches rows by event and exact content, copies counted. A session that keeps its totals
    (first and last time, MT and MO counts) while one of its rows turns into a copy of another row is changed:
    day 2 quarantines MO m3 (a conflicting duplicate arrives) and adds a late two-segment MO m6, so the rows
    [A, MT, A, B, MT] become [A, MT, B, B, MT] (A: one-segment MO, B: two-segment MO)."""
    long_text = "x" * 200
    day_1 = [session_rows("m1", "MO", "hi", 0), session_rows("m2", "MT", "hello", 1),
             session_rows("m3", "MO", "ok", 2), session_rows("m4", "MO", long_text, 3),
             session_rows("m5", "MT", "bye", 10)]
    day_2 = [session_rows("m3", "MO", "changed", 2), session_rows("m6", "MO", long_text, 5)]
    published, after, second, full, written, statuses = two_day_session_run(tmp_path, day_1, day_2)
    assert [len(rows) for rows in published.values()] == [5]
    assert sorted(published) == sorted(after) and published != after and written == full
    with open(tmp_path / "out" / "restatements.csv", newline="") as handle:
        logged = [{k: v for k, v in row.items() if k != "restated_at"} for row in csv.DictReader(handle)]
    expected = expected_restatements(published, after, statuses)
    assert [(e["change_kind"], e["rows_added"], e["rows_removed"], e["rows_changed"]) for e in expected] == [
        ("restated", "0", "0", "1")]
    assert logged == expected


def test_a_corrected_copy_under_a_new_name_and_a_restated_final_file_are_warned_of(tmp_path):
    """Finance review (eleventh session): a corrected row delivered in a new file shares its message_id with the
    row loaded before but not its content, so SPEC §7 quarantines both copies and the message leaves the bill,
    with exit 0 and no word of it; and the run changed a file marked final (perhaps invoiced) without saying so.
    The run now warns of both (README "Daily operation": replace the file and run FULL_REFRESH=1), the summary
    counts the published files restated apart from new ones, and the log says the file was final."""
    day_1 = [session_rows("m1", "MO", "hi", 0), session_rows("m2", "MT", "hello", 1),
             session_rows("m3", "MO", "ok", 2), session_rows("m4", "MO", "fine", 3),
             # another user's MO two days later: att's data reaches 2025-05-13, so that file is final
             "late,agent-0_conv@rbm.goog,+15550770002,att,MO,text,hi,,,received,2025-05-13T09:00:00Z,,false"]
    day_2 = [session_rows("m2", "MT", "hello again", 1),
             # a row two days late opens a file (2025-05-11) of a period already final
             "early,agent-0_conv@rbm.goog,+15550770003,att,MO,text,hi,,,received,2025-05-09T09:00:00Z,,false"]
    published, after, second, full, written, statuses = two_day_session_run(tmp_path, day_1, day_2)
    assert statuses["att/rbm_billable_events_2025-05-13.csv"] == "final"
    landing = tmp_path / "landing"
    assert (f"warning: 1 message_id(s) of this run's files are in another file too, with other content "
            f"(e.g. line 2 of {landing / 'messages_2025-05-12.csv'} and line 3 of {landing / 'messages_2025-05-11.csv'}"
            ", which differ in text)" in second.stderr), second.stderr
    assert "replace the file it corrects (same name) and run FULL_REFRESH=1" in second.stderr
    assert "nothing in" not in second.stderr  # the conflict's own warning says what to do
    assert ("warning: this run changed 1 report file(s) that were final "
            "(e.g. att/rbm_billable_events_2025-05-13.csv)") in second.stderr
    assert ("restated by this run: 1 published file(s) (1 of them final before this run), 1 new file(s)"
            in second.stdout), second.stdout
    assert ("warning: this run wrote 1 new report file(s) for a period already final (e.g. "
            "att/rbm_billable_events_2025-05-11.csv)") in second.stderr, second.stderr
    assert "  att/rbm_billable_events_2025-05-13.csv: restated, rows added 2, removed 3, changed 1  (was final)" \
        in second.stdout, second.stdout
    assert (f"  {landing / 'messages_2025-05-12.csv'}: 1 of 2 row(s): conflicting_duplicate_message_id 1 "
            "(first at line 2)") in second.stdout
    with open(tmp_path / "out" / "restatements.csv", newline="") as handle:
        logged = [{k: v for k, v in row.items() if k != "restated_at"} for row in csv.DictReader(handle)]
    assert logged == expected_restatements(published, after, statuses)
    assert [(row["file_path"], row["status_before"], row["period_was_final"]) for row in logged] == [
        ("att/rbm_billable_events_2025-05-11.csv", "", "true"),
        ("att/rbm_billable_events_2025-05-13.csv", "final", "true")]
    assert written == full



def test_a_late_copy_with_a_defect_of_its_own_is_warned_of_as_a_conflict(tmp_path):
    """Review (fourteenth session): a copy of a billed message arrives with a bad sent_at. It is quarantined for
    that, and the copy loaded before as the conflicting duplicate (SPEC §7): the session loses a message, and the
    daily run said nothing of the conflict (the warning looked only for a conflicting copy loaded by this run)."""
    day_1 = [session_rows("m1", "MO", "hi", 0), session_rows("m2", "MT", "hello", 1),
             session_rows("m3", "MO", "ok", 2), session_rows("m4", "MO", "fine", 3)]
    day_2 = [session_rows("m3", "MO", "ok", 2).replace("2025-05-11T10:02:00Z", "garbage")]
    _, _, second, full, written, _ = two_day_session_run(tmp_path, day_1, day_2)
    landing = tmp_path / "landing"
    assert (f"warning: 1 message_id(s) of this run's files are in another file too, with other content "
            f"(e.g. line 2 of {landing / 'messages_2025-05-12.csv'} and line 4 of {landing / 'messages_2025-05-11.csv'}"
            ", which differ in sent_at)" in second.stderr), second.stderr
    assert written == full

# Runs scripts/rbm.py with a dbt build that stops after staging: it builds stg_messages (loading the new files),
# then reports a failure, as a build does that fails or is stopped half-way.
BUILD_STOPPED_AFTER_STAGING = """
import runpy, sys
sys.path.insert(0, sys.argv[1])
from rbm import report
build = report.run_dbt
def stopped(args, *rest, **options):
    build(["build", "--select", "stg_messages", *[a for a in args if a == "--full-refresh"]], *rest, **options)
    return False
report.run_dbt = stopped
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def first_day_built(tmp_path: Path, arrival_files) -> tuple[tuple[str, ...], Path, Path, Path]:
    """The first arrival day landed and built into a database: (the run's arguments, the database, the report
    folder, the landing folder)."""
    files, agents = arrival_files
    landing, database, output = tmp_path / "landing", tmp_path / "rbm.duckdb", tmp_path / "out"
    landing.mkdir()
    shutil.copy(files[0], landing / files[0].name)
    arguments = ("--messages", str(landing / "*.csv"), "--agents", str(agents), "--output", str(output))
    assert run_cli(tmp_path, *arguments, db=database).returncode == 0
    return arguments, database, output, landing


def second_day_landed(tmp_path: Path, arrival_files) -> tuple[tuple[str, ...], Path, Path]:
    """The first arrival day built into a database, the second day's file then landed beside it: (the run's
    arguments, the database, the report folder)."""
    arguments, database, output, landing = first_day_built(tmp_path, arrival_files)
    files = arrival_files[0]
    shutil.copy(files[1], landing / files[1].name)
    return arguments, database, output


def test_a_build_that_stopped_half_way_is_followed_by_a_full_rebuild(tmp_path, arrival_files):
    """A build that loaded a new file and then failed leaves its rows staged but never billed; the next run must
    not take them for rows already billed (it would never recompute their streams): it rebuilds in full."""
    files, agents = arrival_files
    arguments, database, output = second_day_landed(tmp_path, arrival_files)
    stopped = subprocess.run(
        [sys.executable, "-c", BUILD_STOPPED_AFTER_STAGING, str(ROOT), str(ROOT / "scripts/rbm.py"), "run", *arguments],
        cwd=ROOT, env=dict(os.environ, RBM_DUCKDB_PATH=str(database)), capture_output=True, text=True,
    )
    assert stopped.returncode == 1 and "the dbt build failed" in stopped.stderr, stopped.stdout[-2000:] + stopped.stderr

    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(f"select count(*) from stg_messages where source_file like '%{files[1].name}'").fetchone()[0]

    resumed = run_cli(tmp_path, *arguments, db=database)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "full rebuild: the previous run's build did not complete" in resumed.stdout
    full_out, full_db = full_build(tmp_path, arguments[1], agents)
    assert report_bytes(output) == report_bytes(full_out)
    assert stored_rows(database) == stored_rows(full_db)


def restatement_log(output: Path) -> list[dict]:
    """restatements.csv without the run times."""
    with open(output / "restatements.csv", newline="", encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if k != "restated_at"} for row in csv.DictReader(handle)]


@pytest.mark.parametrize("stopped_after", ["+int_report_restatements", "+fct_report_rows"])
def test_a_build_stopped_half_way_logs_each_change_once(tmp_path, arrival_files, stopped_after):
    """A daily run whose build stopped half way (killed, out of memory, a guard failing) published nothing. Stopped
    after computing its restatements, before its report rows were replaced: before the twenty-second session its
    restatements stayed in the log and the next run logged the same change again. Stopped after the report rows
    were replaced: the log has the change already, and the next run compares with those rows (an attempt to append
    the log last lost the change then). The log is appended in the transaction that replaces the report rows
    (macro log_restatements), so either way it ends as a run that never stopped leaves it."""
    (tmp_path / "stopped").mkdir()
    (tmp_path / "clean").mkdir()
    arguments, database, output = second_day_landed(tmp_path / "stopped", arrival_files)
    stopped = subprocess.run(
        [sys.executable, "-c", BUILD_STOPPED_AFTER_STAGING.replace('"stg_messages"', f'"{stopped_after}"'),
         str(ROOT), str(ROOT / "scripts/rbm.py"), "run", *arguments],
        cwd=ROOT, env=dict(os.environ, RBM_DUCKDB_PATH=str(database)), capture_output=True, text=True,
    )
    assert stopped.returncode == 1 and "the dbt build failed" in stopped.stderr, stopped.stdout[-2000:] + stopped.stderr
    resumed = run_cli(tmp_path / "stopped", *arguments, db=database)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    clean_arguments, clean_database, clean_output = second_day_landed(tmp_path / "clean", arrival_files)
    clean = run_cli(tmp_path / "clean", *clean_arguments, db=clean_database)
    assert clean.returncode == 0, clean.stdout[-2000:] + clean.stderr[-2000:]
    assert restatement_log(clean_output), "the second day restates nothing: the test shows nothing"
    assert restatement_log(output) == restatement_log(clean_output)


def test_a_build_that_failed_before_writing_to_the_database_needs_no_full_rebuild(tmp_path, arrival_files):
    """A run that could not open the database (another process holds it) stops before the build (rbm.py
    database_problem) and changes nothing: the next run is incremental again, and right."""
    arguments, database, output = second_day_landed(tmp_path, arrival_files)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True);"
         " time.sleep(600)", str(database)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        locked = run_cli(tmp_path, *arguments, db=database)
    finally:
        holder.kill()
        holder.wait()
    assert locked.returncode == 2 and "is held by another process" in locked.stderr, locked.stdout[-2000:]
    resumed = run_cli(tmp_path, *arguments, db=database)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "full rebuild" not in resumed.stdout
    assert report_bytes(output) == report_bytes(full_build(tmp_path, arguments[1], arrival_files[1])[0])


def test_an_unreadable_state_file_means_a_full_rebuild(tmp_path, arrival_files):
    files, agents = arrival_files
    database, output = tmp_path / "rbm.duckdb", tmp_path / "out"
    arguments = ("--messages", str(files[0]), "--agents", str(agents), "--output", str(output))
    assert run_cli(tmp_path, *arguments, db=database).returncode == 0
    from rbm import state

    state.state_file(database).write_text('{"fingerprint": "ab', encoding="utf-8")  # a write cut short
    again = run_cli(tmp_path, *arguments, db=database)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "full rebuild: the record of the previous run" in again.stdout
    assert "full rebuild" not in run_cli(tmp_path, *arguments, db=database).stdout


@pytest.mark.parametrize("exported", [[], "x", {"files": []}, {"files": {"a.csv": 3}}, {"files": {"a.csv": [1]}},
                                      {"files": {"a.csv": ["1", 2]}}])
def test_a_record_of_exported_files_of_another_shape_is_no_record(tmp_path, exported):
    """Audit, twenty-third session: a state file that is valid JSON, with `"exported"` of another shape (edited by
    hand), stopped the run with a traceback. It is no record: every report file is written."""
    import json

    from rbm import state

    database = tmp_path / "rbm.duckdb"
    database.write_bytes(b"")
    identity = state.database_identity(database)
    if isinstance(exported, dict):
        exported = dict(exported, database=identity)
    state.state_file(database).write_text(json.dumps({"exported": exported}), encoding="utf-8")
    assert state.take_export(database) is None
    good = {"database": identity, "files": {"a.csv": [1, 2]}}
    state.state_file(database).write_text(json.dumps({"exported": good}), encoding="utf-8")
    assert state.take_export(database) == good


def test_a_second_run_on_the_same_database_stops_and_changes_nothing(tmp_path, arrival_files):
    """Two overlapping runs on one database (a cron job outlasting its interval): the second stops at once with a
    clear error and touches neither the state nor the reports."""
    import fcntl

    from rbm import state

    files, agents = arrival_files
    database, output = tmp_path / "rbm.duckdb", tmp_path / "out"
    arguments = ("--messages", str(files[0]), "--agents", str(agents), "--output", str(output))
    assert run_cli(tmp_path, *arguments, db=database).returncode == 0
    saved, published = state.state_file(database).read_bytes(), report_bytes(output)
    with open(state.lock_file(database), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run in progress holds it
        second = run_cli(tmp_path, *arguments, db=database)
    assert second.returncode == 2 and "another run on" in second.stderr and "in progress" in second.stderr
    assert state.state_file(database).read_bytes() == saved and report_bytes(output) == published
    assert run_cli(tmp_path, *arguments, db=database).returncode == 0  # the lock goes with the run holding it


def test_a_full_rebuild_that_would_drop_files_loaded_before_stops(tmp_path, arrival_files):
    """A full rebuild reads only the run's files. When one is needed (here: the agents file changed) and a file
    an earlier run loaded is no longer where it was loaded from (archived out of the landing folder), the run
    stops before building, names the file and leaves the reports; FULL_REFRESH=1 (--full-refresh) rebuilds
    anyway."""
    files, agents = arrival_files
    landing, database, output = tmp_path / "landing", tmp_path / "rbm.duckdb", tmp_path / "out"
    landing.mkdir()
    for path in files[:2]:
        shutil.copy(path, landing / path.name)
        assert run_cli(tmp_path, "--messages", str(landing / "*.csv"), "--agents", str(agents), "--output",
                       str(output), db=database).returncode == 0
    (landing / files[0].name).rename(tmp_path / files[0].name)  # archived
    changed = tmp_path / "agents.csv"
    changed.write_text(agents.read_text(encoding="utf-8").replace("non_conversational", "conversational"),
                       encoding="utf-8")
    published = {p: p.read_bytes() for p in output.rglob("*.csv")}
    arguments = ("--messages", str(landing / "*.csv"), "--agents", str(changed), "--output", str(output))
    stopped = run_cli(tmp_path, *arguments, db=database)
    assert stopped.returncode == 2, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    assert "no longer where they were loaded from" in stopped.stderr and str(landing / files[0].name) in stopped.stderr
    assert {p: p.read_bytes() for p in output.rglob("*.csv")} == published
    forced = run_cli(tmp_path, *arguments, "--full-refresh", db=database)
    assert forced.returncode == 0, forced.stdout[-2000:] + forced.stderr[-2000:]
    assert report_bytes(output) == report_bytes(full_build(tmp_path, landing / "*.csv", changed)[0])


def test_rows_appended_to_a_file_already_loaded_stop_the_run(tmp_path, arrival_files):
    """A file is loaded once (README "Daily operation"): rows appended to it after a run loaded it would never be
    read. The next run stops before building and names the file; FULL_REFRESH=1 loads every file again."""
    files, agents = arrival_files
    arguments, database, output, landing = first_day_built(tmp_path, arrival_files)
    header, *rows = files[1].read_text(encoding="utf-8").splitlines(keepends=True)
    with open(landing / files[0].name, "a", encoding="utf-8") as handle:
        handle.writelines(rows[:5])
    published = {p: p.read_bytes() for p in output.rglob("*.csv")}
    stopped = run_cli(tmp_path, *arguments, db=database)
    assert stopped.returncode == 2, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    assert "changed since a run loaded them" in stopped.stderr and files[0].name in stopped.stderr
    assert {p: p.read_bytes() for p in output.rglob("*.csv")} == published
    forced = run_cli(tmp_path, *arguments, "--full-refresh", db=database)
    assert forced.returncode == 0, forced.stdout[-2000:] + forced.stderr[-2000:]
    assert report_bytes(output) == report_bytes(full_build(tmp_path, landing / "*.csv", agents)[0])
    assert run_cli(tmp_path, *arguments, db=database).returncode == 0  # sizes recorded again by the full rebuild


def test_a_file_edited_in_place_at_the_same_size_stops_the_run(tmp_path, arrival_files):
    """Finance review (eleventh session): one delivered_at edited in a file already loaded, at the same byte count,
    was ignored (exit 0, the bill kept the old time), since only the size was compared. The SHA-256 taken when the
    file was loaded now tells it, read again only when the modification time moved: the same file copied again
    unchanged (a new modification time) passes and changes nothing."""
    files, agents = arrival_files
    arguments, database, output, landing = first_day_built(tmp_path, arrival_files)
    loaded = landing / files[0].name
    content = loaded.read_bytes()
    published = report_bytes(output)
    loaded.write_bytes(content)  # copied again: same bytes, a later modification time
    later = loaded.stat().st_mtime_ns + 5 * 10**9
    os.utime(loaded, ns=(later, later))
    copied = run_cli(tmp_path, *arguments, db=database)
    assert copied.returncode == 0, copied.stdout[-2000:] + copied.stderr[-2000:]
    assert report_bytes(output) == published
    text = content.decode("utf-8")
    row = next(r for r in csv.DictReader(text.splitlines()) if r["delivered_at"][11:13] < "20")
    was = row["delivered_at"]  # three hours later, written with as many bytes
    now = was[:11] + f"{int(was[11:13]) + 3:02d}" + was[13:]
    loaded.write_bytes(text.replace(was, now, 1).encode("utf-8"))
    assert len(loaded.read_bytes()) == len(content)
    os.utime(loaded, ns=(later + 10**9, later + 10**9))
    stopped = run_cli(tmp_path, *arguments, db=database)
    assert stopped.returncode == 2, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    assert "same size" in stopped.stderr and files[0].name in stopped.stderr, stopped.stderr
    assert "FULL_REFRESH=1" in stopped.stderr
    assert report_bytes(output) == published


def gzipped(path: Path, content: bytes, level: int, stamp: int) -> list:
    """Writes content gzipped at `level` with the time stamp `stamp` in its header; returns its [size, mtime]."""
    import gzip

    path.write_bytes(gzip.compress(content, compresslevel=level, mtime=stamp))
    os.utime(path, ns=(stamp * 10**9, stamp * 10**9))
    return [path.stat().st_size, path.stat().st_mtime_ns]


def test_a_gzip_file_compressed_again_with_the_same_rows_is_not_a_change(tmp_path, arrival_files):
    """A loaded `.csv.gz` compressed again (another gzip time stamp and level: other bytes and another size, as a
    landing folder synced from a server that compresses on the fly gets) stopped the daily run as a changed file.
    Its record now holds the SHA-256 of its decompressed content (state.GZIP_CONTENT): the same rows pass and change
    no report; a row edited in it still stops the run, naming the file."""
    files, agents = arrival_files
    landing, database, output = tmp_path / "landing", tmp_path / "rbm.duckdb", tmp_path / "out"
    landing.mkdir()
    content = files[0].read_bytes()
    loaded = landing / (files[0].name + ".gz")
    gzipped(loaded, content, level=9, stamp=1_700_000_000)
    arguments = ("--messages", str(landing / "*.csv.gz"), "--agents", str(agents), "--output", str(output))
    assert run_cli(tmp_path, *arguments, db=database).returncode == 0
    published = report_bytes(output)
    size = loaded.stat().st_size
    assert gzipped(loaded, content, level=1, stamp=1_700_000_100)[0] != size
    again = run_cli(tmp_path, *arguments, db=database)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "full rebuild" not in again.stdout and report_bytes(output) == published
    text = content.decode("utf-8")
    row = next(r for r in csv.DictReader(text.splitlines()) if r["direction"] == "MT")
    gzipped(loaded, text.replace(row["message_id"], row["message_id"] + "x", 1).encode("utf-8"),
            level=1, stamp=1_700_000_200)
    stopped = run_cli(tmp_path, *arguments, db=database)
    assert stopped.returncode == 2, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    assert "its decompressed content changed" in stopped.stderr and loaded.name in stopped.stderr, stopped.stderr
    assert report_bytes(output) == published


def test_a_gzip_files_record_of_an_earlier_version_compares_its_bytes(tmp_path):
    """A state file written before 2026-12-01 holds the SHA-256 of a gzip file's bytes: the file is compared by
    them (another size, or other bytes at the same size, are a change, and the error says FULL_REFRESH=1 loads a
    file only compressed again), and its record takes the hash of its decompressed content once the file is found
    as it was loaded. A record without a hash (before 2026-11-30) takes it too; a hash that is not text counts as
    none."""
    import hashlib

    from rbm import state

    path, name = tmp_path / "messages_2026-11-01.csv.gz", str(tmp_path / "messages_2026-11-01.csv.gz")
    content = b"message_id\n" + b"".join(b"m%d,%d\n" % (i, i * i % 997) for i in range(2000))
    stat = gzipped(path, content, level=9, stamp=1_700_000_000)
    old = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = state.content_hash(name)
    assert rows == state.GZIP_CONTENT + hashlib.sha256(content).hexdigest()
    assert state.changed_loaded_files({name: [*stat, old]}, {name: stat}) == ([], {name: [*stat, rows]})
    moved = [stat[0], stat[1] + 10**9]
    os.utime(path, ns=(moved[1], moved[1]))
    assert state.changed_loaded_files({name: [*stat, old]}, {name: moved}) == ([], {name: [*moved, rows]})
    for no_hash in (None, 12345):
        assert state.changed_loaded_files({name: [stat[0], None, no_hash]}, {name: moved}) == (
            [], {name: [*moved, rows]})
    restamped = gzipped(path, content, level=9, stamp=1_700_000_100)
    assert restamped[0] == stat[0]
    changed, _ = state.changed_loaded_files({name: [*stat, old]}, {name: restamped})
    assert len(changed) == 1 and "same size" in changed[0] and "FULL_REFRESH=1" in changed[0], changed
    assert state.changed_loaded_files({name: [*stat, rows]}, {name: restamped}) == ([], {name: [*restamped, rows]})
    recompressed = gzipped(path, content, level=1, stamp=1_700_000_200)
    assert recompressed[0] != stat[0]
    changed, _ = state.changed_loaded_files({name: [*stat, old]}, {name: recompressed})
    assert len(changed) == 1 and "bytes when loaded" in changed[0] and "FULL_REFRESH=1" in changed[0], changed


def test_a_gzip_file_that_cannot_be_read_keeps_its_record(tmp_path):
    """Finance review (sixteenth session): a loaded gzip file that could not be read to compare it (unreadable, or
    written again while the run read it) lost its hash at the same size (no later edit could then be told), and
    was said to have changed its rows at another size. At the same size its record is now kept for the next run
    to compare; at another size the run stops saying it cannot compare. Other content at the same size is a
    change."""
    import hashlib

    from rbm import state

    path, name = tmp_path / "messages_2026-11-01.csv.gz", str(tmp_path / "messages_2026-11-01.csv.gz")
    stat = gzipped(path, b"message_id\nm1\n", level=9, stamp=1_700_000_000)
    rows = state.content_hash(name)
    other = state.GZIP_CONTENT + hashlib.sha256(b"message_id\nm2\n").hexdigest()
    moved = [stat[0], stat[1] + 10**9]
    os.utime(path, ns=(moved[1], moved[1]))
    changed, _ = state.changed_loaded_files({name: [*stat, other]}, {name: moved})
    assert len(changed) == 1 and "same size" in changed[0] and "decompressed content changed" in changed[0]
    path.write_bytes(b"\x1f\x8b" + b"x" * (stat[0] - 2))  # corrupt, at the same size
    os.utime(path, ns=(moved[1], moved[1]))
    assert state.content_hash(name) is None
    assert state.changed_loaded_files({name: [*stat, rows]}, {name: moved}) == ([], {name: [*stat, rows]})
    path.write_bytes(b"\x1f\x8b" + b"x" * stat[0])
    changed, records = state.changed_loaded_files({name: [*stat, rows]}, {name: [stat[0] + 2, moved[1]]})
    assert len(changed) == 1 and "cannot be read to compare" in changed[0] and not records, changed


def test_the_input_checks_hash_a_gzip_files_content_once(tmp_path, monkeypatch):
    """The input checks decompress every gzip file (rbm/inputs.py _decompressed_copy): the hash of its content is
    taken then, and the record of the loaded file takes it from there (decompressing ~40x slower than hashing bytes).
    Once the file changes, its hash is taken again."""
    import gzip
    import hashlib

    from rbm import inputs, state

    path, name = tmp_path / "messages_2026-11-01.csv.gz", str(tmp_path / "messages_2026-11-01.csv.gz")
    stat = gzipped(path, b"message_id\nm1\n", level=9, stamp=1_700_000_000)
    inputs.normalize_line_endings([name], tmp_path / "private", {})
    with monkeypatch.context() as patched:
        patched.setattr(gzip, "open", lambda *args, **kwargs: (_ for _ in ()).throw(AssertionError("read again")))
        assert state.content_hash(name, stat) == state.GZIP_CONTENT + hashlib.sha256(b"message_id\nm1\n").hexdigest()
    changed = gzipped(path, b"message_id\nm2\n", level=9, stamp=1_700_000_100)
    assert state.content_hash(name, changed) == state.GZIP_CONTENT + hashlib.sha256(b"message_id\nm2\n").hexdigest()


def test_a_daily_run_without_a_file_loaded_before_says_its_rows_stay_billed(tmp_path, arrival_files):
    """Finance review (eleventh session): a file taken out of the run's inputs (moved out of the glob) stays
    billed, since a file is loaded once; the run said nothing. It now notes it, and how to take the rows out."""
    files, agents = arrival_files
    database, output = tmp_path / "rbm.duckdb", tmp_path / "out"
    assert run_cli(tmp_path, "--messages", str(files[0]), "--agents", str(agents), "--output", str(output),
                   db=database).returncode == 0
    second = run_cli(tmp_path, "--messages", str(files[1]), "--agents", str(agents), "--output", str(output),
                     db=database)
    assert second.returncode == 0 and "full rebuild" not in second.stdout, second.stdout[-2000:]
    assert (f"note: 1 file(s) loaded by earlier runs are not among this run's inputs (e.g. {files[0]}): their rows "
            "stay in the bills.") in second.stdout, second.stdout[-3000:]


def test_a_new_database_beside_a_state_file_left_behind_reads_no_old_records(tmp_path, arrival_files):
    """Review (twelfth session): a database deleted to start again leaves its state file beside it. The new build
    compared its inputs with that file's records: a file corrected under its own name stopped the run ("changed
    since a run loaded them"), and files the new database never loaded were named as left out."""
    files, agents = arrival_files
    arguments, database, output, landing = first_day_built(tmp_path, arrival_files)
    shutil.copy(files[1], landing / files[1].name)
    assert run_cli(tmp_path, *arguments, db=database).returncode == 0
    (landing / files[1].name).unlink()
    database.unlink()
    assert Path(str(database) + ".rbm-state.json").exists()
    corrected = landing / files[0].name
    lines = corrected.read_bytes().splitlines(keepends=True)
    corrected.write_bytes(b"".join(lines[:-1]))  # the file corrected under its own name: its last row taken out
    rebuilt = run_cli(tmp_path, *arguments, db=database)
    assert rebuilt.returncode == 0, rebuilt.stdout[-2000:] + rebuilt.stderr[-2000:]
    assert "changed since" not in rebuilt.stderr and "not among this run's inputs" not in rebuilt.stdout, (
        rebuilt.stdout[-3000:])
    # Nor the salt it recorded (code review): a database deleted to start again without its salt was refused.
    assert run_cli(tmp_path, *arguments, db=database, env={"BILLING_SALT": "salt-1"}).returncode == 0
    database.unlink()
    unsalted = run_cli(tmp_path, *arguments, db=database, env={"BILLING_SALT": ""})
    assert unsalted.returncode == 0, unsalted.stdout[-2000:] + unsalted.stderr[-2000:]


def test_a_restatement_log_without_status_before_gets_the_column(tmp_path, arrival_files):
    """rpt_restatements is never rebuilt (full_refresh=false): a log written before status_before (2026-11-30) and
    period_was_final (2026-12-01) existed gets the columns on the next run (on_schema_change='append_new_columns'),
    empty in its old rows. A manifest built before rpt_report_files.newest_event_at existed: a file's period counts
    as final before the run when a file of its carrier of that date or later was final."""
    import duckdb

    arguments, database, output = second_day_landed(tmp_path, arrival_files)
    with duckdb.connect(str(database)) as con:
        con.execute("insert into rpt_restatements values ('att', '2000-01-01', 'old.csv', timestamp '2000-01-01',"
                    " 'restated', 1, 0, 0, 1, 2, null, null)")
        con.execute("alter table rpt_restatements drop column status_before")
        con.execute("alter table rpt_restatements drop column period_was_final")
        con.execute("alter table rpt_report_files drop column newest_event_at")
    statuses = file_statuses(output)
    done = run_cli(tmp_path, *arguments, db=database)
    assert done.returncode == 0 and "full rebuild" not in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    with open(output / "restatements.csv", newline="") as handle:
        logged = list(csv.DictReader(handle))
    assert logged[0]["file_path"] == "old.csv" and logged[0]["status_before"] == logged[0]["period_was_final"] == ""
    assert len(logged) > 1 and {row["status_before"] for row in logged[1:]} <= {"final", "provisional", ""}
    was_final = period_was_final(statuses)
    assert [row["period_was_final"] for row in logged[1:]] == [was_final(row["file_path"]) for row in logged[1:]]


def test_a_full_rebuild_leaves_out_files_still_there_with_a_warning(tmp_path, arrival_files):
    """`make run` (the demo data), then `make run MESSAGES=… AGENTS=…` on the same database: the agents changed, so
    the run rebuilds in full from the user's files, as it always did; the demo file, still where it was, is left
    out with a warning (it was not archived: the run's inputs are another dataset)."""
    files, generated = arrival_files
    agents = tmp_path / "agents.csv"
    agents.write_text(generated.read_text(encoding="utf-8").replace("non_conversational", "conversational"),
                      encoding="utf-8")
    database, output = tmp_path / "rbm.duckdb", tmp_path / "out"
    assert run_cli(tmp_path, "--output", str(output), db=database).returncode == 0
    done = run_cli(tmp_path, "--messages", str(files[0]), "--agents", str(agents), "--output", str(output),
                   db=database)
    assert done.returncode == 0 and "full rebuild: the agents or carriers file" in done.stdout, done.stderr[-2000:]
    assert f"1 file(s) loaded by earlier runs are not among them (e.g. {ROOT / 'data/demo/messages.csv'})" in done.stderr


def test_a_run_without_the_salt_the_database_was_built_with_stops(tmp_path, arrival_files):
    """BILLING_SALT left out of a daily run's environment (a cron job) on a database built with a salt of its own:
    the salt changed, so the run rebuilt everything with the public demo salt, every billing_event_id changed in
    every report, final ones included, and the user keys became reversible. It stops instead; FULL_REFRESH=1
    re-keys on purpose. Setting a salt for the first time on a demo-salted database is not stopped."""
    files, agents = arrival_files
    database, output = tmp_path / "rbm.duckdb", tmp_path / "out"
    arguments = ("--messages", str(files[0]), "--agents", str(agents), "--output", str(output))
    assert run_cli(tmp_path, *arguments, db=database, env={"BILLING_SALT": ""}).returncode == 0
    first_salt = run_cli(tmp_path, *arguments, db=database, env={"BILLING_SALT": "salt-1"})
    assert first_salt.returncode == 0 and "full rebuild: the salt (BILLING_SALT) changed" in first_salt.stdout
    published = report_bytes(output)
    for salt, said in (("", "not set, but"), ("salt-2", "not the salt")):
        stopped = run_cli(tmp_path, *arguments, db=database, env={"BILLING_SALT": salt})
        assert stopped.returncode == 2, stopped.stdout[-2000:] + stopped.stderr[-2000:]
        assert stopped.stderr.startswith(f"error: BILLING_SALT is {said} "), stopped.stderr
        assert "every event would get a new billing_event_id" in stopped.stderr
        assert report_bytes(output) == published
    forced = run_cli(tmp_path, *arguments, "--full-refresh", db=database, env={"BILLING_SALT": ""})
    assert forced.returncode == 0 and report_bytes(output) != published


def test_a_carriers_last_report_file_removed_takes_its_folder_with_it(tmp_path):
    """Review (fourteenth session): a late conflicting copy of the only tmobile message quarantines it, so its
    report file is removed (file_removed); the tmobile folder went on existing, empty, where a full build of the
    same files has none. Every folder and file of the daily run's output equals the full build's."""
    def row(message_id: str, carrier: str, text: str) -> str:
        return session_rows(message_id, "MT", text, 0).replace(",att,", f",{carrier},")

    published, after, second, full, written, _ = two_day_session_run(
        tmp_path, [row("m1", "att", "hi"), row("t1", "tmobile", "hello")], [row("t1", "tmobile", "changed")])
    assert "tmobile/rbm_billable_events_2025-05-13.csv" in published
    assert "tmobile/rbm_billable_events_2025-05-13.csv: file_removed" in second.stdout
    assert written == full
    tree = {str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if ".rbm" not in p.name}
    full_tree = {str(p.relative_to(tmp_path / "full_out")) for p in (tmp_path / "full_out").rglob("*")
                 if ".rbm" not in p.name}
    assert tree == full_tree and "tmobile" not in tree, sorted(tree ^ full_tree)


def test_a_daily_run_checks_the_lines_of_new_files_only(tmp_path, arrival_files):
    """A daily glob names every file delivered so far: the input checks read the lines of the new ones only (perf
    audit: each run read the whole history again), and of every file again when the build is a full one."""
    files, agents = arrival_files
    landing, output = tmp_path / "landing", tmp_path / "out"
    landing.mkdir()
    lines = files[0].read_bytes().split(b"\n")
    # mixed line ends: the checks say so and read a repaired copy, which loses no row. A name DuckDB would read as a
    # glob: the file is read through a link of a plain name, which the copy of the rebuild replaces, never writes
    # through (review, twenty-fifth session: the delivered file was overwritten by its repaired copy)
    broken = landing / "messages_0[a].csv"
    delivered = b"\r\n".join(lines[:5]) + b"\r\n" + b"\n".join(lines[5:])
    broken.write_bytes(delivered)
    glob_of_landing = str(landing / "messages_*.csv")
    said = f"warning: {broken}: mixed line endings (CR/CRLF/LF); reading a repaired copy"

    first = run_cli(tmp_path, "--messages", glob_of_landing, "--agents", str(agents), "--output", str(output))
    assert first.returncode == 0 and said in first.stderr, first.stderr[-2000:]
    shutil.copy(files[1], landing / files[1].name)
    daily = run_cli(tmp_path, "--messages", glob_of_landing, "--agents", str(agents), "--output", str(output))
    assert daily.returncode == 0, daily.stderr[-2000:]
    assert said not in daily.stderr and "full rebuild" not in daily.stdout, daily.stderr[-2000:]
    incremental = report_lines(output)
    # a changed agents file: a full rebuild, which reads every file again, so checks every file again
    changed = tmp_path / "agents.csv"
    changed.write_text(agents.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    rebuilt = run_cli(tmp_path, "--messages", glob_of_landing, "--agents", str(changed), "--output", str(output))
    assert rebuilt.returncode == 0 and said in rebuilt.stderr, rebuilt.stderr[-2000:]
    assert "full rebuild: the agents or carriers file changed since the previous run\n" in rebuilt.stdout
    assert re.search(r"input rows +\d+  in the database, from 2 file\(s\); this run loaded \d+ row\(s\) from 2 "
                     r"file\(s\)", rebuilt.stdout), rebuilt.stdout[-2500:]
    assert report_lines(output) == incremental
    assert broken.read_bytes() == delivered
    fresh = run_cli(tmp_path / "fresh", "--messages", glob_of_landing, "--agents", str(agents),
                    "--output", str(tmp_path / "fresh_out"))
    assert fresh.returncode == 0 and report_lines(tmp_path / "fresh_out") == incremental
