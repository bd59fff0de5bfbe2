"""When an incremental run would be wrong, rebuild in full (README "Daily operation").

An incremental run recomputes only the streams touched by new input rows. That is right only
while everything else is unchanged: the agents file (billing categories), the salt, the seeds and
the project's code. Their fingerprint is kept beside the database; a different one means a full
rebuild (`dbt build --full-refresh`), as does a new database file, and so does a previous build that did not
complete: the state is marked before every build and the mark is cleared only once the build succeeded. A build
that failed or was stopped half-way may have loaded input files without billing their rows; an incremental run
would then never see those rows as new (they carry the failed run's loaded_at).

The state file also records the report files the last run wrote (path, size, modification time), so that a
daily run writes again only the files it changed (rbm/report.py unchanged_report_files).
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rbm import warn
from rbm.inputs import GLOB_CHARACTERS, is_gzip

ROOT = Path(__file__).resolve().parent.parent
CODE_FOLDERS = ("models", "macros", "seeds")


def fingerprint(agents_files: list[str], salt: str, target: str) -> dict[str, str]:
    """What decides every stored row besides the messages, part by part (FINGERPRINT_PARTS), so that a full rebuild
    can say which part changed."""
    def digest_of(chunks) -> str:
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        return digest.hexdigest()

    def code():
        for folder in CODE_FOLDERS:
            for path in sorted((ROOT / folder).rglob("*")):
                if path.is_file():
                    yield str(path.relative_to(ROOT)).encode()
                    yield path.read_bytes()
        yield (ROOT / "dbt_project.yml").read_bytes()

    # The salt as a slow hash (scrypt): a fast one would let anyone who reads the state file test guesses of it,
    # and with the salt the user keys can be reversed (README "Secrets").
    return {"target": target, "salt": salt_digest(salt),
            "inputs": digest_of(Path(path).read_bytes() for path in sorted(agents_files)), "code": digest_of(code())}


def salt_digest(salt: str) -> str:
    return hashlib.scrypt(salt.encode(), salt=b"rbm-billing state", n=2**14, r=8, p=1).hex()


def salt_replaced(database: Path, current: dict[str, str]) -> bool:
    """The database was built with a salt of its own (BILLING_SALT) and this run's salt differs (unset, say, in a
    cron job's environment): a rebuild would give every event a new billing_event_id, final reports included."""
    before = (read(database) or {}).get("fingerprint_parts")
    if not isinstance(before, dict) or "salt" not in before:
        return False
    return before["salt"] != current["salt"] and before["salt"] != salt_digest("")


# Each part of the fingerprint, as a full rebuild names it.
FINGERPRINT_PARTS = {"target": "the target", "salt": "the salt (BILLING_SALT)",
                     "inputs": "the agents or carriers file",
                     "code": "the project's code or seeds (models, macros, seeds, dbt_project.yml)"}


def combined(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def state_file(database: Path) -> Path:
    return database.with_name(database.name + ".rbm-state.json")


def private_folders(database: Path) -> tuple[Path, str]:
    """Where a run of `database` keeps its private folder (repaired input copies, the salt's file, links to input
    files), and the folder's name prefix: beside the database, unless that path holds a glob character, which
    DuckDB would expand in every path it reads (then the system's temporary folder). The prefix is a hash of the
    database's path: a run removing what a killed run of its database left never matches another database's
    folder (code review, fourteenth session: `.rbm-run-rbm-*` matched database `rbm-eu`'s)."""
    resolved = database.resolve()
    parent = resolved.parent
    if any(character in str(parent) for character in GLOB_CHARACTERS):
        parent = Path(tempfile.gettempdir())
    return parent, f".rbm-run-{hashlib.sha256(str(resolved).encode()).hexdigest()[:12]}-"


def lock_file(database: Path) -> Path:
    """Held by the run in progress on the database (run_lock)."""
    return database.with_name(database.name + ".rbm-lock")


class RunInProgress(Exception):
    """Another run holds the database's run lock."""


class OutputLockError(Exception):
    """OUTPUT's lock file cannot be opened or locked."""


@contextmanager
def run_lock(database: Path):
    """One run at a time on a database: two overlapping runs (a cron job that outlasts its interval) would each
    read and write the state beside it, and one could put back a state the other's failed build made stale. The
    lock is the operating system's (flock) on `<database>.rbm-lock`, released when the run ends however it ends."""
    import fcntl

    path = lock_file(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress(f"another run on {database} is in progress (it holds {path})") from None
        yield


OUTPUT_LOCK_FILE = ".rbm-lock"


@contextmanager
def output_lock(output: Path, database: Path):
    """One run at a time writing an OUTPUT folder, whatever its database: two runs of two databases into one OUTPUT
    at once each replaced the other's files, and one's summary listed files the other had removed. The lock file
    names the database of the run that holds it, for the other run's error."""
    import errno
    import fcntl

    path = output / OUTPUT_LOCK_FILE
    try:
        handle = open(path, "a+", encoding="utf-8")
    except OSError as error:  # a lock file of another user in a shared OUTPUT, say
        raise OutputLockError(f"OUTPUT {output}: its lock file {path} cannot be opened "
                              f"({error.strerror or error})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another database"
            raise RunInProgress(f"another run, of {holder}, is writing OUTPUT {output}; run again when it has "
                                "ended") from None
        except OSError as error:
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP):
                raise OutputLockError(f"OUTPUT {output}: its lock file {path} cannot be locked "
                                      f"({error.strerror or error})") from None
            # A file system without locks (some network shares): the run goes on, as before the lock existed.
            warn(f"OUTPUT {output} cannot be locked ({error.strerror}): make sure no other run writes it "
                 "at the same time.")
            yield
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"{database}\n")
        handle.flush()
        yield


def read(database: Path) -> dict | None:
    """The state file's content; None when there is none, {"unreadable": True} when it is not valid JSON."""
    saved = state_file(database)
    if not saved.exists():
        return None
    try:
        content = json.loads(saved.read_text())
    except ValueError:
        return {"unreadable": True}
    return content if isinstance(content, dict) else {"unreadable": True}


def write(database: Path, content: dict) -> None:
    """Written whole or not at all (a run stopped in the middle cannot leave half a file)."""
    saved = state_file(database)
    saved.parent.mkdir(parents=True, exist_ok=True)
    partial = saved.with_name(f"{saved.name}.{os.getpid()}.partial")
    # Only this user can read it: it holds a (slow) hash of the salt and the input files' paths.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps(content, sort_keys=True) + "\n")
    os.replace(partial, saved)


def needs_full_refresh(database: Path, current: dict[str, str]) -> str | None:
    """Why the next build must be a full one, or None when an incremental run is right."""
    if not database.exists():
        return None  # a new database file is a full build anyway
    content = read(database)
    if content is None:
        return "no record of the previous run's inputs"
    if content.get("unreadable"):
        return "the record of the previous run (" + state_file(database).name + ") is unreadable"
    if content.get("build_incomplete"):
        return "the previous run's build did not complete (it failed or was stopped)"
    if content.get("fingerprint") != combined(current):
        before = content.get("fingerprint_parts")
        changed = [label for part, label in FINGERPRINT_PARTS.items()
                   if isinstance(before, dict) and before.get(part) != current.get(part)]
        if not changed:  # a state written by an older version of the project (one fingerprint for every part)
            return "the agents file, the salt, the seeds or the project code changed since the previous run"
        return f"{' and '.join(changed)} changed since the previous run"
    return None


@dataclass(frozen=True)
class BuildMark:
    """What mark_building replaced: the state before the build and the database files as they were."""
    previous: dict | None
    files: list | None


def mark_building(database: Path, current: dict[str, str]) -> BuildMark:
    """Recorded before a build, cleared by save() once it succeeded: until then the next run rebuilds in full."""
    mark = BuildMark(read(database), database_files_identity(database))
    write(database, {"build_incomplete": True, "fingerprint": combined(current), "fingerprint_parts": current})
    return mark


def build_failed(database: Path, mark: BuildMark) -> None:
    """After a failed build: when it did not write to the database at all (a lock held by another process, a
    parse error, ...), the state before it is put back, so that the next run need not rebuild in full. A DuckDB
    database only: a folder (Spark's warehouse) does not show every write in its own identity."""
    if mark.files is None or database_files_identity(database) != mark.files:
        return
    if mark.previous is None:
        state_file(database).unlink(missing_ok=True)
    else:
        write(database, mark.previous)


def save(database: Path, current: dict[str, str], loaded: dict[str, list], exported: dict | None = None) -> None:
    """The fingerprint of the run, every input file the database holds (`loaded`: path -> [bytes, modification
    time, SHA-256], see changed_loaded_files), and once its reports are written the record of them (take_export)."""
    saved = {"fingerprint": combined(current), "fingerprint_parts": current, "loaded_files": loaded}
    if exported is not None:
        saved["exported"] = exported
    write(database, saved)


def loaded_file_records(database: Path) -> dict[str, list]:
    """Every input file as the database's builds loaded it: path as delivered -> [bytes, modification time in
    ns, SHA-256 of its content (of its decompressed content for a gzip file, GZIP_CONTENT)]. A state file written
    before 2026-11-30 holds the size alone (the other two are then None)."""
    content = read(database) or {}
    loaded = content.get("loaded_files")
    if not isinstance(loaded, dict):
        return {}
    return {path: (record + [None, None])[:3] if isinstance(record, list) else [record, None, None]
            for path, record in loaded.items()}


def file_stats(paths: list[str]) -> dict[str, list]:
    """path -> [bytes, modification time in ns]: the content's hash is taken only when needed."""
    stats = {path: os.stat(path) for path in paths}
    return {path: [stat.st_size, stat.st_mtime_ns] for path, stat in stats.items()}


# A gzip file's record holds the SHA-256 of its decompressed content, with this prefix: that content is what was
# loaded, and the same content compressed again (another gzip time stamp or level: other bytes, often another size)
# is the same file. A record written before 2026-12-01 holds the SHA-256 of the compressed bytes (no prefix), and
# takes the decompressed one the first time the file is found as it was loaded.
GZIP_CONTENT = "gunzip:"
OLD_GZIP_RECORD = ("; its record, from before 2026-12-01, holds the hash of its compressed bytes: if it was only"
                   " compressed again, FULL_REFRESH=1 loads it again")


def content_hash(path: str, stat: list | None = None, *, decompressed: bool = True) -> str | None:
    """SHA-256 of a file's bytes (about 1.6 s for 2.3 GB here), of its decompressed content for a gzip file (with
    GZIP_CONTENT before it; `decompressed=False`: of its bytes, as records before 2026-12-01 hold). The input checks
    decompress every gzip file and hash it then (rbm/inputs.py GZIP_CONTENT_SHA256): that hash is taken when the
    file is still as it was; decompressing again costs ~40x hashing the bytes. None when it cannot be read any more
    (a gzip file truncated or corrupt too), or when it changed while being read: no longer the `stat` ([bytes,
    modification time]) it had when the run began, so perhaps not what the build loaded (the next run then cannot
    tell a same-size edit, as with no hash)."""
    import gzip

    from rbm.inputs import GZIP_CONTENT_SHA256, GZIP_ERRORS

    unzip = decompressed and is_gzip(path)
    if unzip and path in GZIP_CONTENT_SHA256:
        size, mtime_ns, digest = GZIP_CONTENT_SHA256[path]
        try:
            now = os.stat(path)
        except OSError:
            return None
        if [size, mtime_ns] == [now.st_size, now.st_mtime_ns] and stat in (None, [size, mtime_ns]):
            return GZIP_CONTENT + digest
    digest = hashlib.sha256()
    try:
        with (gzip.open if unzip else open)(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        after = os.stat(path)
    except (OSError, *GZIP_ERRORS):
        return None
    if stat is not None and [after.st_size, after.st_mtime_ns] != list(stat):
        return None
    return (GZIP_CONTENT if unzip else "") + digest.hexdigest()


def changed_loaded_files(loaded: dict[str, list], stats: dict[str, list]) -> tuple[list[str], dict[str, list]]:
    """The input files an earlier build loaded that have changed since: a file is loaded once (README "Daily
    operation"), so rows appended to it or edited in it later would never be read. A different size is a change;
    so is a different content at the same size (an edited time, say), told by the SHA-256 taken when it was
    loaded, which is read again only when the modification time moved (a file copied again unchanged passes).
    A gzip file is compared by its decompressed content (GZIP_CONTENT), whatever its size: compressed again, the
    same content passes. A file that cannot be read to compare keeps its record, to be compared by the next run
    (or stops this one when its size changed). `loaded`: the database's records (loaded_file_records). Returns the
    changed files (for the error) and the up-to-date records of the unchanged ones."""
    changed, records = [], {}
    for path, (size, mtime_ns) in sorted(stats.items()):
        if path not in loaded:
            continue
        loaded_size, loaded_mtime_ns, loaded_hash = loaded[path]
        if not isinstance(loaded_hash, str):  # no hash (a state from before 2026-11-30), or a hand-edited one
            loaded_hash = None
        by_content = loaded_hash is not None and loaded_hash.startswith(GZIP_CONTENT)
        old_gzip = is_gzip(path) and loaded_hash is not None and not by_content
        note = OLD_GZIP_RECORD if old_gzip else ""
        as_loaded = loaded_size == size and loaded_mtime_ns == mtime_ns and loaded_hash is not None
        if not as_loaded and loaded_size != size and not by_content:
            changed.append(f"{path} ({loaded_size} bytes when loaded, {size} now{note})")
            continue
        now = loaded_hash if as_loaded else content_hash(path, [size, mtime_ns], decompressed=not old_gzip)
        if now is None and loaded_hash is not None:
            if loaded_size != size:
                changed.append(f"{path} ({loaded_size} bytes when loaded, {size} now, and it cannot be read to"
                               " compare its content: unreadable, or still being written?)")
            else:
                records[path] = [loaded_size, loaded_mtime_ns, loaded_hash]
            continue
        if loaded_hash is not None and now != loaded_hash:
            sizes = (f"same size, {size} bytes" if loaded_size == size
                     else f"{loaded_size} bytes when loaded, {size} now")
            changed.append(f"{path} ({sizes}, but its {'decompressed ' if by_content else ''}content changed since"
                           f" it was loaded{note})")
            continue
        # Unchanged. A record of a gzip file's bytes (before 2026-12-01) takes the hash of its content from now on.
        records[path] = [size, mtime_ns, (old_gzip and content_hash(path, [size, mtime_ns])) or now]
    return changed, records


def database_files_identity(database: Path) -> list | None:
    """The identity of a DuckDB database file and of its write-ahead log files (`.wal`, `.wal.checkpoint`, …);
    None for a folder (Spark)."""
    if database.is_dir():
        return None
    logs = sorted(database.parent.glob(glob.escape(database.name) + ".wal*")) if database.parent.is_dir() else []
    return [database_identity(database), *([path.name, database_identity(path)] for path in logs)]


def database_identity(database: Path) -> list[int] | None:
    """The database file as a run left it (device, inode, size, modification time): any write changes it."""
    try:
        stat = database.stat()
    except OSError:
        return None
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]


def take_export(database: Path) -> dict | None:
    """The record of the report files the previous run wrote, taken out of the state file before this run
    changes the database (a run that fails after its build leaves none, so the next one writes every file).
    None unless the database file is still exactly as that run left it: a new, restored or otherwise rebuilt
    database may hold other rows than those files."""
    content = read(database)
    if content is None or content.get("unreadable"):
        return None
    exported = content.pop("exported", None)
    if exported is not None:
        write(database, content)
    if not _is_export_record(exported) or exported.get("database") != database_identity(database):
        return None
    return exported


def _is_export_record(exported) -> bool:
    """The shape a run writes (rbm/report.py): anything else, a state file edited by hand or by another version, is
    no record, and every file is written (audit, twenty-third session: `"exported": []` stopped the run with a
    traceback)."""
    files = exported.get("files", {}) if isinstance(exported, dict) else None
    return isinstance(files, dict) and all(
        isinstance(record, list) and len(record) == 2 and all(isinstance(number, int) for number in record)
        for record in files.values())
