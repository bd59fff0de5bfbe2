"""Shared helpers of the Python tests: run the CLI exactly as `make run` does (SPEC §8)."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))


def run_cli(tmp: Path, *args: str, db: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """`scripts/rbm.py run …` on its own database file; returns the finished process."""
    environment = dict(os.environ, RBM_DUCKDB_PATH=str(db or tmp / "rbm.duckdb"), **(env or {}))
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/rbm.py"), "run", *args],
        cwd=ROOT, env=environment, capture_output=True, text=True,
    )


def read_reports(output: Path) -> dict[tuple[str, str], list[tuple[str, ...]]]:
    """Report files under output: (carrier_id, generation_date) -> data rows, in file order."""
    files = {}
    for path in sorted(output.glob("*/rbm_billable_events_*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        date = path.stem.removeprefix("rbm_billable_events_")
        files[(path.parent.name, date)] = [tuple(r) for r in rows[1:]]
    return files


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
