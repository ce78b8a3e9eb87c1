"""Pure pieces of the Dhan adapter: SDK envelopes, payload mapping, intent-to-request planning."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.adapters.dhan.envelope import FailureKind, parse_response, read_error
from tradeloop.adapters.dhan.mapping import (
    broker_order,
    broker_position,
    dhan_time,
    funds,
    order_status,
)
from tradeloop.adapters.dhan.order_requests import (
    OrderNotSendable,
    PlainOrderRequest,
    SuperOrderRequest,
    plan_order,
)
from tradeloop.domain.execution.orders import (
    BrokerPosition,
    Funds,
    OrderIntent,
    OrderStatus,
    OrderType,
    ProductType,
    Side,
)
from tradeloop.errors import ConfigError, OperationalError, RateLimitedError, TransientError


def intent(**overrides: Any) -> OrderIntent:
    fields: dict[str, Any] = {
        "strategy_id": "s1",
        "symbol": "NIFTY-24000-CE",
        "security_id": "52175",
        "side": Side.BUY,
        "quantity": 65,
        "lot_size": 65,
        "reference_price": 120.0,
        "trading_day": date(2026, 3, 2),
    }
    fields.update(overrides)
    return OrderIntent(**fields)


# --- envelopes --------------------------------------------------------------------------------


def test_success_envelope_carries_the_data() -> None:
    response = parse_response({"status": "success", "remarks": "", "data": {"orderId": "1"}})
    assert response.ok and response.data == {"orderId": "1"}


def test_exception_envelope_is_a_transport_failure_with_unknown_outcome() -> None:
    response = parse_response(
        {"status": "failure", "remarks": "Read timed out. (read timeout=10)", "data": ""}
    )
    assert response.failure is not None
    assert response.failure.kind is FailureKind.TRANSPORT
    assert response.failure.outcome_unknown
    assert "Read timed out" in response.failure.describe()


def test_error_body_envelope_is_coded_and_definite() -> None:
    remarks = {"error_code": "DH-906", "error_type": "Order_Error", "error_message": "Bad price"}
    response = parse_response({"status": "failure", "remarks": remarks, "data": ""})
    assert response.failure is not None
    assert response.failure.kind is FailureKind.CODED
    assert not response.failure.outcome_unknown
    assert response.failure.describe() == "DH-906 Order_Error: Bad price"


def test_error_without_code_or_message_is_uncoded() -> None:
    remarks = {"error_code": None, "error_type": None, "error_message": None}
    response = parse_response({"status": "failure", "remarks": remarks, "data": ""})
    assert response.failure is not None and response.failure.kind is FailureKind.UNCODED


@pytest.mark.parametrize("code", ["DH-908", "DH-909", "DH-910"])
def test_dhan_side_faults_leave_the_outcome_unknown(code: str) -> None:
    remarks = {"error_code": code, "error_type": "x", "error_message": "y"}
    failure = parse_response({"status": "failure", "remarks": remarks}).failure
    assert failure is not None and failure.outcome_unknown


def test_error_body_inside_a_2xx_answer_is_still_an_error() -> None:
    data = {"errorType": "Input_Exception", "errorCode": "DH-905", "errorMessage": "Missing qty"}
    failure = parse_response({"status": "success", "remarks": "", "data": data}).failure
    assert failure is not None and failure.code == "DH-905"


@pytest.mark.parametrize("raw", [None, "text", {"status": "weird"}, []])
def test_unexpected_sdk_answer_is_a_transport_failure(raw: object) -> None:
    failure = parse_response(raw).failure
    assert failure is not None and failure.kind is FailureKind.TRANSPORT


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("DH-901", ConfigError),
        ("DH-904", RateLimitedError),
        ("DH-906", TransientError),
        ("DH-908", TransientError),
    ],
)
def test_read_errors_say_who_must_act(code: str, error: type[Exception]) -> None:
    remarks = {"error_code": code, "error_type": "t", "error_message": "m"}
    failure = parse_response({"status": "failure", "remarks": remarks}).failure
    assert failure is not None
    assert isinstance(read_error(failure, "read the positions"), error)


# --- payload mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dhan", "ours"),
    [
        ("TRANSIT", OrderStatus.OPEN),
        ("PENDING", OrderStatus.OPEN),
        ("TRIGGERED", OrderStatus.OPEN),
        ("PART_TRADED", OrderStatus.PART_FILLED),
        ("TRADED", OrderStatus.FILLED),
        ("REJECTED", OrderStatus.REJECTED),
        ("CANCELLED", OrderStatus.CANCELLED),
        ("EXPIRED", OrderStatus.EXPIRED),
        ("INACTIVE", OrderStatus.UNKNOWN),
        ("", OrderStatus.UNKNOWN),
    ],
)
def test_order_status_mapping(dhan: str, ours: OrderStatus) -> None:
    assert order_status(dhan) is ours


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=20))
def test_any_status_text_maps_to_some_status(text: str) -> None:
    assert isinstance(order_status(text), OrderStatus)


def order_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "orderId": "112111182045",
        "correlationId": "tlabc",
        "orderStatus": "TRADED",
        "transactionType": "SELL",
        "securityId": "52175",
        "quantity": 130,
        "filledQty": 130,
        "averageTradedPrice": 101.25,
        "omsErrorDescription": "",
        "updateTime": "2026-03-02 09:20:15",
    }
    row.update(overrides)
    return row


def test_order_row_maps_to_a_broker_order_in_units_and_utc() -> None:
    order = broker_order(order_row())

    assert order.order_id == "112111182045"
    assert (order.status, order.side, order.quantity) == (OrderStatus.FILLED, Side.SELL, 130)
    assert (order.filled_quantity, order.average_price) == (130, 101.25)
    assert order.updated_at == datetime(2026, 3, 2, 3, 50, 15, tzinfo=UTC)


def test_unfilled_order_has_no_average_price() -> None:
    order = broker_order(order_row(orderStatus="PENDING", filledQty=0, averageTradedPrice=0))
    assert order.average_price is None


def test_super_book_closed_and_triggered_mean_the_entry_filled() -> None:
    assert broker_order(order_row(orderStatus="CLOSED"), super_entry=True).status is (
        OrderStatus.FILLED
    )
    assert broker_order(order_row(orderStatus="TRIGGERED"), super_entry=True).status is (
        OrderStatus.FILLED
    )


def test_unknown_status_is_explained_in_the_message() -> None:
    order = broker_order(order_row(orderStatus="INACTIVE"))
    assert order.status is OrderStatus.UNKNOWN
    assert "INACTIVE" in order.message


@pytest.mark.parametrize(
    ("field", "value"),
    [("orderId", None), ("transactionType", "HOLD"), ("quantity", "12.5"), ("filledQty", "x")],
)
def test_unreadable_order_row_is_an_operational_error_naming_the_field(
    field: str, value: object
) -> None:
    with pytest.raises(OperationalError, match=f"field '{field}'"):
        broker_order(order_row(**{field: value}))


@pytest.mark.parametrize("raw", [None, "", "0001-01-01 00:00:00", "yesterday"])
def test_unusable_times_become_none(raw: object) -> None:
    assert dhan_time(raw) is None


def test_short_position_uses_the_sell_average() -> None:
    row = {"securityId": "1", "netQty": -65, "buyAvg": 0, "sellAvg": 80.5, "realizedProfit": 12}
    assert broker_position(row) == BrokerPosition("1", -65, 80.5, realized_pnl=12.0)


def test_funds_accept_dhans_spelling_and_the_correct_one() -> None:
    assert funds({"availabelBalance": 10.0, "utilizedAmount": 2.0}) == Funds(10.0, 2.0)
    assert funds({"availableBalance": 10.0}) == Funds(10.0, 0.0)
    with pytest.raises(OperationalError, match="availabelBalance"):
        funds({"sodLimit": 1.0})


# --- planning the request ---------------------------------------------------------------------


def test_market_entry_with_stop_and_target_is_a_limit_super_order_at_reference_price() -> None:
    request = plan_order(intent(stop_loss=110.0, target=140.0, trailing_jump=1.0))

    assert isinstance(request, SuperOrderRequest)
    assert (request.order_type, request.price) == ("LIMIT", 120.0)
    assert (request.stop_loss_price, request.target_price, request.trailing_jump) == (
        110.0,
        140.0,
        1.0,
    )


def test_limit_entry_uses_its_own_price() -> None:
    request = plan_order(
        intent(order_type=OrderType.LIMIT, price=119.5, stop_loss=110.0, target=140.0)
    )
    assert isinstance(request, SuperOrderRequest) and request.price == 119.5


def test_exit_with_stop_and_target_is_still_a_plain_order() -> None:
    request = plan_order(intent(side=Side.SELL, is_exit=True, stop_loss=110.0, target=140.0))
    assert isinstance(request, PlainOrderRequest)


def test_sell_super_order_needs_target_below_and_stop_above() -> None:
    request = plan_order(intent(side=Side.SELL, stop_loss=130.0, target=100.0))
    assert isinstance(request, SuperOrderRequest)
    with pytest.raises(OrderNotSendable, match="SELL super order needs target < entry price"):
        plan_order(intent(side=Side.SELL, stop_loss=100.0, target=130.0))


def test_an_entry_with_a_stop_and_no_target_is_never_sent_without_its_stop() -> None:
    # A plain entry would reach Dhan with no stop at all: refused before anything is sent.
    with pytest.raises(OrderNotSendable, match=r"stop_loss but no target.*take_profit"):
        plan_order(intent(stop_loss=110.0, target=None))


def test_stop_order_type_cannot_be_a_super_order() -> None:
    with pytest.raises(OrderNotSendable, match="MARKET or LIMIT, not STOP_LOSS_MARKET"):
        plan_order(
            intent(
                order_type=OrderType.STOP_LOSS_MARKET,
                trigger_price=121.0,
                stop_loss=110.0,
                target=140.0,
            )
        )


def test_plain_request_maps_every_field_for_the_sdk() -> None:
    request = plan_order(
        intent(
            side=Side.SELL,
            order_type=OrderType.STOP_LOSS,
            price=99.0,
            trigger_price=100.0,
            product=ProductType.MARGIN,
            is_exit=True,
        ),
        quantity=65,
    )

    assert isinstance(request, PlainOrderRequest)
    arguments = request.sdk_arguments()
    assert arguments["order_type"] == "STOP_LOSS"
    assert (arguments["price"], arguments["trigger_price"]) == (99.0, 100.0)
    assert (arguments["product_type"], arguments["validity"]) == ("MARGIN", "DAY")
    assert arguments["tag"] == request.correlation_id


def test_float_noise_is_rounded_away() -> None:
    request = plan_order(intent(order_type=OrderType.LIMIT, price=24000.050000000003))
    assert isinstance(request, PlainOrderRequest) and request.price == 24000.05


def test_zero_quantity_override_is_not_sendable() -> None:
    with pytest.raises(OrderNotSendable, match="quantity must be positive"):
        plan_order(intent(), quantity=0)
