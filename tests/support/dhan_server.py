"""A loopback DhanHQ v2 REST server for tests: the real dhanhq SDK talks to it on 127.0.0.1.

It speaks the v2 shapes the SDK calls (paths under `/v2`):

    POST   /orders                      {"orderId", "orderStatus"}
    POST   /super/orders                {"orderId", "orderStatus"}
    PUT    /orders/{id}                 {"orderId", "orderStatus"}
    PUT    /super/orders/{id}           {"orderId", "orderStatus"}
    DELETE /orders/{id}                 {"orderId", "orderStatus": "CANCELLED"}
    DELETE /super/orders/{id}/{leg}     202 Accepted, empty body (as Dhan documents it)
    GET    /orders, /orders/{id}, /orders/external/{correlation-id}
    GET    /super/orders (entry rows with legDetails), /positions, /fundlimit
    GET    /trades, /trades/{order-id}  the day's trades, newest first

Errors use Dhan's body `{"errorType", "errorCode", "errorMessage"}`: DH-901 for a wrong
`access-token` header, DH-905 for bad input, DH-906 for an order that cannot be changed, DH-907
for an unknown correlation id.

It deduplicates nothing: two creates with one correlation id make two orders, so a test can
prove the *client* never creates twice. Every request is recorded (method, path, JSON body,
headers). Scripts make the next matching request fail in a chosen way: answer only once the test
releases it (after the client timed out) while the order *was* created, a 5xx, a malformed body,
an error body. `reject_next_order` makes the next create come back REJECTED with a reason.
Orders fill only when a test says so (`fill`, `trigger_stop`, `trigger_target`); each fill is a
trade in the trade book (with an exchange trade id and the IST time given), and positions follow
the trades. A super order's legs trade under the entry's order id, as Dhan documents its super
order book (`distinct_leg_ids=True` gives them ids of their own); `instruments` describes a
security id's contract (option type, strike) in the trade rows.

Rate limits, when a test gives them (`rate_limits={"orders": [(10, 1.0)], ...}`), are enforced
as Dhan does: every request is counted when it arrives (on `clock`, over windows sliding across
the arrival times), per category ("orders" for creates, modifications and cancels,
"non_trading" for every read), and one that would put more than the limit into a window gets
HTTP 429 with Dhan's DH-904 body and is not processed. `network_delay(n)` holds the n-th
request (from 0) that long before it is counted: the network's jitter, which can bring two
requests closer together at Dhan than they were when they left. `arrivals(category)` are the
times counted, refused requests included; `busiest_window` counts the most in any window.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest

from .dhan_http import (
    LateAnswer,
    RecordedRequest,
    Script,
    ThreadedLoopback,
)
from .dhan_payloads import (
    LIVE_STATUSES,
    FakeOrder,
    Instrument,
    Trade,
    check_create,
    error_body,
    ist_now,
    ist_text,
    json_bytes,
    modification_refusal,
    not_found,
    position_rows,
)

__all__ = [
    "DH_904",
    "TEST_ACCESS_TOKEN",
    "TEST_CLIENT_ID",
    "DhanLoopbackServer",
    "Instrument",
    "LateAnswer",
    "busiest_window",
]

TEST_ACCESS_TOKEN = "tok-SECRET-123"
"""A fake token that is easy to search for in captured logs."""
TEST_CLIENT_ID = "1000000003"
DH_904 = error_body(
    "Rate_Limit",
    "DH-904",
    "Too many requests on server from single user breaching rate limits. Try throttling API calls.",
)
"""Dhan's answer (with HTTP 429) to a request over its rate limit."""
RateLimits = Mapping[str, Sequence[tuple[int, float]]]


@contextmanager
def loopback_dhan(monkeypatch: pytest.MonkeyPatch) -> Iterator[DhanLoopbackServer]:
    """A `DhanLoopbackServer` for the test account. `requests` honours proxy variables;
    loopback traffic must never go through one."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with DhanLoopbackServer(access_token=TEST_ACCESS_TOKEN, client_id=TEST_CLIENT_ID) as server:
        yield server


def busiest_window(times: Sequence[float], period: float = 1.0) -> int:
    """The most of `times` in any window [t, t + period)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - period:
            first += 1
        most = max(most, last - first + 1)
    return most


def rate_category(method: str, path: str) -> str:
    """Dhan's rate-limit category of a request: order APIs or non-trading APIs."""
    if method != "GET" and re.fullmatch(r"/(super/)?orders(/.*)?", path):
        return "orders"
    return "non_trading"


class DhanLoopbackServer(ThreadedLoopback):
    """The fake Dhan: start it, point a `DhanBroker` at `base_url`, script it, inspect it."""

    thread_name = "dhan-loopback"

    def __init__(
        self,
        *,
        access_token: str = TEST_ACCESS_TOKEN,
        client_id: str = TEST_CLIENT_ID,
        distinct_leg_ids: bool = False,
        rate_limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        network_delay: Callable[[int], float] | None = None,
    ) -> None:
        self.access_token = access_token
        self.client_id = client_id
        self.distinct_leg_ids = distinct_leg_ids
        self.rate_limits = dict(rate_limits or {})
        self.clock = clock
        self.network_delay = network_delay
        self._arrivals: dict[str, list[float]] = {}
        self._admitted: dict[str, list[float]] = {}
        self.rate_refusals: list[RecordedRequest] = []
        """Requests refused for the rate limit (429, not processed)."""
        self._arrived = 0
        """Super order legs get order ids of their own; by default they share the entry's id,
        as Dhan's super order book documents them."""
        self.orders: dict[str, FakeOrder] = {}
        self.instruments: dict[str, Instrument] = {}
        """Contract facts by security id for the trade book (default: a future `SYM<id>`)."""
        self.funds: dict[str, Any] = {
            "dhanClientId": client_id,
            "availabelBalance": 98440.0,
            "sodLimit": 113642.0,
            "collateralAmount": 0.0,
            "receiveableAmount": 0.0,
            "utilizedAmount": 15202.0,
            "blockedPayoutAmount": 0.0,
            "withdrawableBalance": 98310.0,
        }
        self._requests: list[RecordedRequest] = []
        self._scripts: list[Script] = []
        self._holds: list[threading.Event] = []
        self._trades: list[Trade] = []
        self._reject_reasons: list[str] = []
        self._next_id = 112111182000
        self._next_trade_id = 15112111180000
        self._lock = threading.RLock()

    def _before_stop(self) -> None:
        with self._lock:
            for event in self._holds:
                event.set()

    # --- scripting ----------------------------------------------------------------------------

    def script(self, method: str, path: str, **behaviour: Any) -> Script:
        entry = Script(method.upper(), re.compile(path), **behaviour)
        with self._lock:
            self._scripts.append(entry)
            if entry.hold is not None:
                self._holds.append(entry.hold)
        return entry

    def answer_late(self, method: str, path: str) -> LateAnswer:
        """Process the next matching request at once, but answer only after `release()`.

        The client times out meanwhile, although the server did the work (created the order).
        """
        late = LateAnswer()
        self.script(method, path, process=True, hold=late, handled=late.handled)
        return late

    def fail_next(
        self,
        method: str,
        path: str,
        status: int = 500,
        body: bytes | None = None,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next `times` matching requests are not processed; they get `status` (default: a
        Dhan 500), `body` and `headers`."""
        if body is None:
            body = error_body("Internal_Server_Error", "DH-908", "Internal server error")
        self.script(method, path, status=status, body=body, times=times, headers=headers)

    def malformed_next(self, method: str, path: str, *, process: bool = False) -> None:
        self.script(method, path, process=process, status=200, body=b'{"orderId": "1', times=1)

    def reject_next_order(self, reason: str) -> None:
        """The next create is stored REJECTED with `reason` as omsErrorDescription."""
        with self._lock:
            self._reject_reasons.append(reason)

    # --- inspection and market events ---------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        pattern = re.compile(path_pattern)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    def arrivals(self, category: str) -> list[float]:
        """When each request of `category` ("orders", "non_trading") was counted, in order."""
        with self._lock:
            return list(self._arrivals.get(category, []))

    @property
    def trades(self) -> list[Trade]:
        with self._lock:
            return list(self._trades)

    def orders_with_correlation_id(self, correlation_id: str) -> list[FakeOrder]:
        with self._lock:
            return [o for o in self.orders.values() if o.correlation_id == correlation_id]

    def fill(
        self,
        order_id: str,
        price: float,
        quantity: int | None = None,
        *,
        at: datetime | None = None,
    ) -> None:
        """The order (a super order's entry) trades `quantity` (default: all) at `price`.

        The trade is listed in the trade book at `at` (default: now), written as Dhan does.
        """
        with self._lock:
            order = self.orders[order_id]
            units = order.quantity - order.filled_quantity if quantity is None else quantity
            total = order.average_price * order.filled_quantity + price * units
            order.filled_quantity += units
            order.average_price = round(total / order.filled_quantity, 2)
            order.status = "TRADED" if order.filled_quantity == order.quantity else "PART_TRADED"
            order.updated = ist_now() if at is None else ist_text(at)
            self._trade(order, order.transaction_type, units, price, order.order_type, at=at)

    def trigger_stop(self, order_id: str, price: float, *, at: datetime | None = None) -> None:
        """A filled super order's stop leg trades at `price`; its target leg is cancelled."""
        self._exit_leg(order_id, "STOP_LOSS_LEG", price, at)

    def trigger_target(self, order_id: str, price: float, *, at: datetime | None = None) -> None:
        """A filled super order's target leg trades at `price`; its stop leg is cancelled."""
        self._exit_leg(order_id, "TARGET_LEG", price, at)

    def _exit_leg(self, order_id: str, leg: str, price: float, at: datetime | None) -> None:
        with self._lock:
            order = self.orders[order_id]
            assert order.is_super and order.status == "TRADED", "fill the entry first"
            stop = leg == "STOP_LOSS_LEG"
            order.stop_status, order.target_status = (
                ("TRADED", "CANCELLED") if stop else ("CANCELLED", "TRADED")
            )
            exit_side = "SELL" if order.transaction_type == "BUY" else "BUY"
            order_type = "STOP_LOSS_MARKET" if stop else "LIMIT"
            self._trade(order, exit_side, order.quantity, price, order_type, at=at, leg=leg)

    def _trade(
        self,
        order: FakeOrder,
        side: str,
        quantity: int,
        price: float,
        order_type: str,
        *,
        at: datetime | None,
        leg: str = "",
    ) -> None:
        self._next_trade_id += 1
        order_id = order.leg_order_id(leg) if leg else order.order_id
        self._trades.append(
            Trade(
                order.security_id,
                order.exchange_segment,
                order.product_type,
                side,
                quantity,
                price,
                order_id=order_id,
                exchange_order_id=f"X{order_id}" + (f"-{leg}" if leg else ""),
                trade_id=str(self._next_trade_id),
                order_type=order_type,
                order_created=order.created,
                time=ist_now() if at is None else ist_text(at),
                instrument=self.instruments.get(order.security_id),
            )
        )

    # --- request handling ---------------------------------------------------------------------

    def arrive(self, request: RecordedRequest) -> tuple[int, bytes] | None:
        """Count the request as Dhan's rate limiter does; its 429 answer if over the limit."""
        with self._lock:
            sequence = self._arrived
            self._arrived += 1
        if self.network_delay is not None:
            time.sleep(self.network_delay(sequence))
        category = rate_category(request.method, request.path)
        with self._lock:
            now = self.clock()
            self._arrivals.setdefault(category, []).append(now)
            admitted = self._admitted.setdefault(category, [])
            for capacity, period in self.rate_limits.get(category, ()):
                if sum(1 for at in admitted if at > now - period) >= capacity:
                    self._requests.append(request)
                    self.rate_refusals.append(request)
                    return 429, DH_904
            admitted.append(now)
        return None

    def record(self, request: RecordedRequest) -> Script | None:
        with self._lock:
            self._requests.append(request)
            for script in self._scripts:
                if (
                    script.times > 0
                    and script.method == request.method
                    and script.path.fullmatch(request.path)
                ):
                    script.times -= 1
                    return script
        return None

    def handle(self, method: str, path: str, body: Any) -> tuple[int, bytes]:
        with self._lock:
            for route_method, pattern, handler in _ROUTES:
                match = pattern.fullmatch(path)
                if route_method == method and match:
                    return handler(self, body, *match.groups())
        return 404, json.dumps({"status": 404, "error": "Not Found", "path": path}).encode()

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def _create(self, body: Any, *, super_order: bool = False) -> tuple[int, bytes]:
        problem = check_create(body, self.client_id, super_order=super_order)
        if problem:
            return 400, error_body("Input_Exception", "DH-905", problem)
        order = FakeOrder(
            order_id=self._new_id(),
            correlation_id=str(body.get("correlationId") or ""),
            transaction_type=body["transactionType"],
            exchange_segment=body["exchangeSegment"],
            product_type=body["productType"],
            order_type=body["orderType"],
            security_id=str(body["securityId"]),
            quantity=int(body["quantity"]),
            price=float(body.get("price") or 0.0),
            trigger_price=float(body.get("triggerPrice") or 0.0),
            validity=body.get("validity", "DAY"),
            disclosed_quantity=int(body.get("disclosedQuantity") or 0),
            is_super=super_order,
            target_price=float(body.get("targetPrice") or 0.0),
            stop_loss_price=float(body.get("stopLossPrice") or 0.0),
            trailing_jump=float(body.get("trailingJump") or 0.0),
            distinct_leg_ids=super_order and self.distinct_leg_ids,
        )
        return self._store(order)

    def _create_super(self, body: Any) -> tuple[int, bytes]:
        return self._create(body, super_order=True)

    def _store(self, order: FakeOrder) -> tuple[int, bytes]:
        if self._reject_reasons:
            order.status = "REJECTED"
            order.error_description = self._reject_reasons.pop(0)
            order.stop_status = order.target_status = "CANCELLED"
        self.orders[order.order_id] = order
        return 200, json_bytes({"orderId": order.order_id, "orderStatus": order.status})

    def _modify(self, body: Any, order_id: str) -> tuple[int, bytes]:
        order = self.orders.get(order_id)
        refusal = modification_refusal(order, order_id, super_order=False)
        if refusal or order is None:
            return refusal or not_found(order_id)
        order.modifications += 1
        order.order_type = body.get("orderType") or order.order_type
        order.quantity = int(body.get("quantity") or order.quantity)
        order.price = float(body.get("price") or 0.0)
        order.trigger_price = float(body.get("triggerPrice") or 0.0)
        order.validity = body.get("validity") or order.validity
        order.updated = ist_now()
        return 200, json_bytes({"orderId": order.order_id, "orderStatus": order.status})

    def _modify_super(self, body: Any, order_id: str) -> tuple[int, bytes]:
        order = self.orders.get(order_id)
        refusal = modification_refusal(order, order_id, super_order=True)
        if refusal or order is None:
            return refusal or not_found(order_id)
        leg = body.get("legName")
        if leg == "STOP_LOSS_LEG":
            order.stop_loss_price = float(body["stopLossPrice"])
            order.trailing_jump = float(body.get("trailingJump") or 0.0)
        elif leg == "TARGET_LEG":
            order.target_price = float(body["targetPrice"])
        elif leg == "ENTRY_LEG" and order.status == "PENDING":
            order.price = float(body["price"])
            order.quantity = int(body["quantity"])
        else:
            return 400, error_body("Order_Error", "DH-906", f"legName {leg!r} cannot be modified")
        order.modifications += 1
        order.updated = ist_now()
        return 200, json_bytes({"orderId": order.order_id, "orderStatus": order.status})

    def _cancel(self, _body: Any, order_id: str) -> tuple[int, bytes]:
        order = self.orders.get(order_id)
        if order is None or order.is_super:
            return not_found(order_id)
        if order.status not in LIVE_STATUSES:
            return 400, error_body("Order_Error", "DH-906", f"Order is {order.status}, not pending")
        order.status = "CANCELLED"
        order.updated = ist_now()
        return 200, json_bytes({"orderId": order.order_id, "orderStatus": "CANCELLED"})

    def _cancel_super(self, _body: Any, order_id: str, leg: str) -> tuple[int, bytes]:
        order = self.orders.get(order_id)
        if order is None or not order.is_super:
            return not_found(order_id)
        legs_live = "PENDING" in (order.stop_status, order.target_status)
        if leg == "ENTRY_LEG" and order.status == "PENDING":
            order.status = "CANCELLED"
            order.stop_status = order.target_status = "CANCELLED"
        elif leg == "ENTRY_LEG" and order.status == "TRADED" and legs_live:
            order.stop_status = order.target_status = "CANCELLED"
        elif leg == "STOP_LOSS_LEG" and order.stop_status == "PENDING":
            order.stop_status = "CANCELLED"
        elif leg == "TARGET_LEG" and order.target_status == "PENDING":
            order.target_status = "CANCELLED"
        else:
            return 400, error_body("Order_Error", "DH-906", f"{leg} of {order_id} is not pending")
        order.updated = ist_now()
        return 202, b""

    def _get_orders(self, _body: Any) -> tuple[int, bytes]:
        return 200, json_bytes([order.book_row(self.client_id) for order in self.orders.values()])

    def _get_order(self, _body: Any, order_id: str) -> tuple[int, bytes]:
        order = self.orders.get(order_id)
        if order is None:
            return not_found(order_id)
        return 200, json_bytes(order.book_row(self.client_id))

    def _get_by_correlation_id(self, _body: Any, correlation_id: str) -> tuple[int, bytes]:
        rows = [
            order.book_row(self.client_id)
            for order in self.orders.values()
            if order.correlation_id == correlation_id
        ]
        if not rows:
            return 404, error_body("Data_Error", "DH-907", "No data present")
        return 200, json_bytes(rows[0] if len(rows) == 1 else rows)

    def _get_super_orders(self, _body: Any) -> tuple[int, bytes]:
        rows = [o.super_row(self.client_id) for o in self.orders.values() if o.is_super]
        return 200, json_bytes(rows)

    def _get_trades(self, _body: Any, order_id: str | None = None) -> tuple[int, bytes]:
        # Newest first: nothing says Dhan lists them oldest first, so the client must sort.
        rows = [
            trade.row(self.client_id)
            for trade in reversed(self._trades)
            if order_id is None or trade.order_id == order_id
        ]
        return 200, json_bytes(rows)

    def _get_positions(self, _body: Any) -> tuple[int, bytes]:
        return 200, json_bytes(position_rows(self._trades, self.client_id))

    def _get_funds(self, _body: Any) -> tuple[int, bytes]:
        return 200, json_bytes(self.funds)


_ROUTES: list[tuple[str, re.Pattern[str], Any]] = [
    ("POST", re.compile(r"/orders"), DhanLoopbackServer._create),
    ("POST", re.compile(r"/super/orders"), DhanLoopbackServer._create_super),
    ("PUT", re.compile(r"/orders/([^/]+)"), DhanLoopbackServer._modify),
    ("PUT", re.compile(r"/super/orders/([^/]+)"), DhanLoopbackServer._modify_super),
    ("DELETE", re.compile(r"/orders/([^/]+)"), DhanLoopbackServer._cancel),
    ("DELETE", re.compile(r"/super/orders/([^/]+)/([A-Z_]+)"), DhanLoopbackServer._cancel_super),
    ("GET", re.compile(r"/orders"), DhanLoopbackServer._get_orders),
    ("GET", re.compile(r"/orders/external/([^/]+)"), DhanLoopbackServer._get_by_correlation_id),
    ("GET", re.compile(r"/orders/([^/]+)"), DhanLoopbackServer._get_order),
    ("GET", re.compile(r"/super/orders"), DhanLoopbackServer._get_super_orders),
    ("GET", re.compile(r"/trades/?"), DhanLoopbackServer._get_trades),
    ("GET", re.compile(r"/trades/([^/]+)"), DhanLoopbackServer._get_trades),
    ("GET", re.compile(r"/positions"), DhanLoopbackServer._get_positions),
    ("GET", re.compile(r"/fundlimit"), DhanLoopbackServer._get_funds),
]
