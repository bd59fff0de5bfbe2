from datetime import datetime, timedelta

from lib import *

D1, D2, D3, D4 = "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"
V = {"billing_salt": SALT}
tests = []

HEADER = """
# Unit tests of the global model (SPEC §5: basic / single messages, A2P and P2A conversations)
# and of the seven session scenarios of reference/rcs-billing-types-and-session-scenarios.txt
# (A2P 1-4, P2A 1-3). Each scenario is tested on int_global_conversation_triggers (which pairs
# can open a conversation) and on int_global_billable_events (how every message is billed,
# given the conversation the scenario opens); P2A 2 also on int_global_conversations (the chain).
# Every test states the FULL expected rows of the model under test (all its columns).
# billing_event_id = lower(sha256(billing_salt || '|' || first_message_id)), computed with Python
# hashlib; the salt is pinned by `overrides`.
"""

# ---------------------------------------------------------------- §5 basic vs single
def bm(seq, mid, direction, kind, text=None, size=None, sugg=None, category="conversational"):
    return {"stream_key": "s_gl", "stream_seq": seq, "message_id": mid, "agent_id": "agent_conv",
            "carrier_id": "vodafone_uk", "billing_model": "global", "billing_category": category,
            "direction": direction, "content_kind": kind, "text": text, "file_size_bytes": size, "suggestions": sugg,
            "event_at": f"{D1} 09:{seq:02d}:00"}


def cl(row, mtype, kb=0):
    out = {c: row.get(c) for c in CLASSIFIED_OUT if c in row}
    out.update({"message_type": mtype, "segment_count": 0, "size_kilobytes": kb, "google_billing_event_id": None})
    return out


def classified_test(name, desc, cases):
    rows_in, rows_out = [], []
    for i, (mid, d, kind, text, size, sugg, mtype, kb) in enumerate(cases, 1):
        r = bm(i, mid, d, kind, text, size, sugg)
        rows_in.append(r)
        rows_out.append(cl(r, mtype, kb))
    tests.append(Test(name, "int_messages_classified", desc)
                 .give("int_billable_messages", CLASSIFIED_IN, unnumbered(rows_in)).expect_rows(CLASSIFIED_OUT, rows_out))


classified_test(
    "global_basic_vs_single_160_byte_boundary_multibyte",
    "SPEC §5 (Decision: bytes, not characters): basic_message = MT text, no suggestions, at most 160 UTF-8 bytes "
    "(a missing text counts as empty); more bytes = single_message even when it is at most 160 characters "
    "(81 x é = 81 chars / 162 bytes; 41 x 😀 = 41 chars / 164 bytes). Global rows have segment_count 0.",
    [
        ("b_a160", "MT", "text", "a" * 160, None, None, "basic_message", 0),
        ("s_a161", "MT", "text", "a" * 161, None, None, "single_message", 0),
        ("b_e80", "MT", "text", "é" * 80, None, None, "basic_message", 0),
        ("s_e81", "MT", "text", "é" * 81, None, None, "single_message", 0),
        ("s_e80_a", "MT", "text", "é" * 80 + "a", None, None, "single_message", 0),
        ("b_a156_emoji", "MT", "text", "a" * 156 + "😀", None, None, "basic_message", 0),
        ("s_a157_emoji", "MT", "text", "a" * 157 + "😀", None, None, "single_message", 0),
        ("b_emoji40", "MT", "text", "😀" * 40, None, None, "basic_message", 0),
        ("s_emoji41", "MT", "text", "😀" * 41, None, None, "single_message", 0),
        ("b_no_text", "MT", "text", None, None, None, "basic_message", 0),
        ("b_short", "MT", "text", "Your code is 1234", None, None, "basic_message", 0),
    ])

classified_test(
    "global_any_suggestion_makes_single_message",
    "SPEC §5: an MT text with any suggestion (a reply included) is a single_message, however short.",
    [
        ("s_reply", "MT", "text", "Yes?", None, "reply", "single_message", 0),
        ("s_dial", "MT", "text", "Call", None, "dial", "single_message", 0),
        ("s_open_url", "MT", "text", "Visit", None, "open_url", "single_message", 0),
        ("s_view_location", "MT", "text", "Here", None, "view_location", "single_message", 0),
        ("s_reply_dial", "MT", "text", "Hi", None, "reply|dial", "single_message", 0),
        ("b_plain", "MT", "text", "Hi", None, None, "basic_message", 0),
    ])

classified_test(
    "global_file_rich_card_carousel_are_single_messages",
    "SPEC §5: MT file, rich_card and carousel are single messages (with or without media); every MO is a "
    "p2a_message (never billed on its own); size_kilobytes is the row's own bytes / 1024 rounded halves up.",
    [
        ("s_file", "MT", "file", None, 1536, None, "single_message", 2),
        ("s_rich_card", "MT", "rich_card", "Offer", 511, None, "single_message", 0),
        ("s_rich_card_no_media", "MT", "rich_card", None, None, None, "single_message", 0),
        ("s_carousel", "MT", "carousel", None, 512, None, "single_message", 1),
        ("mo_text", "MO", "text", "Hello", None, None, "p2a_message", 0),
        ("mo_reply", "MO", "suggested_reply", "Yes", None, None, "p2a_message", 0),
        ("mo_action", "MO", "suggested_action", None, None, None, "p2a_message", 0),
        ("mo_file", "MO", "file", None, 1535, None, "p2a_message", 1),
    ])

# ---------------------------------------------------------------- scenarios
def gm(seq, mid, direction, at, mtype=None, kb=0, stream="g1", category="conversational", agent="agent_conv"):
    if mtype is None:
        mtype = "basic_message" if direction == "MT" else "p2a_message"
    return Msg(stream, seq, mid, direction, at, mtype, 0, kb, agent, "vodafone_uk", "global", category)


def plus24(ts):
    return (datetime.fromisoformat(ts) + timedelta(hours=24)).isoformat(sep=" ")


def trig(stream, seq, mid, starts, window_from, typ):
    """A conversation trigger: starts at its first message; the window runs 24 h from its MO."""
    return {"stream_key": stream, "start_seq": seq, "start_message_id": mid, "starts_at": starts,
            "window_end_at": plus24(window_from), "conversation_type": typ}


def scenario(name, desc_rule, msgs, triggers, conversations, groups, types, trig_desc=None):
    rows = [m.classified_row() for m in msgs]
    tests.append(Test(
        name + "_triggers", "int_global_conversation_triggers",
        (trig_desc or desc_rule) + " [candidate pairs: consecutive MT->MO or MO->MT of a conversational stream, "
        "the second < 24 h after the first; window 24 h from the MO]",
    ).give("int_messages_sequenced", SEQUENCED, rows).expect_rows(TRIGGERS_GL, triggers))
    tests.append(Test(
        name, "int_global_billable_events", desc_rule, vars=V,
    ).give("int_messages_sequenced", SEQUENCED, rows)
     .give("int_global_conversations", TRIGGERS_GL, conversations)
     .expect_rows(EVENTS_OUT, event_rows(msgs, groups, types)))


# A2P 1
msgs = [gm(1, "a1_mt1", "MT", f"{D1} 09:00:00", "single_message", kb=1),
        gm(2, "a1_mo1", "MO", f"{D1} 10:00:00"),
        gm(3, "a1_mt2", "MT", f"{D2} 09:30:00"),
        gm(4, "a1_mt3", "MT", f"{D2} 10:00:00")]
tr = [trig("g1", 1, "a1_mt1", f"{D1} 09:00:00", f"{D1} 10:00:00", "a2p_conversation"),
      trig("g1", 2, "a1_mo1", f"{D1} 10:00:00", f"{D1} 10:00:00", "p2a_conversation")]
scenario(
    "global_a2p_scenario_1_reply_opens_conversation",
    "SPEC §5, reference A2P scenario 1: MT1 answered by MO1 within 24 h opens an A2P conversation containing MT1; "
    "its window runs 24 h from MO1 (not MT1), so MT2 at D2 09:30 is inside; MT3 at exactly MO1 + 24 h is outside, "
    "a final basic_message billed alone. The conversation row counts 2 MT / 1 MO.",
    msgs, tr, [tr[0]],
    {"a1_mt1": "a1_mt1", "a1_mo1": "a1_mt1", "a1_mt2": "a1_mt1", "a1_mt3": "a1_mt3"},
    {"a1_mt1": "a2p_conversation"})

# A2P 2
msgs = [gm(1, "a2_mt1", "MT", f"{D1} 09:00:00", "single_message", kb=2),
        gm(2, "a2_mo1", "MO", f"{D2} 09:00:00")]
scenario(
    "global_a2p_scenario_2_no_reply_mt_billed_alone",
    "SPEC §5, reference A2P scenario 2: an MT with no MO within 24 h (the MO comes at exactly +24 h) is a final "
    "single/basic message billed alone; the late MO opens nothing and is not billed.",
    msgs, [], [],
    {"a2_mt1": "a2_mt1", "a2_mo1": None}, {},
    trig_desc="SPEC §5, reference A2P scenario 2: an MO at exactly MT + 24 h is not a reply (< 24 h needed) and no "
              "MT follows it: no candidate pair at all.")

# A2P 3
msgs = [gm(1, "a3_mt1", "MT", f"{D1} 09:00:00"),
        gm(2, "a3_mt2", "MT", f"{D1} 12:00:00", "single_message"),
        gm(3, "a3_mo1", "MO", f"{D1} 13:00:00"),
        gm(4, "a3_mt3", "MT", f"{D1} 18:00:00")]
tr = [trig("g1", 2, "a3_mt2", f"{D1} 12:00:00", f"{D1} 13:00:00", "a2p_conversation"),
      trig("g1", 3, "a3_mo1", f"{D1} 13:00:00", f"{D1} 13:00:00", "p2a_conversation")]
scenario(
    "global_a2p_scenario_3_second_mt_resets_period",
    "SPEC §5, reference A2P scenario 3: two MTs within 24 h, then an MO: the period resets with each MT, so only the "
    "latest MT (MT2) joins the A2P conversation; MT1 is a final basic_message billed alone; MT3 is inside the "
    "conversation.",
    msgs, tr, [tr[0]],
    {"a3_mt1": "a3_mt1", "a3_mt2": "a3_mt2", "a3_mo1": "a3_mt2", "a3_mt3": "a3_mt2"},
    {"a3_mt2": "a2p_conversation"})

# A2P 4
msgs = [gm(1, "a4_mt1", "MT", f"{D1} 09:00:00"),
        gm(2, "a4_mo1", "MO", f"{D2} 10:00:00"),
        gm(3, "a4_mt2", "MT", f"{D3} 11:00:00", "single_message", kb=3),
        gm(4, "a4_mo2", "MO", f"{D3} 12:00:00")]
tr = [trig("g1", 3, "a4_mt2", f"{D3} 11:00:00", f"{D3} 12:00:00", "a2p_conversation")]
scenario(
    "global_a2p_scenario_4_late_reply_no_conversation",
    "SPEC §5, reference A2P scenario 4: MO1 comes 25 h after MT1 and MT2 25 h after MO1: MT1 is a final basic "
    "message, MO1 triggers nothing and is not billed; MT2 + MO2 then open an A2P conversation as in scenario 1.",
    msgs, tr, tr,
    {"a4_mt1": "a4_mt1", "a4_mo1": None, "a4_mt2": "a4_mt2", "a4_mo2": "a4_mt2"},
    {"a4_mt2": "a2p_conversation"})

# P2A 1
msgs = [gm(1, "p1_mo1", "MO", f"{D1} 09:00:00"),
        gm(2, "p1_mt1", "MT", f"{D1} 10:00:00"),
        gm(3, "p1_mt2", "MT", f"{D1} 20:00:00", "single_message", kb=1),
        gm(4, "p1_mo2", "MO", f"{D2} 08:00:00"),
        gm(5, "p1_mt3", "MT", f"{D2} 09:00:00")]
tr = [trig("g1", 1, "p1_mo1", f"{D1} 09:00:00", f"{D1} 09:00:00", "p2a_conversation"),
      trig("g1", 3, "p1_mt2", f"{D1} 20:00:00", f"{D2} 08:00:00", "a2p_conversation"),
      trig("g1", 4, "p1_mo2", f"{D2} 08:00:00", f"{D2} 08:00:00", "p2a_conversation")]
scenario(
    "global_p2a_scenario_1_user_initiates_conversation",
    "SPEC §5, reference P2A scenario 1: with no MT or conversation in the previous 24 h, MO1 waits; the agent's "
    "MT within 24 h opens a P2A conversation from MO1 whose window [MO1, MO1 + 24 h) takes every later MT and MO; "
    "MT3 at exactly MO1 + 24 h is outside, billed alone.",
    msgs, tr, [tr[0]],
    {"p1_mo1": "p1_mo1", "p1_mt1": "p1_mo1", "p1_mt2": "p1_mo1", "p1_mo2": "p1_mo1", "p1_mt3": "p1_mt3"},
    {"p1_mo1": "p2a_conversation"})

# P2A 2 (the document's times) and its twin
def p2a2(mt2_at):
    return [gm(1, "p2_mo1", "MO", f"{D1} 09:00:00"),
            gm(2, "p2_mo2", "MO", f"{D1} 10:00:00"),
            gm(3, "p2_mo3", "MO", f"{D1} 11:00:00"),
            gm(4, "p2_mt1", "MT", f"{D2} 00:00:00"),
            gm(5, "p2_mo4", "MO", f"{D2} 09:00:00"),
            gm(6, "p2_mt2", "MT", mt2_at)]


P2A2_TR = [trig("g1", 3, "p2_mo3", f"{D1} 11:00:00", f"{D1} 11:00:00", "p2a_conversation"),
           trig("g1", 4, "p2_mt1", f"{D2} 00:00:00", f"{D2} 09:00:00", "a2p_conversation"),
           trig("g1", 5, "p2_mo4", f"{D2} 09:00:00", f"{D2} 09:00:00", "p2a_conversation")]
scenario(
    "global_p2a_scenario_2_last_mo_opens_conversation_mt2_at_10_59_59_inside",
    "SPEC §5, reference P2A scenario 2 with the document's times: MO1 9:00, MO2 10:00, MO3 11:00, MT1 24:00 (next "
    "day 00:00), MO4 9:00 next day, MT2 10:59:59 next day. Only the last MO before MT1 (MO3) opens the P2A "
    "conversation, window [D1 11:00, D2 11:00): MO3, MT1, MO4 and MT2 are in it (2 MT, 2 MO); MO1 and MO2 are "
    "never billed.",
    p2a2(f"{D2} 10:59:59"), P2A2_TR, [P2A2_TR[0]],
    {"p2_mo1": None, "p2_mo2": None, "p2_mo3": "p2_mo3", "p2_mt1": "p2_mo3", "p2_mo4": "p2_mo3", "p2_mt2": "p2_mo3"},
    {"p2_mo3": "p2a_conversation"})

msgs = p2a2(f"{D2} 11:00:00")
tests.append(Test(
    "global_p2a_scenario_2_twin_mt2_at_11_00_00_outside_billed_alone", "int_global_billable_events",
    "SPEC §5, twin of reference P2A scenario 2 with MT2 at 11:00:00 next day = exactly MO3 + 24 h: MT2 is outside "
    "the conversation (half-open window) and billed alone as a basic_message; the conversation keeps MO3, MT1 and "
    "MO4 (1 MT, 2 MO).",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_global_conversations", TRIGGERS_GL, [P2A2_TR[0]])
 .expect_rows(EVENTS_OUT, event_rows(msgs, {"p2_mo1": None, "p2_mo2": None, "p2_mo3": "p2_mo3", "p2_mt1": "p2_mo3",
                                            "p2_mo4": "p2_mo3", "p2_mt2": "p2_mt2"},
                                     {"p2_mo3": "p2a_conversation"})))

tests.append(Test(
    "global_p2a_scenario_2_conversations_chain", "int_global_conversations",
    "SPEC §5, reference P2A scenario 2: of the three candidate pairs (MO3->MT1, MT1->MO4, MO4->MT2) only MO3's "
    "opens a conversation: the other two start inside its window [D1 11:00, D2 11:00). The stream starts afresh "
    "only after the window.",
).give("int_global_conversation_triggers", TRIGGERS_GL, P2A2_TR).expect_rows(TRIGGERS_GL, [P2A2_TR[0]]))

# P2A 3
msgs = [gm(1, "p3_mt1", "MT", f"{D1} 09:00:00", "single_message"),
        gm(2, "p3_mo1", "MO", f"{D2} 12:00:00"),
        gm(3, "p3_mt2", "MT", f"{D2} 13:00:00")]
tr = [trig("g1", 2, "p3_mo1", f"{D2} 12:00:00", f"{D2} 12:00:00", "p2a_conversation")]
scenario(
    "global_p2a_scenario_3_reply_after_24h_opens_p2a_conversation",
    "SPEC §5, reference P2A scenario 3: MT1 gets no response within 24 h (final single_message billed alone); MO1, "
    "27 h later, waits and the agent's next MT within 24 h makes it the start of a P2A conversation.",
    msgs, tr, tr,
    {"p3_mt1": "p3_mt1", "p3_mo1": "p3_mo1", "p3_mt2": "p3_mo1"},
    {"p3_mo1": "p2a_conversation"})

# ---------------------------------------------------------------- latest MT / latest MO
msgs = [gm(1, "l_mt1", "MT", f"{D1} 09:00:00"),
        gm(2, "l_mt2", "MT", f"{D2} 08:00:00", "single_message"),
        gm(3, "l_mo1", "MO", f"{D2} 10:00:00"),
        gm(1, "l_mo_a", "MO", f"{D1} 09:00:00", stream="g2"),
        gm(2, "l_mo_b", "MO", f"{D2} 08:00:00", stream="g2"),
        gm(3, "l_mt_c", "MT", f"{D2} 10:00:00", stream="g2")]
tests.append(Test(
    "global_only_latest_mt_or_latest_mo_pairs", "int_global_conversation_triggers",
    "SPEC §5: an A2P conversation pairs the MO with the LATEST not-yet-conversational MT only (g1: MO 25 h after "
    "MT1 but 2 h after MT2 -> pair MT2->MO, window 24 h from the MO); a P2A conversation pairs the agent's next MT "
    "with the LATEST waiting MO (g2: MT 25 h after MO_a but 2 h after MO_b -> pair MO_b->MT).",
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .expect_rows(TRIGGERS_GL, [trig("g1", 2, "l_mt2", f"{D2} 08:00:00", f"{D2} 10:00:00", "a2p_conversation"),
                            trig("g2", 2, "l_mo_b", f"{D2} 08:00:00", f"{D2} 08:00:00", "p2a_conversation")]))

# ---------------------------------------------------------------- non-conversational agents
nc = dict(stream="g_nc", category="non_conversational", agent="agent_nonconv")
msgs_nc = [gm(1, "nc_mt1", "MT", f"{D1} 09:00:00", **nc),
           gm(2, "nc_mo1", "MO", f"{D1} 09:10:00", **nc),
           gm(3, "nc_mt2", "MT", f"{D1} 09:20:00", "single_message", kb=2, **nc),
           gm(4, "nc_mo2", "MO", f"{D1} 09:30:00", **nc)]
msgs_c = [gm(1, "cv_mt1", "MT", f"{D1} 09:00:00"),
          gm(2, "cv_mo1", "MO", f"{D1} 09:10:00")]
tests.append(Test(
    "global_non_conversational_agent_no_conversation_triggers", "int_global_conversation_triggers",
    "SPEC §5: conversations are for conversational agents only: the non-conversational stream g_nc (MT, MO, MT, MO) "
    "gives no candidate pair, while the same pattern of a conversational agent (g1) does.",
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs_nc + msgs_c])
 .expect_rows(TRIGGERS_GL, [trig("g1", 1, "cv_mt1", f"{D1} 09:00:00", f"{D1} 09:10:00", "a2p_conversation")]))

tests.append(Test(
    "global_non_conversational_agent_every_mt_alone_mos_not_billed", "int_global_billable_events",
    "SPEC §5: for a non-conversational agent (no conversations), every MT is billed alone as a basic or single "
    "message (1 MT / 0 MO) and its MOs are never billed.",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs_nc])
 .give("int_global_conversations", TRIGGERS_GL, [])
 .expect_rows(EVENTS_OUT, event_rows(msgs_nc, {"nc_mt1": "nc_mt1", "nc_mo1": None, "nc_mt2": "nc_mt2",
                                               "nc_mo2": None}, {})))

# ---------------------------------------------------------------- chain of conversations
tr = [trig("g1", 1, "c_mt1", f"{D1} 09:00:00", f"{D1} 10:00:00", "a2p_conversation"),
      trig("g1", 2, "c_mo1", f"{D1} 10:00:00", f"{D1} 10:00:00", "p2a_conversation"),
      trig("g1", 5, "c_mt3", f"{D2} 09:30:00", f"{D2} 10:00:00", "a2p_conversation"),
      trig("g1", 6, "c_mo3", f"{D2} 10:00:00", f"{D2} 10:00:00", "p2a_conversation"),
      trig("g1", 8, "c_mt5", f"{D3} 10:00:00", f"{D3} 10:30:00", "a2p_conversation"),
      trig("g2", 1, "d_mo1", f"{D1} 09:30:00", f"{D1} 09:30:00", "p2a_conversation")]
tests.append(Test(
    "global_conversations_stream_starts_afresh_after_window", "int_global_conversations",
    "SPEC §5: every message inside a conversation's window belongs to it and the stream starts afresh after the "
    "window: pairs starting inside a chosen window are not chosen (c_mo1; c_mt3 whose MT is inside even though its "
    "MO is at the end), a pair starting at exactly the window end is (c_mo3), and so is the A2P pair c_mt5 starting "
    "at exactly c_mo3's window end; every stream chains on its own.",
).give("int_global_conversation_triggers", TRIGGERS_GL, tr).expect_rows(TRIGGERS_GL, [tr[0], tr[3], tr[4], tr[5]]))

msgs = [gm(1, "w_mt1", "MT", f"{D1} 09:00:00"),
        gm(2, "w_mo1", "MO", f"{D1} 10:00:00"),
        gm(3, "w_mt2", "MT", f"{D2} 09:59:59.999999", "single_message", kb=4),
        gm(4, "w_mo2", "MO", f"{D2} 10:00:00"),
        gm(5, "w_mt3", "MT", f"{D2} 10:30:00", "single_message", kb=1),
        gm(6, "w_mo3", "MO", f"{D2} 11:00:00")]
tests.append(Test(
    "global_billable_events_two_conversations_half_open_window", "int_global_billable_events",
    "SPEC §5, §6: an MT at window end - 1 µs is inside the A2P conversation; an MO at exactly the window end is "
    "outside it and opens the next (P2A) conversation with the agent's next MT; each conversation has its own "
    "billing_event_id, type, counts and summed size_kilobytes.",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_global_conversations", TRIGGERS_GL,
       [trig("g1", 1, "w_mt1", f"{D1} 09:00:00", f"{D1} 10:00:00", "a2p_conversation"),
        trig("g1", 4, "w_mo2", f"{D2} 10:00:00", f"{D2} 10:00:00", "p2a_conversation")])
 .expect_rows(EVENTS_OUT, event_rows(msgs, {"w_mt1": "w_mt1", "w_mo1": "w_mt1", "w_mt2": "w_mt1", "w_mo2": "w_mo2",
                                            "w_mt3": "w_mo2", "w_mo3": "w_mo2"},
                                     {"w_mt1": "a2p_conversation", "w_mo2": "p2a_conversation"})))

msgs = [gm(1, "t_mt1", "MT", f"{D1} 23:00:00"),
        gm(2, "t_mo1", "MO", f"{D2} 22:00:00"),
        gm(3, "t_mt2", "MT", f"{D3} 10:00:00", "single_message", kb=2),
        gm(4, "t_mt3", "MT", f"{D3} 21:59:59.999999", "single_message", kb=1),
        gm(5, "t_mt4", "MT", f"{D3} 22:00:00", "single_message", kb=3)]
tests.append(Test(
    "global_billable_events_conversation_window_over_three_days", "int_global_billable_events",
    "SPEC §5, §6: an A2P conversation opened at 23:00 and answered 23 h later runs 24 h from the reply, so its "
    "window reaches a third calendar day (UTC): the MTs of that day before the window end are inside it, the MT at "
    "exactly the window end is billed alone (macro assign_to_windows_cte lists a window under every day it reaches).",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_global_conversations", TRIGGERS_GL,
       [trig("g1", 1, "t_mt1", f"{D1} 23:00:00", f"{D2} 22:00:00", "a2p_conversation")])
 .expect_rows(EVENTS_OUT, event_rows(msgs, {"t_mt1": "t_mt1", "t_mo1": "t_mt1", "t_mt2": "t_mt1", "t_mt3": "t_mt1",
                                            "t_mt4": "t_mt4"},
                                     {"t_mt1": "a2p_conversation"})))

write(str(ROOT) + "/models/intermediate/_unit_tests__global.yml", HEADER, tests)
