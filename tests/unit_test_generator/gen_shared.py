from lib import *

D1, D2 = "2026-11-10", "2026-11-11"
tests = []

HEADER = """
# Unit tests of the rules shared by both billing models (SPEC §2: what is billable, event time,
# stream order). Every test states the FULL expected rows of the model under test.
# stream_key = md5(agent_id || '|' || user_key || '|' || carrier_id), computed with Python hashlib.
"""

CHECKED_IN = ["source_kind", "source_file", "source_row", "message_id", "agent_id", "user_key", "carrier_id",
              "direction", "content_kind", "text", "file_size_bytes", "suggestions", "status", "sent_at",
              "delivered_at", "is_tester", "google_billing_event_id", "is_exact_duplicate", "quarantine_reason"]
AGENTS_IN = ["agent_id", "agent_name", "agent_owner", "owner_name", "billing_category", "quarantine_reason",
             "is_exact_duplicate"]
CARRIERS = ["carrier_id", "carrier_name", "country", "billing_model"]
BILLABILITY_OUT = ["source_kind", "source_file", "source_row", "message_id", "agent_id", "user_key", "carrier_id",
                   "billing_model", "billing_category", "direction", "content_kind", "text", "file_size_bytes",
                   "suggestions", "status", "sent_at", "delivered_at", "is_tester", "google_billing_event_id",
                   "event_at", "not_billable_reason"]
AGENTS = [
    ["agent_conv", "Conv Agent", "owner@example.com", "Owner Inc", "conversational", None, False],
    ["agent_nonconv", "Notify Agent", "ops@example.com", "Ops Ltd", "non_conversational", None, False],
]
CARRIER_ROWS = [["att", "AT&T", "US", "us"], ["vodafone_uk", "Vodafone UK", "GB", "global"]]
CATEGORY = {"agent_conv": "conversational", "agent_nonconv": "non_conversational"}
MODEL = {"att": "us", "vodafone_uk": "global"}


def chk(row_no, mid, direction, kind, status, sent, delivered=None, tester=False, agent="agent_conv",
        carrier="att", text=None, size=None, sugg=None, user="uk_1", dup=False, reason=None):
    return {"source_kind": "messages", "source_file": "messages.csv", "source_row": row_no, "message_id": mid,
            "agent_id": agent, "user_key": user, "carrier_id": carrier, "direction": direction, "content_kind": kind,
            "text": text, "file_size_bytes": size, "suggestions": sugg, "status": status, "sent_at": sent,
            "delivered_at": delivered, "is_tester": tester, "google_billing_event_id": None,
            "is_exact_duplicate": dup, "quarantine_reason": reason}


def out(r, event_at, reason):
    o = {c: r[c] for c in BILLABILITY_OUT if c in r}
    o.update({"billing_model": MODEL[r["carrier_id"]], "billing_category": CATEGORY[r["agent_id"]],
              "event_at": event_at, "not_billable_reason": reason})
    return o


rows = [
    chk(1, "mt_delivered", "MT", "text", "delivered", f"{D1} 09:00:00", f"{D1} 09:00:05", text="Hi", sugg="reply"),
    chk(2, "mt_sent", "MT", "text", "sent", f"{D1} 09:01:00", text="Hi"),
    chk(3, "mt_failed", "MT", "file", "failed", f"{D1} 09:02:00", size=2048),
    chk(4, "mt_revoked", "MT", "rich_card", "revoked", f"{D1} 09:03:00"),
    chk(5, "gl_mt_sent", "MT", "text", "sent", f"{D1} 09:04:00", carrier="vodafone_uk", text="Hi"),
    chk(6, "gl_mt_revoked", "MT", "carousel", "revoked", f"{D1} 09:05:00", carrier="vodafone_uk"),
    chk(7, "gl_mt_delivered", "MT", "text", "delivered", f"{D1} 09:06:00", f"{D1} 09:07:00", carrier="vodafone_uk"),
]
exp = [out(rows[0], f"{D1} 09:00:05", None)] + [out(r, None, "mt_not_delivered") for r in rows[1:6]] \
    + [out(rows[6], f"{D1} 09:07:00", None)]
tests.append(Test(
    "billability_undelivered_failed_revoked_mt_not_billable", "int_messages_billability",
    "SPEC §2: an MT is billable only when delivered; sent-but-undelivered, failed and revoked MTs are not billable, "
    "with the reason mt_not_delivered (both billing models), and keep a NULL event time.",
).give("int_messages_checked", CHECKED_IN, rows).give("int_agents_checked", AGENTS_IN, AGENTS)
 .give("stg_carriers", CARRIERS, CARRIER_ROWS).expect_rows(BILLABILITY_OUT, exp))

rows = [
    chk(1, "t_mt_delivered", "MT", "text", "delivered", f"{D1} 09:00:00", f"{D1} 09:00:01", tester=True),
    chk(2, "t_mo", "MO", "text", "received", f"{D1} 09:01:00", tester=True, text="Yo"),
    chk(3, "t_mt_failed", "MT", "text", "failed", f"{D1} 09:02:00", tester=True),
    chk(4, "t_gl_mt", "MT", "file", "delivered", f"{D1} 09:03:00", f"{D1} 09:03:30", tester=True,
        carrier="vodafone_uk", size=10),
    chk(5, "t_nc_mo", "MO", "file", "received", f"{D1} 09:04:00", tester=True, agent="agent_nonconv", size=1),
    chk(6, "real_mo", "MO", "text", "received", f"{D1} 09:05:00", text="Yo"),
]
exp = [out(rows[0], f"{D1} 09:00:01", "tester"), out(rows[1], f"{D1} 09:01:00", "tester"),
       out(rows[2], None, "tester"), out(rows[3], f"{D1} 09:03:30", "tester"),
       out(rows[4], f"{D1} 09:04:00", "tester"), out(rows[5], f"{D1} 09:05:00", None)]
tests.append(Test(
    "billability_tester_traffic_never_billable", "int_messages_billability",
    "SPEC §2: test traffic (is_tester) is never billable - delivered MT, MO, either billing model, either agent "
    "category - and its reason is tester (before any other reason).",
).give("int_messages_checked", CHECKED_IN, rows).give("int_agents_checked", AGENTS_IN, AGENTS)
 .give("stg_carriers", CARRIERS, CARRIER_ROWS).expect_rows(BILLABILITY_OUT, exp))

rows = [
    chk(1, "mt_late", "MT", "text", "delivered", f"{D1} 23:59:00", f"{D2} 00:01:00.250000", text="A"),
    chk(2, "mo_a", "MO", "suggested_reply", "received", f"{D1} 23:59:30.5", text="B"),
    chk(3, "mo_action", "MO", "suggested_action", "received", f"{D2} 00:00:00"),
    chk(4, "gl_mt", "MT", "rich_card", "delivered", f"{D1} 10:00:00", f"{D1} 11:30:00", carrier="vodafone_uk",
        size=700),
    chk(5, "gl_mo", "MO", "file", "received", f"{D1} 10:15:00", carrier="vodafone_uk", size=5000),
]
exp = [out(rows[0], f"{D2} 00:01:00.250000", None), out(rows[1], f"{D1} 23:59:30.5", None),
       out(rows[2], f"{D2} 00:00:00", None), out(rows[3], f"{D1} 11:30:00", None),
       out(rows[4], f"{D1} 10:15:00", None)]
tests.append(Test(
    "billability_event_time_mt_delivered_at_mo_sent_at", "int_messages_billability",
    "SPEC §2: a billable MT's event time is delivered_at (not sent_at, even across midnight); an MO's event time is "
    "sent_at; the billing model comes from the carrier and the category from the agent.",
).give("int_messages_checked", CHECKED_IN, rows).give("int_agents_checked", AGENTS_IN, AGENTS)
 .give("stg_carriers", CARRIERS, CARRIER_ROWS).expect_rows(BILLABILITY_OUT, exp))

rows = [
    chk(1, "ok_mo", "MO", "text", "received", f"{D1} 09:00:00", text="Hi"),
    chk(2, "ok_mo", "MO", "text", "received", f"{D1} 09:00:00", text="Hi", dup=True),
    chk(3, "bad_status", "MT", "text", "lost", f"{D1} 09:01:00", reason="invalid_status"),
    chk(4, "bad_agent", "MO", "text", "received", f"{D1} 09:02:00", agent="agent_gone", reason="unknown_agent"),
]
agents = AGENTS + [["agent_conv", "Conv Agent", "owner@example.com", "Owner Inc", "conversational", None, True]]
tests.append(Test(
    "billability_only_accepted_rows_once", "int_messages_billability",
    "SPEC §2, §7: only rows that passed the contract checks reach billability, once: quarantined rows and the extra "
    "copies of exact duplicates (of messages or agents) are left to their own outcomes.",
).give("int_messages_checked", CHECKED_IN, rows).give("int_agents_checked", AGENTS_IN, agents)
 .give("stg_carriers", CARRIERS, CARRIER_ROWS).expect_rows(BILLABILITY_OUT, [out(rows[0], f"{D1} 09:00:00", None)]))

# ---------------------------------------------------------------- stream order
BILL_IN = ["message_id", "agent_id", "user_key", "carrier_id", "billing_model", "billing_category", "direction",
           "content_kind", "text", "file_size_bytes", "suggestions", "event_at", "google_billing_event_id",
           "not_billable_reason"]
BILL_OUT = ["stream_key", "message_id", "agent_id", "carrier_id", "billing_model", "billing_category",
            "direction", "content_kind", "text", "file_size_bytes", "suggestions", "event_at",
            "google_billing_event_id"]


def bil(mid, direction, at, user="uk_1", carrier="att", agent="agent_conv", reason=None, kind="text", text=None,
        size=None, sugg=None):
    return {"message_id": mid, "agent_id": agent, "user_key": user, "carrier_id": carrier,
            "billing_model": MODEL[carrier], "billing_category": CATEGORY[agent], "direction": direction,
            "content_kind": kind, "text": text, "file_size_bytes": size, "suggestions": sugg, "event_at": at,
            "google_billing_event_id": None, "not_billable_reason": reason}


def bout(r):
    o = {c: r[c] for c in BILL_OUT if c in r}
    o.update({"stream_key": md5(f"{r['agent_id']}|{r['user_key']}|{r['carrier_id']}")})
    return o


rows = [
    bil("a1", "MT", f"{D1} 09:00:00"),
    bil("a2", "MO", f"{D1} 09:05:00"),
    bil("b1", "MO", f"{D1} 09:01:00", user="uk_2"),
    bil("c1", "MO", f"{D1} 09:02:00", carrier="vodafone_uk"),
    bil("c2", "MT", f"{D1} 08:00:00", carrier="vodafone_uk"),
    bil("d1", "MT", f"{D1} 09:03:00", agent="agent_nonconv"),
    bil("e1", "MT", None, reason="mt_not_delivered"),
    bil("e2", "MO", f"{D1} 08:00:00", reason="tester"),
]
tests.append(Test(
    "stream_is_one_agent_one_user_one_carrier", "int_billable_messages",
    "SPEC §2 (Decision in README): a conversation stream is one agent, one user and one carrier (the stream_key of "
    "the three); not-billable rows are not in any stream.",
).give("int_messages_billability", BILL_IN, rows).expect_rows(BILL_OUT, [bout(r) for r in rows[:6]]))


def num_in(mid, direction, at, stream="s_1", kind="text", size=None):
    return {"stream_key": stream, "message_id": mid, "agent_id": "agent_conv", "carrier_id": "att",
            "billing_model": "us", "billing_category": "conversational", "direction": direction, "content_kind": kind,
            "text": "hi" if kind == "text" else None, "file_size_bytes": size, "suggestions": None, "event_at": at}


def num_out(r, seq):
    o = {c: r.get(c) for c in SEQUENCED if c in r}
    mtype = {"MO": "p2a_rich_message", "MT": "a2p_rich_message"}[r["direction"]] if r["content_kind"] == "text" \
        else {"MO": "p2a_rich_media_message", "MT": "a2p_rich_media_message"}[r["direction"]]
    o.update({"stream_seq": seq, "message_type": mtype, "segment_count": 1 if r["content_kind"] == "text" else 0,
              "size_kilobytes": 0, "google_billing_event_id": None})
    return o


def classified(rows):
    """The rows as int_messages_classified gives them to int_messages_sequenced: typed, not numbered yet."""
    return [{c: v for c, v in num_out(r, None).items() if c != "stream_seq"} for r in rows]


rows = [
    num_in("m9", "MT", f"{D1} 09:00:00"),
    num_in("m10", "MO", f"{D1} 09:00:00"),
    num_in("m100", "MO", f"{D1} 09:00:00"),
    num_in("m1", "MT", f"{D1} 09:00:00.000001", kind="file", size=10),
    num_in("m0", "MO", f"{D1} 08:59:59.999999"),
]
tests.append(Test(
    "stream_order_ties_by_message_id_as_strings", "int_messages_sequenced",
    "SPEC §2: stream_seq numbers a stream in (event time, message_id) order; ties in event time are ordered by "
    "message_id compared as strings ('m10' < 'm100' < 'm9').",
).give("int_messages_classified", CLASSIFIED_OUT, classified(rows)).expect_rows(SEQUENCED, [
    num_out(rows[4], 1), num_out(rows[1], 2), num_out(rows[2], 3), num_out(rows[0], 4), num_out(rows[3], 5)]))

rows = [
    num_in("a1", "MT", f"{D1} 09:00:00", stream="s_a"),
    num_in("b1", "MO", f"{D1} 09:01:00", stream="s_b"),
    num_in("a2", "MO", f"{D1} 09:05:00", stream="s_a"),
    num_in("c1", "MO", f"{D1} 09:02:00", stream="s_c"),
    num_in("c0", "MT", f"{D1} 08:00:00", stream="s_c"),
    num_in("b2", "MT", f"{D1} 09:03:00", stream="s_b"),
]
tests.append(Test(
    "stream_seq_restarts_in_every_stream", "int_messages_sequenced",
    "SPEC §2: stream_seq restarts at 1 in every conversation stream and follows that stream's order only.",
).give("int_messages_classified", CLASSIFIED_OUT, classified(rows)).expect_rows(SEQUENCED, [
    num_out(rows[0], 1), num_out(rows[2], 2), num_out(rows[1], 1), num_out(rows[5], 2), num_out(rows[4], 1),
    num_out(rows[3], 2)]))

# A daily run: stream s_a is touched from 09:00 on, so its rows before 09:00 are kept as stored (3 of them, the
# last at 08:59:59.999999) and its rows from 09:00 on (one exactly at 09:00) are numbered after them, in stream
# order; stream s_b is touched from its start (nothing kept); stream s_c is not touched: none of its rows is
# recomputed, even the one after 09:00.
stored = [
    num_in("a1", "MO", f"{D1} 08:00:00", stream="s_a"),
    num_in("a2", "MT", f"{D1} 08:30:00", stream="s_a"),
    num_in("a3", "MO", f"{D1} 08:59:59.999999", stream="s_a"),
    num_in("a4", "MO", f"{D1} 09:10:00", stream="s_a"),
    num_in("c1", "MO", f"{D1} 08:00:00", stream="s_c"),
]
stored_rows = [num_out(r, seq) for r, seq in zip(stored, [1, 2, 3, 4, 1])]
rows = stored[:3] + [
    num_in("a5", "MO", f"{D1} 09:05:00", stream="s_a"),
    num_in("a4", "MO", f"{D1} 09:10:00", stream="s_a"),
    num_in("a0", "MT", f"{D1} 09:00:00", stream="s_a"),
    num_in("b1", "MO", f"{D1} 07:00:00", stream="s_b"),
    num_in("b2", "MT", f"{D1} 07:30:00", stream="s_b"),
    stored[4],
    num_in("c2", "MT", f"{D1} 09:20:00", stream="s_c"),
]
tests.append(Test(
    "daily_run_numbers_recomputed_rows_after_the_kept_ones", "int_messages_sequenced",
    "Daily operation: a run recomputes the rows of a touched stream from its recompute_from on (a row exactly at "
    "recompute_from included) and numbers them after the stream's rows kept as stored; untouched streams are not "
    "recomputed.",
    touched=[{"touched_stream_key": "s_a", "recompute_from": f"{D1} 09:00:00"},
             {"touched_stream_key": "s_b", "recompute_from": "1900-01-01 00:00:00"}],
).give("int_messages_classified", CLASSIFIED_OUT, classified(rows)).give("this", SEQUENCED, stored_rows)
 .expect_rows(SEQUENCED, [num_out(rows[5], 4), num_out(rows[3], 5), num_out(rows[4], 6),
                               num_out(rows[6], 1), num_out(rows[7], 2)]))

write(str(ROOT) + "/models/intermediate/_unit_tests__shared.yml", HEADER, tests)
