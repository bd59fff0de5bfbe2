"""Independent plain-Python reference implementation of the rbm-billing rules.

Used only by tests, to cross-check the dbt models. Written from SPEC.md (not from
the SQL) as a straightforward, linear state machine per conversation stream.
Standard library only.

Public API
----------
bill(messages, agents, carriers, salt) -> Result

* messages: list of dicts with already-valid, typed values:
  message_id (str), agent_id, user_id, carrier_id, direction ('MT'/'MO'),
  content_kind, text (str|None), file_size_bytes (int|None),
  suggestions (str|None, '|'-separated), status, sent_at (naive UTC datetime),
  delivered_at (datetime|None), is_tester (bool).
* agents: dict agent_id -> dict(agent_name, agent_owner, owner_name, billing_category).
* carriers: dict carrier_id -> billing_model ('us' | 'global').
* salt: the secret salt of billing_event_id (SPEC §6).

Result.report_rows    list of dicts: carrier_id, generation_date, then the 17 report
                      columns of SPEC §6, every value the exact string the CSV holds.
Result.message_events dict message_id -> dict(billing_event_id, type, event_type)
                      for every billed message.
Result.not_billable   dict message_id -> 'tester' | 'mt_not_delivered'
                      | 'mo_not_billable_global'.

Team conventions that go beyond the SPEC text are marked "Convention".
"""

import hashlib
from datetime import timedelta

# SPEC §4/§5: sessions, conversations and the reply period all last 24 hours.
WINDOW = timedelta(hours=24)

# SPEC §3: one segment is 160 UTF-8 bytes. SPEC §5: a basic message is <= 160 bytes.
SEGMENT_BYTES = 160
BASIC_MAX_BYTES = 160

# SPEC §3: the suggestion kinds that keep an MT text an a2p_rich_message.
RICH_SUGGESTIONS = frozenset({"reply", "dial", "open_url"})

# SPEC §6: report columns, in this order.
REPORT_COLUMNS = (
    "billing_event_id",
    "type",
    "agent_id",
    "agent_owner",
    "billing_party",
    "max_duration_single_message",
    "max_duration_a2p_conversation",
    "max_duration_p2a_conversation",
    "start_time",
    "duration",
    "mt_messages",
    "mo_messages",
    "size_kilobytes",
    "agent_name",
    "owner_name",
    "segment_count",
    "session_type",
)

# Result.report_rows keys: the file coordinates, then the report columns.
ROW_KEYS = ("carrier_id", "generation_date") + REPORT_COLUMNS

# Not-billable reasons (SPEC §2, §5).
REASON_TESTER = "tester"
REASON_MT_NOT_DELIVERED = "mt_not_delivered"
REASON_MO_GLOBAL = "mo_not_billable_global"


class Result:
    """What bill() returns (see the module docstring)."""

    def __init__(self, report_rows, message_events, not_billable):
        self.report_rows = report_rows
        self.message_events = message_events
        self.not_billable = not_billable

    def files(self):
        """Report rows grouped per output file (SPEC §6):
        (carrier_id, generation_date) -> list of 17-string tuples in REPORT_COLUMNS order."""
        out = {}
        for row in self.report_rows:
            key = (row["carrier_id"], row["generation_date"])
            out.setdefault(key, []).append(tuple(row[c] for c in REPORT_COLUMNS))
        return out

    def __repr__(self):
        return "Result(%d report rows, %d billed messages, %d not billable)" % (
            len(self.report_rows),
            len(self.message_events),
            len(self.not_billable),
        )


# ---------------------------------------------------------------------------
# Per-message helpers
# ---------------------------------------------------------------------------


def event_time(m):
    """SPEC §2: an MT's event time is delivered_at, an MO's is sent_at."""
    return m["delivered_at"] if m["direction"] == "MT" else m["sent_at"]


def stream_order_key(m):
    """SPEC §2: stream order = (event time, message_id); message_id compared as a string."""
    return (event_time(m), m["message_id"])


def suggestion_kinds(suggestions):
    """SPEC §1: '|'-separated suggestion kinds; None or '' means none. A value with an empty part (e.g.
    'reply||dial') never gets here: the project quarantines it (invalid_suggestions, README decision 11)."""
    if not suggestions:
        return []
    return [part for part in suggestions.split("|") if part != ""]


def utf8_len(text):
    """UTF-8 byte length of a text; a missing text counts as empty (SPEC §3, §5)."""
    return len((text or "").encode("utf-8"))


def size_kilobytes(m):
    """SPEC §3: own attached bytes / 1024, rounded to nearest, halves up; 0 when none."""
    size = m["file_size_bytes"]
    if size is None:
        return 0
    return (size + 512) // 1024


def us_type(m):
    """SPEC §3: the US message event type of one billable message."""
    if m["direction"] == "MT":
        kinds = suggestion_kinds(m["suggestions"])
        if m["content_kind"] == "text" and all(k in RICH_SUGGESTIONS for k in kinds):
            return "a2p_rich_message"
        # file, rich_card, carousel, or any other suggestion kind
        return "a2p_rich_media_message"
    if m["content_kind"] in ("text", "suggested_reply"):
        return "p2a_rich_message"
    if m["content_kind"] == "file":
        return "p2a_rich_media_message"
    return "p2a_suggested_action"  # content_kind == 'suggested_action'


def us_segment_count(m, msg_type):
    """SPEC §3: ceil(UTF-8 bytes / 160), at least 1, for the two *_rich_message types; else 0."""
    if msg_type not in ("a2p_rich_message", "p2a_rich_message"):
        return 0
    n_bytes = utf8_len(m["text"])
    return max(1, -(-n_bytes // SEGMENT_BYTES))


def global_mt_type(m):
    """SPEC §5: basic_message = MT text, no suggestions, <= 160 UTF-8 bytes; else single_message."""
    if (
        m["content_kind"] == "text"
        and not suggestion_kinds(m["suggestions"])
        and utf8_len(m["text"]) <= BASIC_MAX_BYTES
    ):
        return "basic_message"
    return "single_message"


def billing_event_id(salt, first_message_id):
    """SPEC §6 + Convention: sha256(salt + '|' + message_id of the event's first message)."""
    return hashlib.sha256((salt + "|" + first_message_id).encode("utf-8")).hexdigest()


def hour_string(t):
    """SPEC §6: start_time truncated to the hour, 'YYYY-MM-DDTHH:00:00Z'."""
    return t.strftime("%Y-%m-%dT%H:00:00Z")


def duration_minutes(first, last):
    """SPEC §6: floor((last - first) / 60 s), whole minutes."""
    return (last - first) // timedelta(minutes=1)


def generation_date(start):
    """SPEC §6: the file for generation date G holds events whose start_time is on day G - 2."""
    return (start.date() + timedelta(days=2)).isoformat()


class Event:
    """One billable event: a grouped event (session / conversation) or one message.

    kind:    'a2p_session' | 'p2a_session' | 'a2p_conversation' | 'p2a_conversation'
             for grouped events, None for a standalone message.
    members: its billable messages; members[0] is the event's first message
             (for sessions the trigger candidate i, for A2P the MT, for P2A the MO).
    """

    def __init__(self, kind, members):
        self.kind = kind
        self.members = members


# ---------------------------------------------------------------------------
# US model (SPEC §3, §4)
# ---------------------------------------------------------------------------


def us_stream_events(stream, conversational):
    """Split one US stream (billable messages in stream order) into events."""
    # SPEC §4: non-conversational agents never get sessions.
    if not conversational:
        return [Event(None, [m]) for m in stream]

    # SPEC §4 Decision: trigger candidates are rich & rich_media events, not suggested actions.
    candidates = [
        pos for pos, m in enumerate(stream) if us_type(m) != "p2a_suggested_action"
    ]

    events = []
    pos = 0  # next stream position not yet assigned to an event
    c = 0  # next candidate (index into candidates) to test as a trigger start
    while c + 3 < len(candidates):
        four = [stream[p] for p in candidates[c : c + 4]]
        start = event_time(four[0])
        end = start + WINDOW  # SPEC §4: window [time(i), time(i) + 24 h), half-open
        n_mo = sum(1 for m in four if m["direction"] == "MO")
        n_mt = 4 - n_mo
        if not (event_time(four[3]) < end and n_mo >= 2 and n_mt >= 1):
            c += 1
            continue

        # SPEC §4: events before the trigger and outside any window are billed alone
        # (this includes an event tied in time with i but ordered before it).
        first_pos = candidates[c]
        while pos < first_pos:
            events.append(Event(None, [stream[pos]]))
            pos += 1

        # SPEC §4: every billable event from candidate i on, in stream order, with time < end
        # (suggested actions included).
        members = []
        while pos < len(stream) and event_time(stream[pos]) < end:
            members.append(stream[pos])
            pos += 1
        kind = "a2p_session" if four[0]["direction"] == "MT" else "p2a_session"
        events.append(Event(kind, members))

        # SPEC §4: scanning resumes at the first candidate at or after the window's end.
        while c < len(candidates) and event_time(stream[candidates[c]]) < end:
            c += 1

    # Everything after the last session is billed alone.
    while pos < len(stream):
        events.append(Event(None, [stream[pos]]))
        pos += 1
    return events


def us_report_rows(event, base, salt):
    """SPEC §6, US model: one row per billable message of the event."""
    first = event.members[0]
    event_id = billing_event_id(salt, first["message_id"])
    start = event_time(first)
    if event.kind is None:
        duration = 0
        session_type = ""
    else:
        duration = duration_minutes(start, event_time(event.members[-1]))
        session_type = event.kind
    # SPEC §6: session rows carry the session's totals; MO counts suggested actions too.
    n_mt = sum(1 for m in event.members if m["direction"] == "MT")
    n_mo = len(event.members) - n_mt

    rows = []
    for m in event.members:
        msg_type = us_type(m)
        row = dict(base)
        row.update(
            generation_date=generation_date(start),
            billing_event_id=event_id,
            type=msg_type,  # the row's own type
            start_time=hour_string(start),
            duration=str(duration),
            mt_messages=str(n_mt),
            mo_messages=str(n_mo),
            size_kilobytes=str(size_kilobytes(m)),  # the row's own size
            segment_count=str(us_segment_count(m, msg_type)),  # the row's own segments
            session_type=session_type,
        )
        rows.append((row, m))
    return rows


def us_message_events(event, salt):
    out = {}
    event_id = billing_event_id(salt, event.members[0]["message_id"])
    for m in event.members:
        msg_type = us_type(m)
        out[m["message_id"]] = dict(
            billing_event_id=event_id,
            type=msg_type,
            event_type=event.kind if event.kind is not None else msg_type,
        )
    return out


# ---------------------------------------------------------------------------
# Global model (SPEC §5)
# ---------------------------------------------------------------------------


def global_stream_events(stream, conversational):
    """Split one global stream (billable messages in stream order) into events.

    Returns (events, not_billable_mo_ids)."""
    events = []
    dropped_mos = []

    # SPEC §5: only MTs are charged individually; without conversations (non-conversational
    # agents) every MT is its own event and no MO is billed.
    if not conversational:
        for m in stream:
            if m["direction"] == "MT":
                events.append(Event(None, [m]))
            else:
                dropped_mos.append(m)
        return events, dropped_mos

    # SPEC §5 state machine for conversational agents.
    pending_mt = None  # the latest MT not (yet) part of a conversation
    waiting_mos = []  # MOs outside any conversation, with no pending MT of the last 24 h
    conversation = None  # the open conversation Event
    conversation_end = None  # its window end (exclusive)

    for m in stream:
        t = event_time(m)

        # Inside an open conversation window: the message belongs to it.
        if conversation is not None:
            if t < conversation_end:
                conversation.members.append(m)
                continue
            # SPEC §5: after the window the stream starts afresh
            # (pending_mt and waiting_mos are already empty here).
            conversation = None
            conversation_end = None

        if m["direction"] == "MT":
            if waiting_mos and t < event_time(waiting_mos[-1]) + WINDOW:
                # SPEC §5 P2A conversation: the agent's next MT arrives < 24 h after the
                # latest waiting MO; it starts with that MO; earlier waiting MOs are not billed.
                latest_mo = waiting_mos.pop()
                dropped_mos.extend(waiting_mos)
                waiting_mos = []
                conversation = Event("p2a_conversation", [latest_mo, m])
                conversation_end = event_time(latest_mo) + WINDOW
                events.append(conversation)
            else:
                # Waiting MOs whose 24 h passed without an MT are never billed.
                dropped_mos.extend(waiting_mos)
                waiting_mos = []
                # SPEC §5: an MT followed by another MT before any MO is final.
                if pending_mt is not None:
                    events.append(Event(None, [pending_mt]))
                pending_mt = m
        else:  # MO
            if pending_mt is not None and t < event_time(pending_mt) + WINDOW:
                # SPEC §5 A2P conversation: an MO < 24 h after the latest pending MT;
                # contains that MT; window [time(MO), time(MO) + 24 h).
                conversation = Event("a2p_conversation", [pending_mt, m])
                conversation_end = t + WINDOW
                pending_mt = None
                events.append(conversation)
            else:
                # SPEC §5: an MT that gets no MO within 24 h is final.
                if pending_mt is not None:
                    events.append(Event(None, [pending_mt]))
                    pending_mt = None
                # SPEC §5: outside any conversation, with no pending MT, an MO waits.
                waiting_mos.append(m)

    # End of the stream: a pending MT is a final basic/single message; waiting MOs are not billed.
    if pending_mt is not None:
        events.append(Event(None, [pending_mt]))
    dropped_mos.extend(waiting_mos)
    return events, dropped_mos


def global_event_type(event):
    """SPEC §6 'type' of a global row."""
    if event.kind is None:
        return global_mt_type(event.members[0])
    return event.kind


def global_report_row(event, base, salt):
    """SPEC §5/§6, global model: one row per event."""
    first = event.members[0]
    start = event_time(first)
    if event.kind is None:
        duration = 0
    else:
        duration = duration_minutes(start, event_time(event.members[-1]))
    n_mt = sum(1 for m in event.members if m["direction"] == "MT")
    n_mo = len(event.members) - n_mt
    row = dict(base)
    row.update(
        generation_date=generation_date(start),
        billing_event_id=billing_event_id(salt, first["message_id"]),
        type=global_event_type(event),
        start_time=hour_string(start),
        duration=str(duration),
        mt_messages=str(n_mt),
        mo_messages=str(n_mo),
        size_kilobytes=str(sum(size_kilobytes(m) for m in event.members)),
        segment_count="0",
        session_type="",
    )
    return row


def global_message_events(event, salt):
    """Convention: a global MT's own type is basic_message/single_message; a global MO has no
    type of its own, so its type is the conversation's type (it is only billed inside one)."""
    out = {}
    event_id = billing_event_id(salt, event.members[0]["message_id"])
    event_type = global_event_type(event)
    for m in event.members:
        own_type = global_mt_type(m) if m["direction"] == "MT" else event_type
        out[m["message_id"]] = dict(
            billing_event_id=event_id, type=own_type, event_type=event_type
        )
    return out


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def base_row(agent_id, carrier_id, agents):
    """The columns that are the same on every row of an agent (SPEC §6)."""
    agent = agents[agent_id]
    return dict(
        carrier_id=carrier_id,
        agent_id=agent_id,
        agent_owner=agent["agent_owner"],
        billing_party="carrier",
        max_duration_single_message="24",
        max_duration_a2p_conversation="24",
        max_duration_p2a_conversation="24",
        agent_name=agent["agent_name"],
        owner_name=agent["owner_name"],
    )


def bill(messages, agents, carriers, salt):
    not_billable = {}
    message_events = {}
    keyed_rows = []  # (sort key, row)

    # SPEC §2: testers and undelivered MTs are never billable and never enter a stream.
    streams = {}
    for m in messages:
        if m["is_tester"]:
            not_billable[m["message_id"]] = REASON_TESTER
        elif m["direction"] == "MT" and m["status"] != "delivered":
            not_billable[m["message_id"]] = REASON_MT_NOT_DELIVERED
        else:
            # Convention: conversation stream = (agent_id, user_id, carrier_id).
            key = (m["agent_id"], m["user_id"], m["carrier_id"])
            streams.setdefault(key, []).append(m)

    for (agent_id, _user_id, carrier_id), stream in sorted(streams.items()):
        stream.sort(key=stream_order_key)  # SPEC §2: stream order
        conversational = agents[agent_id]["billing_category"] == "conversational"
        base = base_row(agent_id, carrier_id, agents)

        if carriers[carrier_id] == "us":
            for event in us_stream_events(stream, conversational):
                message_events.update(us_message_events(event, salt))
                for row, m in us_report_rows(event, base, salt):
                    keyed_rows.append((_row_sort_key(row, stream_order_key(m)), row))
        else:
            events, dropped_mos = global_stream_events(stream, conversational)
            for m in dropped_mos:
                not_billable[m["message_id"]] = REASON_MO_GLOBAL
            for event in events:
                message_events.update(global_message_events(event, salt))
                row = global_report_row(event, base, salt)
                keyed_rows.append(
                    (_row_sort_key(row, stream_order_key(event.members[0])), row)
                )

    # Deterministic row order: file, start hour, event id, then the message's stream order.
    keyed_rows.sort(key=lambda kr: kr[0])
    report_rows = [{k: row[k] for k in ROW_KEYS} for _, row in keyed_rows]
    return Result(report_rows, message_events, not_billable)


def _row_sort_key(row, message_key):
    return (
        row["carrier_id"],
        row["generation_date"],
        row["start_time"],
        row["billing_event_id"],
        message_key,
    )
