from datetime import datetime

from lib import *

tests = []

HEADER = """
# Unit tests of the report rows (SPEC §6) on fct_report_rows, given fct_billable_messages and
# int_agents_checked rows. Every test states the FULL expected rows of fct_report_rows.
# billing_event_id values are lower(sha256(salt || '|' || first_message_id)) computed with
# Python hashlib (fct_report_rows passes them through).
"""

FCT_IN = ["message_id", "billing_event_id", "google_billing_event_id", "billing_model", "carrier_id", "agent_id",
          "stream_key", "stream_seq", "direction", "event_at", "message_type", "event_type", "is_grouped",
          "segment_count", "size_kilobytes", "first_message_id", "event_mt_messages", "event_mo_messages",
          "event_size_kilobytes", "event_first_at", "event_last_at"]
AGENTS_IN = ["source_file", "source_row", "agent_id", "agent_name", "agent_owner", "owner_name", "billing_category",
             "quarantine_reason", "parse_error", "is_exact_duplicate"]
REPORT_OUT = ["carrier_id", "generation_date", "stream_seq", "billing_event_id", "type", "agent_id", "agent_owner",
              "billing_party", "max_duration_single_message", "max_duration_a2p_conversation",
              "max_duration_p2a_conversation", "start_time", "duration", "mt_messages", "mo_messages",
              "size_kilobytes", "agent_name", "owner_name", "segment_count", "session_type"]
AGENTS = [
    ["agents.csv", 1, "agent_conv", "Conv Agent", "owner@example.com", "Owner Inc", "conversational", None, None, False],
    ["agents.csv", 2, "agent_nonconv", "Notify Agent", "ops@example.com", "Ops Ltd", "non_conversational", None, None,
     False],
]
AGENT_INFO = {a[2]: a for a in AGENTS}


class F:
    """A fct_billable_messages row (one message with the event it is billed in)."""

    def __init__(self, mid, seq, direction, at, mtype, seg=0, kb=0, model="us", carrier="att", agent="agent_conv",
                 stream="s1"):
        self.mid, self.seq, self.direction, self.at, self.mtype = mid, seq, direction, at, mtype
        self.seg, self.kb, self.model, self.carrier, self.agent, self.stream = seg, kb, model, carrier, agent, stream


def fct_rows(msgs, groups, types):
    """groups: message_id -> first_message_id; types: first_message_id -> event type of a grouped event."""
    members = {}
    for m in msgs:
        members.setdefault(groups[m.mid], []).append(m)
    out = []
    for m in msgs:
        g = groups[m.mid]
        mem = members[g]
        out.append({
            "message_id": m.mid, "billing_event_id": beid(g), "google_billing_event_id": None,
            "billing_model": m.model, "carrier_id": m.carrier, "agent_id": m.agent, "stream_key": m.stream,
            "stream_seq": m.seq, "direction": m.direction, "event_at": m.at, "message_type": m.mtype,
            "event_type": types.get(g, m.mtype), "is_grouped": g in types, "segment_count": m.seg,
            "size_kilobytes": m.kb, "first_message_id": g,
            "event_mt_messages": sum(1 for x in mem if x.direction == "MT"),
            "event_mo_messages": sum(1 for x in mem if x.direction == "MO"),
            "event_size_kilobytes": sum(x.kb for x in mem),
            "event_first_at": min(x.at for x in mem), "event_last_at": max(x.at for x in mem),
        })
    return out


def report_row(carrier, generation_date, seq, first_mid, typ, agent, start_time, duration, mt, mo, kb, seg,
               session_type):
    a = AGENT_INFO[agent]
    return [carrier, generation_date, seq, beid(first_mid), typ, agent, a[4], "carrier", 24, 24, 24, start_time,
            duration, mt, mo, kb, a[3], a[5], seg, session_type]


# ---------------------------------------------------------------- US session rows
msgs = [
    F("r01_alone", 1, "MT", "2026-11-10 08:15:30", "a2p_rich_message", seg=1),
    F("r02_trigger", 2, "MT", "2026-11-10 09:45:00", "a2p_rich_message", seg=1),
    F("r03_mo", 3, "MO", "2026-11-10 09:50:00", "p2a_rich_message", seg=2),
    F("r04_action", 4, "MO", "2026-11-10 23:10:00", "p2a_suggested_action"),
    F("r05_media", 5, "MT", "2026-11-11 09:44:59.999999", "a2p_rich_media_message", kb=3),
    F("r06_after", 6, "MO", "2026-11-11 09:45:00", "p2a_rich_media_message", kb=1),
]
groups = {"r01_alone": "r01_alone", "r02_trigger": "r02_trigger", "r03_mo": "r02_trigger",
          "r04_action": "r02_trigger", "r05_media": "r02_trigger", "r06_after": "r06_after"}
fct = fct_rows(msgs, groups, {"r02_trigger": "a2p_session"})
S = dict(first_mid="r02_trigger", start_time="2026-11-10T09:00:00Z", duration=1439, mt=2, mo=2)
tests.append(Test(
    "report_us_session_rows_carry_session_totals_and_type", "fct_report_rows",
    "SPEC §6: US model, one row per billable message; all rows of a session share its billing_event_id, carry the "
    "session's total mt_messages/mo_messages (MO counts the suggested action), its start_time (first message, "
    "truncated to the hour), its duration (floor of 24 h - 1 µs = 1439 min), its generation date (start day + 2, "
    "also for rows of the next day) and session_type; type, size_kilobytes and segment_count stay the row's own. "
    "Non-session rows: 1/0 or 0/1, duration 0, empty session_type.",
).give("fct_billable_messages", FCT_IN, fct).give("int_agents_checked", AGENTS_IN, AGENTS)
 .expect_rows(REPORT_OUT, [
    report_row("att", "2026-11-12", 1, "r01_alone", "a2p_rich_message", "agent_conv", "2026-11-10T08:00:00Z", 0, 1, 0,
               0, 1, None),
    report_row("att", "2026-11-12", 2, S["first_mid"], "a2p_rich_message", "agent_conv", S["start_time"],
               S["duration"], 2, 2, 0, 1, "a2p_session"),
    report_row("att", "2026-11-12", 3, S["first_mid"], "p2a_rich_message", "agent_conv", S["start_time"],
               S["duration"], 2, 2, 0, 2, "a2p_session"),
    report_row("att", "2026-11-12", 4, S["first_mid"], "p2a_suggested_action", "agent_conv", S["start_time"],
               S["duration"], 2, 2, 0, 0, "a2p_session"),
    report_row("att", "2026-11-12", 5, S["first_mid"], "a2p_rich_media_message", "agent_conv", S["start_time"],
               S["duration"], 2, 2, 3, 0, "a2p_session"),
    report_row("att", "2026-11-13", 6, "r06_after", "p2a_rich_media_message", "agent_conv", "2026-11-11T09:00:00Z", 0,
               0, 1, 1, 0, None),
 ]))

# ---------------------------------------------------------------- US non-session rows (non-conversational)
nc = dict(agent="agent_nonconv", stream="s_nc", carrier="verizon")
msgs = [
    F("n1_mt", 1, "MT", "2026-11-10 09:00:00", "a2p_rich_message", seg=3, **nc),
    F("n2_mo", 2, "MO", "2026-11-10 09:01:00", "p2a_rich_message", seg=1, **nc),
    F("n3_mo_file", 3, "MO", "2026-11-10 09:02:00", "p2a_rich_media_message", kb=7, **nc),
    F("n4_action", 4, "MO", "2026-11-10 09:03:00", "p2a_suggested_action", **nc),
]
tests.append(Test(
    "report_us_non_session_rows_one_per_message", "fct_report_rows",
    "SPEC §6: a US message outside any session is its own row: type = its event type, mt/mo 1/0 or 0/1, duration 0, "
    "start_time its own event time truncated to the hour, empty session_type; billing_party carrier, every "
    "max_duration_* 24; agent name/owner from the agents input.",
).give("fct_billable_messages", FCT_IN, fct_rows(msgs, {m.mid: m.mid for m in msgs}, {}))
 .give("int_agents_checked", AGENTS_IN, AGENTS)
 .expect_rows(REPORT_OUT, [
    report_row("verizon", "2026-11-12", 1, "n1_mt", "a2p_rich_message", "agent_nonconv", "2026-11-10T09:00:00Z", 0, 1,
               0, 0, 3, None),
    report_row("verizon", "2026-11-12", 2, "n2_mo", "p2a_rich_message", "agent_nonconv", "2026-11-10T09:00:00Z", 0, 0,
               1, 0, 1, None),
    report_row("verizon", "2026-11-12", 3, "n3_mo_file", "p2a_rich_media_message", "agent_nonconv",
               "2026-11-10T09:00:00Z", 0, 0, 1, 7, 0, None),
    report_row("verizon", "2026-11-12", 4, "n4_action", "p2a_suggested_action", "agent_nonconv",
               "2026-11-10T09:00:00Z", 0, 0, 1, 0, 0, None),
 ]))

# ---------------------------------------------------------------- global rows
gl = dict(model="global", carrier="vodafone_uk", stream="g1")
msgs = [
    F("g1_mt", 1, "MT", "2026-11-10 09:20:00", "single_message", kb=2, **gl),
    F("g2_mo", 2, "MO", "2026-11-10 10:05:00", "p2a_message", kb=1, **gl),
    F("g3_mt", 3, "MT", "2026-11-11 10:04:59", "single_message", kb=4, **gl),
    F("g4_mt", 4, "MT", "2026-11-11 10:05:00", "basic_message", **gl),
    F("g5_mo", 5, "MO", "2026-11-12 00:30:00", "p2a_message", **gl),
    F("g6_mt", 6, "MT", "2026-11-12 01:00:00", "single_message", kb=1, **gl),
    F("g7_mo", 7, "MO", "2026-11-12 01:00:30", "p2a_message", **gl),
]
groups = {"g1_mt": "g1_mt", "g2_mo": "g1_mt", "g3_mt": "g1_mt", "g4_mt": "g4_mt", "g5_mo": "g5_mo",
          "g6_mt": "g5_mo", "g7_mo": "g5_mo"}
tests.append(Test(
    "report_global_one_row_per_event", "fct_report_rows",
    "SPEC §5, §6: global model, one row per billable event: a conversation is one row (type a2p_conversation / "
    "p2a_conversation, mt/mo counting its messages, size_kilobytes the sum of its messages' own, start_time its first "
    "message - the MT for A2P - and duration floor((last - first) / 60 s)); a basic or single message is one row "
    "with 1/0 and duration 0. Global rows have segment_count 0 and an empty session_type.",
).give("fct_billable_messages", FCT_IN, fct_rows(msgs, groups, {"g1_mt": "a2p_conversation",
                                                                "g5_mo": "p2a_conversation"}))
 .give("int_agents_checked", AGENTS_IN, AGENTS)
 .expect_rows(REPORT_OUT, [
    # 09:20:00 -> next day 10:04:59 = 1484 min 59 s
    report_row("vodafone_uk", "2026-11-12", 1, "g1_mt", "a2p_conversation", "agent_conv", "2026-11-10T09:00:00Z",
               1484, 2, 1, 7, 0, None),
    report_row("vodafone_uk", "2026-11-13", 4, "g4_mt", "basic_message", "agent_conv", "2026-11-11T10:00:00Z", 0, 1, 0,
               0, 0, None),
    # 00:30:00 -> 01:00:30 = 30 min 30 s
    report_row("vodafone_uk", "2026-11-14", 5, "g5_mo", "p2a_conversation", "agent_conv", "2026-11-12T00:00:00Z", 30,
               1, 2, 1, 0, None),
 ]))

# ---------------------------------------------------------------- start_time / generation date / duration
cases = [
    # id, event_at, start_time, generation_date
    ("t1_year_end", "2026-12-31 23:59:59.999999", "2026-12-31T23:00:00Z", "2027-01-02"),
    ("t2_midnight", "2027-01-01 00:00:00", "2027-01-01T00:00:00Z", "2027-01-03"),
    ("t3_leap", "2028-02-28 12:34:56", "2028-02-28T12:00:00Z", "2028-03-01"),
    ("t4_non_leap", "2027-02-27 07:59:59", "2027-02-27T07:00:00Z", "2027-03-01"),
    ("t5_month_end", "2026-11-30 22:00:00", "2026-11-30T22:00:00Z", "2026-12-02"),
]
msgs = [F(mid, i, "MT", at, "a2p_rich_message", seg=1, stream=f"s{i}") for i, (mid, at, _, _) in enumerate(cases, 1)]
tests.append(Test(
    "report_start_time_truncated_to_hour_and_generation_date_start_day_plus_2", "fct_report_rows",
    "SPEC §6: start_time is the event time truncated to the hour, written YYYY-MM-DDTHH:00:00Z (23:59:59.999999 -> "
    "23:00:00Z); the file's generation date is the start day (UTC) + 2, across month, year and leap-day ends.",
).give("fct_billable_messages", FCT_IN, fct_rows(msgs, {m.mid: m.mid for m in msgs}, {}))
 .give("int_agents_checked", AGENTS_IN, AGENTS)
 .expect_rows(REPORT_OUT, [
    report_row("att", gen, i, mid, "a2p_rich_message", "agent_conv", st, 0, 1, 0, 0, 1, None)
    for i, (mid, _, st, gen) in enumerate(cases, 1)
 ]))

sessions = [
    # (first at, last at, expected minutes)
    ("d1", "2026-11-10 10:00:00", "2026-11-10 10:00:59.999999", 0),
    ("d2", "2026-11-10 10:00:00", "2026-11-10 10:01:00", 1),
    ("d3", "2026-11-10 10:00:30", "2026-11-10 10:02:29.999999", 1),
    ("d4", "2026-11-10 10:59:00", "2026-11-11 10:57:59.999999", 1438),
    ("d5", "2026-11-10 10:59:00", "2026-11-11 10:58:59", 1439),
    ("d6", "2026-11-10 23:30:00", "2026-11-11 23:29:59.999999", 1439),
]
msgs, groups, types, exp = [], {}, {}, []
for i, (name, first, last, minutes) in enumerate(sessions, 1):
    a = F(f"{name}_first", 1, "MO", first, "p2a_rich_message", seg=1, stream=f"s_{name}")
    b = F(f"{name}_last", 2, "MT", last, "a2p_rich_message", seg=1, stream=f"s_{name}")
    msgs += [a, b]
    groups.update({a.mid: a.mid, b.mid: a.mid})
    types[a.mid] = "p2a_session"
    st = first[:13].replace(" ", "T") + ":00:00Z"
    gen = (datetime.fromisoformat(first[:10])).date().toordinal() + 2
    gen = datetime.fromordinal(gen).strftime("%Y-%m-%d")
    exp.append(report_row("att", gen, 1, a.mid, "p2a_rich_message", "agent_conv", st, minutes, 1, 1, 0, 1,
                          "p2a_session"))
    exp.append(report_row("att", gen, 2, a.mid, "a2p_rich_message", "agent_conv", st, minutes, 1, 1, 0, 1,
                          "p2a_session"))
tests.append(Test(
    "report_duration_whole_minutes_floor", "fct_report_rows",
    "SPEC §6: a session's duration is floor((last event time - first event time) / 60 s) in whole minutes: 59.999999 "
    "s -> 0, 60 s -> 1, 119.999999 s -> 1, 24 h - 1 min - 1 µs -> 1438, 24 h - 1 s -> 1439, 24 h - 1 µs -> 1439.",
).give("fct_billable_messages", FCT_IN, fct_rows(msgs, groups, types))
 .give("int_agents_checked", AGENTS_IN, AGENTS).expect_rows(REPORT_OUT, exp))

msgs = [F("x1", 1, "MT", "2026-11-10 09:00:00", "a2p_rich_message", seg=1),
        F("x2", 1, "MT", "2026-11-10 09:00:00", "basic_message", model="global", carrier="orange_fr", stream="g")]
agents = AGENTS + [
    ["agents_b.csv", 1, "agent_conv", "Conv Agent", "owner@example.com", "Owner Inc", "conversational", None, None,
     True],
    ["agents_b.csv", 2, None, None, None, None, None, "malformed_line", "CAST error", False],
]
tests.append(Test(
    "report_billing_party_max_durations_and_agent_columns", "fct_report_rows",
    "SPEC §6: billing_party = carrier and max_duration_single_message / _a2p_conversation / _p2a_conversation = 24 "
    "on every row of both models; agent_owner, agent_name and owner_name come from the agent's accepted row (an "
    "exact duplicate agents row does not duplicate report rows; a quarantined row is ignored).",
).give("fct_billable_messages", FCT_IN, fct_rows(msgs, {"x1": "x1", "x2": "x2"}, {}))
 .give("int_agents_checked", AGENTS_IN, agents)
 .expect_rows(REPORT_OUT, [
    report_row("att", "2026-11-12", 1, "x1", "a2p_rich_message", "agent_conv", "2026-11-10T09:00:00Z", 0, 1, 0, 0, 1,
               None),
    report_row("orange_fr", "2026-11-12", 1, "x2", "basic_message", "agent_conv", "2026-11-10T09:00:00Z", 0, 1, 0, 0, 0,
               None),
 ]))

write(str(ROOT) + "/models/marts/_unit_tests__report.yml", HEADER, tests)
