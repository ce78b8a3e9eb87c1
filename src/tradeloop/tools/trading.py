"""The trading tools: what the agent may do on the order path, behind the risk manager.

The model names *what* (a deployment and a direction, a position, a tighter stop); the system
computes everything else and the risk manager decides (DESIGN invariant 1):

* `place_order(deployment_id, direction)`: the contract, the reference price (the last stored
  1m close), the stop and target (the deployed spec compiled on the stored candles, the last
  bar's levels: `compile_spec` + `decision_at`, as a trading day decides), and the quantity
  (`RiskManager.size`). The intent is risk-checked first, so a refusal writes nothing; an
  approved one goes through `PositionManager.open` (which writes the position, then the
  gateway checks it again and sends it).
* `exit_position(position_id)`: the position manager's exit path (reason MANUAL).
* `modify_stop(position_id, stop)`: only ever tighter, on the right side of the last price and
  on the tick; the position manager writes the new stop, then sends it (`tighten_stop`).
* `positions()`, `market_snapshot(symbol)`: compact views (trading_views.py, with the desk).

No argument carries a quantity, a price, a stop for an entry or a target; the argument schemas
refuse unknown keys. Refusals come back as error results with their reasons.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from tradeloop.agent import FunctionTool, ToolResult, tool
from tradeloop.domain.deploy import Deployment, unknown_deployment
from tradeloop.domain.execution.contract import is_on_tick, on_tick, tick_of
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.market.resample import resample
from tradeloop.domain.positions.day import entry_intent, exit_plan
from tradeloop.domain.positions.model import Position, PositionState
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.session_signals import Decision, decision_at
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import TradingRefusedError, UserError
from tradeloop.tools.trading_views import (
    LastPrice,
    TradingDesk,
    last_price,
    market_snapshot,
    position_view,
    positions,
    refused,
)

__all__ = [
    "LastPrice",
    "TradingDesk",
    "exit_position",
    "last_price",
    "market_snapshot",
    "modify_stop",
    "place_order",
    "position_view",
    "positions",
    "refused",
    "trading_tools",
]

DeploymentId = Annotated[str, Field(min_length=1, max_length=80)]
PositionId = Annotated[str, Field(min_length=1, max_length=40)]


# ------------------------------------------------------------------------------ place_order


def _deployment(desk: TradingDesk, deployment_id: str) -> Deployment | ToolResult:
    deployment = desk.deployments.get(deployment_id)
    if deployment is None:
        known = desk.deployments.deployments(include_retired=True)
        return refused(str(unknown_deployment(deployment_id, known)))
    if not deployment.active:
        return refused(
            f"deployment {deployment_id} is retired ({deployment.retire_reason}): only an "
            "active deployment may trade"
        )
    mode = desk.stack.mode.value
    if deployment.mode != mode:
        return refused(
            f"deployment {deployment_id} is a {deployment.mode} deployment and this trading "
            f"stack is in {mode} mode: it may only trade {mode} deployments"
        )
    return deployment


def _levels(desk: TradingDesk, spec: StrategySpec, now: datetime) -> Decision | ToolResult:
    """The spec's levels on the last bar of the stored candles closed by `now`."""
    day = to_ist(now).date()
    candles = desk.minutes(spec.symbol, desk.sessions_before(day, desk.warmup_sessions), now)
    if candles.is_empty():
        return refused(f"no stored 1m candles of {spec.symbol} before {to_ist(now):%Y-%m-%d %H:%M}")
    bars = candles if spec.timeframe == "1m" else resample(candles, spec.timeframe)
    decision = decision_at(compile_spec(spec, bars), bars, bars.height - 1, now)
    if not math.isfinite(decision.stop) or decision.risk <= 0:
        return refused(
            f"the stop of {spec.name!r} cannot be computed on the stored candles yet (its "
            "indicators are not warmed up)"
        )
    if decision.target is not None and not math.isfinite(decision.target):
        return refused(f"the target of {spec.name!r} cannot be computed on the stored candles yet")
    if decision.target is None and desk.stack.risk.require_target:
        return refused(
            f"{spec.name!r} has no take profit, and with {desk.stack.broker.name} every entry "
            "needs a target (a super order): it cannot be placed"
        )
    return decision


def place_order(
    desk: TradingDesk, deployment_id: str, direction: Literal["long", "short"]
) -> ToolResult:
    found = _deployment(desk, deployment_id)
    if isinstance(found, ToolResult):
        return found
    spec = StrategySpec.model_validate_json(found.spec_json)
    if direction != spec.direction:
        return refused(
            f"deployment {deployment_id} ({spec.name}) trades {spec.direction} only; "
            f"{direction} is not what it was deployed for"
        )
    if spec.instrument.kind == "option":
        return refused(f"{spec.name!r} buys options: the agent places index future entries only")
    now = desk.now()
    day = to_ist(now).date()
    manager = desk.stack.positions
    today = [p for p in manager.store.positions(day) if p.strategy_id == deployment_id]
    active = [p.position_id for p in today if not p.state.is_final]
    if active:
        return refused(
            f"deployment {deployment_id} already has position {active[0]} open: one position "
            "per deployment; exit it first"
        )
    price = last_price(desk, spec.symbol, now)
    if price is None or price.stale:
        return refused(
            f"no fresh price of {spec.symbol} (last {'none' if price is None else price.at}): "
            "new entries need a current price"
        )
    decision = _levels(desk, spec, now)
    if isinstance(decision, ToolResult):
        return decision
    contract = desk.contract_for(spec.symbol, day)
    risk = desk.stack.risk
    sizing = risk.size(risk.limits.capital, decision.reference, decision.stop, contract.lot_size)
    if not sizing.approved:
        return refused(sizing.reason)
    intent = on_tick(
        entry_intent(
            decision,
            contract,
            sizing.quantity,
            strategy_id=deployment_id,
            day=day,
            sequence=len(today) + 1,
            reason=f"agent: place_order {direction} for deployment {deployment_id}",
        ),
        desk.stack.gateway.contracts,
    )
    try:
        desk.stack.guard.require_can_send(desk.stack.broker)
    except TradingRefusedError as exc:
        return refused(str(exc))
    portfolio = manager.portfolio(now, {contract.security_id: decision.reference})
    verdict = risk.check(intent, portfolio, now)
    if not verdict.approved:
        return refused("; ".join(verdict.reasons))
    try:
        position = manager.open(intent, exit_plan(decision), portfolio)
    except TradingRefusedError as exc:
        return refused(str(exc))
    if position.state is PositionState.REJECTED:
        return refused(f"position {position.position_id} was rejected: {position.message}")
    return ToolResult.ok(
        {**position_view(position, decision.reference), "levels_from": f"{decision.bar_ts}"}
    )


# ---------------------------------------------------------------------- exits and stops


def _position(desk: TradingDesk, position_id: str) -> Position | ToolResult:
    position = desk.stack.positions.store.position(position_id)
    if position is None:
        open_ids = [p.position_id for p in desk.stack.positions.store.positions(active_only=True)]
        return refused(
            f"no position {position_id!r}; open positions: {', '.join(open_ids) or 'none'} "
            "(see `positions`)"
        )
    if position.state.is_final:
        return refused(f"position {position_id} is already {position.state}: nothing to do")
    return position


def exit_position(desk: TradingDesk, position_id: str) -> ToolResult:
    found = _position(desk, position_id)
    if isinstance(found, ToolResult):
        return found
    if found.state is PositionState.UNKNOWN:
        return refused(
            f"position {position_id}: its entry's outcome is unknown; it is reconciled with the "
            "broker before it can be closed"
        )
    try:
        closed = desk.stack.positions.close(position_id, ExitReason.MANUAL)
    except TradingRefusedError as exc:
        return refused(str(exc))
    return ToolResult.ok({"position_id": position_id, "state": closed.state.value})


def modify_stop(desk: TradingDesk, position_id: str, stop: float) -> ToolResult:
    """The stop must be on the tick and on the protective side of the last stored price; the
    position manager refuses the rest (not open, not tighter, beyond its last mark), writes the
    new stop and sends it (`PositionManager.tighten_stop`)."""
    found = _position(desk, position_id)
    if isinstance(found, ToolResult):
        return found
    side = "long" if found.direction > 0 else "short"
    tick = tick_of(found.entry_intent, desk.stack.gateway.contracts)
    if tick is not None and not is_on_tick(stop, tick):
        return refused(f"stop {stop:g} is not on the tick {tick:g} of {found.symbol}")
    underlying = found.symbol.split("-")[0]
    price = last_price(desk, underlying, desk.now())
    if price is None:
        return refused(f"no stored price of {underlying}: the stop cannot be checked")
    if found.direction * (price.price - stop) <= 0:
        relation = "below" if found.direction > 0 else "above"
        return refused(
            f"stop {stop:g} is not {relation} the last price {price.price:g}: a {side} stop "
            "must be on the protective side (use exit_position to close now)"
        )
    try:
        sent = desk.stack.positions.tighten_stop(position_id, stop)
    except UserError as exc:
        return refused(str(exc))
    return ToolResult.ok(
        {
            "position_id": position_id,
            "stop": sent.stop,
            "acknowledged": sent.broker_stop == sent.stop,
        }
    )


# ----------------------------------------------------------------------------- tools


def trading_tools(desk: TradingDesk) -> list[FunctionTool]:
    """The trading tools on `desk` (module docstring)."""

    @tool(name="place_order", idempotent=False, deterministic=False, keywords=("buy", "sell"))
    def place_order_tool(
        deployment_id: DeploymentId, direction: Literal["long", "short"]
    ) -> ToolResult:
        """Enter a trade for an ACTIVE deployed strategy. You choose only the deployment and the
        direction (its deployed direction); the system computes the quantity (risk sizing), the
        stop and the target (the strategy's exit rules) and the risk manager approves or
        refuses. A refusal comes back with its reasons: do not retry it unchanged.

        Args:
            deployment_id: The deployment's id (dep-<spec id>-<n>), as `tradeloop deployments
                ls` lists it.
            direction: "long" or "short": must be the deployed strategy's direction.
        """
        return place_order(desk, deployment_id, direction)

    @tool(name="exit_position", idempotent=False, deterministic=False, keywords=("close",))
    def exit_position_tool(position_id: PositionId) -> ToolResult:
        """Close an open position now at market (reason: manual), cancelling its stop and
        target orders.

        Args:
            position_id: The position's id, as `positions` lists it.
        """
        return exit_position(desk, position_id)

    @tool(name="modify_stop", idempotent=False, deterministic=False, keywords=("tighten",))
    def modify_stop_tool(
        position_id: PositionId, stop: Annotated[float, Field(gt=0)]
    ) -> ToolResult:
        """Move an open position's stop TIGHTER (long: higher, short: lower), still on the
        protective side of the last price and on the instrument's tick. A looser stop is
        refused.

        Args:
            position_id: The position's id, as `positions` lists it.
            stop: The new stop price.
        """
        return modify_stop(desk, position_id, stop)

    @tool(name="positions", deterministic=False, keywords=("open", "holdings", "pnl"))
    def positions_tool() -> ToolResult:
        """The open positions: id, deployment, side, state, quantity, entry, stop, target and
        unrealised P&L (rupees, after entry costs) at the last price."""
        return positions(desk)

    @tool(name="market_snapshot", deterministic=False, keywords=("price", "ltp", "regime"))
    def market_snapshot_tool(symbol: Annotated[str, Field(max_length=20)]) -> ToolResult:
        """An index's last price (the last stored 1m close and its time), day change in
        percent, trend/volatility regime, ATM implied volatility and whether the price is
        stale.

        Args:
            symbol: The index: NIFTY or BANKNIFTY.
        """
        return market_snapshot(desk, symbol)

    return [
        place_order_tool,
        exit_position_tool,
        modify_stop_tool,
        positions_tool,
        market_snapshot_tool,
    ]
