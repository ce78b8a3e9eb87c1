"""Acceptance of issue 11: a paper trading day under random fault sequences ends clean.

Faults are injected by subclassing the real paper broker, per call and in the order drawn:
creates refused before they left (a 429 or a local refusal), lost before the broker accepted
them (a timeout, a 500), accepted with the answer lost (a timeout, a dropped connection, a
lookup that lags behind the book for 30 s), and the process killed just before or just after
the broker acted; lookups that fail (a 503); stop moves and cancels that fail or after which
the process dies. A killed process is replaced by a new one on the same ledger and paper book,
which reconciles on start, as the session does after a restart.

Whatever the sequence, after the day's square-off and the reconcile after the close:

* every intent was placed exactly once (one order at the broker, which the journal knows) or
  refused with a reason (by the risk check, or journalled as never reaching the broker);
* no position is left in a non-final state, and the ledger agrees with the broker (flat).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from support.contracts import fixed_contracts
from tradeloop.app.trading import live_mode_report
from tradeloop.clock import ManualClock
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.execution.journal import InMemoryOrderJournal
from tradeloop.domain.execution.mode import ModeGuard
from tradeloop.domain.execution.orders import BrokerOrder, OrderIntent, OrderStatus, Side
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.execution.paper_book import InMemoryPaperBook
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime, to_ist
from tradeloop.domain.market.session import SQUARE_OFF
from tradeloop.domain.positions.manager import PositionManager
from tradeloop.domain.positions.model import ExitPlan
from tradeloop.domain.positions.reconcile import ReconciliationReport
from tradeloop.domain.positions.replay import Bar
from tradeloop.domain.positions.store import InMemoryPositionStore
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.domain.risk.state import InMemoryTradingControls
from tradeloop.errors import NotSentError, OrderStateUnknownError, TransientError
from tradeloop.settings import load_settings

DAY = date(2026, 1, 6)
SECURITY = "13"
COSTS = CostTable.bundled()
CALENDAR = NSECalendar.default()
GUARD = ModeGuard(live_mode_report(load_settings()))
ENTRY_TIMES = (time(9, 30), time(10, 30), time(11, 30), time(12, 30), time(13, 30), time(14, 30))
LOOKUP_LAG = timedelta(seconds=30)

PLACE_FAULTS = (
    "ok",
    "refused_before",
    "lost_before",
    "lost_after",
    "dropped_after",
    "lagging",
    "killed_before",
    "killed_after",
)


class ProcessKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs in this process."""


@dataclass
class Faults:
    """The faults still to come, per kind of broker call (then every call succeeds)."""

    place: list[str]
    lookup: list[str]
    modify: list[str]
    cancel: list[str]
    hidden_until: dict[str, datetime] = field(default_factory=dict)
    """Orders the broker's lookup does not show yet (its book lags)."""

    def next(self, kind: str) -> str:
        pending: list[str] = getattr(self, kind)
        return pending.pop(0) if pending else "ok"


class FaultyPaper(PaperBroker):
    faults: Faults

    def place(self, intent: OrderIntent) -> BrokerOrder:
        fault = self.faults.next("place")
        if fault == "refused_before":
            raise NotSentError("HTTP 429 from the rate limiter: nothing was placed")
        if fault == "lost_before":
            return BrokerOrder.unknown(intent, "read timed out before the broker accepted it")
        if fault == "killed_before":
            raise ProcessKilled
        order = super().place(intent)
        if fault == "lost_after":
            return BrokerOrder.unknown(intent, "read timed out")
        if fault == "dropped_after":
            raise ConnectionResetError("connection reset by peer")
        if fault == "lagging":
            self.faults.hidden_until[intent.id] = self._clock.now() + LOOKUP_LAG
            return BrokerOrder.unknown(intent, "HTTP 500 after the order was created")
        if fault == "killed_after":
            raise ProcessKilled
        return order

    def order_by_correlation_id(self, correlation_id: str) -> BrokerOrder | None:
        if self.faults.next("lookup") == "transient":
            raise TransientError("HTTP 503 from the order book")
        hidden = self.faults.hidden_until.get(correlation_id)
        if hidden is not None and self._clock.now() < hidden:
            return None
        return super().order_by_correlation_id(correlation_id)

    def modify_stop(self, order_id: str, trigger_price: float) -> BrokerOrder:
        fault = self.faults.next("modify")
        if fault == "transient":
            raise TransientError("connection dropped: the stop has NOT moved")
        answer = super().modify_stop(order_id, trigger_price)
        if fault == "killed_after":
            raise ProcessKilled
        return answer

    def cancel(self, order_id: str) -> BrokerOrder:
        fault = self.faults.next("cancel")
        if fault == "transient":
            raise TransientError("connection dropped: nothing was cancelled")
        answer = super().cancel(order_id)
        if fault == "killed_after":
            raise ProcessKilled
        return answer


def day_bars() -> list[Bar]:
    """5-minute bars to 15:10, then 1-minute bars to the close (the square-off gets 15 passes)."""
    rng = random.Random(11)
    bars: list[Bar] = []
    close = 24_000.0
    start = ist_datetime(DAY, time(9, 15))
    square_off_run = ist_datetime(DAY, time(15, 10))
    while start < ist_datetime(DAY, time(15, 30)):
        minutes = 5 if start < square_off_run else 1
        open_ = _tick(close + rng.gauss(0, 4))
        close = _tick(open_ + rng.gauss(0, 18 * (minutes / 5) ** 0.5))
        high = _tick(max(open_, close) + abs(rng.gauss(0, 6)))
        low = _tick(min(open_, close) - abs(rng.gauss(0, 6)))
        bars.append(Bar(security_id=SECURITY, ts=start, open=open_, high=high, low=low,
                        close=close, minutes=minutes))  # fmt: skip
        start += timedelta(minutes=minutes)
    return bars


def _tick(price: float) -> float:
    return round(round(price / 0.05) * 0.05, 2)


BARS = day_bars()


def entries_at(bar: Bar) -> list[tuple[OrderIntent, ExitPlan]]:
    local = to_ist(bar.close_time).time()
    if local not in ENTRY_TIMES:
        return []
    number = ENTRY_TIMES.index(local)
    side = Side.BUY if number % 2 == 0 else Side.SELL
    intent = OrderIntent(
        strategy_id="faults",
        symbol="NIFTY-FUT",
        security_id=SECURITY,
        side=side,
        quantity=65,
        lot_size=65,
        stop_loss=bar.close - side.sign * 40.0,
        target=bar.close + side.sign * 100.0,
        reference_price=bar.close,
        trading_day=DAY,
        reason=f"scheduled {local:%H:%M}",
    )
    return [(intent, ExitPlan(trail_offset=30.0, break_even_r=1.0))]


@dataclass
class World:
    """What outlives a process: the ledger (journal, positions, controls), the paper book, the
    broker's faults and the clock."""

    faults: Faults
    clock: ManualClock = field(default_factory=lambda: ManualClock(BARS[0].ts))
    journal: InMemoryOrderJournal = field(default_factory=InMemoryOrderJournal)
    store: InMemoryPositionStore = field(default_factory=InMemoryPositionStore)
    controls: InMemoryTradingControls = field(default_factory=InMemoryTradingControls)
    book: InMemoryPaperBook = field(default_factory=InMemoryPaperBook)
    restarts: int = 0

    def process(self) -> tuple[FaultyPaper, PositionManager]:
        """A fresh process on the same ledger and book."""
        broker = FaultyPaper(
            self.book, COSTS, PaperConfig(slippage_bps=0.0), self.clock, fixed_contracts()
        )
        broker.faults = self.faults
        risk = RiskManager(
            RiskLimits(capital=5_000_000.0), CALENDAR, self.controls, fixed_contracts()
        )
        gateway = OrderGateway(broker, self.journal, risk, GUARD, self.clock)
        manager = PositionManager(
            gateway,
            self.store,
            self.controls,
            self.clock,
            square_off_time=SQUARE_OFF,
            default_plan=ExitPlan(),
        )
        return broker, manager


def run_day(world: World) -> tuple[PositionManager, ReconciliationReport]:
    """The day, bar by bar, as `PaperReplay` runs it; a killed process is replaced and
    reconciles on start; an entry whose task failed transiently is retried (same intent)."""
    broker, manager = world.process()
    started, retries = False, []
    for bar in BARS:
        fed = False
        for _ in range(3):  # a process killed mid-bar is replaced and goes on with the bar
            try:
                world.clock.set(bar.ts)
                if not started:
                    manager.start(strict=False)
                    started = True
                manager.on_time(bar.ts)
                if not fed:
                    broker.on_bar(bar.security_id, bar.open, bar.high, bar.low, bar.close, bar.ts)
                    fed = True
                manager.sync()
                world.clock.set(bar.close_time)
                manager.on_bar_close(bar.security_id, bar.close)
                opens, retries = retries + entries_at(bar), []
                for intent, plan in opens:
                    try:
                        manager.open(intent, plan)
                    except OrderStateUnknownError:
                        pass  # UNKNOWN: the manager's passes settle it
                    except TransientError:
                        retries.append((intent, plan))  # a Prefect task retry
                break
            except ProcessKilled:
                world.restarts += 1
                broker, manager = world.process()
                started = False
            except TransientError:
                break  # this bar's task failed; the next bar goes on
    world.clock.set(ist_datetime(DAY, time(15, 35)))
    for _ in range(10):  # the reconcile after the close, retried until it completes
        try:
            return manager, manager.start(strict=False)
        except ProcessKilled:
            world.restarts += 1
            broker, manager = world.process()
        except TransientError:
            pass
    raise AssertionError("the reconcile after the close never completed")


def assert_day_ended_clean(world: World, manager: PositionManager, report: ReconciliationReport):
    book = world.book.paper_orders()
    at_broker: dict[str, list[str]] = {}
    for order in book:
        if order.parent_id is None:
            at_broker.setdefault(order.correlation_id, []).append(order.order_id)
    refused = {refusal.intent.id: refusal for refusal in world.journal.refusals}
    intents = {record.intent_id for record in world.journal.orders()} | set(refused)
    intents |= {position.position_id for position in world.store.positions()}
    assert set(at_broker) <= intents, "the broker holds an order the ledger does not know"
    for intent_id in intents:
        record = world.journal.get(intent_id)
        placed = at_broker.get(intent_id, [])
        assert len(placed) <= 1, f"{intent_id} was placed {len(placed)} times"
        if placed:
            assert record is not None and record.broker_order_id == placed[0], intent_id
            assert not record.status.is_unsettled, (intent_id, record.status)
        elif record is not None:
            assert record.status in (OrderStatus.NOT_SENT, OrderStatus.REJECTED), record
            assert record.message, f"{intent_id} ended {record.status} without a reason"
        elif intent_id in refused:
            assert refused[intent_id].reasons
        else:  # written as a position, never journalled: the restart rejected it, not late
            position = world.store.position(intent_id)
            assert position is not None and position.message, intent_id
    for position in world.store.positions():
        assert position.state.is_final, (position.position_id, position.state, position.message)
    assert all(p.net_quantity == 0 for p in manager.gateway.broker.positions())
    assert report.ok, report.describe()


fault_lists = {
    "place": st.lists(st.sampled_from(PLACE_FAULTS), max_size=14),
    "lookup": st.lists(st.sampled_from(["ok", "ok", "transient"]), max_size=6),
    "modify": st.lists(st.sampled_from(["ok", "transient", "killed_after"]), max_size=6),
    "cancel": st.lists(st.sampled_from(["ok", "transient", "killed_after"]), max_size=4),
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**fault_lists)
def test_every_intent_ends_placed_once_or_refused_and_no_position_stays_open(
    place: list[str], lookup: list[str], modify: list[str], cancel: list[str]
) -> None:
    world = World(Faults(place=place, lookup=lookup, modify=modify, cancel=cancel))

    manager, report = run_day(world)

    assert_day_ended_clean(world, manager, report)
    event(f"process restarts: {min(world.restarts, 2)}+")
    statuses = {record.status.value for record in world.journal.orders()}
    event(f"never reached the broker: {OrderStatus.NOT_SENT.value in statuses}")


def test_a_day_without_faults_trades_every_scheduled_entry() -> None:
    world = World(Faults(place=[], lookup=[], modify=[], cancel=[]))

    manager, report = run_day(world)

    assert_day_ended_clean(world, manager, report)
    assert len(manager.store.trades(DAY)) == len(ENTRY_TIMES)
