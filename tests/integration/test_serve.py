"""`tradeloop serve` against a real `prefect server start`: a research run triggered on the
served deployment completes and leaves its artifacts (issue 17, "A real-server test").

Both processes run in the background as a user starts them, on a free loopback port, with the
server's database in the test's data dir; both are stopped by pid at the end. The first tests
read deployments files without a server: every entry of ours is served, a broken one is named.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from typer.testing import CliRunner

from tradeloop.cli import app
from tradeloop.cli.serve import IST, read_entries, to_runner_deployment
from tradeloop.errors import ConfigError, PrefectUnavailableError

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TRADELOOP = str(BIN / "tradeloop")
PREFECT = str(BIN / "prefect")
DEPLOYMENT = "research/nightly-research"
YAML = ROOT / "deployments" / "prefect.yaml"
PARAMETERS = {
    "parameters": {"symbols": ["NIFTY"], "templates": [], "random_count": 4, "seed": 3, "folds": 2}
}


def test_every_deployment_of_the_file_is_served_in_ist_with_its_parameters() -> None:
    import yaml

    listed = [entry["name"] for entry in yaml.safe_load(YAML.read_text())["deployments"]]
    entries = read_entries(YAML, ROOT)
    assert [entry.name for entry in entries] == listed
    research = next(entry for entry in entries if entry.name == "nightly-research")
    assert (research.module, research.function) == ("tradeloop.flows.research", "research_flow")
    assert research.parameters["parameters"]["symbols"] == ["NIFTY", "BANKNIFTY"]
    assert all(item.timezone == IST for entry in entries for item in entry.schedules)
    deployment = to_runner_deployment(research)
    assert deployment.flow_name == "research" and deployment.entrypoint == (
        "tradeloop.flows.research.research_flow"
    )
    assert [schedule.schedule.cron for schedule in deployment.schedules or []] == ["0 19 * * 1-5"]


def test_the_manage_deployment_runs_one_at_a_time_cancelling_a_new_run() -> None:
    manage = next(entry for entry in read_entries(YAML, ROOT) if entry.name == "manage-day")
    # Today's session over the live feed, at 09:10 IST on weekdays.
    assert manage.parameters["parameters"] == {"source": "live"}
    assert [(item.kind, item.value, item.timezone) for item in manage.schedules] == [
        ("cron", "10 9 * * 1-5", IST)
    ]
    limit = to_runner_deployment(manage).concurrency_options
    assert (manage.concurrency_limit, manage.collision_strategy) == (1, "CANCEL_NEW")
    assert limit is not None and limit.collision_strategy.value == "CANCEL_NEW"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prefect.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deployments: [", "is not valid YAML"),
        ("name: x\n", "has no `deployments:` list"),
        ("deployments:\n  - entrypoint: a.py:f\n", "deployments[0] has no `name`"),
        (
            "deployments:\n  - name: nightly\n    entrypoint: src/missing.py:flow\n",
            "deployment 'nightly': the entrypoint file src/missing.py does not exist",
        ),
        (
            "deployments:\n  - name: nightly\n    entrypoint: src/tradeloop/flows/research.py\n",
            "deployment 'nightly': `entrypoint` must be `path/to/file.py:flow_function`",
        ),
        (
            "deployments:\n  - name: nightly\n    entrypoint: src/tradeloop/flows/research.py:f\n"
            "    schedules:\n      - timezone: Asia/Kolkata\n",
            "deployment 'nightly': each schedule needs exactly one of cron, interval, rrule",
        ),
    ],
)
def test_a_broken_deployments_file_is_refused_naming_the_file_and_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        read_entries(path, ROOT)
    assert str(path) in str(refused.value)


def test_a_missing_deployments_file_says_where_to_run_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `tradeloop serve` from the repository root"):
        read_entries(tmp_path / "prefect.yaml", ROOT)


def test_an_entrypoint_naming_no_flow_is_refused_when_built(tmp_path: Path) -> None:
    path = ROOT / "src/tradeloop/flows/research.py"
    text = f"deployments:\n  - name: nightly\n    entrypoint: {path}:no_such_flow\n"
    with pytest.raises(ConfigError, match=re.escape("tradeloop.flows.research has no flow named")):
        to_runner_deployment(read_entries(_write(tmp_path, text), ROOT)[0])


def test_serve_without_a_prefect_api_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.chdir(ROOT)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = CliRunner().invoke(app, ["serve"])
    assert isinstance(result.exception, PrefectUnavailableError)
    assert "prefect server start" in str(result.exception)
    assert "PREFECT_API_URL=http://127.0.0.1:4200/api" in str(result.exception)


def _free_port() -> int:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    except OSError as exc:
        pytest.skip(f"cannot bind a loopback port for the Prefect server: {exc}")


def _environment(tmp_path: Path, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TRADELOOP_"))}
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    return env | {
        "TRADELOOP_DATA_DIR": str(tmp_path / "data"),
        "TRADELOOP_CONFIG": str(config),
        "PREFECT_HOME": str(tmp_path / "data" / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",  # the API is what is tested; the UI only slows the start
        "PREFECT_API_URL": api_url,
        "COLUMNS": "200",
    }


def _wait_for(condition: Callable[[], Any], timeout: float, what: str, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; log:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.exists() else ""


@contextmanager
def _background(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` running with its output in `log`; stopped by pid (SIGTERM, then SIGKILL after
    30 s) when the block ends, and checked to have exited."""
    output: IO[bytes] = open(log, "wb")  # noqa: SIM115  (closed below, after the process)
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        output.close()
        assert process.poll() is not None, f"{command[:2]} (pid {process.pid}) did not exit"


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_served_research_deployment_completes_with_its_artifacts(tmp_path: Path) -> None:
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = _environment(tmp_path, api_url)
    synth = [TRADELOOP, "data", "synth", "--symbol", "NIFTY", "--days", "60"]
    subprocess.run(synth, env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)

    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    server_command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with _background(server_command, env, server_log) as server:
        _wait_for(lambda: _healthy(api_url), 240, "the Prefect server", server_log)
        with _background([TRADELOOP, "serve"], env, serve_log) as serving:
            state = _run_served_research(api_url, serving, serve_log)
        served = serve_log.read_text(encoding="utf-8", errors="replace")
        assert state["state"] == "COMPLETED", f"{state}\n{served[-4000:]}"
        assert {"leaderboard", "research-report"} <= state["artifacts"], state
        assert "nightly-research" in served and "0 19 * * 1-5 (IST)" in served, served
        assert "Traceback" not in served, served
    assert server.returncode is not None and serving.returncode is not None


def _run_served_research(
    api_url: str, serving: subprocess.Popen[bytes], log: Path
) -> dict[str, Any]:
    """Start the served research deployment with small parameters; its final state and the
    keys of its artifacts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):

        def served() -> Any:
            assert serving.poll() is None, f"tradeloop serve exited:\n{_tail(log)}"
            try:
                return client.read_deployment_by_name(DEPLOYMENT)
            except ObjectNotFound:
                return None

        deployment = _wait_for(served, 180, f"{DEPLOYMENT} to be served", log)
        run = client.create_flow_run_from_deployment(deployment.id, parameters=PARAMETERS)

        def final() -> Any:
            assert serving.poll() is None, f"tradeloop serve exited:\n{_tail(log)}"
            state = client.read_flow_run(run.id).state
            return state if state is not None and state.is_final() else None

        state = _wait_for(final, 420, "the research run to finish", log)
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        )
    return {
        "state": state.type.value,
        "message": state.message,
        "artifacts": {artifact.key for artifact in artifacts},
    }
