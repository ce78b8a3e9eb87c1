"""A killed `tradeloop research run` leaves nothing running and loses only its batch in flight.

The real command, in its own process with its own temporary Prefect server, is SIGKILLed once
its first batch is in strategy memory (issue 12). Its server must be gone within 10 s, and the
same command run again evaluates only the specs memory does not hold.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.cli_env import cli_environment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc"),
]

TRADELOOP = str(Path(sys.executable).parent / "tradeloop")
RESEARCH = ["research", "run", "--symbol", "NIFTY", "--random", "300", "--batch-size", "10"]
RESEARCH += ["--walk-forward", "2", "--seed", "11"]
TEMPLATES = [TRADELOOP, "research", "run", "--symbol", "NIFTY", "--templates", "5m"]
TEMPLATES += ["--walk-forward", "2"]


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_a_killed_research_run_leaves_no_server_and_resumes(tmp_path: Path) -> None:
    env = cli_environment(tmp_path)
    synth = [TRADELOOP, "data", "synth", "--symbol", "NIFTY", "--days", "40"]
    subprocess.run(synth, env=env, check=True, capture_output=True, timeout=300)
    memory = tmp_path / "data" / "memory"

    run = subprocess.Popen(
        [TRADELOOP, *RESEARCH], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait_for(lambda: any(memory.glob("run=*.parquet")), 600, "the first batch")
        servers = _children(run.pid)
        assert servers, "the research run has no Prefect server child to kill with it"
        assert run.poll() is None, "the run finished before it could be killed"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=10)
        _wait_for(lambda: not any(_alive(pid) for pid in servers), 10, "the server to exit")
    finally:
        if run.poll() is None:
            run.kill()
        assert run.stdout is not None
        run.stdout.close()

    kept = len(list(memory.glob("run=*.parquet")))
    again = subprocess.run(
        [TRADELOOP, *RESEARCH], env=env, capture_output=True, text=True, timeout=900
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Traceback" not in again.stdout + again.stderr
    reuse = re.search(r"Reused (\d+) evaluation\(s\).*?evaluated (\d+)\.", again.stdout, re.S)
    assert reuse, again.stdout
    reused, evaluated = int(reuse[1]), int(reuse[2])
    assert reused >= 10 * kept  # every finished batch of 10, none evaluated again
    assert evaluated > 0
    # The two runs together wrote each spec once.
    import polars as pl

    # (A gate part re-remembers, with its verdict, each spec that reached the lockbox.)
    batches = [path for path in memory.glob("run=*.parquet") if ".gate" not in path.name]
    remembered = pl.read_parquet(batches)
    assert remembered["spec_id"].n_unique() == remembered.height == reused + evaluated


def test_research_runs_started_together_on_a_fresh_data_dir_print_no_traceback(
    tmp_path: Path,
) -> None:
    """Each run starts its own server; their database set-up takes turns (a lock in
    PREFECT_HOME), and the servers' own output goes to server.log, not the terminal."""
    env = cli_environment(tmp_path)
    synth = [TRADELOOP, "data", "synth", "--symbol", "NIFTY", "--days", "30"]
    subprocess.run(synth, env=env, check=True, capture_output=True, timeout=300)
    runs = [
        subprocess.Popen(
            [*TEMPLATES, "--seed", str(seed)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for seed in (1, 2, 3)
    ]
    for run in runs:
        output, _ = run.communicate(timeout=900)
        assert run.returncode == 0, output
        assert "Traceback" not in output and "Error" not in output, output
    assert (tmp_path / "data" / "prefect" / "server.log").exists()
