"""The agent research flow: a planner drives the research tools until it finishes.

The planner is the rule-based one by default (offline and deterministic) or Ollama. Either way
it only proposes calls; the registry validates them and the executor runs them, each step in
its own Prefect task. Every backtest is remembered under the run's id, and the run is recorded
under `<data_dir>/agent_runs/` for `tradeloop agent show` and `tradeloop agent replay`.

A run that crashes on a bug fails the flow run with the exception, whose note says "this is a
bug in tradeloop; the traceback is in <run file>" (Prefect logs it with the traceback). A
planner that is not set up (no Ollama at the host, the model not pulled) fails the flow before
the first step with a `ConfigError` naming the fix.
"""

from __future__ import annotations

from typing import Literal

from prefect import flow
from prefect.runtime import flow_run
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from tradeloop.agent import AgentRun, AgentRunner, Planner, ToolRegistry
from tradeloop.agent.records import Outcome
from tradeloop.agent.runner import new_run_id, utc_now
from tradeloop.app.agent import ollama_planner, tool_registry
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.errors import NotFoundError
from tradeloop.settings import Settings, load_settings
from tradeloop.tasks.agent import step_in_task
from tradeloop.tools.planner import ResearchPlanner

DEFAULT_GOAL = (
    "Find the strategy with the best out-of-sample score on {symbol}: start from the best "
    "remembered strategies, backtest new candidates, and finish with the best spec's id."
)


class AgentParameters(BaseModel):
    """What an agent research run is asked to do, and with which planner."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal: str = Field(
        DEFAULT_GOAL, min_length=1, max_length=4000, description="{symbol} is filled in."
    )
    planner: Literal["rules", "ollama"] = Field(
        "rules", description="rules: the offline rule-based planner; ollama: the local LLM."
    )
    max_steps: int = Field(20, ge=1, le=200, description="The run stops after this many steps.")
    symbol: str = Field("NIFTY", description="The index to research: NIFTY or BANKNIFTY.")
    seed: int = Field(7, ge=0, description="Seed of the rule-based planner's candidates.")

    @field_validator("symbol")
    @classmethod
    def _known_index(cls, value: str) -> str:
        try:
            return index_instrument(value).symbol
        except NotFoundError as exc:  # a ValueError becomes a validation error naming the field
            raise ValueError(str(exc)) from None

    def goal_text(self) -> str:
        return self.goal.replace("{symbol}", self.symbol)


class AgentResearchSummary(BaseModel):
    """What the flow returns: enough to find the run and act on its result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    planner: str
    outcome: Outcome
    steps: int
    best_spec_id: str | None = None
    summary: str | None = None
    error: str | None = None
    run_file: str | None = None


def build_planner(choice: str, settings: Settings, registry: ToolRegistry) -> Planner:
    """The rule-based planner, or Ollama from the `ollama_*` settings (checked before use)."""
    if choice == "rules":
        return ResearchPlanner()
    planner = ollama_planner(settings, registry)
    planner.check_model()  # a missing server or model fails now, with the fix
    return planner


def summarise(run: AgentRun) -> AgentResearchSummary:
    data = run.final_result.data if run.final_result is not None else None
    found = data if isinstance(data, dict) else {}
    best, summary = found.get("best_spec_id"), found.get("summary")
    return AgentResearchSummary(
        run_id=run.run_id,
        planner=run.planner,
        outcome=run.outcome,
        steps=len(run.steps),
        best_spec_id=best if isinstance(best, str) else None,
        summary=summary if isinstance(summary, str) else None,
        error=run.error,
        run_file=str(run.run_file) if run.run_file is not None else None,
    )


def _flow_run_name() -> str:
    given = flow_run.parameters.get("parameters")
    if isinstance(given, dict):
        given = AgentParameters.model_validate(given)
    parameters = given if isinstance(given, AgentParameters) else AgentParameters()
    return f"agent-research-{parameters.planner}-{parameters.symbol}"


@flow(name="agent-research", flow_run_name=_flow_run_name)
def agent_research_flow(parameters: AgentParameters | None = None) -> AgentResearchSummary:
    """Run the research agent to an outcome and return where its record is and what it found."""
    parameters = parameters or AgentParameters()
    settings = load_settings()
    run_id = new_run_id(utc_now())
    registry = tool_registry(settings, run_id)
    runner = AgentRunner(
        build_planner(parameters.planner, settings, registry),
        registry,
        max_steps=parameters.max_steps,
        run_dir=settings.agent_runs_dir,
        on_step=step_in_task,
    )
    context: dict[str, JsonValue] = {"symbol": parameters.symbol, "seed": parameters.seed}
    run = runner.run(parameters.goal_text(), context, run_id=run_id)
    return summarise(run)
