"""`tradeloop agent ls | show | replay | run` on runs recorded under a temporary data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tradeloop.agent import AgentRunner, ScriptedPlanner
from tradeloop.app.agent import tool_registry
from tradeloop.cli import app
from tradeloop.errors import NotFoundError, UserError
from tradeloop.settings import load_settings

SCRIPT = [
    {"tool": "echo", "args": {"text": "hello"}},
    {"tool": "current_time", "args": {"timezone": "UTC"}},
    {"tool": "finish", "args": {"summary": "said hello"}},
]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env or tradeloop.toml
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRADELOOP_CONFIG", str(tmp_path / "absent.toml"))
    # settings() sets these with setdefault; pinning them here keeps them from leaking.
    for name, value in (
        ("PREFECT_HOME", str(tmp_path / "prefect")),
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        ("PREFECT_LOGGING_LEVEL", "WARNING"),
    ):
        monkeypatch.setenv(name, value)
    return tmp_path / "data"


def record_run(run_id: str = "20250102T034500Z-abcd1234") -> Path:
    settings = load_settings()
    runner = AgentRunner(
        ScriptedPlanner(SCRIPT), tool_registry(settings), run_dir=settings.agent_runs_dir
    )
    run = runner.run("say hello", run_id=run_id)
    assert run.run_file is not None
    return run.run_file


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["agent", *args], env={"COLUMNS": "200"})


def test_ls_lists_recorded_runs(data_dir: Path) -> None:
    assert "no agent runs" in invoke("ls").output
    record_run()
    result = invoke("ls")
    assert result.exit_code == 0, result.output
    assert "20250102T034500Z-abcd1234" in result.output
    assert "say hello" in result.output and "done" in result.output


def test_show_prints_a_readable_table_of_steps(data_dir: Path) -> None:
    record_run()
    result = invoke("show", "20250102T034500Z-abcd1234")
    assert result.exit_code == 0, result.output
    for expected in ("echo", "current_time", "finish", "ok", "done", "ms", "said hello"):
        assert expected in result.output


def test_show_of_an_unknown_run_suggests_close_ids(data_dir: Path) -> None:
    record_run()
    result = invoke("show", "20250102T034500Z-abcd1235")
    assert isinstance(result.exception, NotFoundError)
    assert "Did you mean 20250102T034500Z-abcd1234" in str(result.exception)


def test_replay_of_an_unchanged_run_exits_zero(data_dir: Path) -> None:
    record_run()
    result = invoke("replay", "20250102T034500Z-abcd1234")
    assert result.exit_code == 0, result.output
    assert "2 same, 0 different, 1 skipped" in result.output


def test_replay_that_differs_exits_one_and_prints_the_differences(data_dir: Path) -> None:
    path = record_run()
    lines = path.read_text().splitlines()
    step = json.loads(lines[1])
    step["result"]["data"] = {"text": "goodbye"}  # the recorded result no longer matches
    lines[1] = json.dumps(step)
    path.write_text("\n".join(lines) + "\n")
    result = invoke("replay", "20250102T034500Z-abcd1234")
    assert result.exit_code == 1
    assert "results that differ" in result.output
    assert "goodbye" in result.output and "hello" in result.output
    assert "1 same, 1 different, 1 skipped" in result.output


def test_run_with_a_script_records_the_run(data_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    result = invoke("run", "say hello", "--script", str(script))
    assert result.exit_code == 0, result.output
    assert "outcome: done" in result.output
    assert len(list((data_dir / "agent_runs").glob("*.jsonl"))) == 1


def test_run_that_does_not_finish_exits_one(data_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"tool": "echo", "args": {"text": str(i)}} for i in range(3)]))
    result = invoke("run", "never finishes", "--script", str(script), "--max-steps", "3")
    assert result.exit_code == 1
    assert "max_steps" in result.output


def test_scripted_run_without_a_script_says_what_to_pass(data_dir: Path) -> None:
    result = invoke("run", "goal")
    assert isinstance(result.exception, UserError)
    assert "--script FILE" in str(result.exception)
