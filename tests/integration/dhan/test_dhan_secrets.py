"""The access token never appears in logs, errors or broker messages (DESIGN invariant 9)."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from support.dhan_server import TEST_ACCESS_TOKEN, TEST_CLIENT_ID, DhanLoopbackServer
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.adapters.ratelimit import InMemoryRateLimiter
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.orders import BrokerOrder, OrderIntent, OrderType
from tradeloop.errors import ConfigError, TradeloopError

IntentFactory = Callable[..., OrderIntent]
BrokerFactory = Callable[..., DhanBroker]

VENDOR_LOGGERS = ("urllib3", "requests", "dhanhq", "websockets", "tradeloop")


def test_token_never_appears_in_any_log_record_error_or_order_message(
    make_broker: BrokerFactory,
    dhan_server: DhanLoopbackServer,
    make_intent: IntentFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in VENDOR_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    broker = make_broker()
    impatient = make_broker(timeout=0.3)
    orders: list[BrokerOrder] = []
    errors: list[BaseException] = []

    placed = broker.place(make_intent(stop_loss=110.0, target=140.0))
    orders.append(placed)
    assert placed.order_id is not None
    orders.append(broker.modify_stop(placed.order_id, 112.0))
    late = dhan_server.answer_late("POST", "/orders")
    orders.append(impatient.place(make_intent(sequence=1)))
    late.release()
    dhan_server.malformed_next("POST", "/orders")
    orders.append(broker.place(make_intent(sequence=2)))
    dhan_server.reject_next_order(f"echoed header access-token: {TEST_ACCESS_TOKEN}")
    orders.append(broker.place(make_intent(sequence=3, order_type=OrderType.LIMIT, price=119)))
    for path, body in [
        ("/positions", b"<html>502</html>"),
        (
            "/fundlimit",
            f'{{"errorCode": "DH-908", "errorMessage": "{TEST_ACCESS_TOKEN}"}}'.encode(),
        ),
        ("/orders/external/.*", b"{"),
    ]:
        dhan_server.fail_next("GET", path, body=body)
    for read in (broker.positions, broker.funds, lambda: broker.order_by_correlation_id("tl1")):
        with pytest.raises(TradeloopError) as caught:
            read()
        errors.append(caught.value)
    orders.extend(broker.orders())
    # The SDK's own way of logging a failure, with the token in the exception text.
    logging.error("Exception in DhanHQConnection.GET: %s", f"refused {TEST_ACCESS_TOKEN}")
    try:
        raise RuntimeError(f"boom {TEST_ACCESS_TOKEN}")
    except RuntimeError:
        logging.getLogger("dhanhq").exception("failed")

    assert len(caplog.records) > 10
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert TEST_ACCESS_TOKEN not in caplog.text
    for entry in caplog.records:
        assert TEST_ACCESS_TOKEN not in entry.getMessage()
        assert TEST_ACCESS_TOKEN not in (entry.exc_text or "")
    for error in errors:
        assert TEST_ACCESS_TOKEN not in str(error)
        assert TEST_ACCESS_TOKEN not in repr(error.__cause__)
    for order in orders:
        assert TEST_ACCESS_TOKEN not in repr(order)
    assert any("***" in order.message for order in orders)  # the echoed rejection reason


def test_broker_repr_and_pickling_never_expose_the_token(broker: DhanBroker) -> None:
    assert TEST_ACCESS_TOKEN not in repr(broker)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(broker)


@pytest.mark.parametrize("token", ["tok-SECRET-123\n", " tok-SECRET-123", "tok SECRET 123"])
def test_token_with_whitespace_is_refused_without_echoing_it(
    dhan_server: DhanLoopbackServer, token: str
) -> None:
    with pytest.raises(ConfigError, match="whitespace or a line break") as caught:
        DhanBroker(
            TEST_CLIENT_ID,
            SecretStr(token),
            cost_table=CostTable.bundled(),
            rate_limiter=InMemoryRateLimiter(),
            base_url=dhan_server.base_url,
        )
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "complaint"),
    [
        ("http://api.dhan.co/v2", "unencrypted"),
        ("ftp://127.0.0.1/v2", "http\\(s\\) URL"),
        ("api.dhan.co/v2", "http\\(s\\) URL"),
    ],
)
def test_base_url_that_would_leak_or_cannot_work_is_refused(base_url: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        DhanBroker(
            TEST_CLIENT_ID,
            SecretStr(TEST_ACCESS_TOKEN),
            cost_table=CostTable.bundled(),
            rate_limiter=InMemoryRateLimiter(),
            base_url=base_url,
        )


@pytest.mark.parametrize(
    ("client_id", "token", "variable"),
    [
        ("", TEST_ACCESS_TOKEN, "TRADELOOP_DHAN_CLIENT_ID"),
        (TEST_CLIENT_ID, "", "TRADELOOP_DHAN_ACCESS_TOKEN"),
        (TEST_CLIENT_ID, "short", "TRADELOOP_DHAN_ACCESS_TOKEN"),
    ],
)
def test_missing_or_implausible_credentials_name_the_variable(
    client_id: str, token: str, variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        DhanBroker(
            client_id,
            SecretStr(token),
            cost_table=CostTable.bundled(),
            rate_limiter=InMemoryRateLimiter(),
        )
