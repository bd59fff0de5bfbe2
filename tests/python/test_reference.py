"""Tests of the plain-Python reference implementation (rbm_reference) on hand-made
streams with full expected outputs, and sanity tests of the adversarial generator.

Run: cd /work/main && .venv/bin/python -m pytest tests/python/test_reference.py -q
"""

import csv
import hashlib
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest

import adversarial
import rbm_reference
from rbm_reference import ROW_KEYS, bill

SALT = "test-salt"

AGENTS = {
    "conv": dict(
        agent_name="Conv Agent",
        agent_owner="owner@x.example",
        owner_name="Owner X",
        billing_category="conversational",
    ),
    "nonconv": dict(
        agent_name="Plain, Agent",
        agent_owner="owner@y.example",
        owner_name="Owner Y",
        billing_category="non_conversational",
    ),
}
CARRIERS = {"att": "us", "verizon": "us", "vodafone_uk": "global", "orange_fr": "global"}


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def T(s):
    """'2025-05-01 09:00' / '2025-05-01 09:00:00.000001' -> naive UTC datetime."""
    return datetime.fromisoformat(s)


def eid(message_id):
    return hashlib.sha256((SALT + "|" + message_id).encode("utf-8")).hexdigest()


def mt(mid, when, kind="text", text="hi", size=None, sugg=None, status="delivered",
       agent="conv", user="u1", carrier="att", tester=False):
    """An MT; `when` is its event time (delivered_at). sent_at is 5 minutes earlier,
    so a rule that wrongly used sent_at would land in another hour."""
    t = T(when)
    return dict(
        message_id=mid, agent_id=agent, user_id=user, carrier_id=carrier,
        direction="MT", content_kind=kind, text=text, file_size_bytes=size,
        suggestions=sugg, status=status, sent_at=t - timedelta(minutes=5),
        delivered_at=t if status == "delivered" else None, is_tester=tester,
    )


def mo(mid, when, kind="text", text="ok", size=None, agent="conv", user="u1",
       carrier="att", tester=False):
    return dict(
        message_id=mid, agent_id=agent, user_id=user, carrier_id=carrier,
        direction="MO", content_kind=kind, text=text, file_size_bytes=size,
        suggestions=None, status="received", sent_at=T(when), delivered_at=None,
        is_tester=tester,
    )


def row(first, type_, start, gen, *, mt_messages, mo_messages, duration=0, size=0,
        segments=0, session="", agent="conv", carrier="att"):
    """A full expected report row: every value as the CSV string."""
    a = AGENTS[agent]
    return dict(
        carrier_id=carrier,
        generation_date=gen,
        billing_event_id=eid(first),
        type=type_,
        agent_id=agent,
        agent_owner=a["agent_owner"],
        billing_party="carrier",
        max_duration_single_message="24",
        max_duration_a2p_conversation="24",
        max_duration_p2a_conversation="24",
        start_time=start,
        duration=str(duration),
        mt_messages=str(mt_messages),
        mo_messages=str(mo_messages),
        size_kilobytes=str(size),
        agent_name=a["agent_name"],
        owner_name=a["owner_name"],
        segment_count=str(segments),
        session_type=session,
    )


def us_single(mid, type_, start, gen, segments=0, size=0, agent="conv", carrier="att"):
    """A US non-session row: 1/0 for a2p types, 0/1 for p2a types."""
    is_mt = type_.startswith("a2p")
    return row(mid, type_, start, gen, mt_messages=int(is_mt), mo_messages=int(not is_mt),
               segments=segments, size=size, agent=agent, carrier=carrier)


def ev(first, type_, event_type=None):
    return dict(billing_event_id=eid(first), type=type_, event_type=event_type or type_)


def run(messages):
    return bill(messages, AGENTS, CARRIERS, SALT)


def as_tuples(rows):
    return sorted(tuple(r[k] for k in ROW_KEYS) for r in rows)


def check(result, rows, events, not_billable=None):
    for r in result.report_rows:
        assert tuple(r) == ROW_KEYS
        assert all(isinstance(v, str) for v in r.values())
    assert as_tuples(result.report_rows) == as_tuples(rows)
    assert result.message_events == events
    assert result.not_billable == (not_billable or {})


D3 = "2025-05-03"  # generation date of events starting 2025-05-01


# ---------------------------------------------------------------------------
# Basic contract of the output
# ---------------------------------------------------------------------------


def test_literal_row_and_event_id():
    """One row spelled out literally, including the SHA-256 of 'test-salt|m1'."""
    r = run([mt("m1", "2025-05-01 09:15:00", agent="nonconv")])
    assert r.report_rows == [
        {
            "carrier_id": "att",
            "generation_date": "2025-05-03",
            "billing_event_id": "8bf933a8adf86cf119946c974f8e3237bcc7dc09fd40d39defbbe7e549c8a846",
            "type": "a2p_rich_message",
            "agent_id": "nonconv",
            "agent_owner": "owner@y.example",
            "billing_party": "carrier",
            "max_duration_single_message": "24",
            "max_duration_a2p_conversation": "24",
            "max_duration_p2a_conversation": "24",
            "start_time": "2025-05-01T09:00:00Z",
            "duration": "0",
            "mt_messages": "1",
            "mo_messages": "0",
            "size_kilobytes": "0",
            "agent_name": "Plain, Agent",
            "owner_name": "Owner Y",
            "segment_count": "1",
            "session_type": "",
        }
    ]
    assert r.files() == {
        ("att", "2025-05-03"): [tuple(r.report_rows[0][k] for k in rbm_reference.REPORT_COLUMNS)]
    }


def test_order_of_input_does_not_matter():
    msgs = [
        mt("a", "2025-05-01 09:00"), mo("b", "2025-05-01 09:10"),
        mt("c", "2025-05-01 09:20"), mo("d", "2025-05-01 09:30"),
        mo("e", "2025-05-01 09:30", carrier="vodafone_uk", user="u9"),
        mt("f", "2025-05-01 09:40", carrier="vodafone_uk", user="u9"),
    ]
    a = run(msgs)
    b = run(list(reversed(msgs)))
    assert a.report_rows == b.report_rows
    assert a.message_events == b.message_events


# ---------------------------------------------------------------------------
# Not billable (SPEC §2)
# ---------------------------------------------------------------------------


def test_not_billable_reasons_and_they_never_enter_streams():
    msgs = [
        # US conversational stream: without the excluded rows there are only 3 candidates
        mt("a", "2025-05-01 09:00"),
        mo("b", "2025-05-01 09:01"),
        mo("t1", "2025-05-01 09:02", tester=True),
        mt("x1", "2025-05-01 09:03", status="sent"),
        mt("x2", "2025-05-01 09:04", status="failed"),
        mt("x3", "2025-05-01 09:05", status="revoked"),
        mt("t2", "2025-05-01 09:06", status="failed", tester=True),  # tester wins
        mo("c", "2025-05-01 09:07"),
        # global: a failed MT does not replace the pending delivered MT
        mt("g1", "2025-05-01 09:00", carrier="vodafone_uk"),
        mt("g2", "2025-05-01 10:00", carrier="vodafone_uk", status="failed"),
        mo("g3", "2025-05-01 11:00", carrier="vodafone_uk"),
        mo("g4", "2025-05-01 11:30", carrier="vodafone_uk", tester=True),
    ]
    r = run(msgs)
    check(
        r,
        [
            us_single("a", "a2p_rich_message", "2025-05-01T09:00:00Z", D3, segments=1),
            us_single("b", "p2a_rich_message", "2025-05-01T09:00:00Z", D3, segments=1),
            us_single("c", "p2a_rich_message", "2025-05-01T09:00:00Z", D3, segments=1),
            row("g1", "a2p_conversation", "2025-05-01T09:00:00Z", D3, mt_messages=1,
                mo_messages=1, duration=120, carrier="vodafone_uk"),
        ],
        {
            "a": ev("a", "a2p_rich_message"),
            "b": ev("b", "p2a_rich_message"),
            "c": ev("c", "p2a_rich_message"),
            "g1": ev("g1", "basic_message", "a2p_conversation"),
            "g3": ev("g1", "a2p_conversation"),
        },
        {
            "t1": "tester", "t2": "tester", "x1": "mt_not_delivered",
            "x2": "mt_not_delivered", "x3": "mt_not_delivered", "g2": "mt_not_delivered",
            "g4": "tester",
        },
    )


def test_streams_are_agent_user_carrier():
    """Four candidates within an hour, but split over streams: no session, no conversation."""
    msgs = [
        mt("a", "2025-05-01 09:00", user="u1"),
        mo("b", "2025-05-01 09:01", user="u1"),
        mo("c", "2025-05-01 09:02", user="u2"),
        mo("d", "2025-05-01 09:03", user="u1", agent="nonconv"),
        mt("e", "2025-05-01 09:04", user="u1"),  # u1/conv: MT MO MT -> 3 candidates only
        mt("g1", "2025-05-01 09:00", user="u1", carrier="vodafone_uk"),
        mo("g2", "2025-05-01 09:30", user="u2", carrier="vodafone_uk"),
    ]
    r = run(msgs)
    h = "2025-05-01T09:00:00Z"
    check(
        r,
        [
            us_single("a", "a2p_rich_message", h, D3, segments=1),
            us_single("b", "p2a_rich_message", h, D3, segments=1),
            us_single("c", "p2a_rich_message", h, D3, segments=1),
            us_single("d", "p2a_rich_message", h, D3, segments=1, agent="nonconv"),
            us_single("e", "a2p_rich_message", h, D3, segments=1),
            row("g1", "basic_message", h, D3, mt_messages=1, mo_messages=0, carrier="vodafone_uk"),
        ],
        {
            "a": ev("a", "a2p_rich_message"),
            "b": ev("b", "p2a_rich_message"),
            "c": ev("c", "p2a_rich_message"),
            "d": ev("d", "p2a_rich_message"),
            "e": ev("e", "a2p_rich_message"),
            "g1": ev("g1", "basic_message"),
        },
        {"g2": "mo_not_billable_global"},
    )


# ---------------------------------------------------------------------------
# US sessions (SPEC §3, §4, §6)
# ---------------------------------------------------------------------------


def us1_messages(agent="conv"):
    return [
        mt("a", "2025-05-01 09:00", agent=agent),
        mo("b", "2025-05-01 09:10", text="yes", agent=agent),
        mt("c", "2025-05-01 09:20", kind="rich_card", text=None, size=2048, agent=agent),
        mo("d", "2025-05-01 10:05", kind="file", text=None, size=1536, agent=agent),
        mo("e", "2025-05-02 08:59:59", kind="suggested_action", text=None, agent=agent),
        mt("f", "2025-05-02 09:00:00", agent=agent),  # exactly at the window end: outside
    ]


def test_us_session_triggered():
    r = run(us1_messages())
    s = dict(mt_messages=2, mo_messages=3, duration=1439, session="a2p_session")
    h = "2025-05-01T09:00:00Z"
    check(
        r,
        [
            row("a", "a2p_rich_message", h, D3, segments=1, **s),
            row("a", "p2a_rich_message", h, D3, segments=1, **s),
            row("a", "a2p_rich_media_message", h, D3, size=2, **s),
            row("a", "p2a_rich_media_message", h, D3, size=2, **s),
            row("a", "p2a_suggested_action", h, D3, **s),
            us_single("f", "a2p_rich_message", "2025-05-02T09:00:00Z", "2025-05-04", segments=1),
        ],
        {
            "a": ev("a", "a2p_rich_message", "a2p_session"),
            "b": ev("a", "p2a_rich_message", "a2p_session"),
            "c": ev("a", "a2p_rich_media_message", "a2p_session"),
            "d": ev("a", "p2a_rich_media_message", "a2p_session"),
            "e": ev("a", "p2a_suggested_action", "a2p_session"),
            "f": ev("f", "a2p_rich_message"),
        },
    )


def test_us_non_conversational_never_gets_sessions():
    r = run(us1_messages(agent="nonconv"))
    h = "2025-05-01T09:00:00Z"
    kw = dict(agent="nonconv")
    check(
        r,
        [
            us_single("a", "a2p_rich_message", h, D3, segments=1, **kw),
            us_single("b", "p2a_rich_message", h, D3, segments=1, **kw),
            us_single("c", "a2p_rich_media_message", h, D3, size=2, **kw),
            us_single("d", "p2a_rich_media_message", "2025-05-01T10:00:00Z", D3, size=2, **kw),
            us_single("e", "p2a_suggested_action", "2025-05-02T08:00:00Z", "2025-05-04", **kw),
            us_single("f", "a2p_rich_message", "2025-05-02T09:00:00Z", "2025-05-04", segments=1, **kw),
        ],
        {
            "a": ev("a", "a2p_rich_message"),
            "b": ev("b", "p2a_rich_message"),
            "c": ev("c", "a2p_rich_media_message"),
            "d": ev("d", "p2a_rich_media_message"),
            "e": ev("e", "p2a_suggested_action"),
            "f": ev("f", "a2p_rich_message"),
        },
    )


@pytest.mark.parametrize(
    "fourth, triggers",
    [
        ("2025-05-02 09:00:00", False),  # exactly +24 h: not < time(i) + 24 h
        ("2025-05-02 09:00:00.000001", False),
        ("2025-05-02 08:59:59.999999", True),
        ("2025-05-02 08:59:59", True),
    ],
)
def test_us_fourth_message_at_24h_edge(fourth, triggers):
    msgs = [
        mt("a", "2025-05-01 09:00"),
        mo("b", "2025-05-01 10:00"),
        mo("c", "2025-05-01 11:00"),
        mt("d", fourth),
    ]
    r = run(msgs)
    if triggers:
        s = dict(mt_messages=2, mo_messages=2, duration=1439, session="a2p_session", segments=1)
        h = "2025-05-01T09:00:00Z"
        rows = [
            row("a", "a2p_rich_message", h, D3, **s),
            row("a", "p2a_rich_message", h, D3, **s),
            row("a", "p2a_rich_message", h, D3, **s),
            row("a", "a2p_rich_message", h, D3, **s),
        ]
        events = {
            "a": ev("a", "a2p_rich_message", "a2p_session"),
            "b": ev("a", "p2a_rich_message", "a2p_session"),
            "c": ev("a", "p2a_rich_message", "a2p_session"),
            "d": ev("a", "a2p_rich_message", "a2p_session"),
        }
    else:
        rows = [
            us_single("a", "a2p_rich_message", "2025-05-01T09:00:00Z", D3, segments=1),
            us_single("b", "p2a_rich_message", "2025-05-01T10:00:00Z", D3, segments=1),
            us_single("c", "p2a_rich_message", "2025-05-01T11:00:00Z", D3, segments=1),
            us_single("d", "a2p_rich_message", "2025-05-02T09:00:00Z", "2025-05-04", segments=1),
        ]
        events = {
            "a": ev("a", "a2p_rich_message"),
            "b": ev("b", "p2a_rich_message"),
            "c": ev("c", "p2a_rich_message"),
            "d": ev("d", "a2p_rich_message"),
        }
    check(r, rows, events)


def test_us_four_mos_no_trigger():
    msgs = [mo(m, "2025-05-01 09:0%d" % i) for i, m in enumerate("abcd")]
    r = run(msgs)
    h = "2025-05-01T09:00:00Z"
    check(
        r,
        [us_single(m, "p2a_rich_message", h, D3, segments=1) for m in "abcd"],
        {m: ev(m, "p2a_rich_message") for m in "abcd"},
    )


def test_us_three_mts_one_mo_no_trigger():
    msgs = [mt("a", "2025-05-01 09:00"), mt("b", "2025-05-01 09:01"),
            mo("c", "2025-05-01 09:02"), mt("d", "2025-05-01 09:03")]
    r = run(msgs)
    h = "2025-05-01T09:00:00Z"
    types = {"a": "a2p_rich_message", "b": "a2p_rich_message", "c": "p2a_rich_message",
             "d": "a2p_rich_message"}
    check(
        r,
        [us_single(m, t, h, D3, segments=1) for m, t in types.items()],
        {m: ev(m, t) for m, t in types.items()},
    )


def test_us_mt_before_trigger_billed_alone():
    """MT MT MT MO MO: no trigger at the first MT (1 MO), trigger at the second."""
    msgs = [
        mt("a", "2025-05-01 09:00"),
        mt("b", "2025-05-01 09:01"),
        mt("c", "2025-05-01 09:02"),
        mo("d", "2025-05-01 09:03"),
        mo("e", "2025-05-01 09:04"),
    ]
    r = run(msgs)
    h = "2025-05-01T09:00:00Z"
    s = dict(mt_messages=2, mo_messages=2, duration=3, session="a2p_session", segments=1)
    check(
        r,
        [
            us_single("a", "a2p_rich_message", h, D3, segments=1),
            row("b", "a2p_rich_message", h, D3, **s),
            row("b", "a2p_rich_message", h, D3, **s),
            row("b", "p2a_rich_message", h, D3, **s),
            row("b", "p2a_rich_message", h, D3, **s),
        ],
        {
            "a": ev("a", "a2p_rich_message"),
            "b": ev("b", "a2p_rich_message", "a2p_session"),
            "c": ev("b", "a2p_rich_message", "a2p_session"),
            "d": ev("b", "p2a_rich_message", "a2p_session"),
            "e": ev("b", "p2a_rich_message", "a2p_session"),
        },
    )


def test_us_chained_sessions():
    """Session 1 covers e and f; scanning resumes at g (exactly at the window end), not at e
    (e f g h would otherwise trigger)."""
    msgs = [
        mo("a", "2025-05-01 09:00"),
        mt("b", "2025-05-01 09:30"),
        mo("c", "2025-05-01 10:00"),
        mt("d", "2025-05-01 11:00"),
        mt("e", "2025-05-01 20:00"),
        mo("f", "2025-05-02 08:59:59"),
        mt("g", "2025-05-02 09:00:00"),
        mo("h", "2025-05-02 09:10"),
        mo("i", "2025-05-02 09:20"),
        mt("j", "2025-05-02 12:00"),
    ]
    r = run(msgs)
    s1 = dict(mt_messages=3, mo_messages=3, duration=1439, session="p2a_session", segments=1)
    s2 = dict(mt_messages=2, mo_messages=2, duration=180, session="a2p_session", segments=1)
    h1, h2, g2 = "2025-05-01T09:00:00Z", "2025-05-02T09:00:00Z", "2025-05-04"
    types = dict(a="p2a_rich_message", b="a2p_rich_message", c="p2a_rich_message",
                 d="a2p_rich_message", e="a2p_rich_message", f="p2a_rich_message",
                 g="a2p_rich_message", h="p2a_rich_message", i="p2a_rich_message",
                 j="a2p_rich_message")
    rows = [row("a", types[m], h1, D3, **s1) for m in "abcdef"]
    rows += [row("g", types[m], h2, g2, **s2) for m in "ghij"]
    events = {m: ev("a", types[m], "p2a_session") for m in "abcdef"}
    events.update({m: ev("g", types[m], "a2p_session") for m in "ghij"})
    check(r, rows, events)


def test_us_suggested_actions_do_not_trigger():
    """MT SA SA MO SA: if suggested actions counted, MT SA SA MO would trigger."""
    msgs = [
        mt("a", "2025-05-01 09:00"),
        mo("b", "2025-05-01 09:01", kind="suggested_action", text=None),
        mo("c", "2025-05-01 09:02", kind="suggested_action", text="Directions"),
        mo("d", "2025-05-01 09:03"),
        mo("e", "2025-05-01 09:04", kind="suggested_action", text=None),
    ]
    r = run(msgs)
    h = "2025-05-01T09:00:00Z"
    types = dict(a="a2p_rich_message", b="p2a_suggested_action", c="p2a_suggested_action",
                 d="p2a_rich_message", e="p2a_suggested_action")
    seg = dict(a=1, b=0, c=0, d=1, e=0)
    check(
        r,
        [us_single(m, types[m], h, D3, segments=seg[m]) for m in "abcde"],
        {m: ev(m, types[m]) for m in "abcde"},
    )


def test_us_suggested_actions_covered_by_session():
    msgs = [
        mo("a", "2025-05-01 08:00", kind="suggested_action", text=None),  # before: alone
        mt("b", "2025-05-01 09:00"),
        mo("c", "2025-05-01 09:05"),
        mo("d", "2025-05-01 09:06", kind="suggested_action", text=None),  # covered
        mo("e", "2025-05-01 09:10"),
        mt("f", "2025-05-01 09:20"),
        mo("g", "2025-05-02 09:00", kind="suggested_action", text=None),  # at the end: alone
    ]
    r = run(msgs)
    h = "2025-05-01T09:00:00Z"
    s = dict(mt_messages=2, mo_messages=3, duration=20, session="a2p_session")
    check(
        r,
        [
            us_single("a", "p2a_suggested_action", "2025-05-01T08:00:00Z", D3),
            row("b", "a2p_rich_message", h, D3, segments=1, **s),
            row("b", "p2a_rich_message", h, D3, segments=1, **s),
            row("b", "p2a_suggested_action", h, D3, **s),
            row("b", "p2a_rich_message", h, D3, segments=1, **s),
            row("b", "a2p_rich_message", h, D3, segments=1, **s),
            us_single("g", "p2a_suggested_action", "2025-05-02T09:00:00Z", "2025-05-04"),
        ],
        {
            "a": ev("a", "p2a_suggested_action"),
            "b": ev("b", "a2p_rich_message", "a2p_session"),
            "c": ev("b", "p2a_rich_message", "a2p_session"),
            "d": ev("b", "p2a_suggested_action", "a2p_session"),
            "e": ev("b", "p2a_rich_message", "a2p_session"),
            "f": ev("b", "a2p_rich_message", "a2p_session"),
            "g": ev("g", "p2a_suggested_action"),
        },
    )


def test_us_types_and_segment_count_multibyte():
    nc = dict(agent="nonconv")
    cases = [
        # (message, type, segment_count)
        (mt("s01", "2025-05-01 01:00", text="é" * 80, **nc), "a2p_rich_message", 1),  # 160 B
        (mt("s02", "2025-05-01 02:00", text="é" * 80 + "a", **nc), "a2p_rich_message", 2),  # 161 B
        (mt("s03", "2025-05-01 03:00", text="€" * 54, **nc), "a2p_rich_message", 2),  # 162 B, 54 chars
        (mt("s04", "2025-05-01 04:00", text="😀" * 40, **nc), "a2p_rich_message", 1),  # 160 B
        (mt("s05", "2025-05-01 05:00", text="😀" * 41, **nc), "a2p_rich_message", 2),  # 164 B
        (mt("s06", "2025-05-01 06:00", text="a" * 321, **nc), "a2p_rich_message", 3),
        (mt("s07", "2025-05-01 07:00", text=None, sugg="reply|dial|open_url", **nc),
         "a2p_rich_message", 1),
        (mt("s08", "2025-05-01 08:00", text="hi", sugg="reply|view_location", **nc),
         "a2p_rich_media_message", 0),
        (mt("s09", "2025-05-01 09:00", text="hi", sugg="open_url_webview", **nc),
         "a2p_rich_media_message", 0),
        (mt("s10", "2025-05-01 10:00", kind="carousel", text="x", **nc), "a2p_rich_media_message", 0),
        (mt("s11", "2025-05-01 11:00", kind="rich_card", text=None, sugg="reply", **nc),
         "a2p_rich_media_message", 0),
        (mt("s12", "2025-05-01 12:00", kind="file", text=None, size=100, **nc),
         "a2p_rich_media_message", 0),
        (mo("s13", "2025-05-01 13:00", kind="suggested_reply", text=None, **nc), "p2a_rich_message", 1),
        (mo("s14", "2025-05-01 14:00", text="日本" * 27, **nc), "p2a_rich_message", 2),  # 162 B
        (mo("s15", "2025-05-01 15:00", text="", **nc), "p2a_rich_message", 1),
        (mo("s16", "2025-05-01 16:00", kind="suggested_action", text="Directions", **nc),
         "p2a_suggested_action", 0),
        (mo("s17", "2025-05-01 17:00", kind="file", text="caption", size=None, **nc),
         "p2a_rich_media_message", 0),
    ]
    r = run([c[0] for c in cases])
    rows, events = [], {}
    for m, type_, seg in cases:
        start = m["message_id"][1:]  # hour encoded in the id
        h = "2025-05-01T%02d:00:00Z" % int(start)
        rows.append(us_single(m["message_id"], type_, h, D3, segments=seg, agent="nonconv"))
        events[m["message_id"]] = ev(m["message_id"], type_)
    check(r, rows, events)


def test_us_size_rounding():
    nc = dict(agent="nonconv", kind="file", text=None)
    sizes = {"z1": (511, 0), "z2": (512, 1), "z3": (1535, 1), "z4": (1536, 2),
             "z5": (None, 0), "z6": (0, 0), "z7": (1048063, 1023), "z8": (1048064, 1024)}
    msgs = [mo(k, "2025-05-01 09:0%s" % k[1], size=v[0], **nc) for k, v in sizes.items()]
    r = run(msgs)
    check(
        r,
        [us_single(k, "p2a_rich_media_message", "2025-05-01T09:00:00Z", D3, size=v[1],
                   agent="nonconv") for k, v in sizes.items()],
        {k: ev(k, "p2a_rich_media_message") for k in sizes},
    )


def test_us_start_time_truncation_and_generation_date():
    nc = dict(agent="nonconv")
    msgs = [
        mt("t1", "2025-05-30 23:59:59.999999", **nc),
        mo("t2", "2025-12-31 00:00:00", **nc),
        # sent 2025-05-01 23:58, delivered after midnight: the event time is delivered_at
        mt("t3", "2025-05-02 00:03:00", **nc),
        # a session crossing midnight keeps the start hour and file of its first message
        mo("a", "2025-05-01 23:30:15"),
        mt("b", "2025-05-01 23:45"),
        mo("c", "2025-05-02 00:10"),
        mt("d", "2025-05-02 01:00"),
    ]
    r = run(msgs)
    s = dict(mt_messages=2, mo_messages=2, duration=89, session="p2a_session", segments=1)
    h = "2025-05-01T23:00:00Z"
    check(
        r,
        [
            us_single("t1", "a2p_rich_message", "2025-05-30T23:00:00Z", "2025-06-01", segments=1, **nc),
            us_single("t2", "p2a_rich_message", "2025-12-31T00:00:00Z", "2026-01-02", segments=1, **nc),
            us_single("t3", "a2p_rich_message", "2025-05-02T00:00:00Z", "2025-05-04", segments=1, **nc),
            row("a", "p2a_rich_message", h, D3, **s),
            row("a", "a2p_rich_message", h, D3, **s),
            row("a", "p2a_rich_message", h, D3, **s),
            row("a", "a2p_rich_message", h, D3, **s),
        ],
        {
            "t1": ev("t1", "a2p_rich_message"),
            "t2": ev("t2", "p2a_rich_message"),
            "t3": ev("t3", "a2p_rich_message"),
            "a": ev("a", "p2a_rich_message", "p2a_session"),
            "b": ev("a", "a2p_rich_message", "p2a_session"),
            "c": ev("a", "p2a_rich_message", "p2a_session"),
            "d": ev("a", "a2p_rich_message", "p2a_session"),
        },
    )
    assert r.files().keys() == {("att", "2025-06-01"), ("att", "2026-01-02"),
                                ("att", "2025-05-04"), ("att", "2025-05-03")}


@pytest.mark.parametrize("last, minutes", [("2025-05-01 09:59:59.999999", 59),
                                           ("2025-05-01 10:00:00", 60),
                                           ("2025-05-01 09:00:59.999999", 0)])
def test_us_duration_minutes(last, minutes):
    msgs = [
        mt("a", "2025-05-01 09:00:00"),
        mo("b", "2025-05-01 09:00:00.5"),
        mo("c", "2025-05-01 09:00:30"),
        mt("d", last),
    ]
    r = run(msgs)
    s = dict(mt_messages=2, mo_messages=2, duration=minutes, session="a2p_session", segments=1)
    h = "2025-05-01T09:00:00Z"
    check(
        r,
        [row("a", t, h, D3, **s) for t in
         ("a2p_rich_message", "p2a_rich_message", "p2a_rich_message", "a2p_rich_message")],
        {
            "a": ev("a", "a2p_rich_message", "a2p_session"),
            "b": ev("a", "p2a_rich_message", "a2p_session"),
            "c": ev("a", "p2a_rich_message", "a2p_session"),
            "d": ev("a", "a2p_rich_message", "a2p_session"),
        },
    )


def test_us_ties_ordered_by_message_id_string():
    """'m10' < 'm9' as strings. Order: m10 MT, m9 MO, m11 MT, m12 MT, m13 MO.
    At m10: MT MO MT MT (1 MO) -> no; at m9: MO MT MT MO -> p2a_session; m10 alone.
    (Numeric order m9, m10, ... would give no session at all.)"""
    msgs = [
        mo("m9", "2025-05-01 09:00"),
        mt("m10", "2025-05-01 09:00"),
        mt("m11", "2025-05-01 09:05"),
        mt("m12", "2025-05-01 09:06"),
        mo("m13", "2025-05-01 09:07"),
    ]
    r = run(msgs)
    h = "2025-05-01T09:00:00Z"
    s = dict(mt_messages=2, mo_messages=2, duration=7, session="p2a_session", segments=1)
    check(
        r,
        [
            us_single("m10", "a2p_rich_message", h, D3, segments=1),
            row("m9", "p2a_rich_message", h, D3, **s),
            row("m9", "a2p_rich_message", h, D3, **s),
            row("m9", "a2p_rich_message", h, D3, **s),
            row("m9", "p2a_rich_message", h, D3, **s),
        ],
        {
            "m10": ev("m10", "a2p_rich_message"),
            "m9": ev("m9", "p2a_rich_message", "p2a_session"),
            "m11": ev("m9", "a2p_rich_message", "p2a_session"),
            "m12": ev("m9", "a2p_rich_message", "p2a_session"),
            "m13": ev("m9", "p2a_rich_message", "p2a_session"),
        },
    )


def test_us_event_tied_with_trigger_but_ordered_before_is_not_in_session():
    """SPEC §4 Decision: 'a' (suggested action) ties with candidate 'b' but sorts before it."""
    msgs = [
        mo("a", "2025-05-01 09:00", kind="suggested_action", text=None),
        mt("b", "2025-05-01 09:00"),
        mo("c", "2025-05-01 09:01"),
        mo("d", "2025-05-01 09:02"),
        mt("e", "2025-05-01 09:03"),
        mo("f", "2025-05-02 09:00", kind="suggested_action", text=None),  # tie with window end
    ]
    r = run(msgs)
    h = "2025-05-01T09:00:00Z"
    s = dict(mt_messages=2, mo_messages=2, duration=3, session="a2p_session", segments=1)
    check(
        r,
        [
            us_single("a", "p2a_suggested_action", h, D3),
            row("b", "a2p_rich_message", h, D3, **s),
            row("b", "p2a_rich_message", h, D3, **s),
            row("b", "p2a_rich_message", h, D3, **s),
            row("b", "a2p_rich_message", h, D3, **s),
            us_single("f", "p2a_suggested_action", "2025-05-02T09:00:00Z", "2025-05-04"),
        ],
        {
            "a": ev("a", "p2a_suggested_action"),
            "b": ev("b", "a2p_rich_message", "a2p_session"),
            "c": ev("b", "p2a_rich_message", "a2p_session"),
            "d": ev("b", "p2a_rich_message", "a2p_session"),
            "e": ev("b", "a2p_rich_message", "a2p_session"),
            "f": ev("f", "p2a_suggested_action"),
        },
    )


# ---------------------------------------------------------------------------
# Global model (SPEC §5): the seven scenarios of
# reference/rcs-billing-types-and-session-scenarios.txt, plus edges
# ---------------------------------------------------------------------------

G = dict(carrier="vodafone_uk")


def grow(first, type_, start, gen, mt_messages=1, mo_messages=0, duration=0, size=0,
         agent="conv"):
    return row(first, type_, start, gen, mt_messages=mt_messages, mo_messages=mo_messages,
               duration=duration, size=size, agent=agent, carrier="vodafone_uk")


def test_global_a2p_scenario_1():
    """MT1, MO1 within 24 h -> A2P conversation with MT1; window [MO1, MO1 + 24 h)."""
    msgs = [
        mt("mt1", "2025-05-01 09:00", text="Hello", **G),
        mo("mo1", "2025-05-01 10:00", **G),
        mt("mt2", "2025-05-01 15:00", kind="rich_card", text=None, size=3000, **G),
        mo("mo2", "2025-05-02 09:59:59", kind="file", text=None, size=512, **G),
        mt("mt3", "2025-05-02 10:00:00", **G),  # exactly at the window end: outside
    ]
    r = run(msgs)
    check(
        r,
        [
            grow("mt1", "a2p_conversation", "2025-05-01T09:00:00Z", D3, 2, 2, 1499, size=4),
            grow("mt3", "basic_message", "2025-05-02T10:00:00Z", "2025-05-04"),
        ],
        {
            "mt1": ev("mt1", "basic_message", "a2p_conversation"),
            "mo1": ev("mt1", "a2p_conversation"),
            "mt2": ev("mt1", "single_message", "a2p_conversation"),
            "mo2": ev("mt1", "a2p_conversation"),
            "mt3": ev("mt3", "basic_message"),
        },
    )


def test_global_a2p_scenario_2():
    """No response within 24 h: basic/single; an MO at exactly +24 h does not count."""
    msgs = [
        mt("mt1", "2025-05-01 09:00", **G),
        mo("mo1", "2025-05-02 09:00", **G),
        mt("mt2", "2025-05-01 09:00", kind="rich_card", text=None, size=2560, user="u2", **G),
    ]
    r = run(msgs)
    check(
        r,
        [
            grow("mt1", "basic_message", "2025-05-01T09:00:00Z", D3),
            grow("mt2", "single_message", "2025-05-01T09:00:00Z", D3, size=3),
        ],
        {"mt1": ev("mt1", "basic_message"), "mt2": ev("mt2", "single_message")},
        {"mo1": "mo_not_billable_global"},
    )


def test_global_a2p_scenario_3():
    """Two MTs before the MO: MT1 final, MT2 (the latest) starts the A2P conversation."""
    msgs = [
        mt("mt1", "2025-05-01 09:00", **G),
        mt("mt2", "2025-05-01 12:00", kind="carousel", text=None, **G),
        mo("mo1", "2025-05-01 13:00", **G),
        mt("mt3", "2025-05-01 18:00", **G),
    ]
    r = run(msgs)
    check(
        r,
        [
            grow("mt1", "basic_message", "2025-05-01T09:00:00Z", D3),
            grow("mt2", "a2p_conversation", "2025-05-01T12:00:00Z", D3, 2, 1, 360),
        ],
        {
            "mt1": ev("mt1", "basic_message"),
            "mt2": ev("mt2", "single_message", "a2p_conversation"),
            "mo1": ev("mt2", "a2p_conversation"),
            "mt3": ev("mt2", "basic_message", "a2p_conversation"),
        },
    )


@pytest.mark.parametrize(
    "mo1_at, mt2_at, mo2_at",
    [
        ("2025-05-02 10:00", "2025-05-03 11:00", "2025-05-03 11:30"),  # > 24 h gaps
        ("2025-05-02 09:00", "2025-05-03 09:00", "2025-05-03 09:30"),  # exactly 24 h gaps
    ],
)
def test_global_a2p_scenario_4(mo1_at, mt2_at, mo2_at):
    """MO1 after 24 h: no conversation, not billed; MT2 after 24 h of MO1: no P2A;
    MT2 + MO2 then make an A2P conversation as in scenario 1."""
    msgs = [
        mt("mt1", "2025-05-01 09:00", **G),
        mo("mo1", mo1_at, **G),
        mt("mt2", mt2_at, **G),
        mo("mo2", mo2_at, **G),
    ]
    r = run(msgs)
    check(
        r,
        [
            grow("mt1", "basic_message", "2025-05-01T09:00:00Z", D3),
            grow("mt2", "a2p_conversation", mt2_at[:13].replace(" ", "T") + ":00:00Z",
                 "2025-05-05", 1, 1, 30),
        ],
        {
            "mt1": ev("mt1", "basic_message"),
            "mt2": ev("mt2", "basic_message", "a2p_conversation"),
            "mo2": ev("mt2", "a2p_conversation"),
        },
        {"mo1": "mo_not_billable_global"},
    )


def test_global_a2p_reply_one_microsecond_inside():
    """MO1 1 us before MT1 + 24 h: A2P conversation; MT2 at MO1 + 24 h + 1 us is outside."""
    msgs = [
        mt("mt1", "2025-05-01 09:00", **G),
        mo("mo1", "2025-05-02 08:59:59.999999", **G),
        mt("mt2", "2025-05-03 09:00", **G),
        mo("mo2", "2025-05-03 09:30", **G),
    ]
    r = run(msgs)
    check(
        r,
        [
            grow("mt1", "a2p_conversation", "2025-05-01T09:00:00Z", D3, 1, 1, 1439),
            grow("mt2", "a2p_conversation", "2025-05-03T09:00:00Z", "2025-05-05", 1, 1, 30),
        ],
        {
            "mt1": ev("mt1", "basic_message", "a2p_conversation"),
            "mo1": ev("mt1", "a2p_conversation"),
            "mt2": ev("mt2", "basic_message", "a2p_conversation"),
            "mo2": ev("mt2", "a2p_conversation"),
        },
    )


def test_global_p2a_scenario_1():
    msgs = [
        mo("mo1", "2025-05-01 09:00", **G),
        mt("mt1", "2025-05-01 09:30", **G),
        mo("mo2", "2025-05-01 12:00", **G),
        mt("mt2", "2025-05-02 08:59", kind="file", text=None, size=1536, **G),
    ]
    r = run(msgs)
    check(
        r,
        [grow("mo1", "p2a_conversation", "2025-05-01T09:00:00Z", D3, 2, 2, 1439, size=2)],
        {
            "mo1": ev("mo1", "p2a_conversation"),
            "mt1": ev("mo1", "basic_message", "p2a_conversation"),
            "mo2": ev("mo1", "p2a_conversation"),
            "mt2": ev("mo1", "single_message", "p2a_conversation"),
        },
    )


def p2a_scenario_2_messages(mt2_at):
    return [
        mo("mo1", "2025-05-01 09:00", **G),
        mo("mo2", "2025-05-01 10:00", **G),
        mo("mo3", "2025-05-01 11:00", **G),
        mt("mt1", "2025-05-02 00:00", **G),  # "24:00"
        mo("mo4", "2025-05-02 09:00", **G),
        mt("mt2", mt2_at, **G),
    ]


def test_global_p2a_scenario_2_mt2_inside():
    r = run(p2a_scenario_2_messages("2025-05-02 10:59:59"))
    check(
        r,
        [grow("mo3", "p2a_conversation", "2025-05-01T11:00:00Z", D3, 2, 2, 1439)],
        {
            "mo3": ev("mo3", "p2a_conversation"),
            "mt1": ev("mo3", "basic_message", "p2a_conversation"),
            "mo4": ev("mo3", "p2a_conversation"),
            "mt2": ev("mo3", "basic_message", "p2a_conversation"),
        },
        {"mo1": "mo_not_billable_global", "mo2": "mo_not_billable_global"},
    )


def test_global_p2a_scenario_2_mt2_outside():
    r = run(p2a_scenario_2_messages("2025-05-02 11:00:00"))
    check(
        r,
        [
            grow("mo3", "p2a_conversation", "2025-05-01T11:00:00Z", D3, 1, 2, 1320),
            grow("mt2", "basic_message", "2025-05-02T11:00:00Z", "2025-05-04"),
        ],
        {
            "mo3": ev("mo3", "p2a_conversation"),
            "mt1": ev("mo3", "basic_message", "p2a_conversation"),
            "mo4": ev("mo3", "p2a_conversation"),
            "mt2": ev("mt2", "basic_message"),
        },
        {"mo1": "mo_not_billable_global", "mo2": "mo_not_billable_global"},
    )


def test_global_p2a_scenario_3():
    """MT1 unanswered for 24 h is final; the later MO starts a P2A conversation."""
    msgs = [
        mt("mt1", "2025-05-01 09:00", **G),
        mo("mo1", "2025-05-02 12:00", **G),
        mt("mt2", "2025-05-02 12:30", sugg="reply", **G),
    ]
    r = run(msgs)
    check(
        r,
        [
            grow("mt1", "basic_message", "2025-05-01T09:00:00Z", D3),
            grow("mo1", "p2a_conversation", "2025-05-02T12:00:00Z", "2025-05-04", 1, 1, 30),
        ],
        {
            "mt1": ev("mt1", "basic_message"),
            "mo1": ev("mo1", "p2a_conversation"),
            "mt2": ev("mo1", "single_message", "p2a_conversation"),
        },
    )


@pytest.mark.parametrize("mt_at, conversation", [("2025-05-02 08:59:59.999999", True),
                                                 ("2025-05-02 09:00:00", False)])
def test_global_p2a_reply_edge(mt_at, conversation):
    msgs = [mo("mo1", "2025-05-01 09:00", **G), mt("mt1", mt_at, **G)]
    r = run(msgs)
    if conversation:
        check(
            r,
            [grow("mo1", "p2a_conversation", "2025-05-01T09:00:00Z", D3, 1, 1, 1439)],
            {"mo1": ev("mo1", "p2a_conversation"),
             "mt1": ev("mo1", "basic_message", "p2a_conversation")},
        )
    else:
        check(
            r,
            [grow("mt1", "basic_message", "2025-05-02T09:00:00Z", "2025-05-04")],
            {"mt1": ev("mt1", "basic_message")},
            {"mo1": "mo_not_billable_global"},
        )


def test_global_after_window_stream_starts_afresh():
    """An MO right after an A2P window closes does not pair with an MT inside the window."""
    msgs = [
        mt("mt1", "2025-05-01 09:00", **G),
        mo("mo1", "2025-05-01 10:00", **G),
        mt("mt2", "2025-05-02 09:00", **G),  # inside the window: part of the conversation
        mo("mo2", "2025-05-02 10:00", **G),  # at the window end: fresh, waits
        mt("mt3", "2025-05-02 10:00", **G),  # ties with mo2, sorts after it: P2A with mo2
    ]
    r = run(msgs)
    check(
        r,
        [
            grow("mt1", "a2p_conversation", "2025-05-01T09:00:00Z", D3, 2, 1, 1440),
            grow("mo2", "p2a_conversation", "2025-05-02T10:00:00Z", "2025-05-04", 1, 1, 0),
        ],
        {
            "mt1": ev("mt1", "basic_message", "a2p_conversation"),
            "mo1": ev("mt1", "a2p_conversation"),
            "mt2": ev("mt1", "basic_message", "a2p_conversation"),
            "mo2": ev("mo2", "p2a_conversation"),
            "mt3": ev("mo2", "basic_message", "p2a_conversation"),
        },
    )


def test_global_basic_vs_single_and_non_conversational():
    nc = dict(agent="nonconv", carrier="orange_fr")
    cases = [
        (mt("b01", "2025-05-01 01:00", text="a" * 160, **nc), "basic_message"),
        (mt("b02", "2025-05-01 02:00", text="a" * 161, **nc), "single_message"),
        (mt("b03", "2025-05-01 03:00", text="é" * 80, **nc), "basic_message"),  # 160 B
        (mt("b04", "2025-05-01 04:00", text="é" * 81, **nc), "single_message"),  # 81 chars, 162 B
        (mt("b05", "2025-05-01 05:00", text=None, **nc), "basic_message"),
        (mt("b06", "2025-05-01 06:00", text="", sugg="", **nc), "basic_message"),
        (mt("b07", "2025-05-01 07:00", text="hi", sugg="reply", **nc), "single_message"),
        (mt("b08", "2025-05-01 08:00", kind="file", text=None, size=700, **nc), "single_message"),
        (mt("b09", "2025-05-01 09:00", kind="rich_card", text=None, **nc), "single_message"),
        (mt("b10", "2025-05-01 10:00", kind="carousel", text="x", **nc), "single_message"),
    ]
    msgs = [c[0] for c in cases] + [mo("b11", "2025-05-01 01:30", **nc)]  # never billed alone
    r = run(msgs)
    rows = [
        row(m["message_id"], t, "2025-05-01T%s:00:00Z" % m["message_id"][1:], D3,
            mt_messages=1, mo_messages=0, size=1 if m["message_id"] == "b08" else 0,
            agent="nonconv", carrier="orange_fr")
        for m, t in cases
    ]
    check(
        r,
        rows,
        {m["message_id"]: ev(m["message_id"], t) for m, t in cases},
        {"b11": "mo_not_billable_global"},
    )


# ---------------------------------------------------------------------------
# The adversarial generator
# ---------------------------------------------------------------------------

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")


def test_generator_is_deterministic_and_well_formed():
    a = adversarial.generate(7, 120)
    assert a == adversarial.generate(7, 120)
    assert a != adversarial.generate(8, 120)
    messages, agents = a
    ids = [m["message_id"] for m in messages]
    assert len(ids) == len(set(ids))
    carrier_of = {}
    for m in messages:
        assert tuple(m) == adversarial.MESSAGE_COLUMNS
        assert all(isinstance(v, str) for v in m.values())
        assert re.match(r"^user-\d+$", m["user_id"])
        assert carrier_of.setdefault(m["user_id"], m["carrier_id"]) == m["carrier_id"]
        assert m["carrier_id"] in adversarial.CARRIERS
        assert TS.match(m["sent_at"])
        assert m["delivered_at"] == "" or TS.match(m["delivered_at"])
        assert m["is_tester"] in ("true", "false")
        if m["direction"] == "MT":
            assert (m["status"] == "delivered") == (m["delivered_at"] != "")
            assert m["delivered_at"] == "" or (
                adversarial._parse_timestamp(m["delivered_at"])
                >= adversarial._parse_timestamp(m["sent_at"])
            )
        else:
            assert m["status"] == "received" and m["suggestions"] == ""
    for ag in agents:
        assert tuple(ag) == adversarial.AGENT_COLUMNS


def test_generator_covers_the_edges():
    messages, agents = adversarial.generate(1, 400)
    typed = adversarial.to_typed(messages)
    assert {a["billing_category"] for a in agents} == {"conversational", "non_conversational"}
    assert {m["carrier_id"] for m in messages} == set(adversarial.CARRIERS)
    kinds = {(m["direction"], m["content_kind"]) for m in messages}
    assert {("MT", k) for k in ("text", "file", "rich_card", "carousel")} <= kinds
    assert {("MO", k) for k in ("text", "suggested_reply", "suggested_action", "file")} <= kinds
    assert {m["status"] for m in messages} == {"delivered", "sent", "failed", "revoked", "received"}
    assert {m["is_tester"] for m in messages} == {"true", "false"}
    text_bytes = {len(m["text"].encode("utf-8")) for m in messages}
    assert {0, 159, 160, 161} <= text_bytes
    assert any(len(m["text"]) <= 160 < len(m["text"].encode("utf-8")) for m in messages)
    sizes = {int(m["file_size_bytes"]) % 1024 for m in messages if m["file_size_bytes"]}
    assert {0, 511, 512, 513} <= sizes

    # gaps between event times within a stream
    streams = defaultdict(list)
    for m in typed:
        if m["direction"] == "MO" or m["status"] == "delivered":
            streams[(m["agent_id"], m["user_id"], m["carrier_id"])].append(m)
    gaps = Counter()
    ties_against_insertion = 0
    for stream in streams.values():
        stream.sort(key=rbm_reference.stream_order_key)
        times = [rbm_reference.event_time(m) for m in stream]
        for i in range(len(times)):
            for j in range(i + 1, min(i + 6, len(times))):
                gaps[times[j] - times[i]] += 1
        for x, y in zip(stream, stream[1:]):
            if rbm_reference.event_time(x) == rbm_reference.event_time(y):
                if int(x["message_id"][1:]) > int(y["message_id"][1:]):
                    ties_against_insertion += 1
    day = timedelta(hours=24)
    for delta in (timedelta(0), timedelta(seconds=1), timedelta(microseconds=1)):
        assert gaps[day + delta] > 0 and gaps[day - delta] > 0
    assert gaps[timedelta(0)] > 0
    assert ties_against_insertion > 0
    # sessions/conversations crossing midnight, US sessions and global conversations
    result = bill(typed, adversarial.typed_agents(agents), adversarial.CARRIERS, SALT)
    kinds = Counter(e["event_type"] for e in result.message_events.values())
    for k in ("a2p_session", "p2a_session", "a2p_conversation", "p2a_conversation",
              "basic_message", "single_message", "p2a_suggested_action"):
        assert kinds[k] > 0, k
    assert set(result.not_billable.values()) == {"tester", "mt_not_delivered",
                                                 "mo_not_billable_global"}


def test_to_typed_and_write_csv_round_trip(tmp_path):
    messages, agents = adversarial.generate(3, 40)
    path = tmp_path / "in" / "messages.csv"
    adversarial.write_csv(str(path), messages, adversarial.MESSAGE_COLUMNS)
    with open(path, encoding="utf-8", newline="") as f:
        back = list(csv.DictReader(f))
    assert back == messages
    typed = adversarial.to_typed(messages)
    m = typed[0]
    assert isinstance(m["sent_at"], datetime) and isinstance(m["is_tester"], bool)
    assert all(t["text"] is None or t["text"] != "" for t in typed)
    assert all(t["file_size_bytes"] is None or isinstance(t["file_size_bytes"], int) for t in typed)
    agent_path = tmp_path / "agents.csv"
    adversarial.write_csv(str(agent_path), agents, adversarial.AGENT_COLUMNS)
    with open(agent_path, encoding="utf-8", newline="") as f:
        assert list(csv.DictReader(f)) == agents


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_reference_invariants_on_adversarial_traffic(seed):
    """Accounting and structural invariants of the reference on generated traffic."""
    messages, agents = adversarial.generate(seed, 150)
    typed = adversarial.to_typed(messages)
    by_id = {m["message_id"]: m for m in typed}
    result = bill(typed, adversarial.typed_agents(agents), adversarial.CARRIERS, SALT)

    # SPEC §2: every row in exactly one place
    assert set(result.message_events).isdisjoint(result.not_billable)
    assert set(result.message_events) | set(result.not_billable) == set(by_id)

    members = defaultdict(list)
    for mid, e in result.message_events.items():
        members[e["billing_event_id"]].append(by_id[mid])
    rows_per_event = Counter(r["billing_event_id"] for r in result.report_rows)
    for event_id, ms in members.items():
        ms.sort(key=rbm_reference.stream_order_key)
        model = adversarial.CARRIERS[ms[0]["carrier_id"]]
        assert event_id == eid(ms[0]["message_id"])  # id of the first message
        assert len({(m["agent_id"], m["user_id"], m["carrier_id"]) for m in ms}) == 1
        # SPEC §6: one row per message (US) or per event (global)
        assert rows_per_event[event_id] == (len(ms) if model == "us" else 1)
        event_type = result.message_events[ms[0]["message_id"]]["event_type"]
        times = [rbm_reference.event_time(m) for m in ms]
        if event_type.endswith("_session"):
            cands = [m for m in ms if rbm_reference.us_type(m) != "p2a_suggested_action"]
            four = cands[:4]
            assert len(four) == 4 and times[0] == rbm_reference.event_time(four[0])
            assert rbm_reference.event_time(four[3]) < times[0] + timedelta(hours=24)
            assert sum(m["direction"] == "MO" for m in four) >= 2
            assert sum(m["direction"] == "MT" for m in four) >= 1
            assert times[-1] < times[0] + timedelta(hours=24)
        elif event_type.endswith("_conversation"):
            window_start = times[1] if event_type == "a2p_conversation" else times[0]
            assert times[-1] < window_start + timedelta(hours=24)
            assert ms[0]["direction"] == ("MT" if event_type == "a2p_conversation" else "MO")
        else:
            assert len(ms) == 1
    for r in result.report_rows:
        assert r["mt_messages"] == str(sum(m["direction"] == "MT" for m in members[r["billing_event_id"]]))
        assert r["mo_messages"] == str(sum(m["direction"] == "MO" for m in members[r["billing_event_id"]]))
        assert re.match(r"^[0-9a-f]{64}$", r["billing_event_id"])
