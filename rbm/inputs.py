"""Resolve and check the input files of a run before dbt reads them (SPEC §1, §8, §9).

A file that cannot be used at all (missing, unreadable, empty, wrong header) stops the run
with a message naming the file and what is wrong. Row-level problems are not checked here:
those rows go to quarantine inside dbt.
"""
from __future__ import annotations

import csv
import glob
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

MESSAGES_COLUMNS = [
    "message_id", "agent_id", "user_id", "carrier_id", "direction", "content_kind", "text",
    "file_size_bytes", "suggestions", "status", "sent_at", "delivered_at", "is_tester",
]
AGENTS_COLUMNS = ["agent_id", "agent_name", "agent_owner", "owner_name", "billing_category"]
ACTIVITY_COLUMNS = [
    "activity_id", "billing_event_id", "agent_id", "user_id", "direction", "time", "type", "size_bytes",
]


class InputError(Exception):
    """An input file that cannot be used; the message names the file and the problem."""


@dataclass
class RunInputs:
    messages: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    activity: list[str] = field(default_factory=list)
    activity_delimiters: dict[str, str] = field(default_factory=dict)
    carrier: str = ""

    def dbt_vars(self) -> dict:
        return {
            "messages_path": self.messages,
            "agents_path": self.agents,
            "activity_path": [p for p in self.activity if self.activity_delimiters.get(p) != ";"],
            "activity_semicolon_path": [p for p in self.activity if self.activity_delimiters.get(p) == ";"],
            "activity_carrier": self.carrier,
        }


def expand(pattern: str, what: str) -> list[str]:
    """Absolute paths of the files a path or glob names, sorted so runs are reproducible."""
    if not pattern:
        return []
    matches = sorted({str(Path(p).resolve()) for p in glob.glob(pattern, recursive=True) if Path(p).is_file()})
    if not matches:
        raise InputError(f"{what}: no file matches {pattern!r}")
    return matches


def _open_text(path: str) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def read_header(path: str, delimiter: str = ",") -> list[str]:
    try:
        with _open_text(path) as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise InputError(f"{path}: cannot be read ({error})") from error
    if not first.strip():
        raise InputError(f"{path}: the file is empty (no header line)")
    return [c.strip() for c in next(csv.reader([first.rstrip("\r\n")], delimiter=delimiter))]


def parquet_columns(path: str) -> list[str]:
    import duckdb

    try:
        return [row[0] for row in duckdb.sql(f"describe select * from read_parquet('{path}')").fetchall()]
    except duckdb.Error as error:
        raise InputError(f"{path}: not a readable Parquet file ({error})") from error


def check_columns(path: str, found: list[str], expected: list[str], contract: str) -> None:
    if found == expected:
        return
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    problems = []
    if missing:
        problems.append("missing column(s): " + ", ".join(missing))
    if extra:
        problems.append("unexpected column(s): " + ", ".join(extra))
    if not problems:
        problems.append("columns are in the wrong order")
    raise InputError(
        f"{path}: the header does not match the {contract} contract (SPEC §1/§9): "
        + "; ".join(problems)
        + f". Expected header: {','.join(expected)}"
    )


def check_file(path: str, expected: list[str], contract: str) -> None:
    if path.endswith(".parquet"):
        check_columns(path, parquet_columns(path), expected, contract)
    else:
        check_columns(path, read_header(path), expected, contract)


def activity_delimiter(path: str) -> str:
    """SPEC §9: activity logs are tab-separated; older files use ';'."""
    for delimiter in ("\t", ";"):
        if read_header(path, delimiter) == ACTIVITY_COLUMNS:
            return delimiter
    check_columns(path, read_header(path, "\t"), ACTIVITY_COLUMNS, "activity log")
    return "\t"


def resolve(messages: str, agents: str, activity: str = "", carrier: str = "") -> RunInputs:
    if activity and messages:
        raise InputError("give either MESSAGES or ACTIVITY, not both")
    if activity and not carrier:
        raise InputError("ACTIVITY needs CARRIER=<carrier_id>: an activity log is per carrier (SPEC §9)")
    result = RunInputs(carrier=carrier)
    result.agents = expand(agents, "AGENTS")
    for path in result.agents:
        check_file(path, AGENTS_COLUMNS, "agents")
    if activity:
        result.activity = expand(activity, "ACTIVITY")
        for path in result.activity:
            result.activity_delimiters[path] = activity_delimiter(path)
    else:
        result.messages = expand(messages, "MESSAGES")
        for path in result.messages:
            check_file(path, MESSAGES_COLUMNS, "messages")
    return result
