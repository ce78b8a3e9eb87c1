"""The Dhan adapter's happy paths through the real dhanhq SDK against the loopback server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support.dhan_server import TEST_ACCESS_TOKEN, TEST_CLIENT_ID, DhanLoopbackServer
from tradeloop.adapters.dhan import MAX_MODIFICATIONS_PER_ORDER, DhanBroker
from tradeloop.domain.execution.orders import (
    BrokerPosition,
    Funds,
    OrderIntent,
    OrderStatus,
    OrderType,
    Side,
)
from tradeloop.errors import OperationalError

SECURITY_ID = "52175"  # the make_intent fixture's default

IntentFactory = Callable[..., OrderIntent]
PlaceOrder = Callable[..., str]


def test_entry_with_stop_and_target_becomes_a_limit_super_order_at_the_reference_price(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    intent = make_intent(stop_loss=110.0, target=140.0, trailing_jump=2.5)

    order = broker.place(intent)

    assert order.status is OrderStatus.OPEN
    assert order.order_id is not None
    assert order.correlation_id == intent.id
    assert (order.side, order.quantity, order.security_id) == (Side.BUY, 130, SECURITY_ID)
    [request] = dhan_server.requests_to("POST", "/super/orders")
    assert request.body == {
        "dhanClientId": TEST_CLIENT_ID,
        "correlationId": intent.id,
        "transactionType": "BUY",
        "exchangeSegment": "NSE_FNO",
        "productType": "INTRADAY",
        "orderType": "LIMIT",
        "securityId": SECURITY_ID,
        "quantity": 130,
        "price": 120.0,
        "targetPrice": 140.0,
        "stopLossPrice": 110.0,
        "trailingJump": 2.5,
    }
    assert request.headers["access-token"] == TEST_ACCESS_TOKEN
    assert dhan_server.requests_to("POST", "/orders") == []


def test_entry_without_target_is_a_plain_market_order(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    intent = make_intent(side=Side.SELL, quantity=65)

    order = broker.place(intent)

    assert order.status is OrderStatus.OPEN
    [request] = dhan_server.requests_to("POST", "/orders")
    assert request.body["orderType"] == "MARKET"
    assert request.body["transactionType"] == "SELL"
    assert request.body["quantity"] == 65
    assert request.body["price"] == 0.0
    assert request.body["validity"] == "DAY"
    assert request.body["correlationId"] == intent.id
    assert dhan_server.orders_with_correlation_id(intent.id)[0].order_type == "MARKET"


def test_plain_stop_loss_market_order_carries_its_trigger(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    intent = make_intent(
        side=Side.SELL, order_type=OrderType.STOP_LOSS_MARKET, trigger_price=104.35, is_exit=True
    )

    broker.place(intent)

    [request] = dhan_server.requests_to("POST", "/orders")
    assert (request.body["orderType"], request.body["triggerPrice"]) == ("STOP_LOSS_MARKET", 104.35)


def test_order_by_correlation_id_finds_the_placed_order_with_its_fill(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    intent = make_intent()
    placed = broker.place(intent)
    assert placed.order_id is not None
    dhan_server.fill(placed.order_id, price=121.5)

    found = broker.order_by_correlation_id(intent.id)

    assert found is not None
    assert found.order_id == placed.order_id
    assert found.status is OrderStatus.FILLED
    assert (found.filled_quantity, found.average_price) == (130, 121.5)
    assert found.updated_at is not None and found.updated_at.tzinfo is not None


def test_order_by_correlation_id_of_an_unknown_id_is_none(broker: DhanBroker) -> None:
    assert broker.order_by_correlation_id("tl-never-sent") is None


def test_partially_filled_order_maps_to_part_filled(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(order_type=OrderType.LIMIT, price=119.0)
    dhan_server.fill(order_id, price=119.0, quantity=65)

    [order] = broker.orders()

    assert (order.status, order.filled_quantity, order.quantity) == (
        OrderStatus.PART_FILLED,
        65,
        130,
    )


def test_modify_stop_moves_the_super_order_stop_leg_and_keeps_its_trailing_jump(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(stop_loss=110.0, target=140.0, trailing_jump=2.5)
    dhan_server.fill(order_id, price=120.0)

    order = broker.modify_stop(order_id, 115.0)

    assert order.status is OrderStatus.FILLED
    [request] = dhan_server.requests_to("PUT", f"/super/orders/{order_id}")
    assert request.body == {
        "dhanClientId": TEST_CLIENT_ID,
        "orderId": order_id,
        "legName": "STOP_LOSS_LEG",
        "stopLossPrice": 115.0,
        "trailingJump": 2.5,
    }
    assert dhan_server.orders[order_id].stop_loss_price == 115.0
    assert broker.modifications_left(order_id) == MAX_MODIFICATIONS_PER_ORDER - 1


def test_modify_stop_of_a_plain_stop_limit_order_keeps_the_limit_offset(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    placed = broker.place(
        make_intent(
            side=Side.SELL,
            order_type=OrderType.STOP_LOSS,
            trigger_price=105.0,
            price=104.0,
            is_exit=True,
        )
    )
    assert placed.order_id is not None

    order = broker.modify_stop(placed.order_id, 108.5)

    assert order.status is OrderStatus.OPEN
    [request] = dhan_server.requests_to("PUT", f"/orders/{placed.order_id}")
    assert request.body["triggerPrice"] == 108.5
    assert request.body["price"] == 107.5
    assert request.body["quantity"] == 130
    assert request.body["orderType"] == "STOP_LOSS"
    assert request.body["legName"] == "NA"


def test_modify_stop_refuses_the_26th_modification_before_sending_it(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(stop_loss=100.0, target=160.0)
    dhan_server.fill(order_id, price=120.0)
    for step in range(MAX_MODIFICATIONS_PER_ORDER):
        broker.modify_stop(order_id, 101.0 + step * 0.5)
    assert broker.modifications_left(order_id) == 0

    with pytest.raises(OperationalError, match=r"25 modifications.*Stop trailing"):
        broker.modify_stop(order_id, 120.0)

    sent = dhan_server.requests_to("PUT", f"/super/orders/{order_id}")
    assert len(sent) == MAX_MODIFICATIONS_PER_ORDER
    assert dhan_server.orders[order_id].stop_loss_price == 113.0


def test_modify_stop_of_a_limit_order_is_refused_as_it_has_no_stop(
    broker: DhanBroker, place_order: PlaceOrder
) -> None:
    order_id = place_order(order_type=OrderType.LIMIT, price=118.0)

    with pytest.raises(OperationalError, match="LIMIT order"):
        broker.modify_stop(order_id, 100.0)


def test_modify_stop_after_the_stop_filled_is_refused(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(stop_loss=110.0, target=140.0)
    dhan_server.fill(order_id, price=120.0)
    dhan_server.trigger_stop(order_id, price=110.0)

    with pytest.raises(OperationalError, match="no working stop"):
        broker.modify_stop(order_id, 112.0)
    assert dhan_server.requests_to("PUT", r"/super/orders/.*") == []


def test_cancel_plain_order(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(order_type=OrderType.LIMIT, price=118.0)

    order = broker.cancel(order_id)

    assert order.status is OrderStatus.CANCELLED
    assert len(dhan_server.requests_to("DELETE", f"/orders/{order_id}")) == 1


def test_cancel_pending_super_order_cancels_every_leg_despite_the_empty_202(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(stop_loss=110.0, target=140.0)

    order = broker.cancel(order_id)

    assert order.status is OrderStatus.CANCELLED
    assert dhan_server.requests_to("DELETE", f"/super/orders/{order_id}/ENTRY_LEG")
    fake = dhan_server.orders[order_id]
    assert (fake.stop_status, fake.target_status) == ("CANCELLED", "CANCELLED")


def test_cancel_of_a_super_order_after_entry_fill_cancels_its_exits_only(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(stop_loss=110.0, target=140.0)
    dhan_server.fill(order_id, price=120.0)

    order = broker.cancel(order_id)

    assert order.status is OrderStatus.FILLED
    assert dhan_server.orders[order_id].stop_status == "CANCELLED"


def test_cancel_of_a_filled_order_sends_nothing_and_says_why(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order()
    dhan_server.fill(order_id, price=120.0)

    order = broker.cancel(order_id)

    assert order.status is OrderStatus.FILLED
    assert "nothing to cancel" in order.message
    assert dhan_server.requests_to("DELETE", r"/orders/.*") == []


def test_exit_position_cancels_the_exits_then_sells_the_open_quantity_at_market(
    broker: DhanBroker,
    dhan_server: DhanLoopbackServer,
    make_intent: IntentFactory,
    place_order: PlaceOrder,
) -> None:
    entry_id = place_order(stop_loss=110.0, target=140.0)
    dhan_server.fill(entry_id, price=120.0)
    exit_intent = make_intent(side=Side.SELL, is_exit=True, quantity=195, reason="square off")

    order = broker.exit_position(exit_intent, cancel_order_ids=[entry_id])

    assert order.status is OrderStatus.OPEN
    assert order.quantity == 130  # capped at the open position, not the intent's 195
    assert dhan_server.orders[entry_id].stop_status == "CANCELLED"
    [request] = dhan_server.requests_to("POST", "/orders")
    assert (request.body["transactionType"], request.body["quantity"]) == ("SELL", 130)
    assert request.body["orderType"] == "MARKET"
    assert request.body["correlationId"] == exit_intent.id


def test_exit_position_when_flat_sends_nothing(
    broker: DhanBroker,
    dhan_server: DhanLoopbackServer,
    make_intent: IntentFactory,
    place_order: PlaceOrder,
) -> None:
    entry_id = place_order(stop_loss=110.0, target=140.0)
    dhan_server.fill(entry_id, price=120.0)
    dhan_server.trigger_stop(entry_id, price=110.0)

    order = broker.exit_position(make_intent(side=Side.SELL, is_exit=True))

    assert order.status is OrderStatus.CANCELLED
    assert order.order_id is None
    assert "flat" in order.message
    assert dhan_server.requests_to("POST", "/orders") == []


def test_exit_position_on_the_side_that_adds_to_the_position_is_refused(
    broker: DhanBroker,
    dhan_server: DhanLoopbackServer,
    make_intent: IntentFactory,
    place_order: PlaceOrder,
) -> None:
    entry_id = place_order()
    dhan_server.fill(entry_id, price=120.0)

    with pytest.raises(OperationalError, match="adds to it"):
        broker.exit_position(make_intent(side=Side.BUY, is_exit=True))
    assert len(dhan_server.requests_to("POST", "/orders")) == 1


def test_positions_map_net_quantity_average_and_realized_pnl(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    entry_id = place_order(stop_loss=110.0, target=140.0)
    dhan_server.fill(entry_id, price=120.0)
    other_id = place_order(security_id="52176", side=Side.SELL, quantity=65)
    dhan_server.fill(other_id, price=80.0)
    dhan_server.trigger_stop(entry_id, price=110.0)

    positions = {p.security_id: p for p in broker.positions()}

    assert positions[SECURITY_ID] == BrokerPosition(
        SECURITY_ID, 0, 0.0, realized_pnl=-1300.0, symbol=f"SYM{SECURITY_ID}"
    )
    assert positions["52176"] == BrokerPosition("52176", -65, 80.0, symbol="SYM52176")


def test_funds_read_dhans_misspelled_available_balance(
    broker: DhanBroker, dhan_server: DhanLoopbackServer
) -> None:
    assert broker.funds() == Funds(available=98440.0, utilized=15202.0)
    assert dhan_server.requests_to("GET", "/fundlimit")


def test_every_call_goes_to_the_configured_base_url_with_the_token(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(stop_loss=110.0, target=140.0)
    broker.modify_stop(order_id, 111.0)
    broker.cancel(order_id)
    broker.orders()
    broker.positions()
    broker.funds()
    broker.order_by_correlation_id("tl-nothing")

    assert len(dhan_server.requests) >= 9
    assert all(r.headers.get("access-token") == TEST_ACCESS_TOKEN for r in dhan_server.requests)
    assert all(r.headers.get("client-id") == TEST_CLIENT_ID for r in dhan_server.requests)
