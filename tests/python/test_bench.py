"""Smoke test of the benchmark script (bench/bench.py) at a tiny size: it runs every step it is
asked for and writes bench/results.md with every row and every target. Timings are not checked."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("rbm_bench", ROOT / "bench" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["rbm_bench"] = bench  # dataclasses look their module up
_spec.loader.exec_module(bench)


def test_bench_smoke(tmp_path: Path) -> None:
    results = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench.py"), "--messages", "3000", "--work-dir", str(tmp_path / "work"),
         "--results", str(results), "--skip-single-stream", "--memory-limit", "1GB", "--floor-repeats", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = results.read_text(encoding="utf-8")

    assert "cores (nproc)" in text and "memory" in text
    assert "DuckDB memory limit: **1GB**" in text
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    for key, label in bench.STEPS:
        assert label in rows, f"no row for {key}"
    # the measured steps have a wall time, a rate, a peak RSS, a peak disk (the peer writes nothing) and a ratio to
    # the floor
    number = r"[0-9][0-9,]*(\.[0-9]+)?"
    for key in ("floor", "dbt_floor", "fixed_cost", "full_run", "incremental_base", "incremental_day", "peer_total"):
        cells = [c.strip() for c in rows[dict(bench.STEPS)[key]].strip("|").split("|")]
        wanted = [1, 2, 3, 4, 6] if key == "peer_total" else [1, 2, 3, 4, 5, 6]
        assert all(re.fullmatch(number, cells[i]) for i in wanted), (key, cells)
    assert "| peak disk MiB |" in text
    for key in ("single_stream_floor", "single_stream"):
        assert "skipped" in rows[dict(bench.STEPS)[key]]
    assert "adds messages_2026-11-07.csv" in rows[dict(bench.STEPS)["incremental_day"]]
    # a fresh work dir: the dbt floor (a project of its own) and the fixed cost's warm-up run parse in full; every
    # measured run, each on a new database, reuses that parse (rbm/report.py dbt_command), as a run of an installed
    # checkout does
    assert "dbt parsed the project in full" in rows[dict(bench.STEPS)["dbt_floor"]]
    assert "Unable to do partial parsing" in (tmp_path / "work/runs/fixed_cost/warm-up/log.txt").read_text("utf-8")
    for key in ("fixed_cost", "full_run", "incremental_base"):
        assert "dbt reused its parsed project" in rows[dict(bench.STEPS)[key]], rows[dict(bench.STEPS)[key]]

    for target in ("within 3× the floor", "within 4× the floor", "single stream of 1M messages under 60 s",
                   "memory limit at 8 GiB", "plain-Python state machine"):
        assert target in text, target
    assert "report rows: full run" in text and "(equal)" in text
    assert "## Where the time goes: full run" in text and "main.stg_messages" in text

    # the data was generated (nothing to reuse in a fresh work dir), once per kind
    assert "reusing" not in done.stdout
    data = sorted(p.name for p in (tmp_path / "work" / "data").iterdir())
    assert data == ["days-3000-s42", "main-1000-s42", "main-3000-s42"]


def test_tree_rss_counts_descendants() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys; subprocess.run([sys.executable, '-c', "
         "'import time; x = bytearray(64 << 20); time.sleep(3)'])"],
    )
    try:
        peak = 0
        while process.poll() is None:  # sampled for the whole life of the process (a busy machine starts it late)
            peak = max(peak, bench.tree_rss_kib(process.pid))
            time.sleep(0.05)
    finally:
        process.wait()
    assert peak > 64 * 1024  # the grandchild's 64 MiB buffer is counted


def test_peak_disk_is_what_the_step_wrote_above_its_start(tmp_path: Path) -> None:
    """The disk a step needs: the most its folders held above what they held at its start, files it removed before
    it ended included (DuckDB's spill files, a run's private copies)."""
    folder = tmp_path / "step"
    (folder / "old").mkdir(parents=True)
    (folder / "old" / "before.bin").write_bytes(b"x" * (8 << 20))  # there before the step: not counted
    code = ("import os, sys, time; p = os.path.join(sys.argv[1], 'spill.bin'); open(p, 'wb').write(os.urandom(24 << 20));"
            " time.sleep(2.5); os.remove(p)")
    measured = bench.measure([sys.executable, "-c", code, str(folder)], tmp_path / "log.txt", disk=(folder,))
    assert measured.returncode == 0
    assert 23.5 <= measured.peak_disk_mib <= 25, measured.peak_disk_mib
    assert not (folder / "spill.bin").exists()
    assert bench.measure([sys.executable, "-c", "pass"], tmp_path / "log2.txt").peak_disk_mib is None


def test_memory_bytes() -> None:
    assert bench.memory_bytes("8GiB") == 8 * 1024 ** 3
    assert bench.memory_bytes("4GB") == 4 * 1000 ** 3
    assert bench.memory_bytes("512MB") == 512 * 1000 ** 2
    assert bench.memory_bytes("80%") is None


def test_each_ratio_target_applies_to_its_own_size_only(tmp_path: Path) -> None:
    settings = bench.Settings(work=tmp_path, memory_limit="8GB", temp_dir=tmp_path)
    verdicts = {}
    for n in (1_000_000, 10_000_000, 100_000_000):
        run = bench.Bench(messages=n, settings=settings)
        run.record("floor", bench.Measured(0, 10.0, 1.0, tmp_path / "log"), n, None)
        run.record("full_run", bench.Measured(0, 50.0, 1.0, tmp_path / "log"), n, 10.0)
        verdicts[n] = {name.split(":")[0]: verdict for name, _, verdict in bench.targets(run)}
    assert verdicts[1_000_000]["1M messages"] == "FAIL" and verdicts[1_000_000]["10M messages"] == "n/a"
    assert verdicts[10_000_000]["10M messages"] == "FAIL" and verdicts[10_000_000]["1M messages"] == "n/a"
    assert verdicts[100_000_000]["10M messages"] == "n/a" and verdicts[100_000_000]["1M messages"] == "n/a"


def test_ratio_target_says_what_no_build_of_that_size_avoids(tmp_path: Path) -> None:
    """The 1M target's line gives the fixed cost (a run of 1,000 messages) and dbt alone on the floor's query, each
    over the same floor; without those steps, the ratio alone."""
    settings = bench.Settings(work=tmp_path, memory_limit="4GB", temp_dir=tmp_path)
    run = bench.Bench(messages=1_000_000, settings=settings)
    log = tmp_path / "log"
    run.record("floor", bench.Measured(0, 2.0, 1.0, log), 1_000_000, None)
    run.record("full_run", bench.Measured(0, 20.0, 1.0, log), 1_000_000, 2.0)
    measured = {name.split(":")[0]: text for name, text, _ in bench.targets(run)}
    assert measured["1M messages"] == "10.00× the floor at N=1,000,000"
    run.record("dbt_floor", bench.Measured(0, 7.0, 1.0, log), 1_000_000, 2.0)
    run.record("fixed_cost", bench.Measured(0, 11.0, 1.0, log), 1_000, 2.0)
    measured = {name.split(":")[0]: text for name, text, _ in bench.targets(run)}
    assert measured["1M messages"] == ("10.00× the floor at N=1,000,000 (against 5.50× for a run of 1,000 messages "
                                       "(fixed cost) and 3.50× for dbt alone running the floor's query)")
