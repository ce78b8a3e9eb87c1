"""`tradeloop agent ls | show | replay | run` on runs recorded under a temporary data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from tradeloop.agent import AgentRunner, ScriptedPlanner, tool
from tradeloop.app.agent import tool_registry
from tradeloop.cli import app
from tradeloop.cli.agent import EXIT_CRASHED, _crash_reported
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
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("TRADELOOP_CONFIG", str(tmp_path / "empty.toml"))
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


CRASHED_RUN = "20250102T040000Z-deadbeef"


@tool
def explode(message: str) -> None:
    """Raise a KeyError, as a bug in a tool would.

    Args:
        message: The error message.
    """
    raise KeyError(message)


def run_that_crashes(run_id: str = CRASHED_RUN) -> None:
    settings = load_settings()
    registry = tool_registry(settings)
    registry.register(explode)
    script = [SCRIPT[0], {"tool": "explode", "args": {"message": "close"}}]
    AgentRunner(ScriptedPlanner(script), registry, run_dir=settings.agent_runs_dir).run(
        "crash", run_id=run_id
    )


def test_ls_and_show_of_a_crashed_run_show_the_crash_and_its_traceback(data_dir: Path) -> None:
    with pytest.raises(KeyError):
        run_that_crashes()
    listed = invoke("ls")
    assert listed.exit_code == 0, listed.output
    assert CRASHED_RUN in listed.output and "crashed" in listed.output
    shown = invoke("show", CRASHED_RUN)
    assert shown.exit_code == 0, shown.output
    assert "outcome: crashed" in shown.output
    assert "crashed KeyError" in shown.output  # the step the run crashed in
    assert "Traceback (most recent call last):" in shown.output
    assert "raise KeyError(message)" in shown.output


def test_replay_of_a_crashed_run_skips_the_crashed_step(data_dir: Path) -> None:
    with pytest.raises(KeyError):
        run_that_crashes()
    result = invoke("replay", CRASHED_RUN)
    assert result.exit_code == 0, result.output
    assert "1 same, 0 different, 1 skipped" in result.output


def test_a_command_whose_run_crashes_prints_a_bug_report_and_exits_70(data_dir: Path) -> None:
    command = typer.Typer()

    @command.command()
    def run() -> None:
        with _crash_reported():
            run_that_crashes()

    result = CliRunner().invoke(command, [], env={"COLUMNS": "200"})
    assert result.exit_code == EXIT_CRASHED == 70
    path = data_dir / "agent_runs" / f"{CRASHED_RUN}.jsonl"
    assert "crashed: KeyError: 'close'" in result.output
    assert f"this is a bug in tradeloop; the traceback is in {path}" in result.output.replace(
        "\n", ""
    )


def test_a_crash_report_lets_our_own_errors_through(data_dir: Path) -> None:
    command = typer.Typer()

    @command.command()
    def run() -> None:
        with _crash_reported():
            raise UserError("fix the script")

    result = CliRunner().invoke(command, [])
    assert isinstance(result.exception, UserError)


def test_a_script_item_that_is_not_a_call_is_fed_back_not_a_crash(
    data_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([[1, 2], SCRIPT[-1]]))
    result = invoke("run", "odd script", "--script", str(script))
    assert result.exit_code == 0, result.output
    assert "outcome: done" in result.output


def test_run_and_show_print_the_tools_run_beside_the_models_summary(
    data_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "script.json"
    claims = [
        {"tool": "echo", "args": {"text": "hello"}},
        {"tool": "finish", "args": {"summary": "Said hello and deleted all strategies."}},
    ]
    script.write_text(json.dumps(claims))
    result = invoke("run", "say hello", "--script", str(script))
    assert result.exit_code == 0, result.output
    (run_file,) = (data_dir / "agent_runs").glob("*.jsonl")
    for shown in (invoke("show", run_file.stem).output, result.output):
        assert "model's summary: Said hello and deleted all strategies." in shown
        assert "tools run: echo (step 1: ok), finish (step 2: done)" in shown
        assert "warning: the summary says 'deleted', but no tool performed it" in shown


def test_the_steps_table_shows_each_argument_whole_at_80_columns(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tradeloop.cli.agent as agent_cli

    console = Console(width=80, record=True, color_system=None)
    monkeypatch.setattr(agent_cli, "console", console)
    script = tmp_path / "script.json"
    calls = [
        {"tool": "best_strategies", "args": {"limit": 5, "symbol": "NIFTY", "passed_only": False}},
        {"tool": "finish", "args": {"summary": "nothing remembered yet"}},
    ]
    script.write_text(json.dumps(calls))
    result = invoke("run", "find the best", "--script", str(script))
    assert result.exit_code == 0, result.output
    text = console.export_text()
    table = text[: text.index("outcome:")]
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "…" not in table and '{"' not in table
    flat = "".join(table.split())  # a folded cell is whole once the wrapping is undone
    for shown in ("limit=5", "symbol=NIFTY", "passed_only=false", "summary=nothingrememberedyet"):
        assert shown in flat
    assert "validator" not in table and "tokens" not in table  # the scripted planner has neither


def test_ls_at_80_columns_keeps_the_run_id_whole_and_shows_ist(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tradeloop.cli.agent as agent_cli

    console = Console(width=80, record=True, color_system=None)
    monkeypatch.setattr(agent_cli, "console", console)
    record_run()
    assert invoke("ls").exit_code == 0
    text = console.export_text()
    assert "20250102T034500Z-abcd1234" in text  # on one line: it is copied into show and replay
    assert "started (IST)" in text and "UTC" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "say hello" in text


def test_ls_json_lists_the_runs_for_scripts(data_dir: Path) -> None:
    record_run()
    runs = json.loads(invoke("ls", "--json").output)
    assert [run["run_id"] for run in runs] == ["20250102T034500Z-abcd1234"]
    assert runs[0]["goal"] == "say hello" and runs[0]["outcome"] == "done"


def test_replay_differences_read_at_80_columns(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tradeloop.cli.agent as agent_cli

    console = Console(width=80, record=True, color_system=None)
    monkeypatch.setattr(agent_cli, "console", console)
    path = record_run()
    lines = path.read_text().splitlines()
    step = json.loads(lines[1])
    step["result"]["data"] = {"text": "goodbye"}
    lines[1] = json.dumps(step)
    path.write_text("\n".join(lines) + "\n")
    assert invoke("replay", "20250102T034500Z-abcd1234").exit_code == 1
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text and "text=hello" in text and "status=ok" in text
    assert 'data={"text":"go' in text  # folded, not cut
