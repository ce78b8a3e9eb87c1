"""Failures at the Dhan edge: unknown outcomes, rejections, 5xx, malformed bodies, rate limits."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Protocol

import pytest

from support.dhan_server import TEST_ACCESS_TOKEN, DhanLoopbackServer
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.adapters.dhan.sdk import RATE_LIMIT_ATTEMPTS
from tradeloop.domain.execution.orders import OrderIntent, OrderStatus, OrderType
from tradeloop.errors import (
    ConfigError,
    OperationalError,
    RateLimitedError,
    ReconciliationError,
    TransientError,
    is_transient,
)

IntentFactory = Callable[..., OrderIntent]
PlaceOrder = Callable[..., str]
BrokerFactory = Callable[..., DhanBroker]

DHAN_500 = b'{"errorType": "Internal_Server_Error", "errorCode": "DH-908", "errorMessage": "oops"}'
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


class RecordsSleeps(Protocol):
    sleeps: list[float]


def test_timeout_on_create_is_unknown_with_one_order_at_dhan_then_reconcile_finds_it(
    make_broker: BrokerFactory, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    impatient = make_broker(timeout=0.3)
    intent = make_intent(stop_loss=110.0, target=140.0)
    late = dhan_server.answer_late("POST", "/super/orders")

    order = impatient.place(intent)

    assert late.handled.wait(10)  # the server got and processed the request (no sleeping)
    late.release()
    assert order.status is OrderStatus.UNKNOWN
    assert order.order_id is None
    assert order.correlation_id == intent.id
    assert "Do not resend" in order.message and intent.id in order.message
    assert len(dhan_server.orders_with_correlation_id(intent.id)) == 1
    assert len(dhan_server.requests_to("POST", "/super/orders")) == 1

    found = make_broker().order_by_correlation_id(intent.id)

    assert found is not None
    assert found.order_id == dhan_server.orders_with_correlation_id(intent.id)[0].order_id
    assert found.status is OrderStatus.OPEN
    assert len(dhan_server.requests_to("POST", r"/(super/)?orders")) == 1


@pytest.mark.parametrize("body", [DHAN_500, HTML_502], ids=["dhan-500", "html-502"])
def test_server_error_on_create_is_unknown_and_reconcile_says_absent(
    broker: DhanBroker,
    dhan_server: DhanLoopbackServer,
    make_intent: IntentFactory,
    body: bytes,
) -> None:
    intent = make_intent()
    dhan_server.fail_next("POST", "/orders", status=502, body=body)

    order = broker.place(intent)

    assert order.status is OrderStatus.UNKNOWN
    assert dhan_server.orders == {}
    assert broker.order_by_correlation_id(intent.id) is None


def test_malformed_answer_to_a_create_that_succeeded_is_unknown_and_reconciles(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    intent = make_intent()
    dhan_server.malformed_next("POST", "/orders", process=True)

    order = broker.place(intent)

    assert order.status is OrderStatus.UNKNOWN
    found = broker.order_by_correlation_id(intent.id)
    assert found is not None and found.status is OrderStatus.OPEN


def test_order_rejected_by_dhan_carries_the_reason(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    dhan_server.reject_next_order("RMS: Margin Exceeds, Required 15200.00, Available 980.00")

    order = broker.place(make_intent())

    assert order.status is OrderStatus.REJECTED
    assert order.order_id is not None
    assert "Margin Exceeds" in order.message


def test_error_body_on_create_is_a_rejection_with_code_and_message(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    dhan_server.fail_next(
        "POST",
        "/orders",
        status=400,
        body=b'{"errorType": "Order_Error", "errorCode": "DH-906", '
        b'"errorMessage": "Price is out of the circuit range"}',
    )

    order = broker.place(make_intent(order_type=OrderType.LIMIT, price=999.0))

    assert order.status is OrderStatus.REJECTED
    assert "DH-906" in order.message and "circuit range" in order.message


def test_super_order_legs_on_the_wrong_side_are_rejected_before_sending(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    order = broker.place(make_intent(stop_loss=125.0, target=140.0))

    assert order.status is OrderStatus.NOT_SENT
    assert order.message.startswith("never sent:")
    assert "stop_loss=125" in order.message
    assert dhan_server.requests == []


def test_market_super_order_without_reference_price_is_rejected_before_sending(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    order = broker.place(make_intent(stop_loss=110.0, target=140.0, reference_price=None))

    assert order.status is OrderStatus.NOT_SENT
    assert "reference_price" in order.message
    assert dhan_server.requests == []


@pytest.mark.parametrize("path", ["/positions", "/orders", "/fundlimit"])
@pytest.mark.parametrize("body", [DHAN_500, HTML_502, b'{"broken": '], ids=["500", "502", "json"])
def test_failed_read_is_a_transient_error(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, path: str, body: bytes
) -> None:
    dhan_server.fail_next("GET", path, status=500, body=body)
    read = {"/positions": broker.positions, "/orders": broker.orders, "/fundlimit": broker.funds}

    with pytest.raises(TransientError) as caught:
        read[path]()

    assert is_transient(caught.value)
    assert TEST_ACCESS_TOKEN not in str(caught.value)


def test_error_body_without_code_on_a_read_is_transient(
    broker: DhanBroker, dhan_server: DhanLoopbackServer
) -> None:
    dhan_server.fail_next("GET", "/positions", status=500, body=b'{"status": "failed"}')

    with pytest.raises(TransientError, match="without an error code"):
        broker.positions()


def test_read_still_rate_limited_after_every_retry_is_a_rate_limited_error(
    broker: DhanBroker, dhan_server: DhanLoopbackServer
) -> None:
    dhan_server.fail_next(
        "GET",
        "/fundlimit",
        status=429,
        body=b'{"errorType": "Rate_Limit", "errorCode": "DH-904", "errorMessage": "Too many"}',
        times=RATE_LIMIT_ATTEMPTS,
    )

    with pytest.raises(RateLimitedError):
        broker.funds()
    assert len(dhan_server.requests_to("GET", "/fundlimit")) == RATE_LIMIT_ATTEMPTS


def test_wrong_token_rejects_orders_and_reads_ask_for_a_new_token(
    make_broker: BrokerFactory, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    stale = make_broker(token="tok-EXPIRED-999")

    order = stale.place(make_intent())
    with pytest.raises(ConfigError, match="TRADELOOP_DHAN_ACCESS_TOKEN"):
        stale.positions()

    assert order.status is OrderStatus.REJECTED
    assert "TRADELOOP_DHAN_ACCESS_TOKEN" in order.message
    assert dhan_server.orders == {}


def test_correlation_lookup_without_an_answer_is_transient_never_none(
    broker: DhanBroker, dhan_server: DhanLoopbackServer
) -> None:
    dhan_server.fail_next("GET", "/orders/external/.*", status=500, body=HTML_502)

    with pytest.raises(TransientError):
        broker.order_by_correlation_id("tl-maybe")


def test_correlation_lookup_refusal_is_checked_against_the_order_book(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    intent = make_intent()
    placed = broker.place(intent)
    dhan_server.fail_next(
        "GET",
        "/orders/external/.*",
        status=400,
        body=b'{"errorType": "Order_Error", "errorCode": "DH-906", "errorMessage": "Incorrect"}',
    )

    found = broker.order_by_correlation_id(intent.id)

    assert found is not None and found.order_id == placed.order_id


def test_two_orders_with_one_correlation_id_need_a_person(
    broker: DhanBroker, make_intent: IntentFactory
) -> None:
    intent = make_intent()
    broker.place(intent)
    broker.place(intent)  # the gateway never does this; the broker alone does not deduplicate

    with pytest.raises(ReconciliationError, match="2 orders with correlation id"):
        broker.order_by_correlation_id(intent.id)


def test_modify_stop_whose_answer_was_lost_but_applied_is_verified_by_reading_back(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(stop_loss=110.0, target=140.0)
    dhan_server.malformed_next("PUT", r"/super/orders/.*", process=True)

    order = broker.modify_stop(order_id, 112.0)

    assert order.order_id == order_id
    assert dhan_server.orders[order_id].stop_loss_price == 112.0


def test_modify_stop_that_failed_without_answer_says_the_stop_has_not_moved(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(stop_loss=110.0, target=140.0)
    dhan_server.fail_next("PUT", r"/super/orders/.*", status=503, body=HTML_502)

    with pytest.raises(TransientError, match="has NOT moved"):
        broker.modify_stop(order_id, 112.0)
    assert dhan_server.orders[order_id].stop_loss_price == 110.0


def test_modify_stop_refused_by_dhan_is_an_operational_error(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(stop_loss=110.0, target=140.0)
    dhan_server.fail_next(
        "PUT",
        r"/super/orders/.*",
        status=400,
        body=b'{"errorType": "Order_Error", "errorCode": "DH-906", '
        b'"errorMessage": "Stop loss price is above LTP"}',
    )

    with pytest.raises(OperationalError, match="above LTP"):
        broker.modify_stop(order_id, 112.0)


def test_cancel_whose_answer_was_lost_but_applied_returns_cancelled(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(order_type=OrderType.LIMIT, price=118.0)
    dhan_server.malformed_next("DELETE", r"/orders/.*", process=True)

    assert broker.cancel(order_id).status is OrderStatus.CANCELLED


def test_cancel_that_failed_without_answer_is_transient(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, place_order: PlaceOrder
) -> None:
    order_id = place_order(order_type=OrderType.LIMIT, price=118.0)
    dhan_server.fail_next("DELETE", r"/orders/.*", status=500, body=HTML_502)

    with pytest.raises(TransientError, match="retry the cancel"):
        broker.cancel(order_id)


def test_modify_of_an_order_dhan_does_not_know_names_the_id(broker: DhanBroker) -> None:
    with pytest.raises(OperationalError, match="no order '999'"):
        broker.modify_stop("999", 100.0)


def test_eleventh_order_call_within_a_second_waits_for_the_rate_limit(
    broker: DhanBroker,
    dhan_server: DhanLoopbackServer,
    make_intent: IntentFactory,
    clock: RecordsSleeps,
) -> None:
    for sequence in range(11):
        broker.place(make_intent(sequence=sequence))

    # Dhan's 1 s window plus the 0.1 s margin for network jitter.
    assert clock.sleeps == [pytest.approx(1.1)]
    assert len(dhan_server.requests_to("POST", "/orders")) == 11


def test_nothing_is_sent_while_http_client_prints_headers(
    broker: DhanBroker,
    dhan_server: DhanLoopbackServer,
    make_intent: IntentFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)

    with pytest.raises(OperationalError, match="debuglevel"):
        broker.place(make_intent())
    assert dhan_server.requests == []
