"""`tradeloop agent research` as a trader runs it: the summary, and nothing of Prefect's after it.

Issue 18 saw two raw Prefect tracebacks ("Error flushing 1 events", `CancelledError`) printed
after the run's summary. Those are a Prefect API server's own log lines at shutdown; the
command's temporary server writes them to `<PREFECT_HOME>/server.log`. A server Prefect starts by
itself (its "temporary server", when a client finds no API URL) inherits the terminal instead,
so the second run, with Prefect's INFO logs on, checks Prefect never started one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.cli_env import cli_environment

pytestmark = pytest.mark.slow

TRADELOOP = str(Path(sys.executable).parent / "tradeloop")
AGENT_RESEARCH = [TRADELOOP, "agent", "research", "--max-steps", "3"]
PREFECTS_OWN_SERVER = "Starting temporary server"  # prefect.server.api.server, at INFO


def _agent_research(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        AGENT_RESEARCH, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_agent_research_prints_its_summary_and_no_prefect_traceback(tmp_path: Path) -> None:
    env = cli_environment(tmp_path) | {"COLUMNS": "80"}
    synth = [TRADELOOP, "data", "synth", "--symbol", "NIFTY", "--days", "30"]
    subprocess.run(synth, env=env, check=True, capture_output=True, timeout=300)

    run = _agent_research(env)
    assert run.returncode == 0, run.stderr
    assert "outcome: done" in run.stdout and "tradeloop agent replay" in run.stdout
    for leak in ("Traceback", "Error flushing", "CancelledError"):
        assert leak not in run.stderr, run.stderr
        assert leak not in run.stdout, run.stdout

    verbose = _agent_research(env | {"PREFECT_LOGGING_LEVEL": "INFO"})
    assert verbose.returncode == 0, verbose.stderr
    assert "Traceback" not in verbose.stderr, verbose.stderr
    assert PREFECTS_OWN_SERVER not in verbose.stderr, verbose.stderr
