"""Deterministic generator of adversarial RBM traffic, for cross-checking the dbt models
against the plain-Python reference (rbm_reference.bill).

Public API
----------
generate(seed, n_streams, tricky_text=True) -> (messages, agents)
    messages: list of dicts, every value a string exactly as a row of the SPEC §1 messages
              CSV holds it (timestamps 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z', booleans
              'true'/'false', '' for null), columns MESSAGE_COLUMNS.
    agents:   list of dicts of strings, columns AGENT_COLUMNS.
    tricky_text=False keeps commas, quotes and newlines out of text fields.
to_typed(messages) -> list of typed dicts as rbm_reference.bill() takes them.
typed_agents(agents) -> dict agent_id -> agent dict, as bill() takes it.
CARRIERS: dict carrier_id -> billing_model, as bill() takes it (the shipped seed).
write_csv(path, rows, columns) -> None.

Only contract-valid rows are generated (no quarantine cases): every row is either
billable or not billable for a SPEC §2/§5 reason.
"""

import csv
import os
import random
from datetime import datetime, timedelta

MESSAGE_COLUMNS = (
    "message_id",
    "agent_id",
    "user_id",
    "carrier_id",
    "direction",
    "content_kind",
    "text",
    "file_size_bytes",
    "suggestions",
    "status",
    "sent_at",
    "delivered_at",
    "is_tester",
)
AGENT_COLUMNS = ("agent_id", "agent_name", "agent_owner", "owner_name", "billing_category")

# SPEC §1: the shipped carriers seed.
CARRIERS = {
    "att": "us",
    "tmobile": "us",
    "verizon": "us",
    "vodafone_uk": "global",
    "orange_fr": "global",
    "telefonica_es": "global",
}

H24 = timedelta(hours=24)
US = timedelta(microseconds=1)
S = timedelta(seconds=1)

# Suggestion mixes for MTs (SPEC §3): rich-only kinds, none, and other kinds.
SUGGESTION_MIXES = (
    "",
    "",
    "reply",
    "dial",
    "open_url",
    "reply|dial|open_url",
    "reply|reply",
    "view_location",
    "open_url_webview",
    "share_location",
    "create_calendar_event",
    "open_app",
    "reply|view_location",
    "dial|open_app|open_url",
)
MT_KINDS = ("text", "text", "text", "file", "rich_card", "carousel")
MO_KINDS = ("text", "suggested_reply", "suggested_action", "file")
MT_STATUSES = ("delivered",) * 8 + ("sent", "failed", "revoked")

# Characters of 1, 2, 3 and 4 UTF-8 bytes.
CHARS_BY_WIDTH = {1: "aZ9 .", 2: "éßñж", 3: "€日本語", 4: "😀🚀𝄞"}
TRICKY_CHARS = (",", '"', "\n", "'", ";", "\t")


def _timestamp(t):
    """'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' (fraction only when non-zero)."""
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += ".%06d" % t.microsecond
    return s + "Z"


def _parse_timestamp(s):
    if s == "":
        return None
    body = s[:-1] if s.endswith("Z") else s
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in body else "%Y-%m-%dT%H:%M:%S"
    return datetime.strptime(body, fmt)


def _text_of_bytes(rng, target, tricky):
    """A text of exactly `target` UTF-8 bytes mixing 1-4 byte characters."""
    out = []
    left = target
    while left > 0:
        width = rng.choice([w for w in (1, 1, 2, 3, 4) if w <= left])
        if width == 1 and tricky and rng.random() < 0.08:
            out.append(rng.choice(TRICKY_CHARS))
        else:
            out.append(rng.choice(CHARS_BY_WIDTH[width]))
        left -= width
    return "".join(out)


def _random_text(rng, tricky):
    """Texts clustered around the 160-byte edges; '' (= null in CSV) sometimes."""
    r = rng.random()
    if r < 0.08:
        return ""
    if r < 0.70:
        target = rng.choice((159, 160, 161, 319, 320, 321, 480, 481))
    elif r < 0.85:
        # <= 160 characters but > 160 bytes, or exactly 160 characters of 2-byte text
        n = rng.choice((80, 81, 100, 160))
        return "".join(rng.choice(CHARS_BY_WIDTH[2]) for _ in range(n))
    else:
        target = rng.randint(1, 40)
    return _text_of_bytes(rng, target, tricky)


def _random_size(rng):
    """File sizes around the 512-byte rounding edges."""
    r = rng.random()
    if r < 0.1:
        return "0"
    k = rng.choice((0, 1, 2, 10, 1023, 5000))
    return str(max(0, k * 1024 + 512 + rng.choice((-1, 0, 1, -512, 511, 512))))


def _agents():
    agents = []
    owners = [
        ("marketing@xyzaggregator.com", "XYZ Aggregator"),
        ("ops@brand.example", 'Brand "Ops", Inc.'),
        ("billing@élan.example", "Élan Télécom"),
    ]
    for i in range(6):
        category = "conversational" if i % 2 == 0 else "non_conversational"
        owner, owner_name = owners[i % len(owners)]
        agents.append(
            dict(
                agent_id="agent-%d_%s@rbm.goog" % (i, "conv" if i % 2 == 0 else "nonconv"),
                agent_name=("ACME, Brand #%d" % i) if i != 3 else 'Caf\u00e9 "Quote" Agent',
                agent_owner=owner,
                owner_name=owner_name,
                billing_category=category,
            )
        )
    return agents


class _Ids:
    """Unique message ids whose string order differs from the insertion order:
    a random one-letter prefix plus a non-padded counter ('b10' < 'b9')."""

    def __init__(self, rng):
        self.rng = rng
        self.n = 0

    def next(self):
        self.n += 1
        return "%s%d" % (self.rng.choice("abcdef"), self.n)


def _next_time(rng, times):
    """Next event time, clustered on the rules' edges, relative to the stream so far."""
    last = times[-1]
    r = rng.random()
    if r < 0.12:
        return last  # exact tie in event time
    if r < 0.20:
        return last + rng.choice((US, S))
    if r < 0.50:
        return last + timedelta(minutes=rng.randint(1, 240))
    if r < 0.60:
        return last + timedelta(hours=rng.randint(4, 23))
    if r < 0.90:
        # exactly 24 h, or 24 h +- 1 s / 1 us, after one of the last four events
        anchor = rng.choice(times[-4:])
        t = anchor + H24 + rng.choice((-S, -US, timedelta(0), timedelta(0), US, S))
        return max(t, last)
    return last + timedelta(hours=rng.choice((25, 47, 48, 72)))


def _stream_times(rng, n):
    # Start near midnight half of the time, so sessions/conversations cross midnight.
    day = datetime(2025, 5, 1) + timedelta(days=rng.randint(0, 40))
    if rng.random() < 0.5:
        start = day + timedelta(hours=23, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
    else:
        start = day + timedelta(seconds=rng.randint(0, 86399))
    if rng.random() < 0.3:
        start += timedelta(microseconds=rng.randint(1, 999999))
    times = [start]
    burst = rng.random() < 0.25  # many messages within 24 h
    while len(times) < n:
        if burst:
            times.append(times[-1] + rng.choice((timedelta(0), US, S, timedelta(minutes=7))))
        else:
            times.append(_next_time(rng, times))
    return times


def _message(rng, ids, agent, user, carrier, tester, t, tricky):
    direction = "MT" if rng.random() < 0.5 else "MO"
    row = dict(
        message_id=ids.next(),
        agent_id=agent["agent_id"],
        user_id=user,
        carrier_id=carrier,
        direction=direction,
        content_kind="",
        text="",
        file_size_bytes="",
        suggestions="",
        status="",
        sent_at="",
        delivered_at="",
        is_tester="true" if (tester or rng.random() < 0.02) else "false",
    )
    if direction == "MT":
        kind = rng.choice(MT_KINDS)
        row["content_kind"] = kind
        # text MTs without suggestions often, so global basic_message edges are hit
        no_suggestions = kind == "text" and rng.random() < 0.4
        row["suggestions"] = "" if no_suggestions else rng.choice(SUGGESTION_MIXES)
        if kind == "text":
            row["text"] = _random_text(rng, tricky)
            if rng.random() < 0.05:
                row["file_size_bytes"] = "0"
        else:
            if kind != "file" and rng.random() < 0.3:
                row["text"] = _random_text(rng, tricky)
            if kind == "file" or rng.random() < 0.6:  # cards/carousels even without media
                row["file_size_bytes"] = _random_size(rng)
        status = rng.choice(MT_STATUSES)
        row["status"] = status
        if status == "delivered":
            # event time = delivered_at; sent_at at or before it, sometimes on another day
            delay = rng.choice((timedelta(0), US, S, timedelta(seconds=30), timedelta(hours=5)))
            row["delivered_at"] = _timestamp(t)
            row["sent_at"] = _timestamp(t - delay)
        else:
            row["sent_at"] = _timestamp(t)
    else:
        kind = rng.choice(MO_KINDS)
        row["content_kind"] = kind
        row["status"] = "received"
        row["sent_at"] = _timestamp(t)
        if kind in ("text", "suggested_reply"):
            row["text"] = _random_text(rng, tricky)
        elif kind == "suggested_action" and rng.random() < 0.3:
            row["text"] = "Directions"
        elif kind == "file":
            row["file_size_bytes"] = _random_size(rng)
    return row


def generate(seed, n_streams, tricky_text=True):
    rng = random.Random(seed)
    ids = _Ids(rng)
    agents = _agents()
    carrier_ids = sorted(CARRIERS)

    # Users: one carrier each; some are test devices. A user talks to several agents.
    n_users = max(1, n_streams // 2)
    users = []
    for n in range(n_users):
        users.append(("user-%d" % n, rng.choice(carrier_ids), rng.random() < 0.08))

    messages = []
    for _ in range(n_streams):
        agent = rng.choice(agents)
        user, carrier, tester = rng.choice(users)
        n = rng.choice((1, 2, 3, 4, 4, 5, 6, 8, 12, 20))
        for t in _stream_times(rng, n):
            messages.append(_message(rng, ids, agent, user, carrier, tester, t, tricky_text))

    rng.shuffle(messages)  # file order != stream order
    return messages, agents


def to_typed(messages):
    """String CSV rows -> the typed dicts rbm_reference.bill() takes."""
    typed = []
    for row in messages:
        typed.append(
            dict(
                message_id=row["message_id"],
                agent_id=row["agent_id"],
                user_id=row["user_id"],
                carrier_id=row["carrier_id"],
                direction=row["direction"],
                content_kind=row["content_kind"],
                text=row["text"] if row["text"] != "" else None,
                file_size_bytes=int(row["file_size_bytes"]) if row["file_size_bytes"] != "" else None,
                suggestions=row["suggestions"] if row["suggestions"] != "" else None,
                status=row["status"],
                sent_at=_parse_timestamp(row["sent_at"]),
                delivered_at=_parse_timestamp(row["delivered_at"]),
                is_tester=row["is_tester"] == "true",
            )
        )
    return typed


def typed_agents(agents):
    """Agents CSV rows -> dict agent_id -> agent dict, as bill() takes it."""
    return {a["agent_id"]: dict(a) for a in agents}


def write_csv(path, rows, columns):
    """UTF-8 CSV with a header line, standard quoting, '' for null."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
