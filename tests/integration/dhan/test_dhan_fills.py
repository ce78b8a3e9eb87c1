"""`DhanBroker.fills()`: Dhan's trade book through the real dhanhq SDK and the loopback server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time

import pytest
from pydantic import SecretStr

from support.dhan_payloads import error_body
from support.dhan_server import (
    TEST_ACCESS_TOKEN,
    TEST_CLIENT_ID,
    DhanLoopbackServer,
    Instrument,
)
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.adapters.ratelimit import InMemoryRateLimiter
from tradeloop.domain.costs import CostTable, InstrumentKind
from tradeloop.domain.execution.fills import FillLeg, SupportsFills
from tradeloop.domain.execution.orders import OrderIntent, OrderType, Side
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.errors import ConfigError, OperationalError, TransientError

DAY = date(2026, 3, 2)
SECURITY_ID = "52175"  # the make_intent fixture's default
IntentFactory = Callable[..., OrderIntent]
TRADES = r"/trades/?"


def ist(hour: int, minute: int, second: int = 0) -> datetime:
    return ist_datetime(DAY, time(hour, minute, second))


def option_costs(side: Side, price: float, quantity: int) -> dict[str, float]:
    breakdown = CostTable.bundled().order_costs(
        InstrumentKind.OPTIONS, side is Side.BUY, price, quantity
    )
    return {name: value for name, value in breakdown.as_dict().items() if name != "total"}


@pytest.fixture(params=[False, True], ids=["legs-share-the-entry-id", "legs-have-own-ids"])
def leg_server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DhanLoopbackServer]:
    """The loopback server in both ways a super order's legs may carry order ids."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with DhanLoopbackServer(distinct_leg_ids=request.param) as server:
        server.instruments[SECURITY_ID] = Instrument("NIFTY-Mar2026-24000-CE", "CALL", 24000.0)
        yield server


class FakeTime:
    """Time that moves only when the rate limiter waits: the tests never sleep."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def leg_broker(leg_server: DhanLoopbackServer) -> DhanBroker:
    clock = FakeTime()
    return DhanBroker(
        TEST_CLIENT_ID,
        SecretStr(TEST_ACCESS_TOKEN),
        cost_table=CostTable.bundled(),
        base_url=leg_server.base_url,
        rate_limiter=InMemoryRateLimiter(clock=clock, sleep=clock.sleep),
    )


def placed_id(broker: DhanBroker, intent: OrderIntent) -> str:
    order = broker.place(intent)
    assert order.order_id is not None, order.message
    return order.order_id


def test_dhan_broker_reports_fills(broker: DhanBroker) -> None:
    assert isinstance(broker, SupportsFills)


def test_entry_fill_maps_id_side_price_quantity_utc_time_correlation_id_and_costs(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    dhan_server.instruments[SECURITY_ID] = Instrument("NIFTY-Mar2026-24000-CE", "CALL", 24000.0)
    intent = make_intent()
    order_id = placed_id(broker, intent)
    dhan_server.fill(order_id, price=121.5, at=ist(9, 31, 7))

    [fill] = broker.fills()

    trade = dhan_server.trades[0]
    assert fill.fill_id == f"dhan:NSE_FNO:20260302:{trade.trade_id}"
    assert (fill.order_id, fill.correlation_id, fill.leg) == (order_id, intent.id, FillLeg.ENTRY)
    assert (fill.security_id, fill.side, fill.quantity, fill.price) == (
        SECURITY_ID,
        Side.BUY,
        130,
        121.5,
    )
    assert fill.ts == datetime(2026, 3, 2, 4, 1, 7, tzinfo=UTC)  # 09:31:07 IST
    assert fill.costs == pytest.approx(option_costs(Side.BUY, 121.5, 130))
    assert fill.costs["stamp_duty"] > 0 and fill.costs["stt"] == 0.0  # option buy: no STT
    assert len(dhan_server.requests_to("GET", TRADES)) == 1


def test_future_is_charged_as_a_future(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    dhan_server.instruments[SECURITY_ID] = Instrument("NIFTY-Mar2026-FUT", expiry="2026-03-31")
    order_id = placed_id(broker, make_intent(side=Side.SELL, quantity=65))
    dhan_server.fill(order_id, price=24_010.0, at=ist(10, 0))

    [fill] = broker.fills()

    futures = CostTable.bundled().order_costs(InstrumentKind.FUTURES, False, 24_010.0, 65)
    assert fill.cost_total == pytest.approx(futures.total)
    assert fill.side is Side.SELL and fill.costs["stt"] > 0


@pytest.mark.parametrize(
    ("side", "stop_loss", "target", "exit_side"),
    [(Side.BUY, 110.0, 140.0, Side.SELL), (Side.SELL, 130.0, 100.0, Side.BUY)],
    ids=["long", "short"],
)
def test_super_order_stop_leg_fill_is_the_stop_loss_leg_of_the_entry_correlation_id(
    leg_broker: DhanBroker,
    leg_server: DhanLoopbackServer,
    make_intent: IntentFactory,
    side: Side,
    stop_loss: float,
    target: float,
    exit_side: Side,
) -> None:
    intent = make_intent(side=side, stop_loss=stop_loss, target=target)
    order_id = placed_id(leg_broker, intent)
    leg_server.fill(order_id, price=120.0, at=ist(9, 31))
    leg_server.trigger_stop(order_id, price=stop_loss, at=ist(10, 5, 30))

    entry, stop = leg_broker.fills()

    assert (entry.leg, entry.side, entry.price, entry.quantity) == (FillLeg.ENTRY, side, 120.0, 130)
    assert (stop.leg, stop.side, stop.price, stop.quantity) == (
        FillLeg.STOP_LOSS,
        exit_side,
        stop_loss,
        130,
    )
    assert entry.correlation_id == stop.correlation_id == intent.id
    assert stop.order_id == (f"{order_id}-2" if leg_server.distinct_leg_ids else order_id)
    assert stop.ts == datetime(2026, 3, 2, 4, 35, 30, tzinfo=UTC)
    assert stop.costs == pytest.approx(option_costs(exit_side, stop_loss, 130))
    assert entry.fill_id != stop.fill_id


def test_super_order_target_leg_fill_is_the_target_leg(
    leg_broker: DhanBroker, leg_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    intent = make_intent(stop_loss=110.0, target=140.0)
    order_id = placed_id(leg_broker, intent)
    leg_server.fill(order_id, price=120.0, at=ist(9, 31))
    leg_server.trigger_target(order_id, price=140.0, at=ist(11, 0))

    entry, target = leg_broker.fills()

    assert entry.leg is FillLeg.ENTRY
    assert (target.leg, target.side, target.price, target.correlation_id) == (
        FillLeg.TARGET,
        Side.SELL,
        140.0,
        intent.id,
    )
    assert target.ts == datetime(2026, 3, 2, 5, 30, tzinfo=UTC)


def test_partial_fill_gives_two_fills_oldest_first_sharing_one_orders_brokerage(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    dhan_server.instruments[SECURITY_ID] = Instrument("NIFTY-Mar2026-24000-CE", "CALL", 24000.0)
    intent = make_intent(order_type=OrderType.LIMIT, price=119.0)
    order_id = placed_id(broker, intent)
    dhan_server.fill(order_id, price=119.0, quantity=65, at=ist(9, 31))
    dhan_server.fill(order_id, price=118.5, quantity=65, at=ist(9, 33))

    first, second = broker.fills()  # the trade book lists them newest first

    assert [(f.price, f.quantity) for f in (first, second)] == [(119.0, 65), (118.5, 65)]
    assert first.ts < second.ts
    assert first.fill_id != second.fill_id
    assert {f.correlation_id for f in (first, second)} == {intent.id}
    whole = option_costs(Side.BUY, (119.0 * 65 + 118.5 * 65) / 130, 130)
    for name, value in whole.items():
        assert first.costs[name] + second.costs[name] == pytest.approx(value)
    assert first.costs["brokerage"] == pytest.approx(whole["brokerage"])  # ₹20 cap reached
    assert second.costs["brokerage"] == pytest.approx(0.0)


def test_fills_are_stable_between_calls_and_new_trades_only_add(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    order_id = placed_id(broker, make_intent(order_type=OrderType.LIMIT, price=119.0))
    dhan_server.fill(order_id, price=119.0, quantity=65, at=ist(9, 31))
    before = broker.fills()
    dhan_server.fill(order_id, price=119.0, quantity=65, at=ist(9, 40))

    after = broker.fills()

    assert after[: len(before)] == before
    assert len(after) == 2


def test_empty_trade_book_gives_no_fills_and_reads_no_order_books(
    broker: DhanBroker, dhan_server: DhanLoopbackServer
) -> None:
    assert broker.fills() == []
    assert dhan_server.requests_to("GET", "/orders") == []
    assert dhan_server.requests_to("GET", "/super/orders") == []


def test_failed_trade_book_read_is_transient_and_never_shows_the_token(
    broker: DhanBroker, dhan_server: DhanLoopbackServer
) -> None:
    body = error_body("Internal_Server_Error", "DH-908", f"token {TEST_ACCESS_TOKEN} broke us")
    dhan_server.fail_next("GET", TRADES, status=500, body=body)

    with pytest.raises(TransientError, match="read the trade book") as caught:
        broker.fills()

    assert TEST_ACCESS_TOKEN not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b'[{"orderId": "1'])
def test_unreadable_trade_book_answer_is_transient(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, body: bytes
) -> None:
    dhan_server.fail_next("GET", TRADES, status=200, body=body)

    with pytest.raises(TransientError):
        broker.fills()


def test_order_book_failure_after_the_trade_book_gives_no_partial_list(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    order_id = placed_id(broker, make_intent())
    dhan_server.fill(order_id, price=120.0)
    dhan_server.fail_next("GET", "/orders", status=503)

    with pytest.raises(TransientError, match="order book"):
        broker.fills()


def test_refused_token_is_a_config_error(
    make_broker: Callable[..., DhanBroker], dhan_server: DhanLoopbackServer
) -> None:
    with pytest.raises(ConfigError, match="TRADELOOP_DHAN_ACCESS_TOKEN"):
        make_broker(token="tok-EXPIRED-999").fills()


def test_trade_of_an_order_missing_from_both_books_is_transient_and_names_it(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    order_id = placed_id(broker, make_intent())
    dhan_server.fill(order_id, price=120.0)
    dhan_server.script("GET", "/orders", status=200, body=b"[]")

    with pytest.raises(TransientError, match=order_id):
        broker.fills()


def test_trade_of_an_order_placed_outside_tradeloop_has_no_correlation_id(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    order_id = placed_id(broker, make_intent())
    dhan_server.orders[order_id].correlation_id = ""  # as an order placed on web.dhan.co
    dhan_server.fill(order_id, price=120.0)

    [fill] = broker.fills()

    assert fill.correlation_id == "" and fill.leg is FillLeg.ENTRY


def trade_book_with(**changes: object) -> bytes:
    row: dict[str, object] = {
        "dhanClientId": TEST_CLIENT_ID,
        "orderId": "112111182045",
        "exchangeOrderId": "X112111182045",
        "exchangeTradeId": "15112111182045",
        "transactionType": "BUY",
        "exchangeSegment": "NSE_FNO",
        "productType": "INTRADAY",
        "orderType": "MARKET",
        "tradingSymbol": "NIFTY-Mar2026-24000-CE",
        "securityId": SECURITY_ID,
        "tradedQuantity": 65,
        "tradedPrice": 120.0,
        "createTime": "2026-03-02 09:30:00",
        "updateTime": "2026-03-02 09:30:01",
        "exchangeTime": "2026-03-02 09:30:01",
        "drvExpiryDate": "2026-03-31",
        "drvOptionType": "CALL",
        "drvStrikePrice": 24000.0,
    }
    row.update(changes)
    return json.dumps([row]).encode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tradedQuantity", "sixty-five"),
        ("tradedQuantity", 0),
        ("tradedPrice", -1.0),
        ("transactionType", "HOLD"),
        ("orderId", ""),
        ("exchangeTime", "NA"),
    ],
)
def test_unreadable_trade_row_is_an_operational_error_naming_the_field(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, field: str, value: object
) -> None:
    changes: dict[str, object] = {field: value}
    if field == "exchangeTime":
        changes |= {"updateTime": "NA", "createTime": "0001-01-01 00:00:00"}
    dhan_server.script("GET", TRADES, status=200, body=trade_book_with(**changes))

    with pytest.raises(OperationalError, match=f"field '{field}'"):
        broker.fills()
