"""Dhan's rate limits through the real dhanhq SDK: what the loopback server counts on arrival.

The server counts each request when it arrives, over a 1.0 s window sliding like Dhan's, and
refuses one over the limit with HTTP 429 and DH-904. The properties checked are counts ("no
window holds more than N"), never how long anything took. Tests on the real clock take a few
seconds by construction (ten orders need more than a second).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from support.dhan_server import (
    DH_904,
    TEST_ACCESS_TOKEN,
    TEST_CLIENT_ID,
    DhanLoopbackServer,
    busiest_window,
)
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.adapters.dhan.sdk import RATE_LIMIT_ATTEMPTS
from tradeloop.adapters.ratelimit import (
    InMemoryRateLimiter,
    RateCategory,
    RateLimit,
    RateLimiter,
    SqliteRateLimiter,
)
from tradeloop.app.trading import dhan_broker
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.orders import OrderIntent, OrderStatus
from tradeloop.settings import load_settings

IntentFactory = Callable[..., OrderIntent]
ServerFactory = Callable[..., DhanLoopbackServer]


class Jitter:
    """The network's jitter: every tenth request reaches Dhan 30 ms late (well under margin)."""

    def __call__(self, sequence: int) -> float:
        return 0.03 if sequence % 10 == 0 else 0.0


@pytest.fixture
def make_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerFactory]:
    """A loopback Dhan with the given rate limits (and clock, network delay), stopped after."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with ExitStack() as servers:

        def start(**options: Any) -> DhanLoopbackServer:
            return servers.enter_context(
                DhanLoopbackServer(
                    access_token=TEST_ACCESS_TOKEN, client_id=TEST_CLIENT_ID, **options
                )
            )

        yield start


def broker_from_settings(server: DhanLoopbackServer) -> DhanBroker:
    """The broker as the application builds it: the shared limiter file in the data dir."""
    settings = load_settings(
        dhan_client_id=TEST_CLIENT_ID,
        dhan_access_token=TEST_ACCESS_TOKEN,
        dhan_base_url=server.base_url,
    )
    return dhan_broker(settings)


def broker_on(server: DhanLoopbackServer, limiter: RateLimiter) -> DhanBroker:
    return DhanBroker(
        TEST_CLIENT_ID,
        SecretStr(TEST_ACCESS_TOKEN),
        cost_table=CostTable.bundled(),
        rate_limiter=limiter,
        base_url=server.base_url,
    )


# --- the limits hold at Dhan -------------------------------------------------------------------


def test_thirty_orders_in_a_row_never_put_eleven_into_one_second_at_dhan(
    make_server: ServerFactory, make_intent: IntentFactory
) -> None:
    server = make_server(rate_limits={"orders": [(10, 1.0)]}, network_delay=Jitter())
    broker = broker_from_settings(server)

    orders = [broker.place(make_intent(sequence=sequence)) for sequence in range(30)]

    assert [request.path for request in server.rate_refusals] == []
    assert busiest_window(server.arrivals("orders"), 1.0) <= 10
    assert [order.status for order in orders] == [OrderStatus.OPEN] * 30
    assert len(server.orders) == 30


def test_non_trading_reads_stay_within_twenty_a_second_at_dhan(
    make_server: ServerFactory,
) -> None:
    server = make_server(rate_limits={"non_trading": [(20, 1.0)]}, network_delay=Jitter())
    broker = broker_from_settings(server)

    for _ in range(15):
        broker.positions()
        broker.funds()
        broker.orders()

    assert [request.path for request in server.rate_refusals] == []
    assert len(server.arrivals("non_trading")) == 45
    assert busiest_window(server.arrivals("non_trading"), 1.0) <= 20


_BURST_WORKER = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from tradeloop.app.trading import dhan_broker
from tradeloop.domain.execution.orders import OrderIntent, Side
from tradeloop.settings import load_settings

worker, count = sys.argv[1], int(sys.argv[2])
broker = dhan_broker(load_settings())
intents = [
    OrderIntent(
        strategy_id=f"burst-{worker}", symbol="NIFTY-24000-CE", security_id="52175",
        side=Side.BUY, quantity=65, lot_size=65, reference_price=120.0,
        trading_day=date(2026, 3, 2), sequence=sequence,
    )
    for sequence in range(count)
]
print("ready", flush=True)
sys.stdin.readline()
with ThreadPoolExecutor(3) as pool:
    orders = list(pool.map(broker.place, intents))
print(json.dumps([[order.status.value, order.message] for order in orders]), flush=True)
"""


def test_sixty_intents_from_two_processes_stay_within_ten_a_second_and_all_are_placed(
    make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(rate_limits={"orders": [(10, 1.0)]})
    monkeypatch.setenv("TRADELOOP_DHAN_CLIENT_ID", TEST_CLIENT_ID)
    monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", TEST_ACCESS_TOKEN)
    monkeypatch.setenv("TRADELOOP_DHAN_BASE_URL", server.base_url)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _BURST_WORKER, name, "30"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    try:
        for worker in workers:  # both built their broker: now release them at once
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outcomes = [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()

    assert [worker.returncode for worker in workers] == [0, 0]
    statuses = [status for outcome in outcomes for status, _message in outcome]
    assert statuses == ["OPEN"] * 60, outcomes
    assert [request.path for request in server.rate_refusals] == []
    assert busiest_window(server.arrivals("orders"), 1.0) <= 10
    assert len({order.correlation_id for order in server.orders.values()}) == 60


class FakeTime:
    """A clock shared by the limiter and the server: it moves only when the limiter waits."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_the_per_minute_order_limit_holds_at_dhan(
    make_server: ServerFactory, make_intent: IntentFactory, tmp_path: Path, store: str
) -> None:
    clock = FakeTime()
    server = make_server(rate_limits={"orders": [(10, 1.0), (250, 60.0)]}, clock=clock)
    limiter: RateLimiter = (
        InMemoryRateLimiter(clock=clock, sleep=clock.sleep)
        if store == "memory"
        else SqliteRateLimiter(
            tmp_path / "limits.sqlite", account=TEST_CLIENT_ID, clock=clock, sleep=clock.sleep
        )
    )
    broker = broker_on(server, limiter)

    orders = [broker.place(make_intent(sequence=sequence)) for sequence in range(270)]

    assert [request.path for request in server.rate_refusals] == []
    arrivals = server.arrivals("orders")
    assert busiest_window(arrivals, 60.0) <= 250
    assert busiest_window(arrivals, 1.0) <= 10
    assert arrivals[250] - arrivals[0] >= 60.0
    assert {order.status for order in orders} == {OrderStatus.OPEN}


def test_an_order_the_hourly_limit_cannot_fit_within_a_minute_is_not_sent(
    make_server: ServerFactory, make_intent: IntentFactory
) -> None:
    clock = FakeTime()
    server = make_server()
    limits = {RateCategory.ORDERS: (RateLimit(2, 3600.0),)}
    broker = broker_on(server, InMemoryRateLimiter(limits, clock=clock, sleep=clock.sleep))

    first, second, third = (broker.place(make_intent(sequence=n)) for n in range(3))

    assert first.status is second.status is OrderStatus.OPEN
    assert third.status is OrderStatus.NOT_SENT
    assert third.message.startswith("never sent")
    assert "2 per hour" in third.message
    assert len(server.requests_to("POST", "/orders")) == 2


# --- a 429 is "not placed, try later" ----------------------------------------------------------

RATE_LIMIT_BODIES = {
    "DH-904 body": DH_904,
    "no body": b"",
    "html body": b"<html><body><h1>429 Too Many Requests</h1></body></html>",
}


@pytest.mark.parametrize("body", list(RATE_LIMIT_BODIES.values()), ids=list(RATE_LIMIT_BODIES))
@pytest.mark.parametrize("super_order", [False, True], ids=["plain", "super"])
def test_a_rate_limited_create_is_sent_again_with_its_correlation_id_and_placed(
    broker: DhanBroker,
    dhan_server: DhanLoopbackServer,
    make_intent: IntentFactory,
    clock: Any,
    body: bytes,
    super_order: bool,
) -> None:
    intent = make_intent(stop_loss=110.0, target=140.0) if super_order else make_intent()
    path = "/super/orders" if super_order else "/orders"
    dhan_server.fail_next("POST", path, status=429, body=body)

    order = broker.place(intent)

    assert order.status is OrderStatus.OPEN
    assert order.order_id is not None
    sent = dhan_server.requests_to("POST", path)
    assert [request.body["correlationId"] for request in sent] == [intent.id, intent.id]
    assert sent[0].body == sent[1].body
    assert len(dhan_server.orders) == 1
    assert len(dhan_server.orders_with_correlation_id(intent.id)) == 1
    assert clock.sleeps and clock.sleeps[0] >= 1.0  # the pause before sending again


def test_a_rate_limited_create_waits_as_long_as_retry_after_asks(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory, clock: Any
) -> None:
    dhan_server.fail_next("POST", "/orders", status=429, body=DH_904, headers={"Retry-After": "3"})

    order = broker.place(make_intent())

    assert order.status is OrderStatus.OPEN
    assert clock.sleeps == [pytest.approx(3.0)]


def test_a_create_refused_on_every_attempt_is_not_placed_rather_than_unknown(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    intent = make_intent()
    dhan_server.fail_next("POST", "/orders", status=429, body=b"", times=RATE_LIMIT_ATTEMPTS)

    order = broker.place(intent)

    assert order.status is OrderStatus.NOT_SENT
    assert order.message.startswith("not placed")
    assert "does not exist" in order.message
    assert len(dhan_server.requests_to("POST", "/orders")) == RATE_LIMIT_ATTEMPTS
    assert dhan_server.orders == {}


def test_a_timeout_after_the_create_left_is_still_unknown_and_never_resent(
    make_broker: Callable[..., DhanBroker],
    dhan_server: DhanLoopbackServer,
    make_intent: IntentFactory,
) -> None:
    late = dhan_server.answer_late("POST", "/orders")

    order = make_broker(timeout=0.3).place(make_intent())

    assert late.handled.wait(10)
    late.release()
    assert order.status is OrderStatus.UNKNOWN
    assert len(dhan_server.requests_to("POST", "/orders")) == 1


def test_rate_limited_modify_cancel_and_reads_are_sent_again(
    broker: DhanBroker, dhan_server: DhanLoopbackServer, make_intent: IntentFactory
) -> None:
    order = broker.place(make_intent(stop_loss=110.0, target=140.0))
    assert order.order_id is not None
    dhan_server.fill(order.order_id, 120.0)
    for method, path in [
        ("PUT", f"/super/orders/{order.order_id}"),
        ("GET", "/super/orders"),
        ("GET", "/positions"),
        ("GET", "/fundlimit"),
        ("DELETE", f"/super/orders/{order.order_id}/ENTRY_LEG"),
    ]:
        dhan_server.fail_next(method, path, status=429, body=DH_904)

    moved = broker.modify_stop(order.order_id, 115.0)
    broker.positions()
    broker.funds()
    cancelled = broker.cancel(order.order_id)

    assert moved.order_id == order.order_id
    assert dhan_server.orders[order.order_id].stop_loss_price == 115.0
    assert cancelled.status is OrderStatus.FILLED  # its stop and target legs are cancelled
    assert dhan_server.orders[order.order_id].stop_status == "CANCELLED"
    assert len(dhan_server.requests_to("PUT", f"/super/orders/{order.order_id}")) == 2
