"""Google RBM activity logs as input (SPEC §9), end to end through the CLI.

Hand-made logs in tests/fixtures/activity/<carrier>/ (scenarios: tests/fixtures/activity/README.md), one
global carrier (vodafone_uk) and one US carrier (att), each run on its own database. In each folder the
three logs are mixed in one glob: tab-separated gzipped, `;`-separated (older format) and uncompressed, and
one named like Google's renamed files (`rbm_activity_2023-08-30.csv_st.csv.gz`). Every relation below is
compared, as a full sorted row set, with the expected CSV beside the logs:

- expected_staged_messages.csv      int_activity_log_messages (the §9 mapping onto the messages contract)
- expected_billed_events.csv        fct_billable_messages (a billing_event_id written `sha256(salt|<id>)`
                                    is SHA-256 of `<BILLING_SALT>|<id>`, the event's first message, SPEC §6)
- expected_reconciliation.csv       rpt_google_reconciliation, every column
- expected_outcomes_not_billed.csv  int_message_outcomes rows that are not billed (receipts, spam report,
                                    unknown activity type, malformed line, undelivered MTs, …)
- expected_report.csv               the rows of every report file, with the file's name

The same traffic written as a `messages` file (SPEC §1) gives byte-identical report files.
"""
from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import io
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, assert_summary_counts_match_outcomes, run_cli

FIXTURES = ROOT / "tests/fixtures/activity"
AGENTS = FIXTURES / "agents.csv"
SALT = "activity-fixture-salt"
CARRIERS = ["vodafone_uk", "att"]
LOG_GLOB = "rbm_activity_*.csv*"
# Report files per carrier: events start on 2023-08-28, 29 and 30, so the files are dated G = day + 2 (SPEC §6).
REPORT_FILES = ["rbm_billable_events_2023-08-30.csv", "rbm_billable_events_2023-08-31.csv",
                "rbm_billable_events_2023-09-01.csv"]
ACTIVITY_COLUMNS = ["activity_id", "billing_event_id", "agent_id", "user_id", "direction", "time", "type",
                    "size_bytes"]
MESSAGES_COLUMNS = ["message_id", "agent_id", "user_id", "carrier_id", "direction", "content_kind", "text",
                    "file_size_bytes", "suggestions", "status", "sent_at", "delivered_at", "is_tester"]
# SPEC §9 mapping, written out here independently of the seed activity_type_mapping.
CONTENT_KIND = {
    ("MT", "text_message"): "text", ("MT", "rich_card/carousel"): "rich_card", ("MT", "file_transfer"): "file",
    ("MO", "text_message"): "text", ("MO", "suggestion_tap"): "suggested_reply", ("MO", "file_transfer"): "file",
}
TIME = "'%Y-%m-%dT%H:%M:%S.%gZ'"
QUERIES = {
    "staged_messages": f"""
        select source_file, message_id, direction, content_kind, status, strftime(sent_at, {TIME}),
               strftime(delivered_at, {TIME}), file_size_bytes, google_billing_event_id
        from int_activity_log_messages""",
    "billed_events": """
        select message_id, billing_event_id, event_type, google_billing_event_id from fct_billable_messages""",
    "reconciliation": """
        select google_billing_event_id, billing_event_id, carrier_id, agent_id, cast(first_sent_date as varchar),
               source_file, our_generation_date, kind, shared_messages, google_event_messages, our_event_messages,
               our_event_type, our_reason
        from rpt_google_reconciliation""",
    "outcomes_not_billed": """
        select source_file, message_id, cast(sent_date as varchar), google_billing_event_id, outcome,
               outcome_reason
        from int_message_outcomes where outcome != 'billed'""",
}
EVENT_ID = re.compile(r"sha256\(salt\|(.+)\)")


def event_id(first_message_id: str) -> str:
    return hashlib.sha256(f"{SALT}|{first_message_id}".encode()).hexdigest()


def logs(carrier: str) -> list[Path]:
    return sorted((FIXTURES / carrier).glob(LOG_GLOB))


def read_log(path: Path) -> tuple[str, list[list[str]]]:
    """The delimiter and the lines of an activity log (header first), as SPEC §9 describes it."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = raw.decode("utf-8")
    delimiter = "\t" if text.split("\n", 1)[0].count("\t") else ";"
    return delimiter, list(csv.reader(io.StringIO(text), delimiter=delimiter))


def text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith("/"):
        return Path(value).name  # source_file: the file name is enough (and independent of the checkout)
    return str(value)


def query(db: Path, sql: str) -> list[tuple[str, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [tuple(text(v) for v in row) for row in con.sql(sql).fetchall()]


def expected(carrier: str, name: str) -> tuple[list[str], list[tuple[str, ...]]]:
    with open(FIXTURES / carrier / f"expected_{name}.csv", newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    expand = lambda cell: event_id(m.group(1)) if (m := EVENT_ID.fullmatch(cell)) else cell  # noqa: E731
    return header, [tuple(expand(cell) for cell in row) for row in rows]


def assert_same_rows(actual: list[tuple], wanted: list[tuple], what: str) -> None:
    """Full row sets, duplicates counted; on failure the rows only on either side are listed."""
    if sorted(actual) == sorted(wanted):
        return
    missing, extra = list(wanted), []
    for row in actual:
        if row in missing:
            missing.remove(row)
        else:
            extra.append(row)
    lines = [f"{what}: {len(actual)} rows, {len(wanted)} expected"]
    lines += ["  expected, not found: " + ",".join(r) for r in sorted(missing)]
    lines += ["  found, not expected: " + ",".join(r) for r in sorted(extra)]
    pytest.fail("\n".join(lines), pytrace=False)


class Run:
    def __init__(self, done, db: Path, output: Path):
        self.done, self.db, self.output = done, db, output

    def report_files(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.output)): p.read_bytes()
                for p in sorted(self.output.glob("*/rbm_billable_events_*.csv"))}


def cli_run(tmp: Path, *args: str) -> Run:
    done = run_cli(tmp, *args, "--agents", str(AGENTS), "--output", str(tmp / "out"),
                   env={"BILLING_SALT": SALT})
    if done.returncode != 0:
        problems = [line for line in done.stdout.splitlines() if re.search(r"ERROR|FAIL|Error|Failure", line)]
        pytest.fail(f"rbm.py run {' '.join(args)} exited {done.returncode}:\n" + "\n".join(problems[-20:])
                    + "\n" + done.stderr[-3000:], pytrace=False)
    return Run(done, tmp / "rbm.duckdb", tmp / "out")


@pytest.fixture(scope="module", params=CARRIERS)
def carrier(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def activity_run(carrier, tmp_path_factory) -> tuple[str, Run]:
    tmp = tmp_path_factory.mktemp(f"activity_{carrier}")
    run = cli_run(tmp, "--activity", str(FIXTURES / carrier / LOG_GLOB), "--carrier", carrier)
    assert run.done.returncode == 0, run.done.stdout[-4000:] + run.done.stderr[-4000:]
    return carrier, run


def test_every_staged_row_names_its_line(activity_run):
    """source_row is the row's line in its file (1 = the header), in every format, the `;`-separated one (loaded
    in the model's second pre-hook) and a file with a malformed line included: what an auditor looks up."""
    carrier_id, run = activity_run
    wanted = []
    for path in logs(carrier_id):
        _, (_, *records) = read_log(path)
        wanted += [(path.name, str(line), record[0] if len(record) == len(ACTIVITY_COLUMNS) else "")
                   for line, record in enumerate(records, start=2)]
    assert any(not activity_id for _, _, activity_id in wanted), f"{carrier_id}: a malformed line is expected"
    actual = query(run.db, "select source_file, source_row, coalesce(activity_id, '') from stg_activity_log")
    assert_same_rows(actual, wanted, "stg_activity_log lines")


def run_small_log(tmp: Path, rows: list[tuple[str, str, str, str, str]]) -> Run:
    """A run on one tab-separated log of att traffic of one non-conversational agent and one user: rows of
    (activity_id, Google's billing_event_id, direction, time, type)."""
    log = tmp / "rbm_activity_2024-07-01.csv"
    log.write_text("\t".join(ACTIVITY_COLUMNS) + "\n" + "".join(
        f"{activity_id}\t{google_id}\tacme_notify_agent\tuser-hash-1\t{direction}\t{time}\t{kind}\t0\n"
        for activity_id, google_id, direction, time, kind in rows), encoding="utf-8")
    return cli_run(tmp, "--activity", str(log), "--carrier", "att")


def test_a_receipt_without_a_usable_time_quarantines_its_mt(tmp_path):
    """SPEC §9 makes the receipt's time the MT's delivered_at; a time that is missing or does not parse leaves the
    delivery time unknown, so the MT is quarantined (SPEC §7), not billed and not counted as undelivered."""
    run = run_small_log(tmp_path, [
        ("r1", "G-r1", "MT", "2024-07-01T10:00:00.000Z", "text_message"),
        ("r1", "G-r1", "MO", "2024-07-01T25:01:00.000Z", "delivery_receipt_event"),  # no such hour
        ("r2", "G-r2", "MT", "2024-07-01T10:05:00.000Z", "text_message"),
        ("r2", "G-r2", "MO", "", "delivery_receipt_event"),
        ("r3", "G-r3", "MT", "2024-07-01T10:10:00.000Z", "text_message"),
        ("r3", "G-r3", "MO", "2024-07-01T10:10:01.000Z", "delivery_receipt_event"),
        ("r3", "G-r3", "MO", "yesterday", "delivery_receipt_event"),  # a second receipt contradicts the first
        ("r4", "G-r4", "MT", "2024-07-01T10:15:00.000Z", "text_message"),
        ("r4", "G-r4", "MO", "2024-07-01T10:15:01.000Z", "delivery_receipt_event"),
        ("r5", "G-r5", "MT", "2024-07-01T10:20:00.000Z", "text_message"),
        ("r6", "G-r6", "MT", "2024-07-01T25:25:00.000Z", "text_message"),  # line 12: its own time is wrong
        ("r6", "G-r6", "MO", "nope", "delivery_receipt_event"),
        ("r7", "G-r7", "MT", "2024-07-01T10:30:00.000Z", "text_message"),  # line 14
        ("r7", "G-r7", "MO", "", "delivery_receipt_event"),
        ("r7", "G-r7", "MO", "garbage", "delivery_receipt_event"),  # line 16: a value, so invalid, named
        ("r3", "G-r3", "MO", "also wrong", "delivery_receipt_event"),  # line 17: after line 8
        ("r8", "G-r8", "MT", "2024-07-01T10:40:00.000Z", "text_message"),  # line 18
        ("r8", "G-r8", "MO", "2024-07-01 10:40:01.000 UTC", "delivery_receipt_event"),  # parses, not ISO 8601
        ("r9", "G-r9", "MT", "2024-07-01T10:50:00.000Z", "text_message"),  # line 20
        ("r9", "G-r9", "MO", "2024-07-01T10:49:59.800Z", "delivery_receipt_event"),  # before the MT
    ])
    outcomes = query(run.db, "select message_id, outcome, outcome_reason from int_message_outcomes"
                             " where outcome_reason != 'delivery_receipt'")
    assert sorted(outcomes) == [
        ("r1", "quarantined", "invalid_delivered_at"),
        ("r2", "quarantined", "missing_delivered_at"),
        ("r3", "quarantined", "invalid_delivered_at"),
        ("r4", "billed", "billed"),
        ("r5", "not_billable", "mt_not_delivered"),
        ("r6", "quarantined", "invalid_sent_at"),
        ("r7", "quarantined", "invalid_delivered_at"),
        ("r8", "quarantined", "invalid_delivered_at"),
        ("r9", "quarantined", "delivered_before_sent"),
    ]
    # The bad value is on the receipt's line, not the MT's: the quarantine row and the summary name it (user trial,
    # nineteenth session), the receipt whose value the row shows (review, twentieth session). Line 1 is the header.
    log = tmp_path / "rbm_activity_2024-07-01.csv"
    quarantined = query(run.db, "select message_id, reason, source_row, delivered_at, coalesce(reason_detail, '')"
                                " from quarantined_messages")
    assert sorted(quarantined) == [
        ("r1", "invalid_delivered_at", "2", "2024-07-01T25:01:00.000Z", f"delivery receipt at line 3 of {log}"),
        ("r2", "missing_delivered_at", "4", "", f"delivery receipt at line 5 of {log}"),
        ("r3", "invalid_delivered_at", "6", "yesterday", f"delivery receipt at line 8 of {log}"),
        ("r6", "invalid_sent_at", "12", "nope", ""),
        ("r7", "invalid_delivered_at", "14", "garbage", f"delivery receipt at line 16 of {log}"),
        ("r8", "invalid_delivered_at", "18", "2024-07-01 10:40:01.000 UTC", f"delivery receipt at line 19 of {log}"),
        ("r9", "delivered_before_sent", "20", "2024-07-01T10:49:59.800Z", f"delivery receipt at line 21 of {log}"),
    ]
    assert (f"  {log}: 7 of 20 row(s): invalid_delivered_at 4 (first at line 2, its delivery receipt at line 3 of"
            f" {log}), delivered_before_sent 1 (first at line 20, its delivery receipt at line 21 of {log}),"
            f" invalid_sent_at 1 (first at line 12), missing_delivered_at 1 (first at line 4, its delivery"
            f" receipt at line 5 of {log})") in run.done.stdout, run.done.stdout


def test_an_activity_of_an_unknown_type_that_google_billed_is_reconciled(tmp_path):
    """An unknown type is never billed (SPEC §9), but if Google billed it the reconciliation shows it (google_only,
    unknown_activity_type). An unknown type sharing a message's activity_id (a receipt of a new kind) does not
    count as a second member of Google's event."""
    run = run_small_log(tmp_path, [
        ("u1", "G-u1", "MO", "2024-07-01T10:00:00.000Z", "location_share"),
        ("m1", "G-m1", "MT", "2024-07-01T10:05:00.000Z", "text_message"),
        ("m1", "G-m1", "MO", "2024-07-01T10:05:01.000Z", "delivery_receipt_event"),
        ("m1", "G-m1", "MO", "2024-07-01T10:05:02.000Z", "is_typing_event"),
    ])
    reconciled = query(run.db, "select google_billing_event_id, kind, shared_messages, google_event_messages,"
                               " our_event_messages, coalesce(our_reason, '') from rpt_google_reconciliation")
    assert sorted(reconciled) == [("G-m1", "identical", "1", "1", "1", ""),
                                  ("G-u1", "google_only", "1", "1", "0", "unknown_activity_type")]
    # Review, thirteenth session: a type spelled another way (TEXT_MESSAGE) took the bill away without a word.
    assert (f"warning: 2 row(s) of {tmp_path / 'rbm_activity_2024-07-01.csv'} have an activity type that the "
            "mapping seed does not know (e.g. 'is_typing_event')") in run.done.stderr, run.done.stderr


def test_a_receipt_whose_message_is_in_no_log_stands_for_it_in_the_reconciliation(tmp_path):
    """Google bills the message of a receipt; when no row of the receipt's Google event has its activity_id, the
    message is in no loaded log (user trial, nineteenth session: the event was in no reconciliation row), and its
    receipts stand for it: google_only, `message_not_in_logs`, one message for its delivery and read receipts.
    Reviews (twentieth session): matched within Google's event, since another agent's message of the same id is in
    another event; a message's own receipts, even one without a user, and a spam report add nothing; receipts without
    an id are one message (`receipt_without_ids`) when their event has no other row; an MT without an id still
    counts (missing_message_id); an activity of an unknown type stands for itself, its receipts and its type
    spelled otherwise add nothing; an exact copy of a message in another Google event is a message of that event
    (google_only, exact_duplicate). The receipts stay not-billable rows of the audit."""
    log = tmp_path / "rbm_activity_2024-07-01.csv"
    notify, conv, user = "acme_notify_agent", "acme_conv_agent", "user-hash-1"
    rows = [  # (activity_id, Google's id, agent, direction, time, type[, user]); line 1 is the header
        ("m1", "G-m1", notify, "MT", "2024-07-01T10:05:00.000Z", "text_message"),
        ("m1", "G-m1", notify, "MO", "2024-07-01T10:05:01.000Z", "delivery_receipt_event"),
        ("m1", "G-m1", notify, "MO", "2024-07-01T10:06:00.000Z", "read_receipt_event"),
        ("m1", "G-m1", notify, "MO", "2024-07-01T10:07:00.000Z", "spam_report"),
        ("o1", "G-o1", notify, "MO", "2024-07-01T00:00:00.300Z", "delivery_receipt_event"),
        ("o1", "G-o1", notify, "MO", "2024-07-01T00:01:00.000Z", "read_receipt_event"),
        ("m1", "G-x1", conv, "MO", "2024-07-01T11:00:00.000Z", "delivery_receipt_event"),
        ("", "G-n1", notify, "MT", "2024-07-01T12:00:00.000Z", "text_message"),
        ("", "G-n2", notify, "MO", "2024-07-01T12:01:00.000Z", "delivery_receipt_event"),  # line 10
        ("u3", "G-u3", notify, "MT", "2024-07-01T13:00:00.000Z", "TEXT_MESSAGE"),  # a type the seed does not know
        ("u3", "G-u3", notify, "MO", "2024-07-01T13:00:01.000Z", "delivery_receipt_event"),
        ("", "G-n2", notify, "MO", "2024-07-01T12:02:00.000Z", "delivery_receipt_event"),  # line 13
        ("m1", "G-m1", notify, "MO", "2024-07-01T10:08:00.000Z", "read_receipt_event", ""),  # no user
        ("k1", "G-k1", notify, "MT", "2024-07-01T14:00:00.000Z", "text_message"),
        ("k1", "G-k1", notify, "MO", "2024-07-01T14:00:01.000Z", "delivery_receipt_event"),
        ("k1", "G-k2", conv, "MO", "2024-07-01T14:05:00.000Z", "is_typing_event"),  # another agent's activity
        ("k1", "G-k2", conv, "MO", "2024-07-01T14:05:01.000Z", "delivery_receipt_event"),
        ("u4", "G-u4", notify, "MT", "2024-07-01T15:00:00.000Z", "TEXT_MESSAGE"),  # every type spelled otherwise
        ("u4", "G-u4", notify, "MO", "2024-07-01T15:00:01.000Z", "DELIVERY_RECEIPT_EVENT"),
        ("u4", "G-u4", notify, "MO", "2024-07-01T15:00:02.000Z", "READ_RECEIPT_EVENT"),
        ("b2", "G-b2", notify, "MT", "2024-07-01T16:00:00.000Z", "text_message"),
        ("b2", "G-b2", notify, "MO", "2024-07-01T16:00:00.500Z", "delivery_receipt_event"),
        (" ", "G-b2", notify, "MO", "2024-07-01T16:00:01.000Z", "read_receipt_event"),  # an id of spaces: none
        ("a1", "G-e1", notify, "MO", "2024-07-01T17:00:00.500Z", "delivery_receipt_event"),
        ("", "G-e1", notify, "MO", "2024-07-01T17:00:01.000Z", "read_receipt_event"),  # a1's, most likely
        ("c3", "G-c3", notify, "MT", "2024-07-01T18:00:00.000Z", "text_message"),
        ("c3", "G-c3", notify, "MO", "2024-07-01T18:00:00.500Z", "delivery_receipt_event"),
        ("c3", "G-c4", notify, "MT", "2024-07-01T18:00:00.000Z", "text_message"),  # an exact copy, another event
    ]
    log.write_text("\t".join(ACTIVITY_COLUMNS) + "\n" + "".join(
        f"{row[0]}\t{row[1]}\t{row[2]}\t{row[6] if len(row) > 6 else user}\t{row[3]}\t{row[4]}\t{row[5]}\t0\n"
        for row in rows), encoding="utf-8")
    run = cli_run(tmp_path, "--activity", str(log), "--carrier", "att")
    reconciled = query(run.db, "select google_billing_event_id, kind, shared_messages, google_event_messages,"
                               " our_event_messages, coalesce(our_reason, ''), cast(first_sent_date as varchar),"
                               " source_file, agent_id from rpt_google_reconciliation")
    name = log.name
    assert sorted(reconciled) == [
        ("G-b2", "identical", "1", "1", "1", "", "2024-07-01", name, notify),
        ("G-c3", "identical", "1", "1", "1", "", "2024-07-01", name, notify),
        ("G-c4", "google_only", "1", "1", "0", "exact_duplicate", "2024-07-01", name, notify),
        ("G-e1", "google_only", "1", "1", "0", "message_not_in_logs", "2024-07-01", name, notify),
        ("G-k1", "identical", "1", "1", "1", "", "2024-07-01", name, notify),
        ("G-k2", "google_only", "1", "1", "0", "unknown_activity_type", "2024-07-01", name, conv),
        ("G-m1", "identical", "1", "1", "1", "", "2024-07-01", name, notify),
        ("G-n1", "google_only", "1", "1", "0", "missing_message_id", "2024-07-01", name, notify),
        ("G-n2", "google_only", "1", "1", "0", "receipt_without_ids", "2024-07-01", name, notify),
        ("G-o1", "google_only", "1", "1", "0", "message_not_in_logs", "2024-07-01", name, notify),
        ("G-u3", "google_only", "1", "1", "0", "unknown_activity_type", "2024-07-01", name, notify),
        ("G-u4", "google_only", "1", "1", "0", "unknown_activity_type", "2024-07-01", name, notify),
        ("G-x1", "google_only", "1", "1", "0", "message_not_in_logs", "2024-07-01", name, conv)]
    receipts = query(run.db, "select outcome, count(*) from int_message_outcomes"
                             " where outcome_reason in ('delivery_receipt', 'read_receipt') group by 1")
    assert receipts == [("not_billable", "16")]
    assert (f"warning: 2 delivery receipt(s) of {log} have no activity_id, agent_id or user_id (e.g. line 10)"
            in run.done.stderr), run.done.stderr


@pytest.mark.parametrize("order", ["as_listed", "reversed"])
def test_the_google_event_that_keeps_a_message_listed_in_two_is_the_same_in_any_line_order(tmp_path, order):
    """Determinism audit (twenty-fourth session): an exact copy of a message in another Google event counts once
    (exact_duplicate), and the copy kept was the first by file and line: reversing a log's lines moved the message
    from one Google event to the other, in fct_billable_messages and the reconciliation. The copy of the smallest
    Google event id is kept, in any order."""
    rows = [
        ("x1", "G-b", "MT", "2024-07-01T10:00:00.000Z", "text_message"),
        ("x1", "G-b", "MO", "2024-07-01T10:00:00.500Z", "delivery_receipt_event"),
        ("x2", "G-b", "MO", "2024-07-01T10:05:00.000Z", "text_message"),
        ("x2", "G-a", "MO", "2024-07-01T10:05:00.000Z", "text_message"),
    ]
    run = run_small_log(tmp_path, rows if order == "as_listed" else rows[::-1])
    assert sorted(query(run.db, "select message_id, google_billing_event_id from fct_billable_messages")) == [
        ("x1", "G-b"), ("x2", "G-a")]
    reconciled = query(run.db, "select google_billing_event_id, kind, shared_messages, google_event_messages,"
                               " our_event_messages, coalesce(our_reason, '') from rpt_google_reconciliation")
    assert sorted(reconciled) == [("G-a", "identical", "1", "1", "1", ""),
                                  ("G-b", "different_members", "1", "2", "1", ""),
                                  ("G-b", "google_only", "1", "2", "0", "exact_duplicate")]


def test_a_receipt_with_the_direction_mt_is_an_unknown_type(tmp_path):
    """The mapping seed has receipts as MO (SPEC §9: receipts are MO). An MT `delivery_receipt_event` delivers
    nothing, and was counted as a receipt all the same (review, thirteenth session): it is an unknown type, named
    in the summary."""
    run = run_small_log(tmp_path, [
        ("m1", "G-m1", "MT", "2024-07-01T10:05:00.000Z", "text_message"),
        ("m1", "G-m1", "MT", "2024-07-01T10:05:01.000Z", "delivery_receipt_event"),
    ])
    outcomes = query(run.db, "select message_id, outcome, outcome_reason from int_message_outcomes")
    assert sorted(outcomes) == [("m1", "not_billable", "mt_not_delivered"),
                                ("m1", "not_billable", "unknown_activity_type")]
    assert ("1 row(s) of " + str(tmp_path / "rbm_activity_2024-07-01.csv") + " have an activity type that the "
            "mapping seed does not know (e.g. 'delivery_receipt_event')") in run.done.stderr, run.done.stderr


def test_an_activity_log_delivered_twice_is_warned_of(tmp_path):
    """The same log under Google's renamed name too: counted once, and said (review, thirteenth session: the
    warning read the messages files only)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    rows = [("m1", "G-m1", "MT", "2024-07-01T10:05:00.000Z", "text_message"),
            ("m1", "G-m1", "MO", "2024-07-01T10:05:01.000Z", "delivery_receipt_event"),
            ("m2", "G-m2", "MO", "2024-07-01T10:06:00.000Z", "text_message")]
    for name in ("rbm_activity_2023-08-28.csv", "rbm_activity_2023-08-28.csv_st.csv"):
        (logs / name).write_text("\t".join(ACTIVITY_COLUMNS) + "\n" + "".join(
            f"{activity_id}\t{google_id}\tacme_notify_agent\tuser-hash-1\t{direction}\t{time}\t{kind}\t0\n"
            for activity_id, google_id, direction, time, kind in rows), encoding="utf-8")
    run = cli_run(tmp_path, "--activity", str(logs / LOG_GLOB), "--carrier", "att")
    # One warning for the two files, naming both (user trial, eighteenth session: one each, blaming the original).
    twins = (f"warning: {logs / 'rbm_activity_2023-08-28.csv'} and {logs / 'rbm_activity_2023-08-28.csv_st.csv'} "
             "hold the same message rows (")
    assert run.done.stderr.count(twins) == 1 and "has an exact copy" not in run.done.stderr, run.done.stderr
    # The second copy's receipt is an exact duplicate too, counted once (user trial, twentieth session: it was
    # counted again as a not-billable receipt).
    outcomes = query(run.db, "select message_id, outcome, outcome_reason from int_message_outcomes")
    assert sorted(outcomes) == [("m1", "billed", "billed"), ("m1", "exact_duplicate", "exact_duplicate"),
                                ("m1", "exact_duplicate", "exact_duplicate"), ("m1", "not_billable", "delivery_receipt"),
                                ("m2", "billed", "billed"), ("m2", "exact_duplicate", "exact_duplicate")]
    assert re.search(r"^  exact duplicates +3 ", run.done.stdout, re.MULTILINE), run.done.stdout
    assert_summary_counts_match_outcomes(run.done.stdout, run.db)
    # A real log holds receipts of the day before, spam reports, malformed lines and quarantined messages: none
    # of them is a copy of a message, and the warning still comes (code review, thirteenth session).
    again = tmp_path / "again"
    again.mkdir()
    for name in ("rbm_activity_2023-08-28.csv", "rbm_activity_2023-08-28.csv_st.csv"):
        shutil.copy(FIXTURES / "att/rbm_activity_2023-08-28.csv", again / name)
    run = cli_run(again, "--activity", str(again / LOG_GLOB), "--carrier", "att")
    twins = (f"warning: {again / 'rbm_activity_2023-08-28.csv'} and {again / 'rbm_activity_2023-08-28.csv_st.csv'} "
             "hold the same valid message rows (")
    assert run.done.stderr.count(twins) == 1, run.done.stderr
    # Nothing of the second copy is billed because its rows are copies, not because of its malformed line.
    assert "nothing in" not in run.done.stderr, run.done.stderr


# --------------------------------------------------------------------------------------------------------
# The fixture logs are what they claim to be.

def test_a_corrected_log_and_an_id_of_two_carriers_get_the_conflict_warning_only(tmp_path):
    """A corrected log under a new name, loaded with the original in one run: its unchanged rows are exact copies,
    one row conflicts (SPEC §7 quarantines both). The run warned "delivered twice?" and "corrects nothing" at once
    (user trial, twentieth session): only the conflict's warning says what happened. The same message_id in another
    carrier's log is no correction: the warning says so instead of advising to replace a file."""
    logs = tmp_path / "logs"
    logs.mkdir()

    def log(path: Path, rows: list[tuple]) -> None:
        path.write_text("\t".join(ACTIVITY_COLUMNS) + "\n" + "".join(
            f"{activity_id}\t{google_id}\tacme_notify_agent\tuser-hash-1\t{direction}\t{time}\t{kind}\t0\n"
            for activity_id, google_id, direction, time, kind in rows), encoding="utf-8")

    original = [("m1", "G-m1", "MT", "2024-07-01T10:05:00.000Z", "text_message"),
                ("m1", "G-m1", "MO", "2024-07-01T10:05:01.000Z", "delivery_receipt_event"),
                ("m2", "G-m2", "MO", "2024-07-01T10:06:00.000Z", "text_message")]
    log(logs / "rbm_activity_2024-07-01.csv", original)
    log(logs / "rbm_activity_2024-07-01_corrected.csv", original[:2] + [
        ("m2", "G-m2", "MO", "2024-07-01T10:07:00.000Z", "text_message")])
    run = cli_run(tmp_path, "--activity", str(logs / "rbm_activity_*.csv"), "--carrier", "att")
    assert ("warning: 1 message_id(s) of this run's files are in another file too, with other content"
            in run.done.stderr), run.done.stderr
    assert "corrects nothing" in run.done.stderr, run.done.stderr
    assert "exact copy" not in run.done.stderr and "hold the same" not in run.done.stderr, run.done.stderr
    # The two conflicting copies are one message of Google's event (review, twentieth session: counted twice).
    reconciled = query(run.db, "select google_billing_event_id, kind, shared_messages, google_event_messages,"
                               " coalesce(our_reason, '') from rpt_google_reconciliation")
    assert sorted(reconciled) == [("G-m1", "identical", "1", "1", ""),
                                  ("G-m2", "google_only", "1", "1", "conflicting_duplicate_message_id")]
    other = tmp_path / "vodafone"
    other.mkdir()
    log(other / "rbm_activity_2024-07-01.csv", [("m1", "G-v1", "MT", "2024-07-01T11:00:00.000Z", "text_message")])
    run = cli_run(tmp_path, "--activity", str(other / "rbm_activity_*.csv"), "--carrier", "vodafone_uk")
    assert ("SPEC §7 quarantines every copy, so none is billed. The copies are of two carriers (att, vodafone_uk): "
            "a message_id must be unique across every file of the database") in run.done.stderr, run.done.stderr
    assert "corrects nothing" not in run.done.stderr, run.done.stderr


def test_fixture_logs_cover_every_format(carrier):
    files = logs(carrier)
    assert [p.name for p in files] == ["rbm_activity_2023-08-28.csv" + (".gz" if carrier == "vodafone_uk" else ""),
                                       "rbm_activity_2023-08-29.csv" + ("" if carrier == "vodafone_uk" else ".gz"),
                                       "rbm_activity_2023-08-30.csv_st.csv.gz"]
    formats = {(read_log(p)[0], p.suffix == ".gz") for p in files}
    assert {d for d, _ in formats} == {"\t", ";"} and {gz for _, gz in formats} == {True, False}
    types, malformed = set(), 0
    for path in files:
        _, (header, *rows) = read_log(path)
        assert header == ACTIVITY_COLUMNS
        types |= {row[6] for row in rows if len(row) == len(ACTIVITY_COLUMNS)}
        malformed += sum(len(row) != len(ACTIVITY_COLUMNS) for row in rows)
    assert types >= {"text_message", "rich_card/carousel", "file_transfer", "suggestion_tap",
                     "delivery_receipt_event", "read_receipt_event", "spam_report"}
    assert malformed == 1


# --------------------------------------------------------------------------------------------------------
# The activity-log runs.

def test_run_succeeds_and_summarises_the_reconciliation(activity_run):
    carrier, run = activity_run
    out = run.done.stdout
    assert "Google reconciliation (table rpt_google_reconciliation)" in out
    assert "conservation audit: balanced" in out
    _, rows = expected(carrier, "reconciliation")
    kinds = {}
    for row in rows:
        kinds[row[7]] = kinds.get(row[7], 0) + 1
    assert set(kinds) == {"identical", "google_merged", "google_split", "regrouped", "different_members",
                          "google_only", "ours_only"}  # the fixture has every kind
    # Per kind: rows, distinct Google events, distinct events of ours, messages; then each event once in all.
    for kind in kinds:
        of_kind = [row for row in rows if row[7] == kind]
        google, ours = {row[0] for row in of_kind if row[0]}, {row[1] for row in of_kind if row[1]}
        messages = sum(int(row[8]) for row in of_kind)
        line = rf"^\s+{kind}\s+{len(of_kind)}\s+{len(google)}\s+{len(ours)}\s+{messages}$"
        assert re.search(line, out, re.MULTILINE), f"summary line for {kind}: {line}\n{out}"
    google, ours = {row[0] for row in rows if row[0]}, {row[1] for row in rows if row[1]}
    assert (f"Google reconciliation (table rpt_google_reconciliation): {len(google)} Google event(s) against "
            f"{len(ours)} of ours") in out
    assert sorted(p.name for p in run.output.glob(f"{carrier}/*.csv")) == REPORT_FILES
    # receipts and the other non-message rows are listed among the not-billable reasons
    assert_summary_counts_match_outcomes(out, run.db)


@pytest.mark.parametrize("name", list(QUERIES))
def test_relation_matches_expected(activity_run, name):
    carrier, run = activity_run
    header, wanted = expected(carrier, name)
    assert len(header) == len(wanted[0])
    assert_same_rows(query(run.db, QUERIES[name]), wanted, f"{carrier} {name}")


def test_report_files_match_expected(activity_run):
    """Every row and column of the carrier's report files (SPEC §6); text messages of a log have
    segment_count 1 on the US model and are basic messages on the global one (SPEC §9)."""
    carrier, run = activity_run
    header, wanted = expected(carrier, "report")
    actual = []
    for path in sorted((run.output / carrier).glob("rbm_billable_events_*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            file_header, *rows = list(csv.reader(handle))
        assert file_header == header[1:], path.name
        actual += [(path.name, *row) for row in rows]
    assert_same_rows(actual, wanted, f"{carrier} report files")


def test_reconciliation_columns_are_all_compared(activity_run):
    _, run = activity_run
    header, _ = expected(activity_run[0], "reconciliation")
    with duckdb.connect(str(run.db), read_only=True) as con:
        columns = [c[0] for c in con.sql("describe rpt_google_reconciliation").fetchall()]
    assert columns == header


def test_conservation_audit_balances(activity_run):
    carrier, run = activity_run
    assert query(run.db, "select count(*) from audit_conservation where not is_balanced") == [("0",)]
    assert query(run.db, "select count(*) from audit_conservation where is_balanced is null") == [("0",)]
    # Every line of every log (receipts, malformed line included) is an input row, per file.
    per_file = dict(query(run.db, "select source_file, sum(input_rows) from audit_conservation group by 1"))
    assert per_file == {p.name: str(len(read_log(p)[1]) - 1) for p in logs(carrier)}


def test_hashed_user_ids_never_leave_staging(activity_run):
    """Google's hashed user_id is still PII (SPEC §9): in no report, no relation, no summary."""
    carrier, run = activity_run
    users = {row[3] for p in logs(carrier) for row in read_log(p)[1][1:] if len(row) > 3 and row[3]}
    assert len(users) >= 5
    for path in run.output.rglob("*.csv"):
        content = path.read_text(encoding="utf-8")
        assert not [u for u in users if u in content], path
    assert not [u for u in users if u in run.done.stdout + run.done.stderr]
    with duckdb.connect(str(run.db), read_only=True) as con:
        tables = [t for (t,) in con.sql(
            "select table_name from information_schema.tables where table_schema = 'main'").fetchall()]
        for table in tables:
            content = "\n".join(map(str, con.sql(f'select * from "{table}"').fetchall()))
            assert not [u for u in users if u in content], table


# --------------------------------------------------------------------------------------------------------
# The same traffic as a messages file (SPEC §1) bills the same.

def activity_to_messages(carrier: str, destination: Path) -> int:
    """SPEC §9 mapping, by hand: one message per message activity, message_id = activity_id, an MT is
    delivered at its delivery receipt (else sent), text empty, is_tester false. Lines that are not
    records of the 8 columns, receipts and other activities are not messages."""
    records = [row for p in logs(carrier) for row in read_log(p)[1][1:] if len(row) == len(ACTIVITY_COLUMNS)]
    delivered = {}
    for activity_id, _, _, _, direction, time, kind, _ in records:
        if direction == "MO" and kind == "delivery_receipt_event":
            delivered[activity_id] = min(time, delivered.get(activity_id, time))
    messages = []
    for activity_id, _, agent_id, user_id, direction, time, kind, size_bytes in records:
        if (direction, kind) not in CONTENT_KIND:
            continue
        status = "received" if direction == "MO" else ("delivered" if activity_id in delivered else "sent")
        messages.append([activity_id, agent_id, user_id, carrier, direction, CONTENT_KIND[direction, kind], "",
                         size_bytes, "", status, time, delivered.get(activity_id, "") if direction == "MT" else "",
                         "false"])
    with open(destination, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MESSAGES_COLUMNS)
        writer.writerows(messages)
    return len(messages)


@pytest.fixture(scope="module")
def messages_run(carrier, tmp_path_factory) -> tuple[str, Run]:
    tmp = tmp_path_factory.mktemp(f"messages_{carrier}")
    assert activity_to_messages(carrier, tmp / "messages.csv") > 20
    run = cli_run(tmp, "--messages", str(tmp / "messages.csv"))
    assert run.done.returncode == 0, run.done.stdout[-4000:] + run.done.stderr[-4000:]
    return carrier, run


def test_messages_file_gives_byte_identical_reports(activity_run, messages_run):
    carrier, from_activity = activity_run
    _, from_messages = messages_run
    reports = from_activity.report_files()
    assert sorted(reports) == [f"{carrier}/{name}" for name in REPORT_FILES]
    others = from_messages.report_files()
    assert sorted(others) == sorted(reports)
    for name, content in reports.items():
        if others[name] != content:
            diff = difflib.unified_diff(content.decode().splitlines(), others[name].decode().splitlines(),
                                        "activity log", "messages file", lineterm="")
            pytest.fail(f"{name} differs:\n" + "\n".join(diff), pytrace=False)


# --------------------------------------------------------------------------------------------------------
# A log that cannot be used stops the run before anything is built.

def test_wrong_header_stops_the_run_naming_the_file(tmp_path):
    logs_dir = tmp_path / "landing"
    logs_dir.mkdir()
    for path in logs("vodafone_uk"):
        shutil.copy(path, logs_dir / path.name)
    bad = logs_dir / "rbm_activity_2023-08-31.csv.gz"
    wrong = "\t".join(c if c != "time" else "timestamp" for c in ACTIVITY_COLUMNS)
    bad.write_bytes(gzip.compress(f"{wrong}\nv1\tG1\tacme_conv_agent\tu1\tMT\t2023-08-31T00:00:00.000Z"
                                  "\ttext_message\t0\n".encode()))
    output = tmp_path / "out"
    (output / "vodafone_uk").mkdir(parents=True)
    previous = output / "vodafone_uk/rbm_billable_events_2023-08-01.csv"
    previous.write_text("a previous report\n")
    done = run_cli(tmp_path, "--activity", str(logs_dir / LOG_GLOB), "--carrier", "vodafone_uk",
                   "--agents", str(AGENTS), "--output", str(output))
    assert done.returncode != 0
    assert str(bad.resolve()) in done.stderr
    assert "time" in done.stderr and "timestamp" in done.stderr
    assert not (tmp_path / "rbm.duckdb").exists()
    assert [p.name for p in output.rglob("*.csv")] == [previous.name]
    assert previous.read_text() == "a previous report\n"


# --------------------------------------------------------------------------------------------------------
# Daily operation: a delivery receipt that arrives in a later file than its MT (a log cut at midnight).

def test_receipt_in_a_later_file_than_its_message(carrier, activity_run, tmp_path):
    """Load 1: every log without its delivery receipts (the MTs are `sent`, not billable); load 2 adds the
    receipts as separate files on the same database. The MTs become delivered and billed: the reports equal,
    byte for byte, those of one run on the original logs."""
    _, whole = activity_run
    landing, later = tmp_path / "landing", tmp_path / "later"
    landing.mkdir()
    later.mkdir()
    moved = 0
    for number, path in enumerate(logs(carrier)):
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        header, *lines = raw.decode("utf-8").splitlines(keepends=True)
        receipts = [line for line in lines if re.search(r"[\t;]delivery_receipt_event[\t;]", line)]
        moved += len(receipts)
        (landing / f"rbm_activity_{number}a.csv").write_text(
            header + "".join(line for line in lines if line not in receipts), encoding="utf-8")
        (later / f"rbm_activity_{number}b.csv").write_text(header + "".join(receipts), encoding="utf-8")
    assert moved > 0
    first = cli_run(tmp_path, "--activity", str(landing / "rbm_activity_*.csv"), "--carrier", carrier)
    assert first.report_files() != whole.report_files()
    for path in later.iterdir():
        shutil.copy(path, landing / path.name)
    second = cli_run(tmp_path, "--activity", str(landing / "rbm_activity_*.csv"), "--carrier", carrier)
    assert "full rebuild" not in second.done.stdout
    assert second.report_files() == whole.report_files()


def test_each_activity_row_keeps_the_carrier_it_was_loaded_with(tmp_path):
    """SPEC §9: a log's carrier comes from its run (CARRIER=…). It is kept with every row as loaded: a later run
    for another carrier, or a messages run, on the same database does not relabel the earlier rows (in the audit,
    the quarantine or the bills), and the audit stays balanced."""
    def run(*args: str):
        done = run_cli(tmp_path, *args, "--agents", str(AGENTS), "--output", str(tmp_path / "out"),
                       env={"BILLING_SALT": SALT})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]

    run("--activity", str(FIXTURES / "att" / LOG_GLOB), "--carrier", "att")
    run("--activity", str(FIXTURES / "vodafone_uk" / LOG_GLOB), "--carrier", "vodafone_uk")
    db = tmp_path / "rbm.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        carriers = con.sql("""
            select split_part(source_file, '/', -2) as folder, carrier_id, count(*) from stg_activity_log
            group by all order by all""").fetchall()
        audit = con.sql("select distinct carrier_id from audit_conservation where source_kind = 'activity_log'"
                        " order by 1").fetchall()
        billed = con.sql("select distinct carrier_id from fct_billable_messages order by 1").fetchall()
    assert [(folder, carrier) for folder, carrier, _ in carriers] == [("att", "att"), ("vodafone_uk", "vodafone_uk")]
    assert audit == [("att",), ("vodafone_uk",)] and billed == audit
    assert sorted(p.name for p in (tmp_path / "out" / "att").glob("*.csv")) == REPORT_FILES
    # A messages run on the same database: the activity rows keep their carriers and the audit balances.
    messages = tmp_path / "messages.csv"
    messages.write_text(",".join(MESSAGES_COLUMNS) + "\n", encoding="utf-8")
    run("--messages", str(messages))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("select count(*) from audit_conservation where not is_balanced").fetchall() == [(0,)]
        assert con.sql("select distinct carrier_id from stg_activity_log order by 1").fetchall() == audit


def test_a_receipt_delivers_only_an_mt_of_its_carrier_agent_and_user(tmp_path):
    """SPEC §9: an MT is delivered at its delivery receipt's time. Agents choose their message ids, so the same id
    can come back in another carrier's log, or from another agent or user: such a receipt is not this MT's (user
    trial, nineteenth session: a vodafone_uk receipt of another user delivered an att MT, which was then billed).
    A receipt without an agent or user delivers nothing either, and the run says so (review, nineteenth session:
    its MT was billed as not delivered without a word)."""
    header = "activity_id\tbilling_event_id\tagent_id\tuser_id\tdirection\ttime\ttype\tsize_bytes\n"
    user, other_user = "9f1b0c7e5a2d4c83b6e1f07a9d3c5b28e4f6a1d0c9b8", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"

    def row(activity_id: str, agent: str, user_id: str, direction: str, minute: int, kind: str) -> str:
        return (f"{activity_id}\tG-{activity_id}\t{agent}\t{user_id}\t{direction}\t2026-11-01T10:{minute:02d}:00.000Z"
                f"\t{kind}\t0\n")

    att, vodafone = tmp_path / "att", tmp_path / "vodafone_uk"
    att.mkdir()
    vodafone.mkdir()
    (att / "rbm_activity_2026-11-01.csv").write_text(header + "".join([
        row("c1", "acme_notify_agent", user, "MT", 0, "text_message"),
        row("c2", "acme_notify_agent", user, "MT", 1, "text_message"),
        row("c2", "acme_notify_agent", user, "MO", 2, "delivery_receipt_event"),  # its own receipt: delivered
        row("c3", "acme_notify_agent", user, "MT", 3, "text_message"),
        row("c3", "acme_conv_agent", user, "MO", 4, "delivery_receipt_event"),  # another agent's
        row("c4", "acme_notify_agent", user, "MT", 5, "text_message"),
        row("c4", "acme_notify_agent", other_user, "MO", 6, "delivery_receipt_event"),  # another user's
        row("c5", "acme_notify_agent", user, "MT", 7, "text_message"),
        row("c5", "", user, "MO", 8, "delivery_receipt_event"),  # line 10: no agent
        row("c6", "acme_notify_agent", user, "MT", 9, "text_message"),
        row("c6", "acme_notify_agent", "", "MO", 10, "delivery_receipt_event"),  # no user
    ]), encoding="utf-8")
    # the same agent and user, another carrier's log
    (vodafone / "rbm_activity_2026-11-01.csv").write_text(header + row(
        "c1", "acme_notify_agent", user, "MO", 30, "delivery_receipt_event"), encoding="utf-8")
    stderr = {}
    for folder in (att, vodafone):
        done = run_cli(tmp_path, "--activity", str(folder / LOG_GLOB), "--carrier", folder.name, "--agents",
                       str(AGENTS), "--output", str(tmp_path / "out"), env={"BILLING_SALT": SALT})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        stderr[folder.name] = done.stderr
    with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
        outcomes = con.sql("select message_id, outcome, outcome_reason from int_message_outcomes"
                           " where outcome_reason is distinct from 'delivery_receipt' order by 1").fetchall()
    assert outcomes == [("c1", "not_billable", "mt_not_delivered"), ("c2", "billed", "billed"),
                        ("c3", "not_billable", "mt_not_delivered"), ("c4", "not_billable", "mt_not_delivered"),
                        ("c5", "not_billable", "mt_not_delivered"), ("c6", "not_billable", "mt_not_delivered")]
    assert (f"warning: 2 delivery receipt(s) of {att / 'rbm_activity_2026-11-01.csv'} have no activity_id, agent_id "
            "or user_id (e.g. line 10)") in stderr["att"], stderr["att"]
    assert "delivery receipt(s) of" not in stderr["vodafone_uk"]


def test_a_log_loaded_with_the_wrong_carrier_is_warned_of_when_given_with_another(tmp_path):
    """A file is loaded once, with its run's CARRIER (README "Google activity logs"): a run giving it again with the
    right CARRIER loads nothing of it, and now says so (user trial, nineteenth session: it said nothing, and the rows
    stayed on the wrong carrier's bill). FULL_REFRESH=1 loads it with this run's carrier."""
    def run(*args: str):
        done = run_cli(tmp_path, "--activity", str(FIXTURES / "att" / LOG_GLOB), *args, "--agents", str(AGENTS),
                       "--output", str(tmp_path / "out"), env={"BILLING_SALT": SALT})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        return done

    def carriers() -> list[tuple]:
        with duckdb.connect(str(tmp_path / "rbm.duckdb"), read_only=True) as con:
            return con.sql("select distinct carrier_id from stg_activity_log order by 1").fetchall()

    first = run("--carrier", "tmobile")
    assert "loaded before with another carrier" not in first.stderr
    again = run("--carrier", "att")
    logs = sorted(str(path) for path in (FIXTURES / "att").glob(LOG_GLOB))
    assert (f"warning: {len(logs)} file(s) of this run were loaded before with another carrier (e.g. {logs[0]} as "
            "tmobile): a file is loaded once, so their rows stay on that carrier's bills. To load them as att, run "
            "FULL_REFRESH=1.") in again.stderr, again.stderr[-2000:]
    assert carriers() == [("tmobile",)]
    rebuilt = run("--carrier", "att", "--full-refresh")
    assert "loaded before with another carrier" not in rebuilt.stderr, rebuilt.stderr[-2000:]
    assert carriers() == [("att",)]


@pytest.mark.parametrize("manifest", ["current", "without_newest_event_at"])
def test_a_carriers_first_logs_are_not_warned_of_as_late_files(tmp_path, manifest):
    """Open point of the fourteenth session: vodafone_uk's logs, then att's first ones on the same database. att's
    file of 2023-08-30 is final at once (att's own data reaches that day), and the run warned of "a new report file
    for a period already final" as if late rows had opened it. A period is final before the run only when the
    carrier's data had passed it then (rpt_restatements.period_was_final): a late row of att's opens such a file,
    and the warning stays for it. Also when the previous run's manifest was built before its newest_event_at
    column existed (the first run after the upgrade; review: its late files went unwarned): att's files that were
    final bound its data then."""
    db, output = tmp_path / "rbm.duckdb", tmp_path / "out"

    def run(activity: str, carrier: str):
        done = run_cli(tmp_path, "--activity", activity, "--carrier", carrier, "--agents", str(AGENTS),
                       "--output", str(output), db=db, env={"BILLING_SALT": SALT})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        return done

    run(str(FIXTURES / "vodafone_uk" / LOG_GLOB), "vodafone_uk")
    first = run(str(FIXTURES / "att" / LOG_GLOB), "att")
    assert "period already final" not in first.stderr, first.stderr
    assert "3 new file(s)" in first.stdout, first.stdout[-3000:]
    with open(output / "report_files.csv", newline="", encoding="utf-8") as handle:
        assert {row["file_path"]: row["status"] for row in csv.DictReader(handle)}[
            "att/rbm_billable_events_2023-08-30.csv"] == "final"
    if manifest == "without_newest_event_at":
        with duckdb.connect(str(db)) as con:
            con.execute("alter table rpt_report_files drop column newest_event_at")
    # A row of att's that comes a day late, for 2023-08-27, opens the file of 2023-08-29: its period is final.
    late = tmp_path / "rbm_activity_late.csv"
    with gzip.open(FIXTURES / "att" / "rbm_activity_2023-08-29.csv.gz", "rt", encoding="utf-8") as handle:
        header, message, receipt = handle.readline(), handle.readline(), handle.readline()
    late.write_text(header + (message + receipt).replace("a102;GU02", "a902;GU92").replace("2023-08-29", "2023-08-27"),
                    encoding="utf-8")
    second = run(str(late), "att")
    assert ("warning: this run wrote 1 new report file(s) for a period already final (e.g. "
            "att/rbm_billable_events_2023-08-29.csv)") in second.stderr, second.stderr
    with open(output / "restatements.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # restated_at as the reports write times (ISO 8601, UTC, Z)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["restated_at"]) for row in rows), rows
    logged = [(row["file_path"], row["change_kind"], row["status_before"], row["period_was_final"]) for row in rows]
    assert logged == [
        ("att/rbm_billable_events_2023-08-30.csv", "new_file", "", "false"),
        ("att/rbm_billable_events_2023-08-31.csv", "new_file", "", "false"),
        ("att/rbm_billable_events_2023-09-01.csv", "new_file", "", "false"),
        ("att/rbm_billable_events_2023-08-29.csv", "new_file", "", "true"),
    ]


def test_a_full_rebuild_reads_again_the_logs_of_the_other_carriers(tmp_path):
    """Review (fourteenth session): a database holding two carriers' activity logs, each loaded by a run with its
    own CARRIER; then something forces a full rebuild (here the run's record beside the database cut short; an
    agents file changed does too), and the next run has CARRIER=att. It read only att's logs: vodafone_uk's report
    files, final ones included, were removed until vodafone_uk's next run, which then warned of new files for a
    period already final. The rebuild now reads vodafone_uk's logs again as vodafone_uk's: every report stays
    byte for byte, the restatement log gains nothing, and each row keeps its carrier."""
    from rbm import state

    def run(carrier: str):
        done = run_cli(tmp_path, "--activity", str(FIXTURES / carrier / LOG_GLOB), "--carrier", carrier,
                       "--agents", str(AGENTS), "--output", str(output), db=db, env={"BILLING_SALT": SALT})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        return done

    db, output = tmp_path / "shared.duckdb", tmp_path / "out"
    run("att")
    run("vodafone_uk")
    reports = {str(p.relative_to(output)): p.read_bytes() for p in output.rglob("*.csv")}
    assert any(name.startswith("vodafone_uk/") for name in reports)
    state.state_file(db).write_text('{"fingerprint": "ab', encoding="utf-8")  # a write cut short
    rebuild = run("att")
    assert "full rebuild: the record of the previous run" in rebuild.stdout, rebuild.stdout[-3000:]
    assert "reads again 3 activity log(s) of 1 other carrier(s)" in rebuild.stdout, rebuild.stdout[-3000:]
    assert {str(p.relative_to(output)): p.read_bytes() for p in output.rglob("*.csv")} == reports
    with duckdb.connect(str(db), read_only=True) as con:
        carriers = con.sql("select split_part(source_file, '/', -2), carrier_id, count(*) from stg_activity_log"
                           " group by all order by all").fetchall()
    assert [(folder, carrier) for folder, carrier, _ in carriers] == [("att", "att"), ("vodafone_uk", "vodafone_uk")]
    # FULL_REFRESH=1, which the run advises to correct a file, reads them again too (review of the fix).
    asked = run_cli(tmp_path, "--activity", str(FIXTURES / "att" / LOG_GLOB), "--carrier", "att", "--full-refresh",
                    "--agents", str(AGENTS), "--output", str(output), db=db, env={"BILLING_SALT": SALT})
    assert asked.returncode == 0, asked.stdout[-3000:] + asked.stderr[-2000:]
    assert "reads again 3 activity log(s) of 1 other carrier(s)" in asked.stdout, asked.stdout[-3000:]
    assert {str(p.relative_to(output)): p.read_bytes() for p in output.rglob("*.csv")} == reports


def test_a_full_rebuild_keeps_the_carrier_a_file_of_the_run_was_loaded_with(tmp_path):
    """Review of the fix above (fourteenth session): att's log and vodafone_uk's lie in one folder; the att run
    loads its file, the vodafone_uk run's glob matches both and loads only its own (the other is loaded). A rebuild
    the run did not ask for read the att file as vodafone_uk's: att's report was removed and its events billed to
    vodafone_uk, without a word. The file keeps its carrier (README: FULL_REFRESH=1 loads it again with the run's),
    and the run says so."""
    from rbm import state

    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(FIXTURES / "att" / "rbm_activity_2023-08-28.csv", landing)
    shutil.copy(FIXTURES / "vodafone_uk" / "rbm_activity_2023-08-28.csv.gz", landing)
    db, output = tmp_path / "rbm.duckdb", tmp_path / "out"

    def run(pattern: str, carrier: str):
        done = run_cli(tmp_path, "--activity", str(landing / pattern), "--carrier", carrier, "--agents", str(AGENTS),
                       "--output", str(output), db=db, env={"BILLING_SALT": SALT})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        return done

    run("rbm_activity_2023-08-28.csv", "att")
    run("rbm_activity_2023-08-28.csv*", "vodafone_uk")
    reports = {str(p.relative_to(output)): p.read_bytes() for p in output.rglob("*.csv")}
    assert any(name.startswith("att/") for name in reports)
    state.state_file(db).write_text('{"fingerprint": "ab', encoding="utf-8")
    rebuild = run("rbm_activity_2023-08-28.csv*", "vodafone_uk")
    assert ("warning: 1 file(s) of this run were loaded before with another carrier (e.g. "
            f"{landing / 'rbm_activity_2023-08-28.csv'} as att) and keep it") in rebuild.stderr, rebuild.stderr[-3000:]
    assert {str(p.relative_to(output)): p.read_bytes() for p in output.rglob("*.csv")} == reports


def test_a_full_rebuild_stops_when_another_carrier_of_the_database_is_no_longer_listed(tmp_path):
    """Review (fourteenth session): a CARRIERS file without vodafone_uk, on a database holding vodafone_uk's logs,
    forces a rebuild that would quarantine every vodafone_uk row as unknown_carrier and remove its reports; the run
    stops before building instead, naming the carrier, as it does for its own CARRIER."""
    carriers = tmp_path / "carriers.csv"
    lines = (ROOT / "seeds/carriers.csv").read_text(encoding="utf-8").splitlines()
    carriers.write_text("\n".join(line for line in lines if not line.startswith("vodafone_uk,")) + "\n",
                        encoding="utf-8")
    db, output = tmp_path / "rbm.duckdb", tmp_path / "out"

    def run(carrier: str, *extra: str):
        return run_cli(tmp_path, "--activity", str(FIXTURES / carrier / LOG_GLOB), "--carrier", carrier, *extra,
                       "--agents", str(AGENTS), "--output", str(output), db=db, env={"BILLING_SALT": SALT})

    assert run("att").returncode == 0 and run("vodafone_uk").returncode == 0
    reports = {str(p.relative_to(output)): p.read_bytes() for p in output.rglob("*.csv")}
    stopped = run("att", "--carriers", str(carriers))
    assert stopped.returncode == 2, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    assert f"vodafone_uk is not a carrier of CARRIERS {carriers} any more" in stopped.stderr, stopped.stderr
    assert {str(p.relative_to(output)): p.read_bytes() for p in output.rglob("*.csv")} == reports
