"""The agent's turns in a managed trading day: it looks at the book and may trade, through the
order tools only.

Every `every` of session time, once a bar is fully processed (stops, fills, the strategies'
own entries), the agent gets one run on the trading registry (`tools.trading_registry`) over
the day's own order path: the same ledger, paper broker, risk manager and clock as the
strategies. It names a deployed strategy and a direction; the system sizes, prices and stops;
the risk manager decides. Its positions are then managed like any other (stops, trailing,
break-even, square-off). Each turn is an agent run recorded under the agent runs directory
(`tradeloop agent show RUN_ID`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradeloop.agent import AgentRunner, Planner, ScriptedPlanner, ToolRegistry
from tradeloop.agent.runner import new_run_id
from tradeloop.app.agent_trading import trading_desk
from tradeloop.app.trading import TradingStack
from tradeloop.domain.deploy import DeploymentStore
from tradeloop.domain.market.calendar import to_ist
from tradeloop.settings import Settings
from tradeloop.tools import trading_registry

TRADING_GOAL = (
    "It is {time} IST on {day}, during the trading session. Look at the open positions and the "
    "market snapshot of each index you may trade, then, only if the market gives a reason, "
    "place an order for a deployed strategy, exit a position or tighten a stop. The system "
    "sizes, prices and stops every order and the risk manager may refuse it: read the reason. "
    "Finish with a one-line summary of what you did and why."
)

ORDER_TOOLS = frozenset({"place_order", "exit_position", "modify_stop"})

PlannerFactory = Callable[[ToolRegistry], Planner]
"""Builds the planner of one turn (a scripted planner starts its script again each turn)."""


@dataclass(frozen=True)
class AgentOptions:
    """The agent's part in a managed day: its planner, how often it runs, how long a turn."""

    planner_for: PlannerFactory
    every: timedelta = timedelta(minutes=30)
    max_steps: int = 6


@dataclass(frozen=True, slots=True)
class AgentTurn:
    """One turn of the agent: its run, when, how it ended, and its order calls."""

    run_id: str
    at: datetime
    outcome: str
    steps: int
    orders_placed: int
    refusals: tuple[str, ...]
    """The error messages of its order tools' refusals."""


@dataclass
class DayAgent:
    """Runs the agent on the day's stack at most once per `every` of session time."""

    settings: Settings
    stack: TradingStack
    deployments: DeploymentStore
    planner_for: PlannerFactory
    every: timedelta = timedelta(minutes=30)
    max_steps: int = 6
    turns: list[AgentTurn] = field(default_factory=list)
    _last: datetime | None = None
    _registry: ToolRegistry | None = None

    def __post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise ValueError(f"every {self.every} must be positive")

    @property
    def registry(self) -> ToolRegistry:
        if self._registry is None:
            desk = trading_desk(self.settings, deployments=self.deployments, stack=self.stack)
            self._registry = trading_registry(desk)
        return self._registry

    def __call__(self, bar_close: datetime) -> None:
        """A bar closed at `bar_close` and was processed: the agent's turn, if one is due."""
        if self._last is not None and bar_close - self._last < self.every:
            return
        self._last = bar_close
        local = to_ist(bar_close)
        runner = AgentRunner(
            self.planner_for(self.registry),
            self.registry,
            max_steps=self.max_steps,
            run_dir=self.settings.agent_runs_dir,
        )
        goal = TRADING_GOAL.format(time=f"{local:%H:%M}", day=local.date().isoformat())
        run = runner.run(goal, {"day": local.date().isoformat()}, run_id=new_run_id(bar_close))
        placed, refusals = 0, []
        for step in run.steps:
            call, result = step.call, step.result
            if call is None or result is None or call.tool not in ORDER_TOOLS:
                continue
            if result.error is not None:
                refusals.append(result.error.message)
            elif call.tool == "place_order" and result.status == "ok":
                placed += 1
        self.turns.append(
            AgentTurn(run.run_id, bar_close, run.outcome, len(run.steps), placed, tuple(refusals))
        )


class DayAgentConfig(BaseModel):
    """Who plans the agent's turns and how often: the manage flow's `agent` parameter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    planner: Literal["scripted", "ollama"] = Field(
        description="scripted: the calls of `script`, every turn; ollama: the local model."
    )
    script: list[dict[str, Any]] | None = Field(
        None, description='The scripted planner\'s calls: [{"tool": ..., "args": {...}}, ...].'
    )
    every_minutes: int = Field(30, ge=1, le=375, description="Session minutes between turns.")
    max_steps: int = Field(6, ge=1, le=50, description="Steps of one turn.")

    @model_validator(mode="after")
    def _script_for_scripted(self) -> Self:
        if self.planner == "scripted" and not self.script:
            raise ValueError(
                'the scripted planner needs a script: a JSON array of {"tool": ..., '
                '"args": {...}} calls ending with a finish call (or use the ollama planner)'
            )
        return self

    def options(self, settings: Settings) -> AgentOptions:
        """The turns' planner from settings (Ollama's host and model are checked first)."""
        if self.planner == "scripted":
            script = list(self.script or [])
            planner_for: PlannerFactory = lambda _registry: ScriptedPlanner(script)  # noqa: E731
        else:
            from tradeloop.adapters.ollama_planner import OllamaChatModel
            from tradeloop.app.agent import ollama_planner

            OllamaChatModel(
                model=settings.ollama_model,
                host=settings.ollama_host,
                timeout_seconds=settings.ollama_timeout_s,
            ).check_model()

            def planner_for(registry: ToolRegistry) -> Planner:
                return ollama_planner(settings, registry)

        return AgentOptions(planner_for, timedelta(minutes=self.every_minutes), self.max_steps)
