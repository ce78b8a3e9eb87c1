"""The research tools: what the agent may call to check, backtest and recall strategies (the
reference tools it reads first, indicators and the spec format, live in `reference`).

Each is a thin tool over a domain service or a store; descriptions are written for the model
that reads them, and results are compact JSON (no frames, capped lists). A spec the model writes
is validated by `StrategySpec` before anything runs; problems come back as an error result that
names each field and its fix, so the model can correct the spec.

None of these tools places, sizes or stops an order: the order path is not reachable from here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import Field, JsonValue

from tradeloop.agent import FunctionTool, ToolResult, tool
from tradeloop.agent.seen_values import from_results
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.strategy.spec import SPEC_ID_PATTERN, StrategySpec
from tradeloop.domain.strategy.summary import describe_spec
from tradeloop.errors import NotFoundError, SpecError
from tradeloop.tools.reference import (
    SpecDocument,
    list_indicators,
    strategy_schema,
    unknown_names,
)
from tradeloop.tools.results import evaluation_view, history_view, record_view
from tradeloop.tools.session import ResearchSession

BACKTEST_TIMEOUT_SECONDS = 600.0  # the first backtest of a process compiles the kernel


# ------------------------------------------------------------------------------- validate


@tool(timeout_seconds=None)
def validate_strategy(spec: SpecDocument) -> ToolResult:
    """Check a strategy spec without running it. Returns its id and a plain-words summary
    (read it: does it say what you meant?), or every problem with the field and the fix.

    A spec looks like this (write the goal's own indicators and numbers, not these):
    {"name": "nifty_supertrend_adx_15m", "symbol": "NIFTY", "timeframe": "15m", "direction":
    "long", "entry": {"all": [{"left": {"price": "close"}, "op": "crosses_above", "right":
    {"indicator": "supertrend"}}, {"left": {"indicator": "adx", "period": 14}, "op": ">",
    "right": 25}]}, "exit": {"stop_loss": {"kind": "atr", "multiple": 2}}}

    Args:
        spec: The strategy spec, a JSON object as `strategy_schema` describes.
    """
    parsed = _parse(spec)
    if isinstance(parsed, ToolResult):
        return parsed
    return ToolResult.ok(
        {
            "valid": True,
            "spec_id": parsed.id,
            "name": parsed.name,
            "symbol": parsed.symbol,
            "timeframe": parsed.timeframe,
            "direction": parsed.direction,
            "summary": describe_spec(parsed),
        }
    )


def _parse(spec: dict[str, Any]) -> StrategySpec | ToolResult:
    try:
        return StrategySpec.from_document(spec)
    except SpecError as exc:
        return spec_failure(exc)


def spec_failure(exc: SpecError) -> ToolResult:
    """An invalid spec as an error result the model can act on (retrying as is cannot help)."""
    return ToolResult.failure(
        "SpecError",
        f"{exc}\nFix these fields and send the spec again (strategy_schema shows the format).",
        retryable=False,
    )


# ------------------------------------------------------------------------------ backtest


def make_backtest_strategy(session: ResearchSession) -> FunctionTool:
    """The `backtest_strategy` tool on the session's candles, remembering into its memory."""
    default_folds = session.context.scoring.walk_forward_folds

    @tool(timeout_seconds=BACKTEST_TIMEOUT_SECONDS)
    def backtest_strategy(
        spec: SpecDocument,
        symbol: str | None = None,
        start: date | None = None,
        end: date | None = None,
        folds: Annotated[int, Field(ge=1, le=20)] = default_folds,
    ) -> ToolResult:
        """Walk a strategy forward on stored minute candles (never the lockbox: the last
        sessions, held out for the deployment gate) and score it on out-of-sample results
        only. Returns the score (0..1) and whether it passes the score gate (score >=
        `min_score`), with reasons when not; the out-of-sample trades, win rate, profit
        factor, net P&L in rupees after costs, drawdown and Sharpe; and each fold's test days
        and P&L. Every backtest is remembered in strategy memory.

        Args:
            spec: The strategy spec (a JSON object; see strategy_schema).
            symbol: Test on this index instead of the spec's own (NIFTY or BANKNIFTY); the
                spec then gets a new id.
            start: First day of the test window (YYYY-MM-DD, IST); omit for all stored data.
            end: Last day of the test window (YYYY-MM-DD, IST), inclusive.
            folds: Walk-forward folds: the window is cut into folds + 1 blocks of sessions and
                each block after the first is traded out of sample once.
        """
        parsed = _parse(spec)
        if isinstance(parsed, ToolResult):
            return parsed
        target = parsed if symbol is None else _retarget(parsed, symbol)
        if isinstance(target, ToolResult):
            return target
        if start is not None and end is not None and start > end:
            return ToolResult.failure(
                "InvalidWindow",
                f"start {start} is after end {end}: give start <= end, or omit either",
            )
        try:
            candles = session.minute_candles(target.symbol, start, end)
        except NotFoundError:  # nothing stored for the symbol: same remedy as an empty window
            candles = None
        if candles is None or candles.is_empty():
            return ToolResult.failure("NoCandles", _no_candles(session, target.symbol, start, end))
        try:
            evaluation = session.context.evaluate([target], candles, folds)[0]
        except SpecError as exc:
            return spec_failure(exc)
        except NotFoundError as exc:  # an option spec on an index with no stored IV
            return ToolResult.failure("NoImpliedVolatility", str(exc))
        session.remember(evaluation)
        return ToolResult.ok(evaluation_view(evaluation, session.context.scoring))

    return backtest_strategy


def _retarget(spec: StrategySpec, symbol: str) -> StrategySpec | ToolResult:
    try:
        name = index_instrument(symbol).symbol
    except NotFoundError as exc:
        return ToolResult.failure("NotFoundError", str(exc))
    if name == spec.symbol:
        return spec
    document = spec.model_dump(mode="json")
    document["symbol"] = name
    return _parse(document)


def _no_candles(session: ResearchSession, symbol: str, start: date | None, end: date | None) -> str:
    window = f" from {start or 'the first stored day'} to {end or 'the last stored day'}"
    stored = [
        f"{item.symbol} {item.first:%Y-%m-%d}..{item.last:%Y-%m-%d}"
        for item in session.context.candles.series()
        if item.interval == "1m"
    ]
    have = f" Stored 1m candles: {', '.join(stored)}." if stored else " No 1m candles are stored."
    return (
        f"no 1m candles of {symbol}{window}.{have} Pick a window inside the stored data, or "
        f"have the user run `tradeloop data synth --symbol {symbol}` (or import candles)."
    )


# -------------------------------------------------------------------------------- memory


def make_best_strategies(session: ResearchSession) -> FunctionTool:
    """The `best_strategies` tool on the session's strategy memory."""

    @tool(deterministic=False, keywords=("recall", "top"))
    def best_strategies(
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
        symbol: str | None = None,
        passed_only: bool = False,
    ) -> ToolResult:
        """The best strategies in strategy memory (each one's latest evaluation), best score
        first: name, spec id, score, whether it passed (a research run's lockbox gate: PSR
        and DSR against every strategy tried), the market regime of its test window,
        out-of-sample trades, win rate and net P&L. Start here to build on what worked;
        strategy_details gives a strategy's full spec.

        Args:
            limit: How many strategies, 1 to 20.
            symbol: Only strategies on this index (NIFTY or BANKNIFTY); omit for both.
            passed_only: Only strategies whose score passed (score >= min_score).
        """
        name = index_instrument(symbol).symbol if symbol is not None else None
        records = session.memory.best(limit, symbol=name, passed_only=passed_only)
        return ToolResult.ok(
            {
                "strategies": [record_view(record) for record in records],
                "min_score": session.context.scoring.min_score,
            }
        )

    return best_strategies


def make_strategy_details(session: ResearchSession) -> FunctionTool:
    """The `strategy_details` tool on the session's strategy memory."""

    @tool(deterministic=False)
    def strategy_details(
        spec_id: Annotated[
            str, Field(pattern=SPEC_ID_PATTERN, json_schema_extra=from_results("spec_id"))
        ],
    ) -> ToolResult:
        """A remembered strategy in full: its spec (a valid JSON document you can change and
        backtest again), a plain-words summary and its latest evaluations.

        Args:
            spec_id: The 16-hex-digit id from best_strategies or backtest_strategy.
        """
        history = session.memory.history(spec_id)
        if not history:
            known = [record.spec_id for record in session.memory.best(100)]
            raise NotFoundError(unknown_names([spec_id], known, noun="strategy id"))
        latest = max(history, key=lambda record: record.evaluated_at)
        spec = StrategySpec.from_json(latest.spec_json)
        return ToolResult.ok(
            {
                "spec_id": spec.id,
                "name": spec.name,
                "summary": describe_spec(spec),
                "spec": compact_document(spec),
                "evaluations": history_view(history),
            }
        )

    return strategy_details


def compact_document(spec: StrategySpec) -> dict[str, JsonValue]:
    """The spec's JSON document without the fields left at their defaults (same spec, same id),
    integral numbers written as integers (`"period": 14`, not `14.0`)."""
    document: dict[str, JsonValue] = _integral(spec.model_dump(mode="json", exclude_defaults=True))
    return document


def research_tools(session: ResearchSession) -> list[FunctionTool]:
    """Every research tool, on `session`'s stores."""
    return [
        list_indicators,
        strategy_schema,
        validate_strategy,
        make_backtest_strategy(session),
        make_best_strategies(session),
        make_strategy_details(session),
    ]


# ------------------------------------------------------------------------------- helpers


def _integral(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _integral(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_integral(item) for item in node]
    if isinstance(node, float) and node.is_integer():
        return int(node)
    return node
