"""The agent's trading tools on a paper stack over a real SQLite ledger in the test's data dir:
synthetic NIFTY minutes in the candle store, deployments added through the store, a manual
clock inside the last stored session. The model names a deployment and a direction; the system
sizes, prices and stops, and every refusal before the position manager writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl
import pytest
from research_tool_helpers import EXAMPLE_SPEC, error_message, payload, run_tool

from tradeloop.agent import ToolRegistry
from tradeloop.app import stores
from tradeloop.app.agent_trading import trading_desk
from tradeloop.clock import ManualClock
from tradeloop.domain.deploy import Deployment
from tradeloop.domain.execution.contract import round_to_tick, tick_of
from tradeloop.domain.execution.fills import FillLeg
from tradeloop.domain.market.calendar import ist_datetime, to_ist
from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.positions.model import Position, PositionState
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.state import TradingState
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.session_signals import Decision, decision_at
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import ModelError
from tradeloop.settings import Settings, load_settings
from tradeloop.storage.deployments import SqlDeploymentStore
from tradeloop.storage.memory import StrategyRecord
from tradeloop.tools import trading_registry
from tradeloop.tools.trading import TradingDesk

DEPLOYED_AT = datetime(2025, 1, 1, 13, 45, tzinfo=UTC)
AT = time(11, 0)  # on a 5m bar's close: the last bar of the levels is complete


@pytest.fixture(scope="module")
def market() -> pl.DataFrame:
    return generate_market("NIFTY", days=30).candles


def last_day(candles: pl.DataFrame) -> date:
    return to_ist(candles["ts"][-1]).date()


def spec_of(**exit_changes: Any) -> StrategySpec:
    document = json.loads(json.dumps(EXAMPLE_SPEC))
    document["exit"]["take_profit"] = {"kind": "r_multiple", "r": 2.0}
    document["exit"].update(exit_changes)
    return StrategySpec.model_validate(document)


def deploy(store: SqlDeploymentStore, spec: StrategySpec) -> Deployment:
    record = StrategyRecord(
        run_id="run-1",
        evaluated_at=DEPLOYED_AT,
        spec_id=spec.id,
        name=spec.name,
        symbol=spec.symbol,
        timeframe=spec.timeframe,
        regime="ranging/normal-vol",
        window_start=DEPLOYED_AT - timedelta(days=300),
        window_end=DEPLOYED_AT,
        score=0.8,
        passed=True,
        spec_json=spec.canonical_json(),
        gate={"psr": 0.99, "dsr": 0.97},
    )
    return store.add(record, run_id="run-1", mode="paper", at=DEPLOYED_AT)


class Desk:
    """The desk under test, its registry and clock, and one deployment of `spec_of()`."""

    def __init__(self, settings: Settings, day: date, at: time = AT) -> None:
        self.settings = settings
        self.day = day
        self.clock = ManualClock(ist_datetime(day, at))
        self.ledger = stores.ledger(settings)
        self.store = stores.deployment_store(settings)
        self.desk: TradingDesk = trading_desk(
            settings, clock=self.clock, ledger=self.ledger, deployments=self.store
        )
        self.registry: ToolRegistry = trading_registry(self.desk)
        self.spec = spec_of()
        self.deployment = deploy(self.store, self.spec)

    def call(self, name: str, **args: Any) -> Any:
        return run_tool(self.registry, name, **args)

    def place(self, deployment_id: str | None = None, direction: str = "long") -> Any:
        return self.call(
            "place_order", deployment_id=deployment_id or self.deployment.id, direction=direction
        )

    def nothing_written(self) -> None:
        assert self.ledger.orders() == []
        assert self.ledger.positions() == []
        assert self.ledger.refusals() == []

    def levels(self, spec: StrategySpec) -> Decision:
        """The spec's levels computed here as a trading day computes them, for comparison."""
        now = self.clock.now()
        calendar = stores.calendar(self.settings)
        first = self.day
        for _ in range(20):
            first = calendar.previous_trading_day(first)
        candles = (
            stores.candle_store(self.settings)
            .load("NIFTY", "1m", ist_datetime(first, time(0, 0)), now)
            .filter(pl.col("ts") <= now - timedelta(minutes=1))
        )
        bars = resample(candles, spec.timeframe)
        return decision_at(compile_spec(spec, bars), bars, bars.height - 1, now)

    def minute(self, at: datetime) -> dict[str, Any]:
        frame = stores.candle_store(self.settings).load(
            "NIFTY", "1m", at, at + timedelta(minutes=1)
        )
        row: dict[str, Any] = frame.row(0, named=True)
        return row

    def fill_next_minute(self, position: Position) -> Position:
        """Match the paper broker on the minute after the clock and apply the fills."""
        opened = self.clock.now()
        row = self.minute(opened)
        self.desk.stack.broker.on_bar(  # type: ignore[attr-defined]
            position.security_id, row["open"], row["high"], row["low"], row["close"], opened
        )
        self.clock.set(opened + timedelta(minutes=1))
        self.desk.stack.positions.sync()
        found = self.ledger.position(position.position_id)
        assert found is not None
        return found

    def close(self) -> None:
        self.store.close()
        self.ledger.close()


def settings_with(**limits: Any) -> Settings:
    settings = load_settings()
    return settings.model_copy(update={"risk": RiskLimits(**limits)})


@pytest.fixture
def make_desk(market: pl.DataFrame) -> Iterator[Any]:
    opened: list[Desk] = []

    def make(at: time = AT, **limits: Any) -> Desk:
        settings = settings_with(**limits)
        stores.candle_store(settings).write(market)
        desk = Desk(settings, last_day(market), at)
        opened.append(desk)
        return desk

    yield make
    for desk in opened:
        desk.close()


@pytest.fixture
def desk(make_desk: Any) -> Desk:
    desk: Desk = make_desk()
    return desk


# ------------------------------------------------------------------------------ place_order


def test_place_order_opens_a_position_the_system_sized_priced_and_stopped(desk: Desk) -> None:
    result = payload(desk.place())

    decision = desk.levels(desk.spec)
    risk = desk.desk.stack.risk
    lot = desk.desk.contract_for("NIFTY", desk.day).lot_size
    sized = risk.size(risk.limits.capital, decision.reference, decision.stop, lot)
    [position] = desk.ledger.positions()
    assert result["position_id"] == position.position_id
    assert position.strategy_id == desk.deployment.id
    assert position.direction == 1 and position.symbol == "NIFTY-FUT"
    assert position.quantity == sized.quantity > 0
    assert position.entry_intent.reference_price == pytest.approx(decision.reference)
    assert decision.target is not None
    tick = 0.05
    assert abs(position.initial_stop - decision.stop) <= tick  # type: ignore[operator]
    assert abs(position.target - decision.target) <= tick  # type: ignore[operator]
    assert position.stop < decision.reference < position.target  # type: ignore[operator]
    [order] = desk.ledger.orders()
    assert order.intent_id == position.position_id


def test_place_order_schema_has_no_quantity_price_stop_or_target(desk: Desk) -> None:
    variants = desk.registry.call_schema()["anyOf"]
    [place] = [v for v in variants if v["properties"]["tool"]["const"] == "place_order"]
    assert set(place["properties"]["args"]["properties"]) == {"deployment_id", "direction"}
    assert place["properties"]["args"]["additionalProperties"] is False
    for extra in ("quantity", "price", "stop", "target", "stop_loss"):
        with pytest.raises(ModelError, match="Extra inputs are not permitted"):
            desk.registry.resolve(
                {
                    "tool": "place_order",
                    "args": {"deployment_id": desk.deployment.id, "direction": "long", extra: 1},
                }
            )
    desk.nothing_written()


def test_place_order_refuses_a_second_entry_while_the_deployment_holds_one(desk: Desk) -> None:
    payload(desk.place())
    message = error_message(desk.place())
    assert "already has position" in message
    assert len(desk.ledger.orders()) == 1


# ----------------------------------------------------------------------------- safety


def _kill_switch(desk: Desk) -> None:
    desk.ledger.set_kill_switch(True, "operator stop", desk.clock.now())


def _halted(desk: Desk) -> None:
    desk.ledger.set_day_state(desk.day, TradingState.HALTED, "daily loss reached", desk.clock.now())


SAFETY_CASES: list[tuple[str, dict[str, Any], Any, time, str]] = [
    ("kill switch", {}, _kill_switch, AT, "kill switch is on"),
    (
        "entry window",
        {"entry_window_start": time(13, 0), "entry_window_end": time(14, 0)},
        None,
        AT,
        "outside the entry window",
    ),
    ("zero lots", {"capital": 10_000.0}, None, AT, "lot"),
    ("daily loss halted", {}, _halted, AT, "HALTED"),
    ("reward:risk", {"min_reward_risk": 5.0}, None, AT, "reward:risk 2.0"),
    ("market closed", {}, None, time(16, 0), "market is closed"),
]


@pytest.mark.parametrize(
    ("rule", "limits", "provoke", "at", "reason"),
    SAFETY_CASES,
    ids=[case[0] for case in SAFETY_CASES],
)
def test_place_order_breaking_a_risk_rule_is_refused_and_writes_nothing(
    make_desk: Any, rule: str, limits: dict[str, Any], provoke: Any, at: time, reason: str
) -> None:
    desk: Desk = make_desk(at, **limits)
    if provoke is not None:
        provoke(desk)
    message = error_message(desk.place())
    assert reason in message, (rule, message)
    desk.nothing_written()


def test_place_order_above_max_open_positions_is_refused_and_writes_nothing_new(
    make_desk: Any,
) -> None:
    desk: Desk = make_desk(max_open_positions=1)
    other = deploy(desk.store, spec_of(max_bars_held=30))
    payload(desk.place(other.id))
    message = error_message(desk.place())
    assert "1 other positions are open or pending; the limit is 1" in message
    assert len(desk.ledger.orders()) == 1 and len(desk.ledger.positions()) == 1
    assert desk.ledger.refusals() == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("wrong direction", "trades long only"),
        ("retired", "is retired"),
        ("unknown", "no deployment 'dep-nope-1'"),
        ("live deployment", "is a live deployment and this trading stack is in paper mode"),
    ],
)
def test_place_order_for_a_deployment_it_may_not_trade_is_refused(
    desk: Desk, change: str, reason: str
) -> None:
    deployment_id, direction = desk.deployment.id, "long"
    if change == "wrong direction":
        direction = "short"
    elif change == "retired":
        desk.store.retire(deployment_id, "stopped passing", DEPLOYED_AT)
    elif change == "unknown":
        deployment_id = "dep-nope-1"
    else:
        desk.store.promote(deployment_id, DEPLOYED_AT)
    message = error_message(desk.place(deployment_id, direction))
    assert reason in message
    desk.nothing_written()


# ---------------------------------------------------------------------- exits and stops


def _open_position(desk: Desk) -> Position:
    position_id = payload(desk.place())["position_id"]
    position = desk.ledger.position(position_id)
    assert position is not None
    opened = desk.fill_next_minute(position)
    assert opened.state is PositionState.OPEN
    return opened


def test_modify_stop_tighter_is_written_and_sent_looser_is_refused(desk: Desk) -> None:
    position = _open_position(desk)
    assert position.stop is not None
    tick = tick_of(position.entry_intent, desk.desk.stack.gateway.contracts) or 0.05
    last = desk.minute(desk.clock.now() - timedelta(minutes=1))["close"]

    looser = round_to_tick(position.stop - 10 * tick, tick, -1)
    assert "not tighter" in error_message(
        desk.call("modify_stop", position_id=position.position_id, stop=looser)
    )
    beyond = round_to_tick(last + 10 * tick, tick, 1)
    assert "protective side" in error_message(
        desk.call("modify_stop", position_id=position.position_id, stop=beyond)
    )
    off_tick = position.stop + tick / 2
    assert "not on the tick" in error_message(
        desk.call("modify_stop", position_id=position.position_id, stop=off_tick)
    )

    tighter = round_to_tick((position.stop + last) / 2, tick, -1)
    result = payload(desk.call("modify_stop", position_id=position.position_id, stop=tighter))
    assert result == {"position_id": position.position_id, "stop": tighter, "acknowledged": True}
    moved = desk.ledger.position(position.position_id)
    assert moved is not None and moved.stop == moved.broker_stop == tighter
    [stop_leg] = [o for o in desk.ledger.paper_orders() if o.leg is FillLeg.STOP_LOSS]
    assert stop_leg.trigger_price == tighter
    events = desk.ledger.events(position.position_id)
    assert [event.kind for event in events[-2:]] == ["stop_moved", "stop_acknowledged"]
    assert events[-2].detail["rule"] == "manual"


def test_exit_position_closes_through_the_position_manager(desk: Desk) -> None:
    position = _open_position(desk)
    result = payload(desk.call("exit_position", position_id=position.position_id))
    assert result["position_id"] == position.position_id
    closing = desk.ledger.position(position.position_id)
    assert closing is not None
    if closing.state is not PositionState.CLOSED:
        closing = desk.fill_next_minute(closing)
    assert closing.state is PositionState.CLOSED
    assert closing.exit_reason is not None and closing.exit_reason.value == "manual"
    assert "already CLOSED" in error_message(
        desk.call("exit_position", position_id=position.position_id)
    )
    assert "no position 'tl-nope'" in error_message(
        desk.call("exit_position", position_id="tl-nope")
    )


# ----------------------------------------------------------------------------- views


def test_positions_lists_the_open_position_with_its_unrealised_pnl(desk: Desk) -> None:
    assert payload(desk.call("positions")) == {"positions": []}
    position = _open_position(desk)
    [row] = payload(desk.call("positions"))["positions"]
    last = desk.minute(desk.clock.now() - timedelta(minutes=1))["close"]
    assert position.entry_price is not None
    expected = position.quantity * (last - position.entry_price) - position.entry_costs
    assert row == {
        "position_id": position.position_id,
        "deployment": desk.deployment.id,
        "side": "long",
        "state": "OPEN",
        "quantity": position.quantity,
        "entry": position.entry_price,
        "stop": position.stop,
        "target": position.target,
        "unrealised_pnl": pytest.approx(expected, abs=0.01),
    }


def test_market_snapshot_reports_the_last_stored_price_day_change_regime_and_staleness(
    desk: Desk, market: pl.DataFrame
) -> None:
    iv = pl.DataFrame({"symbol": ["NIFTY"], "day": [desk.day], "iv": [0.14]})
    stores.volatility_store(desk.settings).write(iv)
    snapshot = payload(desk.call("market_snapshot", symbol="nifty"))
    now = desk.clock.now()
    last = desk.minute(now - timedelta(minutes=1))
    previous_close = market.filter(pl.col("ts") < ist_datetime(desk.day, time(0, 0)))["close"][-1]
    assert snapshot["ltp"] == last["close"]
    assert snapshot["at"] == f"{desk.day} 11:00 IST"
    assert snapshot["day_change_pct"] == round((last["close"] / previous_close - 1) * 100, 2)
    assert snapshot["regime"] != "unknown" and "/" in snapshot["regime"]
    assert snapshot["atm_iv"] == 0.14
    assert snapshot["stale"] is False
    assert len(json.dumps(snapshot)) < 250

    desk.clock.set(ist_datetime(desk.day + timedelta(days=1), time(10, 0)))
    later = payload(desk.call("market_snapshot", symbol="NIFTY"))
    if stores.calendar(desk.settings).is_trading_day(desk.day + timedelta(days=1)):
        assert later["stale"] is True
    assert "unknown index" in error_message(desk.call("market_snapshot", symbol="NIFTYX"))
