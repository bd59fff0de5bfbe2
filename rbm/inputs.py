"""Resolve and check the input files of a run before dbt reads them (SPEC §1, §8, §9).

A file that cannot be used at all (missing, unreadable, empty, wrong header) stops the run
with a message naming the file and what is wrong. Row-level problems are not checked here:
those rows go to quarantine inside dbt.
"""
from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
import mmap
import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

from rbm import warn

MESSAGES_COLUMNS = [
    "message_id", "agent_id", "user_id", "carrier_id", "direction", "content_kind", "text",
    "file_size_bytes", "suggestions", "status", "sent_at", "delivered_at", "is_tester",
]
AGENTS_COLUMNS = ["agent_id", "agent_name", "agent_owner", "owner_name", "billing_category"]
CARRIERS_COLUMNS = ["carrier_id", "carrier_name", "country", "billing_model"]
ACTIVITY_COLUMNS = [
    "activity_id", "billing_event_id", "agent_id", "user_id", "direction", "time", "type", "size_bytes",
]


class InputError(Exception):
    """An input file that cannot be used; the message names the file and the problem."""


@dataclass
class RunInputs:
    messages: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    carriers: list[str] = field(default_factory=list)
    activity: list[str] = field(default_factory=list)
    activity_delimiters: dict[str, str] = field(default_factory=dict)
    carrier: str = ""
    # The carrier_ids of the carriers (the CARRIERS file, or the seed), and which of the two they come from.
    known_carriers: list[str] = field(default_factory=list)
    carriers_source: str = ""
    # Logs of other carriers a full rebuild reads again, each with the carrier it was loaded with (file as read ->
    # carrier_id; add_activity_logs).
    activity_carriers: dict[str, str] = field(default_factory=dict)
    # The salt's file (scripts/rbm.py), when BILLING_SALT is set.
    billing_salt_file: str = ""
    # Repaired copies read instead of broken files: copy -> the file as delivered.
    originals: dict[str, str] = field(default_factory=dict)
    # Message and activity files (as delivered) whose line checks resolve() left out: loaded by an earlier build
    # and unchanged since, so an incremental build does not read them (check_left_out_files, for a full one).
    unchecked: list[str] = field(default_factory=list)

    def delivered_files(self) -> list[str]:
        """The message and activity files as delivered (a repaired copy named by its original)."""
        return [self.originals.get(path, path) for path in self.messages + self.activity]

    def dbt_inputs(self) -> dict:
        """The inputs as the dbt models read them (macro run_input; rbm/report.py dbt_command)."""
        return {
            "messages_path": self.messages,
            "agents_path": self.agents,
            "carriers_path": self.carriers,
            "activity_path": [p for p in self.activity if self.activity_delimiters.get(p) != ";"],
            "activity_semicolon_path": [p for p in self.activity if self.activity_delimiters.get(p) == ";"],
            "activity_carrier": self.carrier,
            "activity_file_carriers": {self.originals.get(p, p): c for p, c in self.activity_carriers.items()},
            **({"billing_salt_file": self.billing_salt_file} if self.billing_salt_file else {}),
            "source_file_names": self.originals,
        }

    def keep_activity_carriers(self, carriers: dict[str, str]) -> None:
        """This run's activity logs (as delivered -> carrier) an earlier run loaded with another carrier: they keep
        it (README "Google activity logs")."""
        for read in self.activity:
            if self.originals.get(read, read) in carriers:
                self.activity_carriers[read] = carriers[self.originals.get(read, read)]

    def add_activity_logs(self, carriers: dict[str, str], cache: Path) -> None:
        """Activity logs an earlier run loaded for another carrier (path as delivered -> its carrier), read again by
        a full rebuild as they were then: delimiter found per file, broken line ends repaired in a copy."""
        for path, carrier in sorted(carriers.items()):
            delimiter = activity_delimiter(path)
            [read] = normalize_line_endings([path], cache, self.originals, {path: delimiter})
            self.activity.append(read)
            self.activity_delimiters[read] = delimiter
            self.activity_carriers[read] = carrier


def expand(pattern: str, what: str) -> list[str]:
    """Absolute paths of the files a path or glob names, sorted so runs are reproducible."""
    if not pattern:
        return []
    files = []
    for path in glob.glob(pattern, recursive=True):
        if Path(path).is_dir():  # passed over (review: a folder's name was refused as not UTF-8)
            continue
        # Not a file, nor a folder: a link to nothing, a pipe (audit, twenty-third session: left out without a word).
        if not Path(path).is_file():
            what_it_is = "a link to nothing" if Path(path).is_symlink() else "not a regular file"
            raise InputError(f"{what}: {path!r} (matched by {pattern!r}) is {what_it_is}: remove it or give the files")
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:  # the build's reader stopped with `std::bad_cast` (audit, twenty-third session)
            raise InputError(f"{what}: the file name {path!r} is not valid UTF-8: rename the file") from None
        files.append(path)
    matches = sorted({str(Path(p).resolve()) for p in files})
    if not matches:
        if Path(pattern).is_dir():  # user trial, nineteenth session: "no file matches" a folder that holds files
            raise InputError(f"{what}: {pattern!r} is a folder: give its files, e.g. "
                             f"{what}='{Path(pattern) / ('rbm_activity_*' if what == 'ACTIVITY' else '*')}'")
        folder = Path(pattern).parent
        if not any(character in str(folder) for character in "*?[") and not folder.exists():
            raise InputError(f"{what}: no file matches {pattern!r}: the folder {str(folder)!r} does not exist")
        raise InputError(f"{what}: no file matches {pattern!r}")
    return matches


# How a file is read is decided by its name's extension, in any case, as DuckDB does (macro load_raw_files):
# `.parquet` is Parquet, `.gz` gzipped CSV, anything else CSV.
def is_parquet(path: str) -> bool:
    return path.lower().endswith(".parquet")


def is_gzip(path: str) -> bool:
    return path.lower().endswith(".gz")


GZIP_MAGIC = b"\x1f\x8b"


def _open_binary(path: str):
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


# What reading a gzip file that was cut short (a transfer that stopped) or damaged raises.
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def _gzip_error(path: str, error: Exception) -> InputError:
    return InputError(f"{path}: the gzip file is truncated or corrupt ({error})")


HEADER_MAX_BYTES = 1 << 20


def _first_line(handle) -> bytes:
    """The bytes before the first line end: LF, CRLF or a lone CR (a file may end its lines in lone CRs and is then
    read as it is, or from a repaired copy: README "Bad input"). Read in blocks, up to HEADER_MAX_BYTES + 1."""
    data = b""
    while len(data) <= HEADER_MAX_BYTES:
        block = handle.read(1 << 16)
        data += block
        if not block or b"\n" in block or b"\r" in block:
            break
    return re.split(rb"[\r\n]", data, maxsplit=1)[0][:HEADER_MAX_BYTES + 1]


def read_header(path: str, delimiter: str = ",") -> list[str]:
    """The header line only: a bad byte further down is a row problem (quarantine), not a file problem."""
    try:
        with _open_binary(path) as handle:
            first = _first_line(handle)
    except GZIP_ERRORS as error:
        raise _gzip_error(path, error) from error
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error})") from error
    if first.startswith(GZIP_MAGIC) and not is_gzip(path):
        raise InputError(f"{path}: the file is gzip-compressed, but its name does not end in .gz (the extension"
                         " decides how a file is read): rename it to end in .gz")
    if len(first) > HEADER_MAX_BYTES:
        raise InputError(f"{path}: the first line is longer than {HEADER_MAX_BYTES} bytes: it is not a header line")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: the header line is not UTF-8 ({error})") from error
    if not text.strip():
        with _open_binary(path) as handle:  # audit, twenty-third session: a blank line first was called empty
            if handle.read(HEADER_MAX_BYTES).removeprefix(b"\xef\xbb\xbf").strip():  # a BOM alone is empty
                raise InputError(f"{path}: line 1 is blank: the header line must be the file's first line (delete the"
                                 " blank line(s) above it)")
        raise InputError(f"{path}: the file is empty (no header line)")
    return [c.strip() for c in next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter))]


# The SHA-256 of each gzip file's decompressed content, taken while the input checks decompress it (_decompressed_copy):
# path -> (bytes, modification time in ns, hex digest), the file's stat before and after the read. The record of a
# loaded file (rbm/state.py content_hash) takes it from here instead of decompressing the file a second time.
GZIP_CONTENT_SHA256: dict[str, tuple[int, int, str]] = {}

# Bytes decompressed at a time: a gzip file is never whole in memory (a day of a national carrier, 100M messages, is
# ~23 GB of text; perf audit, twenty-fifth session: the checks read it whole, a MemoryError under a memory cap).
GZIP_BLOCK = 1 << 20


def _decompressed_copy(path: str, cache: Path) -> str:
    """The content of a gzip file, decompressed into the run's private folder block by block (GZIP_BLOCK), its
    SHA-256 taken on the way (GZIP_CONTENT_SHA256), for the line checks (_repaired_copy removes it). Named as CSV
    (`x.parquet.gz` is gzipped CSV: the name without `.gz` would be read as Parquet; review, twenty-sixth session)."""
    cache.mkdir(parents=True, exist_ok=True)
    name = Path(path).name[:-3]
    target = cache / _name_without_glob_characters(path, name + (".csv" if is_parquet(name) or is_gzip(name) else ""))
    target.unlink(missing_ok=True)
    digest, before = hashlib.sha256(), os.stat(path)
    try:
        with gzip.open(path, "rb") as source, open(target, "wb") as copy:
            while block := source.read(GZIP_BLOCK):
                digest.update(block)
                copy.write(block)
    except GZIP_ERRORS as error:
        target.unlink(missing_ok=True)
        raise _gzip_error(path, error) from error
    except OSError as error:
        target.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot decompress it into {cache} ({error.strerror or error}): the run reads a"
                         " gzip file from a decompressed copy beside the database, which needs its content's size"
                         " free there") from error
    after = os.stat(path)
    known = GZIP_CONTENT_SHA256.get(path)
    if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns) and (
            known is None or known[:2] != (after.st_size, after.st_mtime_ns)):
        GZIP_CONTENT_SHA256[path] = (after.st_size, after.st_mtime_ns, digest.hexdigest())
    return str(target)


def _file_bytes(path: str):
    """A plain file's bytes: a read-only memory map (no copy). A gzip file is read from _decompressed_copy."""
    if is_gzip(path):
        raise ValueError(f"{path}: a gzip file is checked through its decompressed copy (_decompressed_copy)")
    with open(path, "rb") as handle:
        try:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            return b""


# How far behind its position a pass of the checks over a memory-mapped file keeps the pages it read mapped: the pages
# before are dropped from the process (they stay in the page cache, and are read from there when a later pass comes
# by), so the process's memory stays within about this much whatever the file's size. Mapped whole, a file counts in
# full in the process's resident memory (RSS): 23 GB for 100M messages, which the benchmark took for the run's peak.
RELEASE_STEP = 64 << 20


def _release(data, start: int, end: int) -> None:
    """Drops the pages of a memory map from offset `start` to `end` (the whole pages between) from this process;
    nothing for bytes, or where the system has no MADV_DONTNEED."""
    page = mmap.PAGESIZE
    start, end = -(-max(0, start) // page) * page, min(end, len(data)) // page * page
    if isinstance(data, mmap.mmap) and end > start and hasattr(mmap, "MADV_DONTNEED"):
        data.madvise(mmap.MADV_DONTNEED, start, end - start)


def _release_behind(data, released: int, position: int) -> int:
    """A pass at `position` whose pages before `released` are released already: releases those up to `position` once
    they are RELEASE_STEP bytes or more (_release). Returns where the pass has released to."""
    if position - released < RELEASE_STEP:
        return released
    _release(data, released, position)
    return position


def _find(data, needle: bytes) -> int:
    """data.find(needle), searched RELEASE_STEP bytes at a time, the pages searched released behind."""
    size, overlap = len(data), len(needle) - 1  # a needle may straddle two steps
    for begin in range(0, size, RELEASE_STEP):
        found = data.find(needle, begin, min(size, begin + RELEASE_STEP + overlap))
        if found >= 0:
            return found
        _release(data, begin, begin + RELEASE_STEP)
    return -1


def _count(data, needle: bytes, chunk: int = 1 << 20) -> int:
    """Occurrences of needle, counted chunk by chunk (a memory map has no count(); _release behind). A chunk reaches
    len(needle) - 1 bytes into the next, so each occurrence is counted once, in the chunk it starts in."""
    if isinstance(data, bytes):
        return data.count(needle)
    size, overlap, total, released = len(data), len(needle) - 1, 0, 0
    for start in range(0, size, chunk):
        total += data[start:min(size, start + chunk + overlap)].count(needle)
        released = _release_behind(data, released, start + chunk)
    return total


def line_problems(path: str, delimiter: str = ",") -> list[str]:
    """What would stop the CSV reader from splitting this plain (not gzip) file into its lines reliably:
    mixed CR / CRLF / LF line ends, a quote left open (which would swallow every line after it into one
    record), or a stray quote joining lines (_QuoteWalk.stray_line). A quote inside an unquoted value (an inch mark,
    `5" screen`) is a character of it, for the reader too, and leaves nothing open; so a file with an even number of
    quotes can still end inside a quoted value (_may_end_in_a_quoted_value)."""
    data = _file_bytes(path)
    separator = delimiter.encode()
    problems = []
    walk = _quote_walk(data, separator)
    quote_left_open = _quote_left_open(walk, data, separator)
    if _find(data, b"\r") >= 0:
        crlf, cr, lf = _count(data, b"\r\n"), _count(data, b"\r"), _count(data, b"\n")
        # A line break inside a quoted value is part of the value (a text's bytes, SPEC §3, §5): only the line
        # ends between records count (known only when every quote closes).
        if not (crlf == cr == lf) and (quote_left_open or _record_line_ends_differ(data, separator)):
            problems.append("mixed line endings (CR/CRLF/LF)")
    if quote_left_open:
        problems.append("a quote left open")
    elif walk.stray_line is not None:
        problems.append(STRAY_QUOTE)
    if _long_lines_of_too_many_fields(data, separator):
        problems.append(LONG_LINES)
    _release(data, 0, len(data))
    return problems


# A record line of LONG_LINE bytes or more with a field too many (a file whose line ends were lost, or a spreadsheet's
# thousands of empty columns) is read from a copy in which it has exactly one field too many (sanitized_copy), and is
# quarantined as too_many_fields all the same: DuckDB records one reject per field too many, each with the whole line,
# so the time and memory such a line took grew with its fields times its length (fuzzer, twenty-third session: a line
# of 1.9 MB ran for more than 14 min; twenty-fourth: 10,000 one-byte fields took 48 s, 20,000 took 136 s, and 100
# lines of 4,000 fields, a 1 MB file, more than 7 GiB). A shorter line holds at most ~1,000 fields (~2 MB of rejects).
LONG_LINE = 1 << 11
LONG_LINES = f"lines of {LONG_LINE // 1024} KiB or more with too many fields"
_WINDOW = LONG_LINE // 2  # every line of LONG_LINE bytes holds a whole window


def _line_start(data, position: int) -> int:
    """The start of the line holding `position` (after its previous CR or LF, or the file's start). Searched back in
    growing steps: a search for a CR from the file's start read the whole file before `position` in a file without
    one (10M messages: 157 lines of the long-line search took 22.7 s)."""
    low, step = position, 4096
    while low > 0:
        low, step = max(0, low - step), step * 2
        found = max(data.rfind(b"\n", low, position), data.rfind(b"\r", low, position))
        if found >= 0:
            return found + 1
    return 0


def _line_end(data, position: int) -> int:
    """The end of the line starting at `position` (its CR or LF, or the file's end)."""
    end = data.find(b"\n", position)
    end = len(data) if end < 0 else end
    carriage_return = data.find(b"\r", position, end)
    return end if carriage_return < 0 else carriage_return


def _long_lines_of_too_many_fields(data, separator: bytes, columns: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each line of LONG_LINE bytes or more that DuckDB reads as a record of more fields than the
    header: it starts outside a quoted value, and its separators outside quoted values (as _quote_walk places them)
    are more than the header's. Cheap: one search for a line end per 1 KiB window (~0.1-0.2 s per million messages);
    only the lines of a window with none are looked at. `columns`: the header's fields, when `data` is a part of a
    file that starts at a record outside any quoted value (its first line is then a record too)."""
    size = len(data)
    candidates, position = [], 0 if columns else _line_end(data, 0) + 1
    columns = columns or _header_fields(data, separator)
    find, has_carriage_return, without_line_end = data.find, _find(data, b"\r") >= 0, []
    released = 0
    for start in range(0, size - _WINDOW + 1, _WINDOW):
        if find(b"\n", start, start + _WINDOW) < 0 and not (
                has_carriage_return and find(b"\r", start, start + _WINDOW) >= 0):
            without_line_end.append(start)
        released = _release_behind(data, released, start)
    released = 0
    for start in without_line_end:
        released = _release_behind(data, released, start)
        position = max(position, _line_start(data, start))
        if position <= start:  # the line holding this window, unless an earlier window's search took it
            end = _line_end(data, position)
            if end - position >= LONG_LINE:
                candidates.append((position, end))
            position = end + 1
    if not candidates:
        return []
    walk = _quote_walk(data, separator, [start for start, _ in candidates])
    return [(start, end) for (start, end), inside in zip(candidates, walk.inside_at)
            if not inside and _unquoted_separators(data[start:end], separator) >= columns]


def _header_fields(data, separator: bytes) -> int:
    """The fields of the file's first line (its header, which holds no quoted separator)."""
    return data[:_line_end(data, 0)].count(separator) + 1


def _unquoted_separators(line: bytes, separator: bytes) -> int:
    """The separators of one line (starting outside a quoted value) that the reader takes for field ends."""
    at = [match.start() for match in re.finditer(re.escape(separator), line)]
    return sum(not inside for inside in _quote_walk(line, separator, at).inside_at)


def _without_long_lines(data: bytes, separator: bytes, columns: int | None = None) -> bytes:
    """The file (or a part of it: `columns` as _long_lines_of_too_many_fields) with each of
    _long_lines_of_too_many_fields replaced by a line of one field too many (the reader rejects it as TOO MANY
    COLUMNS, once: too_many_fields)."""
    lines = _long_lines_of_too_many_fields(data, separator, columns)
    if not lines:
        return data
    # Not empty fields: DuckDB reads a line ending in one empty field too many as a record of the header's fields.
    replacement = separator.join([b"x"] * ((columns or _header_fields(data, separator)) + 1))
    pieces, position = [], 0
    for start, end in lines:
        pieces += [data[position:start], replacement]
        position = end
    return b"".join([*pieces, data[position:]])


# A quote opening a value that spans lines and meets a quote the reader cannot place (sanitized_copy).
STRAY_QUOTE = "a stray quote joining lines"


def _opens_a_value(data, position: int, separator: bytes) -> bool:
    """Whether the quote at `position`, outside a quoted value, opens one. As DuckDB reads: at the start of a field,
    after a separator or a line end, or after exactly one space there (code review, fourteenth session: `, "Big sale`
    left open was not seen, and the lines after it were lost); the file's start is a line's, after a BOM too."""
    field_start = (separator, b"\n", b"\r")
    before = (b"\n\n" + data[max(0, position - 2):position])[-2:]
    return (before[-1:] in field_start or (before[-1:] == b" " and before[:1] in field_start)
            or (position in (3, 4) and data[:3] == b"\xef\xbb\xbf" and data[3:position] in (b"", b" ")))


class _QuoteWalk(NamedTuple):
    """The CSV reader's way through a file's quotes (_quote_walk)."""
    quotes: int  # every quote of the file
    ends_inside: bool  # the file ends inside a quoted value
    misplaced: bool  # a quoted value meets a quote the reader cannot place (a closing quote followed by more text)
    # Where the first line starts whose quote opens a value that spans lines and then meets a quote it cannot place
    # (`5"wide`: an inch mark after a quote left open); None when there is none. The reader rejects every line from
    # that one to the stray quote's as one record: they were neither billed nor quarantined one by one, and nothing
    # said so (audit, twenty-third session: an even number of quotes, the last one closing, passed the other
    # checks). A quote followed by more text in a value on one line (`"Hi"x`) costs that line only: the reader
    # rejects it and goes on after that quote, as the walk does.
    stray_line: int | None
    # Whether each offset of the walk's `stops` (line starts) is inside a quoted value.
    inside_at: tuple[bool, ...] = ()
    # The quote that opened the value of stray_line (None when there is none).
    stray_opened: int | None = None


def _quote_walk(data, separator: bytes, stops: list[int] = (), start: int = 0,
                first_stray: bool = False) -> _QuoteWalk:
    """As DuckDB reads, from the start: a quote opens a value only at the start of a field (_opens_a_value; review,
    fourteenth session: an inch mark made a file "broken", and its texts that span lines were quarantined with it);
    inside one, `""` is a quote and a quote before a separator, a line end or the end of the file closes it. One step
    per quote, on every file (~0.5 s per million messages of the benchmark's traffic). `stops`: sorted offsets whose
    state (inside a quoted value or not) the walk reports too (_QuoteWalk.inside_at). `start`: an offset outside any
    quoted value where the walk begins (its quotes then count from there). `first_stray`: stop at the first
    stray_line (the rest of the walk's answer is then of the file up to there)."""
    quotes, misplaced, stray_line, stray_opened = 0, False, None, None
    quoted, opened, after_quote = False, 0, start
    inside_at, waiting = [], sorted(stops, reverse=True)  # the next stop last
    # The next quote is searched for before `limit` only; each time none is found there, the walk releases the pages a
    # step behind (_release) and moves `limit` a step on (no test per quote: ~20M quotes at 10M messages).
    find, size, released, limit = data.find, len(data), start, start + 2 * RELEASE_STEP
    while True:
        position = find(b'"', after_quote, limit)
        if position < 0:
            if limit >= size:
                break
            _release(data, released, limit - RELEASE_STEP)
            released, after_quote, limit = limit - RELEASE_STEP, max(after_quote, limit), limit + RELEASE_STEP
            continue
        while waiting and waiting[-1] <= position:
            inside_at.append(quoted)
            waiting.pop()
        quotes += 1
        if not quoted:
            quoted, opened, after_quote = _opens_a_value(data, position, separator), position, position + 1
            continue
        after = data[position + 1:position + 2]
        if after == b'"':
            quotes += 1
            after_quote = position + 2
            continue
        if after not in (b"", separator, b"\n", b"\r"):
            misplaced = True
            if stray_line is None and (find(b"\n", opened, position) >= 0 or find(b"\r", opened, position) >= 0):
                stray_line = _line_start(data, opened)
                stray_opened = opened
                if first_stray:
                    break
        quoted, after_quote = False, position + 1
    inside_at += [quoted] * len(waiting)
    return _QuoteWalk(quotes, quoted, misplaced, stray_line, tuple(inside_at), stray_opened)


def _quote_left_open(walk: _QuoteWalk, data, separator: bytes) -> bool:
    """A quote left open: the reader ends inside a quoted value, or meets a quote it cannot place in a file whose
    quotes are odd in number or that may end inside a quoted value (where the value ends is then not known)."""
    return (walk.ends_inside or walk.misplaced) and (
        walk.quotes % 2 == 1 or _may_end_in_a_quoted_value(data, separator))


STRAY_QUOTE_REPAIRS = 100  # lines replaced one by one; a file with more is read as one with a quote left open


def _without_stray_quote_openers(data: bytes, separator: bytes) -> bytes | None:
    """The file with each _QuoteWalk.stray_line replaced by a line the reader rejects (so it is quarantined as
    invalid_quoting and the lines it joined are read as rows), found again after each; None past
    STRAY_QUOTE_REPAIRS, or when what remains ends inside a quoted value. (Not _quote_left_open: each replaced
    line is a quoted value followed by more text, on one line, which the reader rejects alone.)"""
    resume = 0
    for _ in range(STRAY_QUOTE_REPAIRS):
        walk = _quote_walk(data, separator, start=resume, first_stray=True)
        if walk.stray_line is None:
            return None if walk.ends_inside else data
        start = walk.stray_line
        # The next walk resumes at the replaced line when its start is outside any quoted value (its opening quote
        # is the line's first quote; nothing before it changes), else from the file's start (perf audit,
        # twenty-fourth session: a whole walk per repair, 99 strays in an 89 MB file, ran for more than 10 min).
        resume = start if data.rfind(b'"', start, walk.stray_opened) < 0 else 0
        data = data[:start] + REJECTED_LINE + data[_line_end(data, start):]
    return None


def _may_end_in_a_quoted_value(data, separator: bytes) -> bool:
    """Whether the file may end inside a quoted value although its quotes are even in number: an inch mark (a
    quote inside an unquoted value) and a quote left open in the last value make two (Spark audit, twenty-second
    session: DuckDB, reading such a file with several others in one scan, dropped the open value's line and every
    line after it without a reject, so they were neither billed nor quarantined). Decided from the file's last
    run of quotes alone: an odd run followed by a separator or a line end closes a quoted value or is a character
    of an unquoted one, and either way the reader ends outside one. Anything else is left to
    _quote_walk, but for one case taken for a closing quote, as a text ending in a comma makes
    it (`feedback,",`): a quote opening the file's last quoted value that starts with a separator or a line end
    and never closes."""
    last = data.rfind(b'"')
    if last < 0:
        return False
    first = last
    while first > 0 and data[first - 1:first] == b'"':
        first -= 1
    after = data[last + 1:last + 2]
    if (last - first) % 2 == 1 or after not in (separator, b"\n", b"\r", b""):
        return True
    field_start = (separator, b"\n", b"\r", b"")
    before = data[first - 1:first]
    return after == b"" and (before in field_start or (before == b" " and data[first - 2:first - 1] in field_start))


# A quoted value (it opens at the start of a field, or after one space there, as DuckDB reads; a doubled quote
# inside is a quote) or a line end outside them; a quote inside an unquoted value is a character of it. One per
# separator.
_QUOTED_OR_LINE_END: dict[bytes, re.Pattern] = {}


def _quoted_or_line_end(separator: bytes) -> re.Pattern:
    if separator not in _QUOTED_OR_LINE_END:
        # After a BOM at the file's start too, as the walk (_opens_a_value) and DuckDB read (review, twenty-sixth
        # session: a repair in parts, whose ends the walk places, and a repair of the whole file differed there).
        field_start = rb"(?:\A|(?<=\A\xef\xbb\xbf)|(?<=[" + re.escape(separator) + rb"\r\n]))"
        _QUOTED_OR_LINE_END[separator] = re.compile(field_start + rb' ?"[^"]*(?:""[^"]*)*"|\r\n|\r|\n')
    return _QUOTED_OR_LINE_END[separator]


def _records_ending_in_lf(data: bytes, separator: bytes) -> bytes:
    """The data with every line end between records (CRLF, CR, LF) an LF; a line break inside a quoted value kept."""
    return _quoted_or_line_end(separator).sub(
        lambda match: match.group() if _is_quoted_value(match.group()) else b"\n", data)


def _is_quoted_value(token: bytes) -> bool:
    """Whether a match of _quoted_or_line_end is a quoted value (else a line end between records)."""
    return token.startswith((b'"', b' "'))


def _record_line_ends_differ(data, separator: bytes) -> bool:
    """Whether the line ends between records (CRLF, CR, LF; those inside quoted values left out) are not all of
    one kind. Stops at the first that differs (_release behind)."""
    first, released = None, 0
    for match in _quoted_or_line_end(separator).finditer(data):
        released = _release_behind(data, released, match.start())
        token = match.group()
        if not _is_quoted_value(token):
            if first is None:
                first = token
            elif token != first:
                return True
    return False


# A line the CSV reader rejects on its own (a quoted value followed by more text): it stands in for a
# line whose quotes do not close, so that the line is quarantined (invalid_quoting) and the reader
# carries on with the next line.
REJECTED_LINE = b'"unterminated quote"x'


def sanitized_copy(path: str, cache: Path, problems: list[str], delimiter: str = ",") -> str:
    """A copy of the file in which every physical line is a line again: CRLF and lone CR between records
    become LF (a line break inside a quoted value is kept: it is part of the value), and, in a file with a
    quote left open, every line with an odd number of quotes is replaced by a line the reader rejects. Such
    a file is already broken (where its quoted values are is not known), so every CR becomes LF and a text
    spanning lines in it is lost to quarantine too; every other row is read as usual."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / _name_without_glob_characters(path, Path(path).name)
    # Never through a link of the same name (a file read through one, normalize_line_endings, repaired later by
    # check_left_out_files: review, twenty-fifth session, the delivered file itself was overwritten).
    target.unlink(missing_ok=True)
    if not {STRAY_QUOTE, "a quote left open"} & set(problems):
        _repair_in_parts(path, target, LONG_LINES in problems, delimiter.encode())
        return str(target)
    data = bytes(_file_bytes(path))
    if STRAY_QUOTE in problems:
        repaired = _without_stray_quote_openers(data, delimiter.encode())
        if repaired is None:
            problems = [*problems, "a quote left open"]
        else:
            data = repaired
    if "a quote left open" not in problems:
        data = _records_ending_in_lf(data, delimiter.encode())
    else:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        data = b"\n".join(REJECTED_LINE if line.count(b'"') % 2 else line for line in lines)
    if LONG_LINES in problems:
        data = _without_long_lines(data, delimiter.encode())
    target.write_bytes(data)
    return str(target)


def _repair_in_parts(path: str, target: Path, long_lines: bool, separator: bytes) -> None:
    """sanitized_copy of a file whose quotes all close (mixed line ends, long lines), a part of about RELEASE_STEP
    bytes at a time: each part ends after an LF outside any quoted value, so that the line ends and long lines of a
    part are those of the whole file there. Memory: a part and its repair (the whole file and its copies before;
    perf audit, twenty-sixth session). A file without such an LF is one part."""
    data, after_line_ends, released = _file_bytes(path), [], 0
    for start in range(RELEASE_STEP, len(data), RELEASE_STEP):  # the line ends in the first 4 KiB of each step
        window_end = min(len(data), start + min(RELEASE_STEP, 4096))
        line_end = data.find(b"\n", start, window_end)
        while line_end >= 0:
            after_line_ends.append(line_end + 1)
            line_end = data.find(b"\n", line_end + 1, window_end)
        _release(data, released, window_end)  # from the last one: the system maps the pages around a page read
        released = window_end
    starts = [0]
    for end, inside in zip(after_line_ends, _quote_walk(data, separator, after_line_ends).inside_at):
        if not inside and end < len(data) and end // RELEASE_STEP > starts[-1] // RELEASE_STEP:
            starts.append(end)  # the first outside any quoted value in each step
    columns = _header_fields(data, separator)
    with open(target, "wb") as copy:
        for begin, end in zip(starts, [*starts[1:], len(data)]):
            # A part after the first is read from the LF before it (kept an LF, then left out): a BOM there is not
            # the file's, for the regular expression and the walk alike (review, twenty-sixth session).
            part = _records_ending_in_lf(data[max(0, begin - 1):end], separator)
            if long_lines:
                part = _without_long_lines(part, separator, begin and columns)
            copy.write(memoryview(part)[1:] if begin else part)
            _release(data, begin, end)


def parquet_source(path: str, binary_as_string: bool = False) -> str:
    """`read_parquet(…)` of exactly this one file, for the checks before the build: DuckDB expands a glob in a path
    (`[1]`, `?`, `*`: normalize_line_endings), so such a path is read through a link of a plain name; a quote in the
    name is escaped (review, twenty-first session: `o'brien.parquet` stopped the run as "not a readable Parquet
    file")."""
    global _plain_links
    if any(character in path for character in GLOB_CHARACTERS):
        if _plain_links is None:  # removed when the process ends
            _plain_links = tempfile.TemporaryDirectory(prefix="rbm-parquet-")
        link = Path(_plain_links.name) / (hashlib.sha256(path.encode()).hexdigest()[:12] + ".parquet")
        if not link.is_symlink():
            link.symlink_to(os.path.abspath(path))
        path = str(link)
    return "read_parquet('" + path.replace("'", "''") + "'" + (", binary_as_string = true" * binary_as_string) + ")"


_plain_links: tempfile.TemporaryDirectory | None = None


def parquet_columns(path: str) -> list[str]:
    import duckdb

    try:
        return [row[0] for row in duckdb.sql(f"describe select * from {parquet_source(path)}").fetchall()]
    except duckdb.Error as error:
        raise InputError(f"{path}: not a readable Parquet file ({error})") from error


# What a column name looks like. A header cell that does not may be a value of a file without a header line (a
# user_id, a text: SPEC §1 PII): it is counted in the error message, never shown.
COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]{0,63}")
OTHER_DELIMITERS = (",", ";", "\t", "|")


def _other_delimiter(field: str) -> str | None:
    """The delimiter that splits a header field into column names: the file is separated by another one."""
    for delimiter in OTHER_DELIMITERS:
        if delimiter in field and all(COLUMN_NAME.fullmatch(c.strip()) for c in field.split(delimiter)):
            return delimiter
    return None


def check_columns(path: str, found: list[str], expected: list[str], contract: str) -> None:
    if found == expected:
        return
    values = [c for c in found if c and not COLUMN_NAME.fullmatch(c) and not _other_delimiter(c)]
    if values and sum(c in found for c in expected) * 2 < len(expected):
        # Most columns missing and cells that are not names: the first line is data. None of it is shown (its
        # name-like cells too: agent ids, a hashed user id that starts with a letter).
        raise InputError(
            f"{path}: the file seems to have no header line: its first line has {len(found)} field(s), {len(values)}"
            f" of which do not look like column names (not shown: they may be data). Expected header of the"
            f" {contract} contract (SPEC §1/§9): {','.join(expected)}"
        )
    missing = [c for c in expected if c not in found]
    names = [c for c in found if c and c not in values]
    extra = list(dict.fromkeys(c for c in names if c not in expected))
    duplicated = list(dict.fromkeys(c for c in names if names.count(c) > 1))
    empty = [str(index) for index, c in enumerate(found, 1) if not c]
    problems = []
    if values:
        problems.append(f"{len(values)} field(s) that do not look like column names (not shown)")
    if missing:
        problems.append("missing column(s): " + ", ".join(missing))
    if duplicated:
        problems.append("duplicated column(s): " + ", ".join(duplicated))
    if extra:
        problems.append("unexpected column(s): " + ", ".join(extra))
    separated = list(dict.fromkeys(filter(None, map(_other_delimiter, extra))))
    if separated:
        problems.append("the fields seem to be separated by " + " or ".join(map(repr, separated))
                        + ("" if contract == "activity log" else ": save the file comma-separated, in UTF-8"))
    if empty:
        problems.append(f"an empty column name (field {', '.join(empty)}; does every line end with a delimiter?)")
    if not problems:
        first = next(index for index, (a, b) in enumerate(zip(found, expected)) if a != b)
        problems.append(f"columns are in the wrong order (column {first + 1} is {found[first]}, the contract's is"
                        f" {expected[first]})")
    raise InputError(
        f"{path}: the header does not match the {contract} contract (SPEC §1/§9): "
        + "; ".join(problems)
        + f". Expected header: {','.join(expected)}"
    )


def check_parquet_strings(path: str, columns: list[str]) -> None:
    """A string that is not UTF-8 makes DuckDB reject the whole Parquet file, with the value in its message (a
    user_id: SPEC §1 PII). Found here, before the build, by reading each of the file's string columns once; the
    error names the file and the column, never the value. Plain BINARY columns too, read as text as staging reads
    them (macro load_raw_files; audit, twenty-third session: a user_id in one was shown by the failed build)."""
    import duckdb

    source = parquet_source(path, binary_as_string=True)

    def scan(names: list[str]) -> None:
        duckdb.sql("select " + ", ".join(f'max(length("{c}"))' for c in names) + f" from {source}").fetchall()

    types = dict(duckdb.sql(f"select column_name, column_type from (describe select * from {source})").fetchall())
    strings = [c for c in columns if types.get(c) == "VARCHAR"]
    try:
        if strings:
            scan(strings)
    except duckdb.Error as error:
        if "Invalid string encoding" not in str(error):
            raise InputError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0][:300]})") from None
        bad = []
        for column in strings:  # which column: one scan each, only for a broken file
            try:
                scan([column])
            except duckdb.Error:
                bad.append(column)
        raise InputError(
            f"{path}: column {', '.join(bad) or '(unknown)'} holds a value that is not valid UTF-8 (not shown). A"
            " Parquet file with such a value cannot be read at all, so its rows cannot be quarantined one by one:"
            " write the file again with valid UTF-8 strings"
        ) from None


def check_file(path: str, expected: list[str], contract: str) -> None:
    if is_parquet(path):
        # A Parquet file's columns are read by name (macro load_raw_files): in any order (audit, twenty-third
        # session: a file written with its columns in another order stopped the run). A CSV file's are by position.
        found = parquet_columns(path)
        check_columns(path, expected if sorted(found) == sorted(expected) else found, expected, contract)
        check_parquet_strings(path, expected)
    else:
        check_columns(path, read_header(path), expected, contract)


def activity_delimiter(path: str) -> str:
    """SPEC §9: activity logs are tab-separated; older files use ';'."""
    if is_parquet(path):  # review, thirteenth session: it was read as a CSV without a header line
        raise InputError(f"{path}: an activity log is read as text, tab- or ;-separated, gzipped or not (SPEC §9), "
                         "not as Parquet")
    for delimiter in ("\t", ";"):
        if read_header(path, delimiter) == ACTIVITY_COLUMNS:
            return delimiter
    check_columns(path, read_header(path, "\t"), ACTIVITY_COLUMNS, "activity log")
    return "\t"


def normalize_line_endings(paths: list[str], cache: Path, originals: dict[str, str],
                           delimiters: dict[str, str] | None = None, unchecked: list[str] | None = None) -> list[str]:
    """The files as the build reads them: a repaired copy of a file with line_problems, a link of a plain name
    to a file whose name DuckDB would read as a glob. The lines of the files in `unchecked` are not read."""
    result, unchecked_files = [], set(unchecked or ())
    for path in paths:
        copy = None if path in unchecked_files else _repaired_copy(path, cache, originals,
                                                                  (delimiters or {}).get(path, ","))
        if copy:
            result.append(copy)
        elif any(character in path for character in GLOB_CHARACTERS):
            # DuckDB expands a glob in every path it reads, `?` and `[` included: `what?.csv` would read
            # `whatX.csv` too, and shift every later file of the run's one scan onto the wrong name (code review,
            # fourteenth session). Read through a link of a plain name, reported under the file's own.
            cache.mkdir(parents=True, exist_ok=True)
            link = cache / _name_without_glob_characters(path, Path(path).name)
            link.symlink_to(path)
            originals[str(link)] = path
            result.append(str(link))
        else:
            result.append(path)
    return result


def _repaired_copy(path: str, cache: Path, originals: dict[str, str], delimiter: str) -> str | None:
    """A repaired copy of a file with line_problems (said in a warning), or None when it has none. A gzip file is
    checked in its decompressed copy (_decompressed_copy), removed after: the build reads the gzip file itself, as
    it did before (its state record, rbm/state.py, is of the file the build read; and a full rebuild over a year of
    daily gzip files needs room for one file's content at a time, not all of them)."""
    if is_parquet(path):
        return None
    read = _decompressed_copy(path, cache) if is_gzip(path) else path
    try:
        problems = line_problems(read, delimiter)
        copy = sanitized_copy(read, cache, problems, delimiter) if problems else None
    finally:
        if read != path:
            Path(read).unlink(missing_ok=True)
    if not copy:
        return None
    # Only a quote left open breaks lines; mixed line ends alone lose none (user trial, twenty-first
    # session: the warning said lines were quarantined when none were). The copy is removed after the run.
    broken = (" (the broken lines are quarantined)"
              if {"a quote left open", STRAY_QUOTE, LONG_LINES} & set(problems) else "")
    warn(f"{path}: {' and '.join(problems)}; reading a repaired copy{broken}")
    originals[copy] = path
    return copy


def check_left_out_files(inputs: RunInputs, cache: Path) -> None:
    """The line checks resolve() left out (RunInputs.unchecked), run now: a full rebuild reads those files again."""
    unchecked, inputs.unchecked = set(inputs.unchecked), []
    for paths, delimiters in ((inputs.messages, {}), (inputs.activity, inputs.activity_delimiters)):
        for index, path in enumerate(paths):
            original = inputs.originals.get(path, path)
            # A file read through a link of a plain name gets its copy under that name (sanitized_copy replaces it).
            if original in unchecked and (copy := _repaired_copy(original, cache, inputs.originals,
                                                                 delimiters.get(path, ","))):
                paths[index] = copy
                if path in delimiters and copy != path:
                    delimiters[copy] = delimiters.pop(path)


# What DuckDB and Spark take for a glob in a path.
GLOB_CHARACTERS = "*?[]{}"


def _name_without_glob_characters(path: str, name: str) -> str:
    """A file name in the run's private folder for `path`: unique by the path's hash, the name's extension (which
    decides how a file is read) kept, no glob character."""
    return hashlib.sha256(path.encode()).hexdigest()[:12] + "-" + re.sub(f"[{re.escape(GLOB_CHARACTERS)}]", "_", name)


def has_data_row(path: str) -> bool:
    """Whether the file holds a row after its header line with a value in it: a line with anything but separators,
    quotes and spaces (a CSV file, gzipped or not; a spreadsheet cut to its empty rows `,,,,` has none: review,
    twenty-first session), or a record (Parquet)."""
    if is_parquet(path):
        import duckdb

        return bool(duckdb.sql(f"select count(*) from (select 1 from {parquet_source(path)} limit 1)").fetchall()[0][0])
    try:
        with _open_binary(path) as handle:  # agents and carriers files are small; lines may end in a lone CR
            return any(re.sub(rb'[\s,;"]|\xc2\xa0', b"", line) for line in re.split(rb"\r\n|\r|\n", handle.read())[1:])
    except GZIP_ERRORS as error:
        raise _gzip_error(path, error) from error


def check_carriers_file(path: str, seen: dict[str, str] | None = None) -> list[str]:
    """SPEC §1 carriers, the user's own file (CARRIERS=): reference data every bill depends on, so a row that is
    not right stops the run (file, line, column), unlike a messages row, which is quarantined. Returns its
    carrier ids. `seen`: the carriers of the run's other carriers files (id -> `file line N`), filled in.
    Every row the CSV reader of the build would reject is refused here (audit, twenty-third session: a line in
    Latin-1, or with a field too many, passed these checks and was dropped by the build, and the carrier with it:
    its messages unknown_carrier, its report files removed, final ones included)."""
    if not path.lower().endswith((".csv", ".csv.gz")):
        raise InputError(f"{path}: CARRIERS must be a CSV file ({', '.join(CARRIERS_COLUMNS)})")
    check_file(path, CARRIERS_COLUMNS, "carriers")
    seen = {} if seen is None else seen
    found: list[str] = []
    with _open_binary(path) as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = len(re.findall(rb"\r\n|\r|\n", data[:error.start])) + 1  # lone CRs end lines too (review)
        raise InputError(f"{path}: line {line} is not valid UTF-8 (not shown): save the carriers file as UTF-8") from None
    read_lines = [0]  # the lines the reader has taken: the line an editor shows (blank lines count; reviews)

    def lines():
        for read_lines[0], text_line in enumerate(io.StringIO(text, newline=""), start=1):
            yield text_line

    def rows():
        try:
            yield from csv.DictReader(lines(), strict=True)
        except csv.Error as error:  # a quote the build's reader would reject too (`"AT&T"x`)
            raise InputError(f"{path}: line {read_lines[0]}: {error} (a stray quote?)") from None

    for row in rows():
        line = read_lines[0]
        extra, missing = row.get(None) or [], sum(value is None for value in row.values())
        # (an empty line with fewer delimiters is said as an empty row below)
        if (extra or missing) and (extra or any((value or "").strip() for value in row.values())):
            raise InputError(f"{path}: line {line} has {len(CARRIERS_COLUMNS) + len(extra) - missing} field(s), the "
                             f"header {len(CARRIERS_COLUMNS)} ({', '.join(CARRIERS_COLUMNS)})")
        carrier_id, model = row.get("carrier_id") or "", row.get("billing_model")
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            # A spreadsheet's empty rows (`,,,`): said as such, not as an empty carrier id (review, twenty-first
            # session). Every row is read by dbt as it is, so the file must lose them.
            raise InputError(f"{path}: line {line} is an empty row (no value in any column; a spreadsheet's empty "
                             "rows?): delete the empty rows of the carriers file")
        if not re.fullmatch(r"[^\s\x00-\x1f]+", carrier_id):
            raise InputError(f"{path}: line {line}, column carrier_id: {carrier_id!r} is not a carrier id")
        if re.fullmatch(r"\+?[0-9]{7,15}", carrier_id):  # README decision 13 (user trial, eighteenth session)
            raise InputError(f"{path}: line {line}, column carrier_id: {carrier_id} has the shape of a phone number "
                             "(7 to 15 digits), which staging masks as a user_id in the wrong column, so no message "
                             "could be billed to it: give the carrier another id")
        if model not in ("us", "global"):
            raise InputError(f"{path}: line {line}, column billing_model: {model!r} is not `us` or `global`")
        if carrier_id in seen:
            raise InputError(f"{path}: line {line}, column carrier_id: {carrier_id} is already on {seen[carrier_id]}")
        seen[carrier_id] = f"line {line} of {path}"
        found.append(carrier_id)
    return found


# The carriers of a run without CARRIERS (SPEC §1): the shipped seed.
CARRIERS_SEED = Path(__file__).resolve().parents[1] / "seeds" / "carriers.csv"


def check_activity_carrier(carrier: str, known: list[str], source: str) -> None:
    """SPEC §9: an activity log's carrier comes from the run, and every row is loaded with it for good (a later
    run with another CARRIER does not change rows loaded before). A carrier the carriers do not list quarantined
    every row as unknown_carrier, and a run with the right one afterwards loaded nothing (review, thirteenth
    session): stop before loading."""
    if carrier not in known:
        raise InputError(f"CARRIER {carrier} is not a carrier of {source} (carrier_id: {', '.join(sorted(known))}): "
                         "give one of those (letter case counts), or add it there")


def resolve(messages: str, agents: str, activity: str = "", carrier: str = "",
            cache: Path | None = None, carriers: str = "", loaded: Callable[[str], bool] | None = None) -> RunInputs:
    """The run's input files, checked (InputError names what stops the run). `loaded`: whether a message or
    activity file was loaded by an earlier build and is unchanged since; its lines are not checked (unchecked)."""
    if activity and messages:
        raise InputError("give either MESSAGES or ACTIVITY, not both")
    if activity and not carrier:
        raise InputError("ACTIVITY needs CARRIER=<carrier_id>: an activity log is per carrier (SPEC §9)")
    if carrier and not activity:
        raise InputError(f"CARRIER {carrier} is the carrier of ACTIVITY files (SPEC §9), and there are none: a messages "
                         "file has its own carrier_id column. Leave CARRIER out, or give ACTIVITY")
    result = RunInputs(carrier=carrier)
    result.agents = expand(agents, "AGENTS")
    for path in result.agents:
        check_file(path, AGENTS_COLUMNS, "agents")
    # An agents export cut after its header line (user trial, twenty-first session) made every message unknown_agent
    # and removed every report file of the database, final ones included, with exit code 0: stop, like an empty file.
    if not any(has_data_row(path) for path in result.agents):
        raise InputError(f"{', '.join(result.agents)}: no agent rows, only the header line (or empty rows): every"
                         " message would be unknown_agent and every report file removed. Give the agents file with its"
                         " rows")
    if carriers:
        result.carriers = expand(carriers, "CARRIERS")
        seen: dict[str, str] = {}  # across the files of CARRIERS (audit, twenty-third session: the build failed)
        for path in result.carriers:
            result.known_carriers += check_carriers_file(path, seen)
        if not result.known_carriers:  # as an agents file with no rows (user trial, twenty-first session)
            raise InputError(f"{', '.join(result.carriers)}: no carrier rows, only the header line: every message"
                             " would be unknown_carrier and every report file removed. Give the carriers file with"
                             " its rows")
        result.carriers_source = "CARRIERS " + ", ".join(result.carriers)
    else:
        with open(CARRIERS_SEED, newline="", encoding="utf-8") as handle:
            result.known_carriers = [row["carrier_id"] for row in csv.DictReader(handle)]
        result.carriers_source = f"the carriers seed {CARRIERS_SEED}"
    if activity:
        check_activity_carrier(carrier, result.known_carriers, result.carriers_source)
        result.activity = expand(activity, "ACTIVITY")
        for path in result.activity:
            result.activity_delimiters[path] = activity_delimiter(path)
    else:
        result.messages = expand(messages, "MESSAGES")
        for path in result.messages:
            check_file(path, MESSAGES_COLUMNS, "messages")
    if cache is not None:
        # A daily glob names every file delivered so far: checking the lines of each again, every run, read the
        # whole history each day (perf audit, twenty-fourth session; 10M messages: ~6 s of a one-day run).
        result.unchecked = [path for path in result.messages + result.activity if loaded and loaded(path)]
        result.messages = normalize_line_endings(result.messages, cache, result.originals,
                                                 unchecked=result.unchecked)
        result.agents = normalize_line_endings(result.agents, cache, result.originals)
        result.carriers = normalize_line_endings(result.carriers, cache, result.originals)
        normalized = normalize_line_endings(result.activity, cache, result.originals, result.activity_delimiters,
                                            result.unchecked)
        result.activity_delimiters = {
            new: result.activity_delimiters[old] for old, new in zip(result.activity, normalized)
        }
        result.activity = normalized
    return result
