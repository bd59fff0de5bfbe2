"""The tests' pre-started dbt (dbt_zygote.py, run_cli's RBM_DBT_COMMAND) answers as the real dbt does: the same exit
code and output, and a SIGTERM stops the dbt command it stands for."""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, _dbt_zygote

REAL_DBT = str(Path(sys.executable).parent / "dbt")


@pytest.fixture
def zygote() -> list[str]:
    command = _dbt_zygote()
    if command is None:
        pytest.skip("RBM_TESTS_REAL_DBT is set: run_cli runs the real dbt")
    return shlex.split(command)


@pytest.mark.parametrize("args", [["--version"], ["no-such-command"], ["debug", "--config-dir"]])
def test_the_pre_started_dbt_answers_as_dbt_does(zygote, args, tmp_path):
    env = dict(os.environ, DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))
    real, forked = (subprocess.run([*dbt, *args, "--profiles-dir", str(ROOT)] if args[0] == "debug" else [*dbt, *args],
                                   cwd=ROOT, env=env, capture_output=True, text=True)
                    for dbt in ([REAL_DBT], zygote))
    def answer(done: subprocess.CompletedProcess) -> tuple:  # dbt's log lines begin with the time
        return done.returncode, re.sub(r"\d\d:\d\d:\d\d", "HH:MM:SS", done.stdout), done.stderr

    assert answer(forked) == answer(real)


def test_a_sigterm_to_the_pre_started_dbt_stops_the_command(zygote, tmp_path):
    """The run script stops dbt with SIGTERM to its process group (rbm/report.py run_dbt): the client passes it on to
    the forked dbt, and exits once that has ended, as 128 + SIGTERM. A full parse of the project (a new target folder) takes seconds: it is stopped half way."""
    process = subprocess.Popen([*zygote, "parse", "--profiles-dir", str(ROOT), "--project-dir", str(ROOT)], cwd=ROOT,
                               env=dict(os.environ, DBT_TARGET_PATH=str(tmp_path / "target"),
                                        DBT_LOG_PATH=str(tmp_path / "logs")),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(1)  # the client's own start-up: its signal handlers
    os.killpg(process.pid, signal.SIGTERM)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stdout[-2000:]
    assert not (tmp_path / "target" / "manifest.json").exists()  # the parse did not finish
