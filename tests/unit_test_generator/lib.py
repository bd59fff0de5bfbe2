"""Helpers to write dbt unit-test YAML with csv fixtures (generator, not part of the project)."""
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
import csv
import hashlib
import io

SALT = "rbm-demo-salt-change-me"


def beid(first_message_id, salt=SALT):
    return hashlib.sha256(f"{salt}|{first_message_id}".encode()).hexdigest().lower()


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest().lower()


def md5(s):
    return hashlib.md5(s.encode()).hexdigest().lower()


def fmt(v):
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def csv_text(columns, rows):
    # Staging keeps a text's UTF-8 byte length, never the text (README, PII): `text` → `text_bytes`.
    if "text" in columns:
        i = list(columns).index("text")
        columns = list(columns)
        columns[i] = "text_bytes"
        rows = [
            {("text_bytes" if k == "text" else k): (len(v.encode("utf-8")) if (k == "text" and v is not None) else v)
             for k, v in r.items()}
            if isinstance(r, dict)
            else [len(v.encode("utf-8")) if (j == i and v is not None) else v for j, v in enumerate(r)]
            for r in rows
        ]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        if isinstance(r, dict):
            unknown = set(r) - set(columns)
            assert not unknown, unknown
            w.writerow([fmt(r.get(c)) for c in columns])
        else:
            assert len(r) == len(columns), (r, columns)
            w.writerow([fmt(v) for v in r])
    return buf.getvalue()


def q(s):
    """YAML double-quoted scalar."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def block(text, indent):
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in text.rstrip("\n").split("\n"))


def fixture(columns, rows, indent):
    """`format: csv` + `rows: |` lines at `indent`, or dict with [] when there are no rows."""
    pad = " " * indent
    if not rows:
        return f"{pad}format: dict\n{pad}rows: []\n"
    return f"{pad}format: csv\n{pad}rows: |\n" + block(csv_text(columns, rows), indent + 2) + "\n"


def model_sql(model):
    import glob
    paths = glob.glob(f"{ROOT}/models/**/{model}.sql", recursive=True)
    assert len(paths) == 1, (model, paths)
    return open(paths[0], encoding="utf-8").read()


def restatements_is_input(model):
    """fct_report_rows is built after int_report_restatements and rpt_restatements (depends_on refs, read by its
    post-hook only)."""
    return "ref('int_report_restatements')" in model_sql(model)


def touched_streams_is_input(model):
    sql = model_sql(model)
    # The stream models reach int_touched_streams through these macros (macros/incremental_streams.sql).
    return any(name in sql for name in ("int_touched_streams", "select_recomputed_rows", "stream_scoped_config"))


class Test:
    def __init__(self, name, model, description, comment=None, vars=None, touched=None):
        self.name, self.model, self.description, self.comment = name, model, description, comment
        self.vars = vars
        # A daily (incremental) run: the int_touched_streams rows (touched_stream_key, recompute_from); the
        # model's stored rows are given as the input `this`.
        self.touched = touched
        self.given = []
        self.expect = None

    def give(self, ref, columns, rows):
        self.given.append((ref, columns, rows))
        return self

    def expect_rows(self, columns, rows):
        self.expect = (columns, rows)
        return self

    def render(self):
        out = []
        if self.comment:
            for line in self.comment.strip().split("\n"):
                out.append("  # " + line if line else "  #")
        out.append(f"  - name: {self.name}")
        out.append(f"    description: {q(self.description)}")
        out.append(f"    model: {self.model}")
        # Stream models are incremental in daily operation: the rules are tested on a full build, unless the
        # test is of a daily run (touched streams given).
        out.append("    overrides:")
        out.append("      macros:")
        out.append(f"        is_incremental: {'true' if self.touched is not None else 'false'}")
        if self.vars:
            out.append("      vars:")
            for k, v in self.vars.items():
                out.append(f"        {k}: {q(v)}")
        out.append("    given:")
        if self.touched is not None:
            out.append("      - input: ref('int_touched_streams')")
            out.append(fixture(["touched_stream_key", "recompute_from"], self.touched, 8).rstrip("\n"))
        elif touched_streams_is_input(self.model):
            # Daily operation: stream models read the touched streams (used on incremental runs only).
            out.append("      - input: ref('int_touched_streams')")
            out.append("        format: sql")
            out.append("        rows: select cast(null as string) as stream_key where false")
        if restatements_is_input(self.model):
            for restatements in ("int_report_restatements", "rpt_restatements"):
                out.append(f"      - input: ref('{restatements}')")
                out.append("        format: sql")
                out.append("        rows: select cast(null as string) as file_path where false")
        for ref, cols, rows in self.given:
            if ref == "this":
                # dbt reads the column types of a csv `this` from the model's table, which a fresh test
                # database does not have yet: typed SQL instead.
                out.append("      - input: this")
                out.append("        format: sql")
                out.append("        rows: |")
                out.append(block(typed_select(cols, rows), 10))
                continue
            if ref.startswith("ref("):
                out.append(f"      - input: {ref}")
            else:
                out.append(f"      - input: ref('{ref}')")
            out.append(fixture(cols, rows, 8).rstrip("\n"))
        out.append("    expect:")
        cols, rows = self.expect
        out.append(fixture(cols, rows, 6).rstrip("\n"))
        return "\n".join(out) + "\n"


def write(path, header, tests):
    names = [t.name for t in tests]
    assert len(names) == len(set(names)), names
    with open(path, "w", encoding="utf-8") as f:
        f.write(header.strip() + "\n\nversion: 2\n\nunit_tests:\n")
        f.write("\n".join(t.render() for t in tests))
    print(path, len(tests))


# ---- column lists of the models under test ----
CLASSIFIED_IN = ["stream_key", "message_id", "agent_id", "carrier_id", "billing_model",
                 "billing_category", "direction", "content_kind", "text", "file_size_bytes", "suggestions",
                 "event_at"]
SEQUENCED = ["stream_key", "stream_seq", "message_id", "agent_id", "carrier_id", "billing_model",
             "billing_category", "direction", "event_at", "message_type", "segment_count", "size_kilobytes",
             "google_billing_event_id"]
CLASSIFIED_OUT = [c for c in SEQUENCED if c != "stream_seq"]
CANDIDATES = ["stream_key", "stream_seq", "message_id", "direction", "event_at", "candidate_seq"]
TRIGGERS_US = ["stream_key", "start_seq", "start_message_id", "starts_at", "window_end_at", "session_type"]
TRIGGERS_GL = ["stream_key", "start_seq", "start_message_id", "starts_at", "window_end_at", "conversation_type"]
EVENTS_OUT = ["stream_key", "stream_seq", "message_id", "agent_id", "carrier_id", "billing_model", "direction",
              "event_at", "message_type", "segment_count", "size_kilobytes", "first_message_id", "billing_event_id",
              "event_type", "is_grouped", "google_billing_event_id", "event_mt_messages", "event_mo_messages",
              "event_size_kilobytes", "event_first_at", "event_last_at"]


class Msg:
    """One classified message (the input shape of the session/conversation models)."""

    def __init__(self, stream_key, seq, mid, direction, at, mtype, seg=0, kb=0, agent="agent_conv",
                 carrier="att", model="us", category="conversational"):
        self.stream_key, self.seq, self.mid, self.direction, self.at = stream_key, seq, mid, direction, at
        self.mtype, self.seg, self.kb = mtype, seg, kb
        self.agent, self.carrier, self.model, self.category = agent, carrier, model, category

    def classified_row(self):
        return {"stream_key": self.stream_key, "stream_seq": self.seq, "message_id": self.mid,
                "agent_id": self.agent, "carrier_id": self.carrier, "billing_model": self.model,
                "billing_category": self.category, "direction": self.direction, "event_at": self.at,
                "message_type": self.mtype, "segment_count": self.seg, "size_kilobytes": self.kb,
                "google_billing_event_id": None}


def event_rows(msgs, groups, event_types, salt=SALT):
    """Expected rows of int_us/int_global_billable_events.

    groups: message_id -> first_message_id of its event (None: not billed, left out).
    event_types: first_message_id -> event_type for grouped events (session/conversation type);
    an event whose first message id is absent there is a message billed alone (its own type).
    The totals are plain arithmetic over the hand-assigned groups."""
    by_id = {m.mid: m for m in msgs}
    members = {}
    for m in msgs:
        g = groups[m.mid]
        if g is not None:
            members.setdefault(g, []).append(m)
    rows = []
    for m in msgs:
        g = groups[m.mid]
        if g is None:
            continue
        mem = members[g]
        grouped = g in event_types
        if not grouped:
            assert len(mem) == 1 and g == m.mid, (m.mid, g)
        rows.append({
            "stream_key": m.stream_key, "stream_seq": m.seq, "message_id": m.mid, "agent_id": m.agent,
            "carrier_id": m.carrier, "billing_model": m.model, "direction": m.direction, "event_at": m.at,
            "message_type": m.mtype, "segment_count": m.seg, "size_kilobytes": m.kb,
            "first_message_id": g, "billing_event_id": beid(g, salt),
            "event_type": event_types[g] if grouped else by_id[g].mtype,
            "is_grouped": grouped, "google_billing_event_id": None,
            "event_mt_messages": sum(1 for x in mem if x.direction == "MT"),
            "event_mo_messages": sum(1 for x in mem if x.direction == "MO"),
            "event_size_kilobytes": sum(x.kb for x in mem),
            "event_first_at": min(x.at for x in mem), "event_last_at": max(x.at for x in mem),
        })
    return rows


def unnumbered(rows):
    """int_billable_messages rows are not numbered yet: int_messages_sequenced numbers them (stream_seq). The
    rows keep the stream_seq they are expected to get, which must be their stream order (event_at, message_id)."""
    for stream in {r["stream_key"] for r in rows}:
        in_stream = [r for r in rows if r["stream_key"] == stream]
        ordered = sorted(in_stream, key=lambda r: (r["event_at"], r["message_id"]))
        assert [r["stream_seq"] for r in ordered] == list(range(1, len(ordered) + 1)), stream
    return [{k: v for k, v in r.items() if k != "stream_seq"} for r in rows]


# Column types of the stored rows given as `this` (typed_select).
COLUMN_TYPES = {"stream_seq": "bigint", "segment_count": "bigint", "size_kilobytes": "bigint", "event_at": "timestamp"}


def typed_select(columns, rows):
    """One `select` per row, every value cast to its column's type (string unless in COLUMN_TYPES)."""
    selects = []
    for row in rows:
        values = []
        for c in columns:
            v = row.get(c)
            literal = "null" if v is None else "'" + str(v).replace("'", "''") + "'"
            values.append(f"cast({literal} as {COLUMN_TYPES.get(c, 'string')}) as {c}")
        selects.append("select " + ", ".join(values))
    return "\nunion all\n".join(selects)
