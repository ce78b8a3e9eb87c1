"""`DhanBroker`: the `Broker` port on DhanHQ v2, through the official dhanhq SDK.

How failures come out (the SDK itself never raises, see `envelope`):

- `place` never raises for a Dhan outcome. A timeout, a connection error, an unreadable answer
  or a Dhan-side fault returns status UNKNOWN: the order may exist. It is never retried here;
  the caller reconciles with `order_by_correlation_id` (the intent id is the correlation id).
  An explicit Dhan refusal returns REJECTED with Dhan's reason.
- A rate-limit refusal (HTTP 429, DH-904) is not an outcome: Dhan did nothing, so every call,
  a create included, is paused and sent again, a bounded number of times (see `sdk`). A create
  still refused after that, or that the limiter could not schedule within a minute (an hourly
  or daily limit used up), returns NOT_SENT with a message starting "not placed" / "never
  sent": the order does not exist. So does a request that cannot be built (SDK argument checks).
- Reads raise `TransientError` when there is no usable answer, `RateLimitedError` when Dhan
  still says so after the retries, and `ConfigError` when Dhan refuses the credentials.
- `modify_stop` raises `OperationalError` when Dhan refuses the modification, or when the order
  has used up Dhan's 25 modifications; `TransientError` when its outcome stays unknown.
- `cancel` returns the order's state after the attempt: CANCELLED only if it was cancelled.
- `fills` raises like any read, and never returns a partial list.

The access token is registered with the process redactor before anything is sent, so it is
scrubbed from every log record and every message built here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NoReturn

from pydantic import SecretStr

from tradeloop.adapters.dhan import mapping
from tradeloop.adapters.dhan.book import DhanOrderBook, OrderView
from tradeloop.adapters.dhan.envelope import DhanFailure, DhanResponse, access_error, read_error
from tradeloop.adapters.dhan.order_requests import (
    OrderNotSendable,
    SuperOrderRequest,
    plan_order,
)
from tradeloop.adapters.dhan.origins import order_origins
from tradeloop.adapters.dhan.sdk import (
    RATE_LIMIT_ATTEMPTS,
    DhanSdk,
    check_base_url,
    check_credentials,
)
from tradeloop.adapters.dhan.trades import fills_from_trades
from tradeloop.adapters.ratelimit import RateLimiter
from tradeloop.adapters.redaction import redact, register_secret
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.fills import BrokerFill, SupportsFills
from tradeloop.domain.execution.orders import (
    Broker,
    BrokerOrder,
    BrokerPosition,
    Funds,
    OrderIntent,
    OrderStatus,
    OrderType,
)
from tradeloop.errors import ConfigError, OperationalError, RateLimitedError, TransientError

log = logging.getLogger(__name__)

MAX_MODIFICATIONS_PER_ORDER = 25
"""Dhan refuses the 26th modification of an order."""
DEFAULT_TIMEOUT_SECONDS = 10.0


class DhanBroker:
    """The live DhanHQ broker; application code builds it with `app.trading.dhan_broker`."""

    name = "dhan"
    protects_without_target = False  # a super order needs a target (order_requests.py)

    def __init__(
        self,
        client_id: str,
        access_token: SecretStr,
        *,
        cost_table: CostTable,
        rate_limiter: RateLimiter,
        base_url: str = "https://api.dhan.co/v2",
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        """`rate_limiter` must be the one limiter of this account (`SqliteRateLimiter` when
        more than one process trades it: `app.trading.dhan_broker` builds that one)."""
        token = access_token.get_secret_value()
        check_credentials(client_id, token)
        register_secret(access_token)
        if timeout <= 0:
            raise ConfigError(f"the Dhan timeout must be positive, got {timeout}")
        self._sdk = DhanSdk(
            client_id.strip(),
            token,
            base_url=check_base_url(base_url),
            timeout=timeout,
            rate_limiter=rate_limiter,
        )
        self._book = DhanOrderBook(self._sdk)
        self._costs = cost_table
        self._modifications: dict[str, int] = {}
        self._modifications_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DhanBroker(base_url={self._sdk.base_url!r})"

    def __reduce__(self) -> NoReturn:
        # Prefect hashes and pickles task inputs: a broker passed as one would write the token
        # into cache keys or result storage.
        raise TypeError(
            "DhanBroker holds a live access token and cannot be pickled: build it inside the "
            "task that uses it (tradeloop.app.trading.dhan_broker) instead of passing it as a "
            "parameter"
        )

    # --- orders -------------------------------------------------------------------------------

    def place(self, intent: OrderIntent) -> BrokerOrder:
        """Create the order once; never raises for a Dhan outcome (see the module docstring)."""
        return self._place(intent, intent.quantity)

    def _place(self, intent: OrderIntent, quantity: int) -> BrokerOrder:
        try:
            request = plan_order(intent, quantity)
        except OrderNotSendable as exc:
            return _outcome(intent, quantity, OrderStatus.NOT_SENT, f"never sent: {exc}")
        log.info("dhan: sending %s (correlation id %s)", request.describe(), request.correlation_id)
        try:
            if isinstance(request, SuperOrderRequest):
                response = self._sdk.place_super_order(request)
            else:
                response = self._sdk.place_order(request)
        except ValueError as exc:  # the SDK's own argument checks run before anything is sent
            return _outcome(intent, quantity, OrderStatus.NOT_SENT, f"never sent: {exc}")
        except TransientError as exc:  # the rate limiter gave no slot: nothing was sent
            return _outcome(intent, quantity, OrderStatus.NOT_SENT, f"never sent: {exc}")
        order = self._created(intent, quantity, response)
        if order.order_id:
            self._book.remember(order.order_id, is_super=isinstance(request, SuperOrderRequest))
        accepted = order.status in (OrderStatus.OPEN, OrderStatus.PART_FILLED, OrderStatus.FILLED)
        log.log(
            logging.INFO if accepted else logging.WARNING,
            "dhan: correlation id %s -> %s %s",
            order.correlation_id,
            order.status,
            order.message,
        )
        return order

    def _created(self, intent: OrderIntent, quantity: int, response: DhanResponse) -> BrokerOrder:
        if response.failure is not None:
            return _failed_create(intent, quantity, response.failure)
        data = response.data if isinstance(response.data, dict) else {}
        order_id = str(data.get("orderId") or "").strip()
        if not order_id:
            return _outcome(
                intent,
                quantity,
                OrderStatus.UNKNOWN,
                redact(f"Dhan answered without an order id ({data!r}); " + _reconcile_hint(intent)),
            )
        raw_status = str(data.get("orderStatus") or "")
        status = mapping.order_status(raw_status)
        message = ""
        if status is OrderStatus.UNKNOWN:
            message = f"created with unrecognised status {raw_status!r}; " + _reconcile_hint(intent)
        elif status is OrderStatus.REJECTED:
            message = self._rejection_reason(order_id)
        return _outcome(intent, quantity, status, message, order_id=order_id)

    def _rejection_reason(self, order_id: str) -> str:
        try:
            view = self._book.view(order_id)
        except (TransientError, OperationalError, ConfigError) as exc:
            return redact(f"rejected by Dhan (reason not available: {exc})")
        return view.order.message or "rejected by Dhan (no reason given)"

    def modify_stop(self, order_id: str, trigger_price: float) -> BrokerOrder:
        """Move the stop: the super order's STOP_LOSS_LEG, or a plain stop order's trigger.

        Each attempt sent counts toward Dhan's 25 modifications per order (a timed-out attempt
        may have been applied); the 26th is refused before anything is sent.
        """
        if trigger_price <= 0:
            raise ValueError(f"trigger_price must be positive, got {trigger_price}")
        trigger = round(trigger_price, 2)
        self._check_modification_budget(order_id)
        view = self._book.view(order_id)
        if not view.is_live:
            raise OperationalError(
                f"order {order_id} is {view.order.status}: it has no working stop to move"
            )
        if view.is_super:
            trailing = view.trailing_jump
            self._count_modification(order_id)
            response = self._sdk.modify_super_stop(
                order_id, stop_loss_price=trigger, trailing_jump=trailing
            )
        else:
            response = self._modify_plain_stop(view, trigger)
        if response.failure is None:
            log.info("dhan: stop of order %s moved to %g", order_id, trigger)
            return view.order
        return self._verify_modification(view, trigger, response.failure)

    def _modify_plain_stop(self, view: OrderView, trigger: float) -> DhanResponse:
        row = view.row
        order_type = str(row.get("orderType") or "").upper()
        if order_type not in (OrderType.STOP_LOSS.value, OrderType.STOP_LOSS_MARKET.value):
            raise OperationalError(
                f"order {view.order_id} is a {order_type or 'non-stop'} order: only STOP_LOSS and "
                "STOP_LOSS_MARKET orders (or super orders) have a stop to move"
            )
        old_trigger = mapping.to_float(row.get("triggerPrice"), "triggerPrice", row)
        price = 0.0
        if order_type == OrderType.STOP_LOSS.value:
            # A stop-limit keeps its limit at the same distance from the trigger.
            old_price = mapping.to_float(row.get("price"), "price", row)
            price = round(old_price + (trigger - old_trigger), 2)
        self._count_modification(view.order_id)
        return self._sdk.modify_order(
            view.order_id,
            order_type=order_type,
            quantity=mapping.to_int(row.get("quantity"), "quantity", row),
            price=price,
            trigger_price=trigger,
            disclosed_quantity=mapping.to_int(
                row.get("disclosedQuantity"), "disclosedQuantity", row
            ),
            validity=str(row.get("validity") or "DAY"),
        )

    def _verify_modification(
        self, view: OrderView, trigger: float, failure: DhanFailure
    ) -> BrokerOrder:
        if not failure.outcome_unknown:
            _raise_refusal(failure, f"move the stop of order {view.order_id} to {trigger:g}")
        # No answer: read the order back to learn whether the new stop is in place.
        after = self._book.view(view.order_id)
        if after.stop_price is not None and abs(after.stop_price - trigger) < 0.005:
            return after.order
        raise TransientError(
            f"moving the stop of order {view.order_id} to {trigger:g} got {failure.describe()}, "
            f"and the order still shows stop {after.stop_price}; the stop has NOT moved. "
            "Retrying is safe (each attempt counts toward Dhan's 25 modifications)"
        )

    def modifications_left(self, order_id: str) -> int:
        """How many more modifications Dhan will accept for `order_id` (as counted here)."""
        with self._modifications_lock:
            return MAX_MODIFICATIONS_PER_ORDER - self._modifications.get(order_id, 0)

    def _check_modification_budget(self, order_id: str) -> None:
        if self.modifications_left(order_id) <= 0:
            raise OperationalError(
                f"order {order_id} has had {MAX_MODIFICATIONS_PER_ORDER} modifications, Dhan's "
                "maximum per order, so this one was not sent. The stop stays where it is. Stop "
                "trailing before the limit (fewer, larger trailing steps; check "
                "modifications_left()), or exit the position."
            )

    def _count_modification(self, order_id: str) -> None:
        with self._modifications_lock:
            used = self._modifications.get(order_id, 0) + 1
            self._modifications[order_id] = used
        left = MAX_MODIFICATIONS_PER_ORDER - used
        if left <= 5:
            log.warning("dhan: order %s has %d modification(s) left at Dhan", order_id, left)

    def cancel(self, order_id: str) -> BrokerOrder:
        """Cancel the order (a super order: every leg still pending); return its state after.

        A super order whose entry has filled keeps status FILLED: its target and stop legs are
        cancelled and the position stays open (use `exit_position` to close it).
        """
        view = self._book.view(order_id)
        if not view.is_live:
            return _with_message(view.order, f"nothing to cancel: the order is {view.order.status}")
        if view.is_super:
            response = self._sdk.cancel_super_order(order_id)
        else:
            response = self._sdk.cancel_order(order_id)
        failure = response.failure
        if failure is not None and not failure.outcome_unknown:
            if failure.is_auth:
                raise access_error(failure)
            if failure.is_rate_limit:
                raise RateLimitedError(f"Dhan rate-limited cancelling order {order_id}")
        # Whatever the answer, the order's state after the attempt is the truth. (Dhan answers a
        # super order cancel with an empty 202, which the SDK reports as a failure.)
        after = self._book.view(order_id)
        if failure is not None and not failure.outcome_unknown:
            return _with_message(after.order, f"cancel refused by Dhan ({failure.describe()})")
        if failure is not None and after.is_live:
            raise TransientError(
                f"cancelling order {order_id} got {failure.describe()} and the order is still "
                f"{after.order.status}; retry the cancel"
            )
        log.info("dhan: order %s cancelled, now %s", order_id, after.order.status)
        return after.order

    def exit_position(
        self, intent: OrderIntent, cancel_order_ids: Sequence[str] = ()
    ) -> BrokerOrder:
        """Cancel `cancel_order_ids` (the position's stop/target orders), then exit at market.

        The exit never exceeds the open position: it sends at most the net quantity Dhan shows
        for the intent's security and product (nothing when the position is already flat), and
        refuses an exit on the side that would add to the position. If a cancel fails, its
        error propagates and no exit is sent (a live stop plus a market exit could both fill).
        The intent id is the correlation id, so a retried exit is reconciled like any order.
        """
        if not intent.is_exit:
            raise ValueError(f"exit_position needs an exit intent (is_exit=True), got {intent.id}")
        for order_id in cancel_order_ids:
            self.cancel(order_id)
        net = self._book.net_quantity(
            intent.security_id, intent.exchange_segment.value, intent.product.value
        )
        if net == 0:
            return _outcome(intent, 0, OrderStatus.CANCELLED, "not sent: the position is flat")
        if (net > 0) == (intent.side.sign > 0):
            raise OperationalError(
                f"exit intent {intent.id} would {intent.side} {intent.quantity} of "
                f"{intent.security_id} but the position is {net:+d}: that adds to it. Nothing "
                "was sent."
            )
        return self._place(intent, min(abs(net), intent.quantity))

    # --- reads --------------------------------------------------------------------------------

    def order_by_correlation_id(self, correlation_id: str) -> BrokerOrder | None:
        """The order created with this correlation id today, or None if Dhan has none."""
        return self._book.by_correlation_id(correlation_id)

    def orders(self) -> list[BrokerOrder]:
        return self._book.orders()

    def positions(self) -> list[BrokerPosition]:
        """Today's positions, closed ones included (net quantity 0, with realized P&L)."""
        return [mapping.broker_position(row) for row in self._book.position_rows()]

    def fills(self) -> list[BrokerFill]:
        """Every execution of the day from Dhan's trade book, oldest first (`SupportsFills`).

        The order book and super order book give each trade its correlation id and leg (see
        `origins`). The trade book has no itemised charges: `costs` come from the shared cost
        table (see `trades`). A failed read raises; there is never a partial list.
        """
        rows = self._book.trade_rows()
        if not rows:
            return []
        origins = order_origins(self._book.order_rows(), self._book.super_order_rows())
        return fills_from_trades(rows, origins, self._costs)

    def funds(self) -> Funds:
        response = self._sdk.fund_limits()
        if response.failure is not None:
            raise read_error(response.failure, "read the fund limits")
        if not isinstance(response.data, dict):
            raise mapping.payload_error("availabelBalance", response.data)
        return mapping.funds(response.data)


def _failed_create(intent: OrderIntent, quantity: int, failure: DhanFailure) -> BrokerOrder:
    if failure.is_rate_limit:
        return _outcome(
            intent,
            quantity,
            OrderStatus.NOT_SENT,
            f"not placed: Dhan refused all {RATE_LIMIT_ATTEMPTS} sends for its rate limit "
            f"({failure.describe()}): the order does not exist",
        )
    if failure.outcome_unknown:
        message = f"outcome unknown: {failure.describe()}; " + _reconcile_hint(intent)
        return _outcome(intent, quantity, OrderStatus.UNKNOWN, message)
    if failure.is_auth:
        return _outcome(intent, quantity, OrderStatus.REJECTED, str(access_error(failure)))
    return _outcome(
        intent, quantity, OrderStatus.REJECTED, f"rejected by Dhan: {failure.describe()}"
    )


def _raise_refusal(failure: DhanFailure, action: str) -> NoReturn:
    if failure.is_auth:
        raise access_error(failure)
    if failure.is_rate_limit:
        raise RateLimitedError(f"Dhan rate-limited the call to {action}; nothing changed")
    raise OperationalError(f"Dhan refused to {action}: {failure.describe()}")


def _reconcile_hint(intent: OrderIntent) -> str:
    return (
        f"the order may exist. Do not resend: reconcile with order_by_correlation_id("
        f"'{intent.id}') first"
    )


def _outcome(
    intent: OrderIntent,
    quantity: int,
    status: OrderStatus,
    message: str,
    *,
    order_id: str | None = None,
) -> BrokerOrder:
    return BrokerOrder(
        order_id=order_id,
        correlation_id=intent.id,
        status=status,
        side=intent.side,
        quantity=quantity,
        security_id=intent.security_id,
        message=redact(message),
    )


def _with_message(order: BrokerOrder, message: str) -> BrokerOrder:
    return replace(order, message=redact(message))


if TYPE_CHECKING:

    def _implements_the_broker_port(broker: DhanBroker) -> Broker:
        return broker  # mypy checks DhanBroker against the Broker protocol here

    def _reports_fills(broker: DhanBroker) -> SupportsFills:
        return broker
