from lib import *

D1, D2, D3, D4 = "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"
tests = []

HEADER = """
# Unit tests of the US model (SPEC §3 event types, §4 sessions, §6 event rows).
# Every test states the FULL expected rows of the model under test (all its columns).
# Generated values: billing_event_id = lower(sha256(billing_salt || '|' || first_message_id)),
# computed with Python hashlib; the salt is pinned by `overrides` so a changed project default
# does not change the expected ids.
# Conventions: stream keys s_* stand for the hashed stream_key; ids encode what the row proves
# (e.g. t_e80 = text of 80 x 'é' = 160 UTF-8 bytes).
"""

# ---------------------------------------------------------------- §3 classification
def bm(stream, seq, mid, direction, kind, text=None, size=None, sugg=None, at=None, model="us",
       category="conversational", carrier="att", agent="agent_conv"):
    return {"stream_key": stream, "stream_seq": seq, "message_id": mid, "agent_id": agent, "carrier_id": carrier,
            "billing_model": model, "billing_category": category, "direction": direction, "content_kind": kind,
            "text": text, "file_size_bytes": size, "suggestions": sugg,
            "event_at": at or f"{D1} 09:{seq:02d}:00"}


def cl(row, mtype, seg, kb):
    out = {c: row.get(c) for c in CLASSIFIED_OUT if c in row}
    out.update({"message_type": mtype, "segment_count": seg, "size_kilobytes": kb, "google_billing_event_id": None})
    return out


mt_cases = [
    # id, kind, text, size, suggestions, expected type, segments, kB
    ("mt_text_plain", "text", "Hello", None, None, "a2p_rich_message", 1, 0),
    ("mt_text_reply", "text", "Pick one", None, "reply", "a2p_rich_message", 1, 0),
    ("mt_text_reply_dial_open_url", "text", "Call or visit", None, "reply|dial|open_url", "a2p_rich_message", 1, 0),
    ("mt_text_dial_open_url", "text", "Call or visit", None, "dial|open_url", "a2p_rich_message", 1, 0),
    ("mt_text_view_location", "text", "Find us", None, "view_location", "a2p_rich_media_message", 0, 0),
    ("mt_text_reply_view_location", "text", "Find us", None, "reply|view_location", "a2p_rich_media_message", 0, 0),
    ("mt_text_open_url_webview", "text", "Open", None, "open_url_webview", "a2p_rich_media_message", 0, 0),
    ("mt_text_reply_open_url_webview", "text", "Open", None, "reply|open_url_webview", "a2p_rich_media_message", 0, 0),
    ("mt_text_share_location", "text", "Where?", None, "share_location", "a2p_rich_media_message", 0, 0),
    ("mt_text_calendar", "text", "Book", None, "create_calendar_event", "a2p_rich_media_message", 0, 0),
    ("mt_text_open_app", "text", "App", None, "dial|open_app", "a2p_rich_media_message", 0, 0),
    ("mt_file", "file", None, 4096, None, "a2p_rich_media_message", 0, 4),
    ("mt_file_with_reply", "file", None, 1024, "reply", "a2p_rich_media_message", 0, 1),
    ("mt_rich_card_no_media", "rich_card", "Card", None, None, "a2p_rich_media_message", 0, 0),
    ("mt_rich_card_media", "rich_card", "Card", 2048, "reply", "a2p_rich_media_message", 0, 2),
    ("mt_carousel_no_media", "carousel", None, None, None, "a2p_rich_media_message", 0, 0),
]
rows_in, rows_out = [], []
for i, (mid, kind, text, size, sugg, mtype, seg, kb) in enumerate(mt_cases, 1):
    r = bm("s_us", i, mid, "MT", kind, text, size, sugg)
    rows_in.append(r)
    rows_out.append(cl(r, mtype, seg, kb))
tests.append(Test(
    "us_classification_mt_kinds_and_suggestion_mix", "int_messages_classified",
    "SPEC §3: a2p_rich_message = MT text with only reply/dial/open_url suggestions (or none); a2p_rich_media_message "
    "= MT file, rich_card, carousel (even without media) or any MT with another suggestion kind (view_location, "
    "open_url_webview, share_location, create_calendar_event, open_app), alone or mixed with rich ones.",
).give("int_billable_messages", CLASSIFIED_IN, unnumbered(rows_in)).expect_rows(CLASSIFIED_OUT, rows_out))

mo_cases = [
    ("mo_text", "text", "Hi there", None, "p2a_rich_message", 1, 0),
    ("mo_suggested_reply", "suggested_reply", "Yes", None, "p2a_rich_message", 1, 0),
    ("mo_file", "file", None, 3000, "p2a_rich_media_message", 0, 3),
    ("mo_suggested_action", "suggested_action", "Call us", None, "p2a_suggested_action", 0, 0),
]
rows_in, rows_out = [], []
for i, (mid, kind, text, size, mtype, seg, kb) in enumerate(mo_cases, 1):
    r = bm("s_us", i, mid, "MO", kind, text, size)
    rows_in.append(r)
    rows_out.append(cl(r, mtype, seg, kb))
# a non-conversational agent's messages get the same types (sessions aside)
r = bm("s_us_nc", 1, "nc_mt_text", "MT", "text", "Hello", None, "reply", agent="agent_nonconv", category="non_conversational")
rows_in.append(r); rows_out.append(cl(r, "a2p_rich_message", 1, 0))
r = bm("s_us_nc", 2, "nc_mo_action", "MO", "suggested_action", None, agent="agent_nonconv", category="non_conversational")
rows_in.append(r); rows_out.append(cl(r, "p2a_suggested_action", 0, 0))
tests.append(Test(
    "us_classification_mo_kinds", "int_messages_classified",
    "SPEC §3: p2a_rich_message = MO text or suggested_reply; p2a_rich_media_message = MO file; p2a_suggested_action = "
    "MO suggested_action. The types do not depend on the agent's billing category.",
).give("int_billable_messages", CLASSIFIED_IN, unnumbered(rows_in)).expect_rows(CLASSIFIED_OUT, rows_out))

seg_cases = [
    # id, direction, kind, text, suggestions, type, expected segments
    ("t_a160", "MT", "text", "a" * 160, None, "a2p_rich_message", 1),
    ("t_a161", "MT", "text", "a" * 161, None, "a2p_rich_message", 2),
    ("t_e80", "MT", "text", "é" * 80, None, "a2p_rich_message", 1),            # 80 chars, 160 bytes
    ("t_e80_a", "MT", "text", "é" * 80 + "a", None, "a2p_rich_message", 2),    # 81 chars, 161 bytes
    ("t_a156_emoji", "MT", "text", "a" * 156 + "😀", "reply", "a2p_rich_message", 1),  # 157 chars, 160 bytes
    ("t_a157_emoji", "MT", "text", "a" * 157 + "😀", "reply", "a2p_rich_message", 2),  # 158 chars, 161 bytes
    ("t_emoji40", "MT", "text", "😀" * 40, None, "a2p_rich_message", 1),       # 40 chars, 160 bytes
    ("t_emoji41", "MT", "text", "😀" * 41, None, "a2p_rich_message", 2),       # 41 chars, 164 bytes
    ("t_a320", "MT", "text", "a" * 320, None, "a2p_rich_message", 2),
    ("t_a321", "MT", "text", "a" * 321, None, "a2p_rich_message", 3),
    ("t_mt_no_text", "MT", "text", None, None, "a2p_rich_message", 1),       # at least 1
    ("t_mo_e81", "MO", "text", "é" * 81, None, "p2a_rich_message", 2),        # 81 chars, 162 bytes
    ("t_mo_reply_e80", "MO", "suggested_reply", "é" * 80, None, "p2a_rich_message", 1),
    ("t_mo_emoji41", "MO", "text", "😀" * 41, None, "p2a_rich_message", 2),
    ("t_media_a400", "MT", "text", "a" * 400, "view_location", "a2p_rich_media_message", 0),
    ("t_card_a400", "MT", "rich_card", "a" * 400, None, "a2p_rich_media_message", 0),
    ("t_action_a400", "MO", "suggested_action", "a" * 400, None, "p2a_suggested_action", 0),
]
rows_in, rows_out = [], []
for i, (mid, d, kind, text, sugg, mtype, seg) in enumerate(seg_cases, 1):
    r = bm("s_us", i, mid, d, kind, text, None, sugg)
    rows_in.append(r)
    rows_out.append(cl(r, mtype, seg, 0))
tests.append(Test(
    "us_segment_count_multibyte_text_around_160_bytes", "int_messages_classified",
    "SPEC §3: segment_count = ceil(UTF-8 bytes of text / 160), at least 1, for a2p_rich_message and p2a_rich_message "
    "(é = 2 bytes, 😀 = 4 bytes: 80 x é = 160 bytes = 1 segment, 81 x é = 2; 156 x a + 😀 = 160 bytes = 1, 157 x a + 😀 "
    "= 2; 41 x 😀 = 164 bytes = 2); 0 for every other type whatever its text.",
).give("int_billable_messages", CLASSIFIED_IN, unnumbered(rows_in)).expect_rows(CLASSIFIED_OUT, rows_out))

kb_cases = [
    ("kb_null", "MT", "file", None, 0), ("kb_0", "MT", "file", 0, 0), ("kb_1", "MT", "file", 1, 0),
    ("kb_511", "MT", "file", 511, 0), ("kb_512", "MT", "file", 512, 1), ("kb_1023", "MT", "rich_card", 1023, 1),
    ("kb_1024", "MT", "carousel", 1024, 1), ("kb_1535", "MO", "file", 1535, 1), ("kb_1536", "MO", "file", 1536, 2),
    ("kb_2559", "MT", "file", 2559, 2), ("kb_2560", "MT", "file", 2560, 3), ("kb_1mib", "MT", "file", 1048576, 1024),
    # the largest 64-bit sizes: exact (Python's integers), where adding the half first overflowed in SQL
    ("kb_max_down", "MT", "file", 2**63 - 513, (2**63 - 513 + 512) // 1024),
    ("kb_max", "MT", "file", 2**63 - 1, (2**63 - 1 + 512) // 1024),
]
rows_in, rows_out = [], []
for i, (mid, d, kind, size, kb) in enumerate(kb_cases, 1):
    r = bm("s_us", i, mid, d, kind, None, size)
    rows_in.append(r)
    rows_out.append(cl(r, "a2p_rich_media_message" if d == "MT" else "p2a_rich_media_message", 0, kb))
tests.append(Test(
    "us_size_kilobytes_rounds_half_up_511_512_1535_1536", "int_messages_classified",
    "SPEC §3: size_kilobytes = the row's own attached bytes / 1024 rounded to the nearest integer, halves up "
    "(511 -> 0, 512 -> 1, 1535 -> 1, 1536 -> 2, 2560 -> 3; exact up to the largest 64-bit size, whose half-up "
    "rounding overflowed before); 0 when there are none (NULL or 0 bytes).",
).give("int_billable_messages", CLASSIFIED_IN, unnumbered(rows_in)).expect_rows(CLASSIFIED_OUT, rows_out))

# ---------------------------------------------------------------- §4 trigger candidates
def cm(stream, seq, mid, direction, at, mtype, category="conversational", model="us", carrier="att",
       agent="agent_conv", seg=None, kb=0):
    if seg is None:
        seg = 1 if mtype in ("a2p_rich_message", "p2a_rich_message") else 0
    return Msg(stream, seq, mid, direction, at, mtype, seg, kb, agent, carrier, model, category)


msgs = [
    cm("s_conv", 1, "c1_mt_rich", "MT", f"{D1} 09:00:00", "a2p_rich_message"),
    cm("s_conv", 2, "c2_mo_action", "MO", f"{D1} 09:01:00", "p2a_suggested_action"),
    cm("s_conv", 3, "c3_mo_rich", "MO", f"{D1} 09:02:00", "p2a_rich_message"),
    cm("s_conv", 4, "c4_mo_action", "MO", f"{D1} 09:03:00", "p2a_suggested_action"),
    cm("s_conv", 5, "c5_mo_media", "MO", f"{D1} 09:04:00", "p2a_rich_media_message", kb=1),
    cm("s_conv", 6, "c6_mt_media", "MT", f"{D1} 09:05:00", "a2p_rich_media_message"),
    cm("s_nonconv", 1, "n1_mt_rich", "MT", f"{D1} 09:00:00", "a2p_rich_message", category="non_conversational",
       agent="agent_nonconv"),
    cm("s_nonconv", 2, "n2_mo_rich", "MO", f"{D1} 09:01:00", "p2a_rich_message", category="non_conversational",
       agent="agent_nonconv"),
    cm("s_nonconv", 3, "n3_mo_rich", "MO", f"{D1} 09:02:00", "p2a_rich_message", category="non_conversational",
       agent="agent_nonconv"),
    cm("s_nonconv", 4, "n4_mt_media", "MT", f"{D1} 09:03:00", "a2p_rich_media_message",
       category="non_conversational", agent="agent_nonconv"),
    cm("s_global", 1, "g1_mt_basic", "MT", f"{D1} 09:00:00", "basic_message", model="global", carrier="vodafone_uk"),
    cm("s_global", 2, "g2_mo", "MO", f"{D1} 09:01:00", "p2a_message", model="global", carrier="vodafone_uk"),
    cm("s_global", 3, "g3_mo", "MO", f"{D1} 09:02:00", "p2a_message", model="global", carrier="vodafone_uk"),
    cm("s_global", 4, "g4_mt_single", "MT", f"{D1} 09:03:00", "single_message", model="global", carrier="vodafone_uk"),
]
exp = [
    ["s_conv", 1, "c1_mt_rich", "MT", f"{D1} 09:00:00", 1],
    ["s_conv", 3, "c3_mo_rich", "MO", f"{D1} 09:02:00", 2],
    ["s_conv", 5, "c5_mo_media", "MO", f"{D1} 09:04:00", 3],
    ["s_conv", 6, "c6_mt_media", "MT", f"{D1} 09:05:00", 4],
]
tests.append(Test(
    "us_trigger_candidates_exclude_suggested_actions_nonconversational_and_global", "int_us_trigger_candidates",
    "SPEC §4: trigger candidates are the rich and rich-media events (MT and MO) of conversational agents on US "
    "carriers; Decision: p2a_suggested_action is not a candidate. Non-conversational agents and global carriers "
    "have none. candidate_seq numbers the candidates of a stream in stream order.",
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs]).expect_rows(CANDIDATES, exp))

# ---------------------------------------------------------------- §4 triggers
def cand(stream, rows):
    """rows: (stream_seq, message_id, direction, event_at); candidate_seq numbered in order."""
    return [{"stream_key": stream, "stream_seq": s, "message_id": mid, "direction": d, "event_at": at,
             "candidate_seq": i} for i, (s, mid, d, at) in enumerate(rows, 1)]


def trig(stream, seq, mid, starts, ends, typ):
    return [stream, seq, mid, starts, ends, typ]


c = (cand("s_a2p", [(1, "a1_mt", "MT", f"{D1} 09:00:00"), (3, "a2_mo", "MO", f"{D1} 10:00:00"),
                    (4, "a3_mo", "MO", f"{D1} 11:00:00"), (6, "a4_mt", "MT", f"{D1} 12:00:00")])
     + cand("s_p2a", [(1, "p1_mo", "MO", f"{D1} 09:00:00"), (2, "p2_mt", "MT", f"{D1} 10:00:00"),
                      (3, "p3_mt", "MT", f"{D1} 11:00:00"), (4, "p4_mo", "MO", f"{D1} 12:00:00"),
                      (5, "p5_mo", "MO", f"{D1} 13:00:00")]))
tests.append(Test(
    "us_trigger_four_candidates_two_mo_one_mt_within_24h", "int_us_session_triggers",
    "SPEC §4: candidate i triggers when candidates i..i+3 hold >= 2 MO and >= 1 MT and time(i+3) < time(i) + 24 h. "
    "The window is [time(i), time(i) + 24 h); start_seq is the trigger's stream_seq (not its candidate_seq); "
    "session_type is a2p_session when i is MT, p2a_session when MO. Overlapping triggers (p1 and p2) are all listed "
    "here; int_us_sessions chooses among them.",
).give("int_us_trigger_candidates", CANDIDATES, c).expect_rows(TRIGGERS_US, [
    trig("s_a2p", 1, "a1_mt", f"{D1} 09:00:00", f"{D2} 09:00:00", "a2p_session"),
    trig("s_p2a", 1, "p1_mo", f"{D1} 09:00:00", f"{D2} 09:00:00", "p2a_session"),
    trig("s_p2a", 2, "p2_mt", f"{D1} 10:00:00", f"{D2} 10:00:00", "a2p_session"),
]))

c = (cand("s_exact", [(1, "x1_mt", "MT", f"{D1} 09:00:00"), (2, "x2_mo", "MO", f"{D1} 10:00:00"),
                      (3, "x3_mo", "MO", f"{D1} 11:00:00"), (4, "x4_mt", "MT", f"{D2} 09:00:00")])
     + cand("s_minus", [(1, "y1_mt", "MT", f"{D1} 09:00:00"), (2, "y2_mo", "MO", f"{D1} 10:00:00"),
                        (3, "y3_mo", "MO", f"{D1} 11:00:00"), (4, "y4_mt", "MT", f"{D2} 08:59:59.999999")]))
tests.append(Test(
    "us_trigger_fourth_candidate_at_exactly_24h_does_not_trigger", "int_us_session_triggers",
    "SPEC §4: the trigger needs time(i+3) < time(i) + 24 h (strict): stream s_exact, whose 4th candidate is at "
    "exactly +24 h, gives no trigger; its twin s_minus, 4th candidate at +24 h - 1 µs, does.",
).give("int_us_trigger_candidates", CANDIDATES, c).expect_rows(TRIGGERS_US, [
    trig("s_minus", 1, "y1_mt", f"{D1} 09:00:00", f"{D2} 09:00:00", "a2p_session"),
]))

c = cand("s_minus", [(1, "y1_mo", "MO", f"{D1} 09:00:00"), (2, "y2_mt", "MT", f"{D1} 09:00:00"),
                     (3, "y3_mo", "MO", f"{D1} 23:00:00"), (5, "y4_mt", "MT", f"{D2} 08:59:59.999999")])
tests.append(Test(
    "us_trigger_fourth_candidate_at_24h_minus_1us_triggers", "int_us_session_triggers",
    "SPEC §4: a 4th candidate at +24 h - 1 µs is inside the 24 h, so candidate 1 (MO) triggers a p2a_session; "
    "candidate 2, tied in time with candidate 1, has no 4th candidate after it.",
).give("int_us_trigger_candidates", CANDIDATES, c).expect_rows(TRIGGERS_US, [
    trig("s_minus", 1, "y1_mo", f"{D1} 09:00:00", f"{D2} 09:00:00", "p2a_session"),
]))

c = (cand("s_4mo", [(1, "f1_mo", "MO", f"{D1} 09:00:00"), (2, "f2_mo", "MO", f"{D1} 10:00:00"),
                    (3, "f3_mo", "MO", f"{D1} 11:00:00"), (4, "f4_mo", "MO", f"{D1} 12:00:00"),
                    (5, "f5_mt", "MT", f"{D1} 13:00:00")])
     + cand("s_only_mo", [(1, "o1_mo", "MO", f"{D1} 09:00:00"), (2, "o2_mo", "MO", f"{D1} 09:10:00"),
                          (3, "o3_mo", "MO", f"{D1} 09:20:00"), (4, "o4_mo", "MO", f"{D1} 09:30:00")]))
tests.append(Test(
    "us_trigger_four_mo_do_not_trigger", "int_us_session_triggers",
    "SPEC §4: four MO candidates hold no MT, so they do not trigger (s_only_mo: none; s_4mo: not at candidate 1); "
    "in s_4mo candidates 2..5 (3 MO + 1 MT) do trigger, at candidate 2.",
).give("int_us_trigger_candidates", CANDIDATES, c).expect_rows(TRIGGERS_US, [
    trig("s_4mo", 2, "f2_mo", f"{D1} 10:00:00", f"{D2} 10:00:00", "p2a_session"),
]))

c = (cand("s_3mt", [(1, "h1_mt", "MT", f"{D1} 09:00:00"), (2, "h2_mt", "MT", f"{D1} 10:00:00"),
                    (3, "h3_mt", "MT", f"{D1} 11:00:00"), (4, "h4_mo", "MO", f"{D1} 12:00:00"),
                    (5, "h5_mo", "MO", f"{D1} 13:00:00")])
     + cand("s_1mo", [(1, "k1_mo", "MO", f"{D1} 09:00:00"), (2, "k2_mt", "MT", f"{D1} 09:10:00"),
                      (3, "k3_mt", "MT", f"{D1} 09:20:00"), (4, "k4_mt", "MT", f"{D1} 09:30:00")]))
tests.append(Test(
    "us_trigger_three_mt_one_mo_does_not_trigger", "int_us_session_triggers",
    "SPEC §4: 3 MT + 1 MO (one MO only) do not trigger, in either order (s_3mt candidate 1, s_1mo); in s_3mt "
    "candidates 2..5 (2 MT + 2 MO) trigger an a2p_session at candidate 2.",
).give("int_us_trigger_candidates", CANDIDATES, c).expect_rows(TRIGGERS_US, [
    trig("s_3mt", 2, "h2_mt", f"{D1} 10:00:00", f"{D2} 10:00:00", "a2p_session"),
]))

# ---------------------------------------------------------------- §4 sessions (chain; recursive CTE)
def t(stream, seq, mid, starts, typ="a2p_session"):
    from datetime import datetime, timedelta
    s = datetime.fromisoformat(starts)
    e = (s + timedelta(hours=24)).isoformat(sep=" ")
    return {"stream_key": stream, "start_seq": seq, "start_message_id": mid, "starts_at": starts,
            "window_end_at": e, "session_type": typ}


trs = [t("s1", 1, "m01", f"{D1} 09:00:00"), t("s1", 2, "m02", f"{D1} 10:00:00", "p2a_session"),
       t("s1", 5, "m05", f"{D2} 09:00:00", "p2a_session"), t("s1", 6, "m06", f"{D2} 12:00:00"),
       t("s1", 9, "m09", f"{D3} 15:00:00"),
       t("s2", 3, "n03", f"{D1} 12:00:00", "p2a_session"), t("s2", 4, "n04", f"{D1} 13:00:00")]
tests.append(Test(
    "us_sessions_chain_resumes_at_first_trigger_at_or_after_window_end", "int_us_sessions",
    "SPEC §4: scan from the start of the stream; the first trigger opens a session; scanning resumes at the first "
    "trigger at or after the window's end (m05 at exactly the end of m01's window), then again after m05's window "
    "(m09). Overlapping triggers inside a window (m02, m06, n04) are not chosen; every stream chains on its own.",
).give("int_us_session_triggers", TRIGGERS_US, trs).expect_rows(TRIGGERS_US, [trs[0], trs[2], trs[4], trs[5]]))

trs = [t("s1", 1, "m01", f"{D1} 09:00:00"), t("s1", 2, "m02", f"{D1} 09:00:00", "p2a_session"),
       t("s1", 3, "m03", f"{D1} 15:00:00", "p2a_session"), t("s1", 4, "m04", f"{D2} 08:59:59.999999")]
tests.append(Test(
    "us_sessions_overlapping_triggers_inside_window_not_chosen", "int_us_sessions",
    "SPEC §4: triggers that start inside a chosen session's window [09:00, next day 09:00) are not chosen, including "
    "one tied in time with the session's trigger (m02) and one at window end - 1 µs (m04).",
).give("int_us_session_triggers", TRIGGERS_US, trs).expect_rows(TRIGGERS_US, [trs[0]]))

trs = [t("s1", 1, "m01", f"{D1} 09:00:00"), t("s1", 7, "m07", f"{D2} 09:00:00", "p2a_session")]
tests.append(Test(
    "us_sessions_trigger_exactly_at_window_end_chosen", "int_us_sessions",
    "SPEC §4: the window is half-open, so a trigger at exactly time(i) + 24 h is 'at or after the window's end' "
    "and opens the next session.",
).give("int_us_session_triggers", TRIGGERS_US, trs).expect_rows(TRIGGERS_US, trs))

trs = [t("s1", 1, "m01", f"{D1} 09:00:00"), t("s1", 2, "m02", f"{D1} 20:00:00"),
       t("s1", 3, "m03", f"{D2} 10:00:00", "p2a_session"), t("s1", 4, "m04", f"{D2} 21:00:00"),
       t("s1", 5, "m05", f"{D3} 10:00:00", "p2a_session"), t("s1", 6, "m06", f"{D3} 10:00:01")]
tests.append(Test(
    "us_sessions_chain_through_unchosen_overlapping_trigger", "int_us_sessions",
    "SPEC §4: the chain depends only on chosen windows: m02 (inside m01's window) is not chosen, so m03 - after "
    "m01's window end but inside m02's - IS chosen; then m05 at exactly m03's window end; m04 and m06 are inside "
    "chosen windows.",
).give("int_us_session_triggers", TRIGGERS_US, trs).expect_rows(TRIGGERS_US, [trs[0], trs[2], trs[4]]))

# ---------------------------------------------------------------- §4/§6 billable events
SES = ["stream_key", "start_seq", "start_message_id", "starts_at", "window_end_at", "session_type"]
V = {"billing_salt": SALT}


def session(stream, seq, mid, starts, typ):
    return t(stream, seq, mid, starts, typ)


# the full picture in one stream
msgs = [
    cm("s1", 1, "m01_mt_before", "MT", f"{D1} 08:00:00", "a2p_rich_message"),
    cm("s1", 2, "m02_action_tied_before", "MO", f"{D1} 09:00:00", "p2a_suggested_action"),
    cm("s1", 3, "m03_mt_trigger", "MT", f"{D1} 09:00:00", "a2p_rich_message", seg=2),
    cm("s1", 4, "m04_mo", "MO", f"{D1} 10:00:00", "p2a_rich_message"),
    cm("s1", 5, "m05_action_inside", "MO", f"{D1} 11:00:00", "p2a_suggested_action"),
    cm("s1", 6, "m06_mo", "MO", f"{D1} 12:00:00", "p2a_rich_message"),
    cm("s1", 7, "m07_mt_media", "MT", f"{D1} 13:00:00", "a2p_rich_media_message", kb=2),
    cm("s1", 8, "m08_mo_file_last_us", "MO", f"{D2} 08:59:59.999999", "p2a_rich_media_message", kb=1),
    cm("s1", 9, "m09_mt_at_window_end", "MT", f"{D2} 09:00:00", "a2p_rich_message"),
]
groups = {m.mid: m.mid for m in msgs}
for m in msgs[2:8]:
    groups[m.mid] = "m03_mt_trigger"
tests.append(Test(
    "us_billable_events_session_window_membership", "int_us_billable_events",
    "SPEC §4, §6: with a session opened at m03 (window [D1 09:00, D2 09:00)): the MT before the trigger and a "
    "suggested action tied in time with the trigger but ordered before it (message_id) are billed alone; every "
    "message from the trigger on inside the window - suggested action included - shares the session's "
    "billing_event_id (salted sha256 of m03), event_type a2p_session and the session totals (2 MT, 4 MO, 3 kB, "
    "first/last time); the message at exactly the window end is billed alone.",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_us_sessions", SES, [session("s1", 3, "m03_mt_trigger", f"{D1} 09:00:00", "a2p_session")])
 .expect_rows(EVENTS_OUT, event_rows(msgs, groups, {"m03_mt_trigger": "a2p_session"})))

msgs = [
    cm("s1", 1, "b01_mt_before", "MT", f"{D1} 08:30:00", "a2p_rich_media_message", kb=5),
    cm("s1", 2, "b02_mt_before", "MT", f"{D1} 08:59:59", "a2p_rich_message"),
    cm("s1", 3, "b03_mo_trigger", "MO", f"{D1} 09:00:00", "p2a_rich_message"),
    cm("s1", 4, "b04_mt", "MT", f"{D1} 09:30:00", "a2p_rich_message"),
    cm("s1", 5, "b05_mo", "MO", f"{D1} 10:00:00", "p2a_rich_message"),
    cm("s1", 6, "b06_mt", "MT", f"{D1} 10:30:00", "a2p_rich_message"),
]
groups = {m.mid: (m.mid if m.seq < 3 else "b03_mo_trigger") for m in msgs}
tests.append(Test(
    "us_billable_events_mt_before_trigger_billed_alone", "int_us_billable_events",
    "SPEC §4: events before a trigger and outside any window are billed individually (their own type, 1/0, "
    "is_grouped false) even when they are less than 24 h before it; the session from the MO trigger is a "
    "p2a_session.",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_us_sessions", SES, [session("s1", 3, "b03_mo_trigger", f"{D1} 09:00:00", "p2a_session")])
 .expect_rows(EVENTS_OUT, event_rows(msgs, groups, {"b03_mo_trigger": "p2a_session"})))

msgs = [
    cm("s1", 1, "e1_mo", "MO", f"{D1} 09:00:00", "p2a_rich_message"),
    cm("s1", 2, "e2_action", "MO", f"{D1} 09:00:00", "p2a_suggested_action"),
    cm("s1", 3, "e3_mt_trigger", "MT", f"{D1} 09:00:00", "a2p_rich_message"),
    cm("s1", 4, "e4_mo_tied_after", "MO", f"{D1} 09:00:00", "p2a_rich_message"),
    cm("s1", 5, "e5_mo", "MO", f"{D1} 09:10:00", "p2a_rich_message"),
    cm("s1", 6, "e6_mt", "MT", f"{D1} 09:20:00", "a2p_rich_message"),
]
groups = {m.mid: (m.mid if m.seq < 3 else "e3_mt_trigger") for m in msgs}
tests.append(Test(
    "us_billable_events_event_tied_with_trigger_ordered_before_not_in_session", "int_us_billable_events",
    "SPEC §4 Decision: an event tied in time with the trigger but ordered before it by message_id (e1, e2) precedes "
    "the trigger and is billed alone; one tied but ordered after it (e4) is in the session.",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_us_sessions", SES, [session("s1", 3, "e3_mt_trigger", f"{D1} 09:00:00", "a2p_session")])
 .expect_rows(EVENTS_OUT, event_rows(msgs, groups, {"e3_mt_trigger": "a2p_session"})))

msgs = [
    cm("s1", 1, "w1_mt_trigger", "MT", f"{D1} 09:00:00", "a2p_rich_message"),
    cm("s1", 2, "w2_mo", "MO", f"{D1} 09:10:00", "p2a_rich_message"),
    cm("s1", 3, "w3_mo", "MO", f"{D1} 09:20:00", "p2a_rich_message"),
    cm("s1", 4, "w4_mt", "MT", f"{D1} 09:30:00", "a2p_rich_message"),
    cm("s1", 5, "w5_action_end_minus_1us", "MO", f"{D2} 08:59:59.999999", "p2a_suggested_action"),
    cm("s1", 6, "w6_action_at_end", "MO", f"{D2} 09:00:00", "p2a_suggested_action"),
    cm("s1", 7, "w7_mt_after_end", "MT", f"{D2} 09:00:01", "a2p_rich_media_message", kb=1),
]
groups = {m.mid: (m.mid if m.seq > 5 else "w1_mt_trigger") for m in msgs}
tests.append(Test(
    "us_billable_events_message_at_exactly_window_end_outside", "int_us_billable_events",
    "SPEC §4: the session window is half-open: a suggested action at window end - 1 µs is covered by the session "
    "(counted in its MO total), one at exactly +24 h and any later message are billed alone.",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_us_sessions", SES, [session("s1", 1, "w1_mt_trigger", f"{D1} 09:00:00", "a2p_session")])
 .expect_rows(EVENTS_OUT, event_rows(msgs, groups, {"w1_mt_trigger": "a2p_session"})))

msgs = [
    cm("s1", 1, "q01_mo_trigger", "MO", f"{D1} 09:00:00", "p2a_rich_message"),
    cm("s1", 2, "q02_action", "MO", f"{D1} 09:05:00", "p2a_suggested_action"),
    cm("s1", 3, "q03_action", "MO", f"{D1} 09:06:00", "p2a_suggested_action"),
    cm("s1", 4, "q04_mt", "MT", f"{D1} 10:00:00", "a2p_rich_message"),
    cm("s1", 5, "q05_mo", "MO", f"{D1} 11:00:00", "p2a_rich_message"),
    cm("s1", 6, "q06_mt", "MT", f"{D1} 12:00:00", "a2p_rich_message"),
]
groups = {m.mid: "q01_mo_trigger" for m in msgs}
tests.append(Test(
    "us_billable_events_suggested_actions_inside_window_covered", "int_us_billable_events",
    "SPEC §4 Decision, §6: suggested actions do not count toward a trigger but are covered by the session when "
    "inside its window; MO totals count every user event, suggested actions included (2 MT, 4 MO).",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_us_sessions", SES, [session("s1", 1, "q01_mo_trigger", f"{D1} 09:00:00", "p2a_session")])
 .expect_rows(EVENTS_OUT, event_rows(msgs, groups, {"q01_mo_trigger": "p2a_session"})))

msgs = [
    cm("s1", 1, "z01_mo_trigger", "MO", f"{D1} 09:00:00", "p2a_rich_message"),
    cm("s1", 2, "z02_mt", "MT", f"{D1} 10:00:00", "a2p_rich_message"),
    cm("s1", 3, "z03_mo", "MO", f"{D2} 08:00:00", "p2a_rich_message"),
    cm("s1", 4, "z04_mt_gap", "MT", f"{D2} 09:00:00", "a2p_rich_message"),
    cm("s1", 5, "z05_mo_gap", "MO", f"{D2} 09:30:00", "p2a_rich_media_message", kb=1),
    cm("s1", 6, "z06_mt_trigger", "MT", f"{D2} 10:00:00", "a2p_rich_message"),
    cm("s1", 7, "z07_mo", "MO", f"{D2} 11:00:00", "p2a_rich_message"),
    cm("s1", 8, "z08_mo", "MO", f"{D3} 09:59:59", "p2a_rich_message"),
    cm("s2", 1, "y01_mt", "MT", f"{D1} 09:30:00", "a2p_rich_message"),
]
groups = {"z01_mo_trigger": "z01_mo_trigger", "z02_mt": "z01_mo_trigger", "z03_mo": "z01_mo_trigger",
          "z04_mt_gap": "z04_mt_gap", "z05_mo_gap": "z05_mo_gap", "z06_mt_trigger": "z06_mt_trigger",
          "z07_mo": "z06_mt_trigger", "z08_mo": "z06_mt_trigger", "y01_mt": "y01_mt"}
tests.append(Test(
    "us_billable_events_two_sessions_and_gap_messages_alone", "int_us_billable_events",
    "SPEC §4, §6: two sessions of one stream get their own billing_event_id, type and totals; the messages between "
    "the first window's end and the next trigger are billed alone; a stream without a session (s2) is billed "
    "message by message.",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_us_sessions", SES, [session("s1", 1, "z01_mo_trigger", f"{D1} 09:00:00", "p2a_session"),
                                session("s1", 6, "z06_mt_trigger", f"{D2} 10:00:00", "a2p_session")])
 .expect_rows(EVENTS_OUT, event_rows(msgs, groups, {"z01_mo_trigger": "p2a_session",
                                                    "z06_mt_trigger": "a2p_session"})))

kw = dict(category="non_conversational", agent="agent_nonconv")
msgs = [
    cm("s_nc", 1, "nc1_mt", "MT", f"{D1} 09:00:00", "a2p_rich_message", **kw),
    cm("s_nc", 2, "nc2_mo", "MO", f"{D1} 09:01:00", "p2a_rich_message", **kw),
    cm("s_nc", 3, "nc3_mo", "MO", f"{D1} 09:02:00", "p2a_rich_media_message", kb=2, **kw),
    cm("s_nc", 4, "nc4_mt", "MT", f"{D1} 09:03:00", "a2p_rich_media_message", **kw),
    cm("s_nc", 5, "nc5_action", "MO", f"{D1} 09:04:00", "p2a_suggested_action", **kw),
]
tests.append(Test(
    "us_billable_events_non_conversational_every_message_alone", "int_us_billable_events",
    "SPEC §4: non-conversational agents never get sessions (none in int_us_sessions): every billable message, "
    "MT or MO, is its own billable event with 1/0 or 0/1 and its own type.",
    vars=V,
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_us_sessions", SES, [])
 .expect_rows(EVENTS_OUT, event_rows(msgs, {m.mid: m.mid for m in msgs}, {})))

msgs = [
    cm("s1", 1, "k1_mt", "MT", f"{D1} 09:00:00", "a2p_rich_message"),
    cm("s1", 2, "k2_mo", "MO", f"{D1} 09:01:00", "p2a_rich_message"),
    cm("s1", 3, "k3_mt", "MT", f"{D1} 09:02:00", "a2p_rich_message"),
]
OTHER_SALT = "another-secret-salt"
tests.append(Test(
    "billing_event_id_is_salted_sha256_of_first_message_id", "int_us_billable_events",
    "SPEC §6: billing_event_id = lower(sha256(billing_salt || '|' || first message id)), 64 lowercase hex; the salt "
    "is the var billing_salt (here overridden), so the id changes with the secret salt.",
    vars={"billing_salt": OTHER_SALT},
).give("int_messages_sequenced", SEQUENCED, [m.classified_row() for m in msgs])
 .give("int_us_sessions", SES, [session("s1", 2, "k2_mo", f"{D1} 09:01:00", "p2a_session")])
 .expect_rows(EVENTS_OUT, event_rows(msgs, {"k1_mt": "k1_mt", "k2_mo": "k2_mo", "k3_mt": "k2_mo"},
                                     {"k2_mo": "p2a_session"}, salt=OTHER_SALT)))

write(str(ROOT) + "/models/intermediate/_unit_tests__us.yml", HEADER, tests)
