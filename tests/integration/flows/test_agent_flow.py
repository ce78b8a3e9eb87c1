"""The agent research flow under a real (temporary) Prefect server, with the rule-based planner
and with the real `ollama` client against a loopback Ollama server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from uuid import UUID

import pytest
from prefect import flow
from typer.testing import CliRunner

from support.ollama_server import FakeOllamaServer
from tradeloop.agent import AgentRun, AgentRunner, ScriptedPlanner, ToolRegistry, read_run, tool
from tradeloop.app import stores
from tradeloop.cli import app
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import ConfigError
from tradeloop.flows.agent import AgentParameters, AgentResearchSummary, agent_research_flow
from tradeloop.settings import Settings, load_settings
from tradeloop.tasks.agent import step_in_task
from tradeloop.tools.reference import EXAMPLE_SPEC

MODEL = "qwen2.5:7b-instruct"


@pytest.fixture
def stored() -> Settings:
    settings = load_settings()
    stores.candle_store(settings).write(generate_market("NIFTY", days=40).candles)
    return settings


def flow_and_task_run_names(
    flow_run_id: UUID | None, *, settled_tasks: int = 0
) -> tuple[str, list[str]]:
    """The flow run's name and its task runs' names, sorted.

    The server records task runs from the engine's events on a background consumer, so a read
    made as the flow returns can miss the last task or see one under its pre-rename name. With
    `settled_tasks`, wait (up to 30 s) until that many task runs are recorded in a final state.
    """
    assert flow_run_id is not None
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 30.0
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        while True:
            task_runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            settled = [run for run in task_runs if run.state is not None and run.state.is_final()]
            if len(settled) >= settled_tasks or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    return flow_run.name, sorted(task_run.name for task_run in task_runs)


@pytest.mark.usefixtures("prefect_harness")
def test_rules_planner_researches_to_done_one_task_per_step(stored: Settings) -> None:
    state = agent_research_flow(AgentParameters(max_steps=7, seed=3), return_state=True)
    summary = state.result()
    assert isinstance(summary, AgentResearchSummary)
    # best_strategies, 2 x (validate, backtest), finish: a 7th step could not hold a candidate.
    assert summary.outcome == "done" and summary.planner == "rules" and summary.steps == 6
    assert summary.best_spec_id is not None and summary.summary is not None
    assert summary.best_spec_id in summary.summary

    assert summary.run_file is not None
    recorded = read_run(stored.agent_runs_dir / f"{summary.run_id}.jsonl")
    assert recorded.outcome == "done" and len(recorded.steps) == 6
    assert "NIFTY" in recorded.header.goal and recorded.header.context == {
        "symbol": "NIFTY",
        "seed": 3,
    }
    # The "remember" stage: every backtest is in strategy memory under the agent's run id.
    remembered = stores.strategy_memory(stored).best(limit=20)
    assert {record.run_id for record in remembered} == {summary.run_id}
    assert summary.best_spec_id in {record.spec_id for record in remembered}

    flow_run_name, task_names = flow_and_task_run_names(
        state.state_details.flow_run_id, settled_tasks=6
    )
    assert flow_run_name == "agent-research-rules-NIFTY"
    assert task_names == sorted(f"agent-step-{number}" for number in range(1, 7))


@pytest.mark.usefixtures("prefect_harness")
def test_ollama_planner_validates_a_spec_then_finishes(
    stored: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_id = StrategySpec.from_document(EXAMPLE_SPEC).id
    replies = [
        json.dumps({"tool": "validate_strategy", "args": {"spec": EXAMPLE_SPEC}}),
        json.dumps(
            {
                "tool": "finish",
                "args": {"summary": "the RSI spec is valid", "best_spec_id": spec_id},
            }
        ),
    ]
    with FakeOllamaServer(replies, model=MODEL) as server:
        monkeypatch.setenv("TRADELOOP_OLLAMA_HOST", server.host)
        monkeypatch.setenv("TRADELOOP_OLLAMA_MODEL", MODEL)
        state = agent_research_flow(
            AgentParameters(planner="ollama", max_steps=5), return_state=True
        )
    summary = state.result()
    assert summary.outcome == "done" and summary.steps == 2
    assert summary.planner == f"ollama:{MODEL}" and summary.best_spec_id == spec_id
    recorded = read_run(stored.agent_runs_dir / f"{summary.run_id}.jsonl")
    validated = recorded.steps[0].result
    assert validated is not None and isinstance(validated.data, dict)
    assert validated.data["spec_id"] == spec_id

    first, second = server.chat_requests
    tools = [variant["properties"]["tool"]["const"] for variant in first["format"]["anyOf"]]
    assert "validate_strategy" in tools
    assert first["options"]["temperature"] == 0
    # The model saw the validation result (the history, before the step counter) before it
    # finished.
    assert spec_id in second["messages"][-2]["content"]
    assert "/api/tags" in server.paths  # the model was checked before the first step

    flow_run_name, _ = flow_and_task_run_names(state.state_details.flow_run_id)
    assert flow_run_name == "agent-research-ollama-NIFTY"


@pytest.mark.usefixtures("prefect_harness")
def test_ollama_planner_without_the_model_fails_before_any_step(
    stored: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOllamaServer([], model="other:latest") as server:
        monkeypatch.setenv("TRADELOOP_OLLAMA_HOST", server.host)
        monkeypatch.setenv("TRADELOOP_OLLAMA_MODEL", MODEL)
        with pytest.raises(ConfigError, match=f"ollama pull {MODEL}"):
            agent_research_flow(AgentParameters(planner="ollama"))
        assert server.chat_requests == []
    assert not list(stored.agent_runs_dir.glob("*.jsonl"))


def test_agent_parameters_refuse_an_unknown_index() -> None:
    with pytest.raises(ValueError, match="unknown index 'SENSEX'"):
        AgentParameters(symbol="SENSEX")
    assert AgentParameters(symbol="banknifty").goal_text().count("BANKNIFTY") == 1


@pytest.mark.usefixtures("prefect_harness")
def test_cli_agent_research_prints_the_steps_and_the_run_id_to_replay(stored: Settings) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["agent", "research", "--max-steps", "5", "--seed", "2"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    for expected in ("best_strategies", "validate_strategy", "backtest_strategy", "finish"):
        assert expected in result.output
    assert "outcome: done" in result.output and "best spec:" in result.output
    run_id = result.output.split("run id: ", 1)[1].split()[0]
    assert (stored.agent_runs_dir / f"{run_id}.jsonl").is_file()

    replayed = runner.invoke(app, ["agent", "replay", run_id], env={"COLUMNS": "200"})
    assert replayed.exit_code == 0, replayed.output
    assert "0 different" in replayed.output


@pytest.mark.usefixtures("prefect_harness")  # the CLI sets Prefect's home when it is not set
def test_cli_agent_research_with_an_unknown_symbol_names_the_option(stored: Settings) -> None:
    result = CliRunner().invoke(app, ["agent", "research", "--symbol", "NIFTI"])
    assert result.exit_code != 0
    assert "--symbol" in str(result.exception) and "Did you mean NIFTY?" in str(result.exception)


@tool
def note(text: str) -> str:
    """Note a conclusion.

    Args:
        text: The note.
    """
    return text


@tool
def explode(message: str) -> None:
    """Raise a KeyError, as a bug in a tool would.

    Args:
        message: The error message.
    """
    raise KeyError(message)


@flow(name="agent-crash")
def crashing_agent_flow(run_dir: str) -> AgentRun:
    """An agent run whose second step hits a bug, each step in the agent-step task."""
    script = [
        {"tool": "note", "args": {"text": "first"}},
        {"tool": "explode", "args": {"message": "close"}},
    ]
    runner = AgentRunner(
        ScriptedPlanner(script),
        ToolRegistry([note, explode]),
        run_dir=Path(run_dir),
        on_step=step_in_task,
    )
    return runner.run("crash in a task", run_id="crash-in-a-task")


@pytest.mark.usefixtures("prefect_harness")
def test_a_bug_in_a_step_fails_its_task_and_the_flow_with_a_bug_report(tmp_path: Path) -> None:
    state = crashing_agent_flow(str(tmp_path), return_state=True)
    assert state.is_failed()
    with pytest.raises(KeyError, match="close") as raised:
        state.result()
    path = tmp_path / "crash-in-a-task.jsonl"
    assert raised.value.__notes__ == [f"this is a bug in tradeloop; the traceback is in {path}"]
    recorded = read_run(path)
    assert recorded.outcome == "crashed" and len(recorded.steps) == 2
    assert recorded.steps[1].stop == "crashed" and recorded.steps[1].error_type == "KeyError"
    assert recorded.footer is not None and recorded.footer.traceback is not None
    assert "raise KeyError(message)" in recorded.footer.traceback

    _, task_names = flow_and_task_run_names(state.state_details.flow_run_id, settled_tasks=2)
    assert task_names == ["agent-step-1", "agent-step-2"]
