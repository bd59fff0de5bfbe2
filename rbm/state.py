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

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_FOLDERS = ("models", "macros", "seeds")


def fingerprint(agents_files: list[str], salt: str, target: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"target={target}\nsalt={salt}\n".encode())
    for path in sorted(agents_files):
        digest.update(Path(path).read_bytes())
    for folder in CODE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    digest.update((ROOT / "dbt_project.yml").read_bytes())
    return digest.hexdigest()


def state_file(database: Path) -> Path:
    return database.with_name(database.name + ".rbm-state.json")


def needs_full_refresh(database: Path, current: str) -> str | None:
    """Why the next build must be a full one, or None when an incremental run is right."""
    if not database.exists():
        return None  # a new database file is a full build anyway
    saved = state_file(database)
    if not saved.exists():
        return "no record of the previous run's inputs"
    content = json.loads(saved.read_text())
    if content.get("build_incomplete"):
        return "the previous run's build did not complete (it failed or was stopped)"
    if content.get("fingerprint") != current:
        return "the agents file, the salt, the seeds or the project code changed since the previous run"
    return None


def mark_building(database: Path, current: str) -> None:
    """Recorded before a build, cleared by save() once it succeeded: until then the next run rebuilds in full."""
    state_file(database).parent.mkdir(parents=True, exist_ok=True)
    state_file(database).write_text(json.dumps({"build_incomplete": True, "fingerprint": current}, sort_keys=True)
                                    + "\n")


def save(database: Path, current: str, exported: dict | None = None) -> None:
    """The fingerprint of the run, and once its reports are written the record of them (take_export)."""
    saved = {"fingerprint": current}
    if exported is not None:
        saved["exported"] = exported
    state_file(database).write_text(json.dumps(saved, sort_keys=True) + "\n")


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
    saved = state_file(database)
    if not saved.exists():
        return None
    content = json.loads(saved.read_text())
    exported = content.pop("exported", None)
    if exported is not None:
        saved.write_text(json.dumps(content, sort_keys=True) + "\n")
    if exported is None or exported.get("database") != database_identity(database):
        return None
    return exported
