"""The paper broker's matching rules, bracket legs, costs and restart from its book."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from support.contracts import fixed_contracts
from tradeloop.clock import ManualClock
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.fills import FillLeg
from tradeloop.domain.execution.orders import OrderIntent, OrderStatus, OrderType, Side
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.execution.paper_book import InMemoryPaperBook
from tradeloop.errors import NotFoundError

IntentFactory = Callable[..., OrderIntent]


def plain(make_intent: IntentFactory, **overrides: object) -> OrderIntent:
    return make_intent(stop_loss=None, target=None, **overrides)


def test_market_order_fills_on_the_next_tick_with_slippage_against_the_taker(
    book: InMemoryPaperBook, clock: ManualClock, make_intent: IntentFactory
) -> None:
    broker = PaperBroker(
        book, CostTable.bundled(), PaperConfig(slippage_bps=10.0), clock, fixed_contracts()
    )
    broker.on_price("13", 24_000.0, clock.now())
    placed = broker.place(plain(make_intent))
    assert placed.status is OrderStatus.OPEN  # it needs a tick to reach the market

    [fill] = broker.on_price("13", 24_010.0, clock.now())

    assert fill.price == pytest.approx(24_010.0 * 1.001)
    filled = broker.order_by_correlation_id(placed.correlation_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    broker.place(plain(make_intent, side=Side.SELL, sequence=1))
    [sold] = broker.on_price("13", 24_000.0, clock.now())
    assert sold.price == pytest.approx(24_000.0 * 0.999)


def test_last_price_mode_fills_a_market_order_at_once(
    book: InMemoryPaperBook, clock: ManualClock, make_intent: IntentFactory
) -> None:
    config = PaperConfig(slippage_bps=0.0, slippage_ticks=2, market_fill="last_price")
    broker = PaperBroker(book, CostTable.bundled(), config, clock, fixed_contracts())
    broker.on_price("13", 24_000.0, clock.now())

    placed = broker.place(plain(make_intent))

    assert placed.status is OrderStatus.FILLED and placed.average_price == pytest.approx(24_000.1)


def test_resting_limit_fills_at_its_price_when_the_path_crosses(
    paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    paper.on_price("13", 24_020.0, clock.now())
    paper.place(plain(make_intent, order_type=OrderType.LIMIT, price=24_000.0))
    assert paper.on_price("13", 24_010.0, clock.now()) == []

    [fill] = paper.on_price("13", 23_990.0, clock.now())

    assert fill.price == 24_000.0  # the price passed through the limit


def test_limit_that_is_marketable_on_arrival_fills_at_the_better_ltp(
    paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    paper.on_price("13", 23_950.0, clock.now())
    paper.place(plain(make_intent, order_type=OrderType.LIMIT, price=24_000.0))

    [fill] = paper.on_price("13", 23_960.0, clock.now())

    assert fill.price == 23_960.0


def test_first_tick_of_a_session_is_a_gap_for_resting_stops(
    paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    stop = plain(
        make_intent, side=Side.SELL, order_type=OrderType.STOP_LOSS_MARKET, trigger_price=23_900.0
    )
    paper.on_price("13", 23_950.0, clock.now() - timedelta(days=1))  # yesterday's last tick
    paper.place(stop)
    paper.on_price("13", 23_960.0, clock.now() - timedelta(days=1))

    [fill] = paper.on_price("13", 23_800.0, clock.now())  # today's first tick gaps down

    assert fill.price == 23_800.0  # worse than the trigger: nobody traded in between


def test_stop_limit_triggers_then_rests_as_a_limit(
    paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    paper.on_price("13", 23_950.0, clock.now())
    paper.place(
        plain(
            make_intent,
            side=Side.SELL,
            order_type=OrderType.STOP_LOSS,
            trigger_price=23_900.0,
            price=23_890.0,
        )
    )
    paper.on_price("13", 23_940.0, clock.now())
    assert paper.on_price("13", 23_880.0, clock.now()) == []  # triggered, below the limit

    [fill] = paper.on_price("13", 23_895.0, clock.now())

    assert fill.price == 23_890.0


def test_super_order_legs_start_after_the_entry_and_cancel_each_other(
    paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    placed = paper.place(make_intent())  # stop 23,900, target 24,200
    assert {leg.status for leg in paper.leg_orders(placed.order_id or "")} == {OrderStatus.PENDING}

    fills = paper.on_bar("13", 24_000.0, 24_250.0, 23_850.0, 24_100.0, clock.now())

    assert [(f.leg, f.price) for f in fills] == [
        (FillLeg.ENTRY, 24_000.0),
        (FillLeg.STOP_LOSS, 23_900.0),  # the bar touched both: the stop is taken first
    ]
    legs = {leg.leg: leg.status for leg in paper.leg_orders(placed.order_id or "")}
    assert legs == {FillLeg.STOP_LOSS: OrderStatus.FILLED, FillLeg.TARGET: OrderStatus.CANCELLED}
    assert [p.net_quantity for p in paper.positions()] == [0]


def test_an_entry_with_a_stop_and_no_target_rests_its_stop_alone(
    paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    assert paper.protects_without_target
    placed = paper.place(make_intent(target=None))  # stop 23,900
    order_id = placed.order_id or ""
    assert [(leg.leg, leg.status) for leg in paper.leg_orders(order_id)] == [
        (FillLeg.STOP_LOSS, OrderStatus.PENDING)
    ]

    fills = paper.on_bar("13", 24_000.0, 24_400.0, 23_950.0, 24_300.0, clock.now())
    assert [f.leg for f in fills] == [FillLeg.ENTRY]  # no target to take the run-up
    paper.modify_stop(order_id, 24_150.0)
    fills = paper.on_bar("13", 24_300.0, 24_320.0, 24_100.0, 24_120.0, clock.now())

    assert [(f.leg, f.price) for f in fills] == [(FillLeg.STOP_LOSS, 24_150.0)]
    assert [p.net_quantity for p in paper.positions()] == [0]


def test_trailing_jump_moves_the_stop_in_whole_jumps_and_never_back(
    paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    placed = paper.place(make_intent(trailing_jump=20.0))
    paper.on_price("13", 24_000.0, clock.now())  # entry fills

    paper.on_price("13", 24_045.0, clock.now())  # two jumps of 20 in favour
    assert paper.stop_of(placed.order_id or "") == 23_940.0
    paper.on_price("13", 24_010.0, clock.now())
    assert paper.stop_of(placed.order_id or "") == 23_940.0


def test_modify_and_cancel_a_filled_super_order_touch_only_its_legs(
    paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    placed = paper.place(make_intent())
    paper.on_price("13", 24_000.0, clock.now())
    order_id = placed.order_id or ""

    paper.modify_stop(order_id, 23_950.0)
    assert paper.stop_of(order_id) == 23_950.0
    cancelled = paper.cancel(order_id)

    assert cancelled.status is OrderStatus.FILLED
    assert {leg.status for leg in paper.leg_orders(order_id)} == {OrderStatus.CANCELLED}
    assert paper.on_price("13", 23_000.0, clock.now()) == []


def test_fills_carry_charges_from_the_cost_table(
    paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    paper.place(plain(make_intent))
    [fill] = paper.on_price("13", 24_000.0, clock.now())

    expected = CostTable.bundled().order_costs(paper.config.instrument_kind, True, 24_000.0, 65)
    assert fill.cost_total == pytest.approx(expected.total)
    assert fill.costs["brokerage"] == 20.0 and fill.costs["stamp_duty"] > 0


def test_a_new_broker_on_the_same_book_resumes_orders_and_positions(
    book: InMemoryPaperBook, paper: PaperBroker, clock: ManualClock, make_intent: IntentFactory
) -> None:
    placed = paper.place(make_intent())
    paper.on_price("13", 24_000.0, clock.now())

    restarted = PaperBroker(book, CostTable.bundled(), paper.config, clock, paper.contracts)

    assert restarted.order_by_correlation_id(
        placed.correlation_id
    ) == paper.order_by_correlation_id(placed.correlation_id)
    assert [(p.security_id, p.net_quantity) for p in restarted.positions()] == [("13", 65)]
    [exit_fill] = restarted.on_price("13", 24_250.0, clock.now())
    assert exit_fill.leg is FillLeg.TARGET and exit_fill.price == 24_250.0  # first tick: a gap
    assert restarted.funds().utilized == 0


def test_bad_price_and_unknown_order_are_refused_by_name(
    paper: PaperBroker, clock: ManualClock
) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        paper.on_price("13", float("nan"), clock.now())
    with pytest.raises(NotFoundError, match="PAPER-999999"):
        paper.cancel("PAPER-999999")
    assert paper.order_by_correlation_id("tl-nothing") is None
