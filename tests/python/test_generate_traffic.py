"""Tests of scripts/generate_traffic.py: determinism, the SPEC §1 contract, file splits."""
from __future__ import annotations

import csv
import datetime as dt
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_traffic.py"

MESSAGE_HEADER = (
    "message_id,agent_id,user_id,carrier_id,direction,content_kind,text,file_size_bytes,"
    "suggestions,status,sent_at,delivered_at,is_tester"
)
AGENT_HEADER = "agent_id,agent_name,agent_owner,owner_name,billing_category"
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CARRIERS = {"att", "tmobile", "verizon", "vodafone_uk", "orange_fr", "telefonica_es"}
MT_KINDS = {"text", "file", "rich_card", "carousel"}
MO_KINDS = {"text", "suggested_reply", "suggested_action", "file"}
MT_STATUSES = {"delivered", "sent", "failed", "revoked"}
SUGGESTION_KINDS = {
    "reply", "dial", "open_url", "view_location", "share_location", "create_calendar_event",
    "open_app", "open_url_webview",
}
N = 3000


def run(out_dir: Path, *args: str) -> Path:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out-dir", str(out_dir), *args],
        check=True,
        capture_output=True,
    )
    return out_dir


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def ts(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("base"), "--messages", str(N), "--days", "7")


@pytest.fixture(scope="module")
def rows(base) -> list[dict[str, str]]:
    return read_rows(base / "messages.csv")


def test_deterministic_bytes_across_runs_and_threads(base, tmp_path):
    again = run(tmp_path / "again", "--messages", str(N), "--days", "7", "--threads", "1")
    for name in ("messages.csv", "agents.csv"):
        assert (base / name).read_bytes() == (again / name).read_bytes(), name


def test_other_seed_gives_other_data(base, tmp_path):
    other = run(tmp_path / "other", "--messages", str(N), "--days", "7", "--seed", "7")
    assert (base / "messages.csv").read_bytes() != (other / "messages.csv").read_bytes()


def test_headers_exact(base):
    assert (base / "messages.csv").read_text(encoding="utf-8").split("\n", 1)[0] == MESSAGE_HEADER
    assert (base / "agents.csv").read_text(encoding="utf-8").split("\n", 1)[0] == AGENT_HEADER


@pytest.mark.parametrize("n", [1, 7, 250])
def test_exact_message_count(tmp_path, n):
    out = run(tmp_path, "--messages", str(n))
    assert len(read_rows(out / "messages.csv")) == n


def test_unique_ids_not_in_time_order(rows):
    ids = [r["message_id"] for r in rows]
    assert len(ids) == len(set(ids)) == N
    assert all(ids) and ids != sorted(ids)


def test_rows_sorted_by_sent_at_then_id(rows):
    keys = [(r["sent_at"], r["message_id"]) for r in rows]
    assert keys == sorted(keys)


def test_agents_file(base, rows):
    agents = read_rows(base / "agents.csv")
    assert len(agents) == 12
    assert {a["billing_category"] for a in agents} == {"conversational", "non_conversational"}
    for a in agents:
        assert re.fullmatch(r"[a-z0-9]+_[a-z0-9]{6}_agent@rbm\.goog", a["agent_id"])
        assert "@" in a["agent_owner"] and a["agent_name"] and a["owner_name"]
    assert {r["agent_id"] for r in rows} <= {a["agent_id"] for a in agents}


def test_contract_values(rows):
    for r in rows:
        assert r["carrier_id"] in CARRIERS
        assert re.fullmatch(r"\+\d{10,13}", r["user_id"])
        assert r["is_tester"] in {"true", "false"}
        assert TS.match(r["sent_at"])
        if r["direction"] == "MT":
            assert r["content_kind"] in MT_KINDS
            assert r["status"] in MT_STATUSES
            if r["suggestions"]:
                assert set(r["suggestions"].split("|")) <= SUGGESTION_KINDS
        else:
            assert r["direction"] == "MO"
            assert r["content_kind"] in MO_KINDS
            assert r["status"] == "received"
            assert r["suggestions"] == ""
        if r["direction"] == "MT" and r["status"] == "delivered":
            assert TS.match(r["delivered_at"])
            assert ts(r["delivered_at"]) >= ts(r["sent_at"])
        else:
            assert r["delivered_at"] == ""
        if r["content_kind"] in {"file", "rich_card", "carousel"}:
            assert int(r["file_size_bytes"]) >= 0
        else:
            assert r["file_size_bytes"] == ""
        if r["content_kind"] in {"suggested_reply", "suggested_action"} or (
            r["direction"] == "MO" and r["content_kind"] == "text"
        ):
            assert r["text"]


def test_one_carrier_per_user_and_realistic_mix(rows):
    carriers = {}
    for r in rows:
        assert carriers.setdefault(r["user_id"], r["carrier_id"]) == r["carrier_id"]
    assert set(carriers.values()) == CARRIERS
    statuses = Counter(r["status"] for r in rows if r["direction"] == "MT")
    assert 0.85 < statuses["delivered"] / sum(statuses.values()) < 0.95
    assert {r["direction"] for r in rows} == {"MT", "MO"}
    assert {r["content_kind"] for r in rows} == MT_KINDS | MO_KINDS
    assert 0 < sum(r["is_tester"] == "true" for r in rows) < 0.1 * N
    text_bytes = [len(r["text"].encode("utf-8")) for r in rows if r["text"]]
    assert any(b > 320 for b in text_bytes) and any(b <= 160 for b in text_bytes)
    assert any(len(r["text"].encode("utf-8")) > len(r["text"]) for r in rows)  # multi-byte
    assert any(r["suggestions"] == "reply|reply" for r in rows)
    sizes = [int(r["file_size_bytes"]) for r in rows if r["file_size_bytes"]]
    assert any(s % 512 == 0 and s > 0 for s in sizes) and max(sizes) > 1_000_000


def test_exact_24h_pairs_exist(rows):
    by_stream: dict[tuple, set] = {}
    for r in rows:
        if r["direction"] == "MO" or r["status"] == "delivered":
            t = ts(r["delivered_at"] or r["sent_at"])
            by_stream.setdefault((r["agent_id"], r["user_id"]), set()).add(t)
    day = dt.timedelta(hours=24)
    assert any(t + day in times for times in by_stream.values() for t in times)


def test_files_per_day_cover_single_file(base, rows, tmp_path):
    out = run(tmp_path, "--messages", str(N), "--days", "7", "--files-per-day")
    files = sorted((out / "messages").glob("messages_*.csv"))
    assert not (out / "messages.csv").exists()
    day_lines: list[str] = []
    late = 0
    for f in files:
        lines = f.read_text(encoding="utf-8").splitlines()
        assert lines[0] == MESSAGE_HEADER
        day_lines.extend(lines[1:])
        arrival = dt.date.fromisoformat(f.stem.removeprefix("messages_"))
        for r in read_rows(f):
            lag = (arrival - ts(r["sent_at"]).date()).days
            assert lag in (0, 2, 3)
            late += lag > 0
    single = (base / "messages.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(day_lines) == sorted(single)
    assert 0 < late < 0.03 * N


def test_single_stream(tmp_path):
    out = run(tmp_path, "--messages", "20000", "--single-stream")
    rows = read_rows(out / "messages.csv")
    agents = read_rows(out / "agents.csv")
    assert len(rows) == 20000
    assert len(agents) == 1 and agents[0]["billing_category"] == "conversational"
    assert {r["agent_id"] for r in rows} == {agents[0]["agent_id"]}
    assert len({r["user_id"] for r in rows}) == 1
    assert {r["carrier_id"] for r in rows} == {"att"}
    span = ts(rows[-1]["sent_at"]) - ts(rows[0]["sent_at"])
    # ~1 message per 30 s: 20000 messages span about a week
    assert dt.timedelta(days=5) < span < dt.timedelta(days=8)


def test_parquet_matches_csv(base, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    out = run(tmp_path, "--messages", str(N), "--days", "7", "--format", "parquet")
    con = duckdb.connect()
    from_parquet = con.execute(
        f"""select message_id, agent_id, user_id, carrier_id, direction, content_kind, text,
                   file_size_bytes, suggestions, status,
                   strftime(sent_at, '%Y-%m-%dT%H:%M:%S.%gZ'),
                   strftime(delivered_at, '%Y-%m-%dT%H:%M:%S.%gZ'), is_tester
            from read_parquet('{out / "messages.parquet"}')"""
    ).fetchall()
    from_csv = con.execute(
        f"""select * from read_csv('{base / "messages.csv"}', all_varchar = true)"""
    ).fetchall()
    normalize = [
        tuple("" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in row)
        for row in from_parquet
    ]
    assert normalize == [tuple("" if v is None else v for v in row) for row in from_csv]
