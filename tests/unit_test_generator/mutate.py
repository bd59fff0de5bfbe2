"""Break one rule at a time, run the unit tests, record which fail, restore exactly."""
import json
import os
import re
import subprocess
import sys

ROOT = os.environ.get("MUT_ROOT", "/tmp/ut_proj")
DB = os.environ.get("MUT_DB", "/tmp/ut_copy.duckdb")
MUTATIONS = [
    ("M1 trigger 4th candidate <= +24h", "models/intermediate/int_us_session_triggers.sql",
     "and fourth_event_at < {{ window_end('event_at') }}", "and fourth_event_at <= {{ window_end('event_at') }}"),
    ("M2 trigger >= 1 MO", "models/intermediate/int_us_session_triggers.sql",
     "and mo_in_four >= 2", "and mo_in_four >= 1"),
    ("M3 trigger >= 0 MT", "models/intermediate/int_us_session_triggers.sql",
     "and mt_in_four >= 1", "and mt_in_four >= 0"),
    ("M4 chain: resume strictly after window end", "macros/greedy_window_chain.sql",
     "select stream_key, window_end_at as point_at, 0 as point_kind,",
     "select stream_key, window_end_at as point_at, 2 as point_kind,"),
    ("M5 window closed at +24h (<=)", "macros/greedy_window_chain.sql",
     "and m.event_at < w.window_end_at", "and m.event_at <= w.window_end_at"),
    ("M6 suggested action counts as candidate", "models/intermediate/int_us_trigger_candidates.sql",
     "'a2p_rich_message', 'a2p_rich_media_message', 'p2a_rich_message', 'p2a_rich_media_message'",
     "'a2p_rich_message', 'a2p_rich_media_message', 'p2a_rich_message', 'p2a_rich_media_message', "
     "'p2a_suggested_action'"),
    ("M7 characters instead of bytes", "macros/engine_functions.sql",
     "{% macro default__utf8_byte_length(expr) %}strlen({{ expr }})",
     "{% macro default__utf8_byte_length(expr) %}length({{ expr }})"),
    ("M8 kilobytes halves down", "macros/billing_rules.sql",
     "cast(floor((coalesce({{ bytes }}, 0) + 512) / 1024) as bigint)",
     "cast(floor((coalesce({{ bytes }}, 0) + 511) / 1024) as bigint)"),
    ("M9 natural sort of message_id in ties", "models/intermediate/int_messages_sequenced.sql",
     "order by messages.event_at, messages.message_id)",
     "order by messages.event_at, length(messages.message_id), messages.message_id)"),
    ("M10 MT event time = sent_at", "models/intermediate/int_messages_billability.sql",
     "case when checked.direction = 'MT' then checked.delivered_at else checked.sent_at end as event_at",
     "checked.sent_at as event_at"),
    ("M11 tester traffic billable", "models/intermediate/int_messages_billability.sql",
     "when checked.is_tester then 'tester'", "when false then 'tester'"),
    ("M12 global reply at exactly +24h pairs", "models/intermediate/int_global_conversation_triggers.sql",
     "and next_event_at < {{ window_end('event_at') }}", "and next_event_at <= {{ window_end('event_at') }}"),
    ("M13 global MOs billed alone", "models/intermediate/int_global_billable_events.sql",
     "where is_in_window or direction = 'MT'", "where true"),
    ("M14 window membership ignores stream order", "macros/greedy_window_chain.sql",
     "and w.start_seq <= m.stream_seq", "and w.start_seq is not null"),
    ("M15 generation date start + 1", "macros/report_rows.sql",
     "cast(report_grain.event_first_at as date) + interval '2' day",
     "cast(report_grain.event_first_at as date) + interval '1' day"),
    ("M16 duration rounded not floored", "macros/billing_rules.sql",
     "}}) / 60000000.0) as bigint)", "}}) / 60000000.0 + 0.5) as bigint)"),
    ("M17 global rows keep segment/session of US", "macros/report_rows.sql",
     "when report_grain.billing_model = 'us' and report_grain.is_grouped then report_grain.event_type",
     "when report_grain.is_grouped then report_grain.event_type"),
    ("M18 basic <= 161 bytes", "models/intermediate/int_messages_classified.sql",
     "and text_byte_count <= {{ var('basic_message_max_bytes') }}",
     "and text_byte_count <= {{ var('basic_message_max_bytes') }} + 1"),
    ("M19 open_url_webview counted rich", "models/intermediate/int_messages_classified.sql",
     "(reply|dial|open_url)?([|](reply|dial|open_url)?)*", "(reply|dial|open_url[a-z_]*)?([|](reply|dial|open_url[a-z_]*)?)*"),
    ("M20 session totals exclude suggested actions", "macros/event_rollup.sql",
     "count(case when direction = 'MO' then 1 end) as event_mo_messages",
     "count(case when direction = 'MO' and message_type != 'p2a_suggested_action' then 1 end) as event_mo_messages"),
    ("M21 start_time not truncated", "macros/engine_functions.sql",
     "strftime({{ expr }}, '%Y-%m-%dT%H:00:00Z')", "strftime({{ expr }}, '%Y-%m-%dT%H:%M:00Z')"),
    ("M22 a window listed under two time buckets only", "macros/greedy_window_chain.sql",
     "each_integer_between(time_bucket('starts_at'), time_bucket('window_end_at'))",
     "each_integer_between(time_bucket('starts_at'), time_bucket('starts_at') ~ ' + 1')"),
]

DBT = [str(ROOT) + "/.venv/bin/dbt", "test", "--profiles-dir", ".", "--select", "test_type:unit",
       "--vars", "{messages_path: tests/fixtures/messages.csv, agents_path: tests/fixtures/agents.csv}"]


def run_unit_tests():
    env = dict(os.environ, RBM_DUCKDB_PATH=DB)
    p = subprocess.run(DBT, cwd=ROOT, env=env, capture_output=True, text=True)
    out = re.sub(r"\x1b\[[0-9;]*m", "", p.stdout)
    failed = sorted(set(re.findall(r"(?:Failure|Error) in unit_test (\S+)", out)))
    m = re.search(r"Done\. PASS=(\d+) WARN=\d+ ERROR=(\d+)", out)
    return failed, (m.group(0) if m else out[-2000:])


def git_clean(path):
    if not os.path.isdir(os.path.join(ROOT, ".git")):
        return True
    return subprocess.run(["git", "diff", "--quiet", "--", path], cwd=ROOT).returncode == 0


selected = sys.argv[1:]
results = {}
for name, rel, old, new in MUTATIONS:
    if selected and name.split()[0] not in selected:
        continue
    path = os.path.join(ROOT, rel)
    if not git_clean(rel):
        print(f"SKIP {name}: {rel} has uncommitted changes (not mine)")
        continue
    original = open(path, encoding="utf-8").read()
    assert original.count(old) == 1, (name, original.count(old))
    open(path, "w", encoding="utf-8").write(original.replace(old, new))
    try:
        failed, summary = run_unit_tests()
    finally:
        now = open(path, encoding="utf-8").read()
        assert now.count(new) == 1, name
        open(path, "w", encoding="utf-8").write(now.replace(new, old))
        assert open(path, encoding="utf-8").read() == original, f"restore mismatch {rel}"
        assert git_clean(rel), f"{rel} differs from HEAD after restore"
    results[name] = failed
    print(f"{name}: {summary}\n  failing: {failed}", flush=True)
json.dump(results, open(os.environ.get("MUT_RESULTS", "/tmp/mutation_results.json"), "w"), indent=1)
