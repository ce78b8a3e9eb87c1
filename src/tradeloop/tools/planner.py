"""The rule-based research planner: the embedded default "LLM", deterministic and offline.

It drives a research session through the same tools and runner a model would use, proposing
one valid call per step and reading each result from the run's history:

1. `best_strategies` for the symbol, and `strategy_details` of the best one when there is one;
2. candidates near that best spec and from the templates (`domain.strategy.candidates`,
   deterministic by the run's `seed`), as many as the step budget allows;
3. `validate_strategy`, then `backtest_strategy`, for each candidate;
4. `finish`, with a summary naming the best spec (and its id) by score.

It never repeats a call, always keeps the last step for `finish`, and decides from the steps
recorded so far only, so planning the same step twice (a retried step) gives the same call.
The run's context may set `symbol` (default NIFTY) and `seed` (default 7); the goal is read by
people, not by these rules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue

from tradeloop.agent import AgentContext, PlannerReply, ShortTermMemory, StepRecord, ToolCall
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.strategy.candidates import research_candidates
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import TradeloopError
from tradeloop.tools.research import compact_document

DEFAULT_SYMBOL = "NIFTY"
DEFAULT_SEED = 7
DEFAULT_MAX_CANDIDATES = 8
BEST_LIMIT = 5


@dataclass(frozen=True)
class _Plan:
    run_id: str
    candidates: tuple[dict[str, JsonValue], ...]
    sources: str


class ResearchPlanner:
    """Proposes a research session's calls by rule (see the module docstring)."""

    def __init__(
        self,
        *,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if max_candidates < 1:
            raise ValueError("max_candidates must be at least 1")
        self._max_candidates = max_candidates
        self._clock = clock
        self._run_id: str | None = None
        self._seen: dict[int, StepRecord] = {}
        self._plan: _Plan | None = None

    @property
    def name(self) -> str:
        return "rules"

    def next_step(self, context: AgentContext, memory: ShortTermMemory) -> PlannerReply:
        started = self._clock()
        if context.run_id != self._run_id:  # one planner may serve several runs in turn
            self._run_id, self._seen, self._plan = context.run_id, {}, None
        for record in memory.records:
            self._seen.setdefault(record.index, record)
        history = [self._seen[index] for index in sorted(self._seen) if index < context.step_index]
        call = self._decide(context, history)
        raw_text = json.dumps({"tool": call.tool, "args": call.args}, ensure_ascii=False)
        return PlannerReply(raw_text=raw_text, call=call, seconds=self._clock() - started)

    # ------------------------------------------------------------------------------ rules

    def _decide(self, context: AgentContext, history: Sequence[StepRecord]) -> ToolCall:
        remaining = context.max_steps - context.step_index  # this step included
        try:
            symbol = index_instrument(str(context.context.get("symbol", DEFAULT_SYMBOL))).symbol
        except TradeloopError as exc:
            return _finish(f"Research not started: {exc}")
        if remaining <= 1:
            return self._finish(history, symbol)
        best = _step(history, "best_strategies")
        if best is None:
            return ToolCall(tool="best_strategies", args={"limit": BEST_LIMIT, "symbol": symbol})
        rows = _rows(best)
        if rows and _step(history, "strategy_details") is None and remaining > 3:
            return ToolCall(tool="strategy_details", args={"spec_id": rows[0]["spec_id"]})
        plan = self._plan_for(context, history, symbol, rows, remaining)
        for document in plan.candidates:
            validated = _step(history, "validate_strategy", document)
            if validated is None:
                if remaining < 3:  # no room left for its backtest and the finish
                    break
                return ToolCall(tool="validate_strategy", args={"spec": document})
            if not _ok(validated):
                continue
            tested = _step(history, "backtest_strategy", document)
            if tested is None:
                return ToolCall(tool="backtest_strategy", args={"spec": document})
            if _error_type(tested) == "NoCandles":
                break  # every other candidate would fail the same way
        return self._finish(history, symbol)

    def _plan_for(
        self,
        context: AgentContext,
        history: Sequence[StepRecord],
        symbol: str,
        rows: list[dict[str, Any]],
        remaining: int,
    ) -> _Plan:
        if self._plan is not None and self._plan.run_id == context.run_id:
            return self._plan
        base = _base_spec(_step(history, "strategy_details"))
        seed = context.context.get("seed", DEFAULT_SEED)
        count = max(1, min(self._max_candidates, (remaining - 1) // 2))
        specs = research_candidates(
            symbol,
            count,
            seed if isinstance(seed, int) else DEFAULT_SEED,
            base=base,
            exclude={str(row["spec_id"]) for row in rows},
        )
        sources = f"the templates and near {base.name}" if base else "the built-in templates"
        self._plan = _Plan(
            run_id=context.run_id,
            candidates=tuple(compact_document(spec) for spec in specs),
            sources=sources,
        )
        return self._plan

    def _finish(self, history: Sequence[StepRecord], symbol: str) -> ToolCall:
        tested = [
            record.result.data
            for record in history
            if record.call is not None
            and record.call.tool == "backtest_strategy"
            and _ok(record)
            and record.result is not None
            and isinstance(record.result.data, dict)
        ]
        if not tested:
            failures = [
                record.result.error.message
                for record in history
                if record.result is not None and record.result.error is not None
            ]
            why = f" Last error: {failures[-1]}" if failures else " The step budget ran out."
            return _finish(f"No strategy for {symbol} was backtested.{why}")
        ranked = sorted(tested, key=_rank_key)
        best = ranked[0]
        sources = self._plan.sources if self._plan is not None else "candidates"
        passed = sum(1 for item in tested if item.get("passed") is True)
        return _finish(
            f"Backtested {len(tested)} strategies on {symbol} from {sources} "
            f"(walk-forward, window {best.get('window')}, regime {best.get('regime')}); "
            f"{passed} passed the score gate. Best: {_describe(best)}",
            best_spec_id=str(best["spec_id"]),
        )


# --------------------------------------------------------------------------- reading steps


def _step(
    history: Sequence[StepRecord], tool: str, document: dict[str, JsonValue] | None = None
) -> StepRecord | None:
    """The step that proposed `tool` (with `document` as its spec, when given)."""
    for record in history:
        if record.call is None or record.call.tool != tool:
            continue
        if document is None or record.call.args.get("spec") == document:
            return record
    return None


def _ok(record: StepRecord) -> bool:
    return record.result is not None and record.result.status == "ok"


def _error_type(record: StepRecord) -> str | None:
    if record.result is not None and record.result.error is not None:
        return record.result.error.type
    return record.error_type


def _rows(record: StepRecord) -> list[dict[str, Any]]:
    data = record.result.data if record.result is not None and _ok(record) else None
    strategies = data.get("strategies") if isinstance(data, dict) else None
    if not isinstance(strategies, list):
        return []
    return [row for row in strategies if isinstance(row, dict) and "spec_id" in row]


def _base_spec(record: StepRecord | None) -> StrategySpec | None:
    if record is None or not _ok(record) or record.result is None:
        return None
    data = record.result.data
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
        return None
    try:
        return StrategySpec.from_document(data["spec"])
    except TradeloopError:
        return None  # a remembered spec the current rules refuse: research without it


def _rank_key(item: dict[str, Any]) -> tuple[float, float, str]:
    score = item.get("score")
    pnl = item.get("out_of_sample", {}).get("net_pnl")
    return (
        -(score if isinstance(score, int | float) else 0.0),
        -(pnl if isinstance(pnl, int | float) else 0.0),
        str(item.get("spec_id")),
    )


def _describe(item: dict[str, Any]) -> str:
    metrics = item.get("out_of_sample", {})
    gate = (
        "passes the score gate"
        if item.get("passed")
        else "below the score gate: " + "; ".join(item.get("reasons") or ["not passed"])
    )
    pnl = metrics.get("net_pnl")
    pnl_text = f"{pnl:,}" if isinstance(pnl, int | float) else str(pnl)
    return (
        f"{item.get('name')} ({item.get('spec_id')}), score {item.get('score')} ({gate}); "
        f"{metrics.get('trades')} out-of-sample trades, win rate {metrics.get('win_rate_pct')}%, "
        f"net P&L Rs {pnl_text}, max drawdown {metrics.get('max_drawdown_pct')}%."
    )


def _finish(summary: str, best_spec_id: str | None = None) -> ToolCall:
    args: dict[str, JsonValue] = {"summary": summary}
    if best_spec_id is not None:
        args["best_spec_id"] = best_spec_id
    return ToolCall(tool="finish", args=args)
