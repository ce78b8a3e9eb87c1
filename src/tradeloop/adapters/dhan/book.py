"""Reading Dhan's books: one order's state, the order by correlation id, positions.

Reconciliation depends on `by_correlation_id` telling "no such order" apart from "no answer",
and the SDK hides the HTTP status (a 404 and a 500 look alike). So an explicit Dhan error from
the correlation-id endpoint is never taken as "absent" on its own: the day's order book and
super order book are searched for the correlation id, and only when both were read and neither
holds it is the answer None. Two orders with one correlation id raise `ReconciliationError`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradeloop.adapters.dhan import mapping
from tradeloop.adapters.dhan.envelope import DhanResponse, read_error
from tradeloop.adapters.dhan.sdk import DhanSdk
from tradeloop.adapters.redaction import redact
from tradeloop.domain.execution.orders import BrokerOrder, OrderStatus
from tradeloop.errors import OperationalError, ReconciliationError

Row = Mapping[str, Any]
_LIVE = (OrderStatus.OPEN, OrderStatus.PART_FILLED)


@dataclass(frozen=True, slots=True)
class OrderView:
    """One order as Dhan shows it now: the raw row and its domain mapping."""

    order_id: str
    row: Row
    order: BrokerOrder
    is_super: bool

    @property
    def stop_price(self) -> float | None:
        """The working stop: a super order's STOP_LOSS_LEG price, a stop order's trigger."""
        if self.is_super:
            leg = mapping.stop_leg(self.row)
            return None if leg is None else mapping.to_float(leg.get("price"), "price", leg)
        trigger = mapping.to_float(self.row.get("triggerPrice"), "triggerPrice", self.row)
        return trigger or None

    @property
    def trailing_jump(self) -> float:
        leg = mapping.stop_leg(self.row) or {}
        raw = leg.get("trailingJump", self.row.get("trailingJump"))
        return mapping.to_float(raw, "trailingJump", self.row)

    @property
    def is_live(self) -> bool:
        """Something of this order still works at the exchange (for a super order: its stop)."""
        if self.order.status in _LIVE:
            return True
        if not self.is_super or self.order.status is not OrderStatus.FILLED:
            return False
        leg = mapping.stop_leg(self.row)
        if leg is None:
            # Without leg details, TRADED (rather than CLOSED or TRIGGERED) means the exits wait.
            return str(self.row.get("orderStatus", "")).upper() == "TRADED"
        return mapping.order_status(leg.get("orderStatus")) in _LIVE


class DhanOrderBook:
    """Reads through the SDK, mapped; remembers which order ids are super orders."""

    def __init__(self, sdk: DhanSdk) -> None:
        self._sdk = sdk
        self._is_super: dict[str, bool] = {}
        self._lock = threading.Lock()

    def remember(self, order_id: str, *, is_super: bool) -> None:
        with self._lock:
            self._is_super[order_id] = is_super

    def view(self, order_id: str) -> OrderView:
        """The order's current state; a super order is read from the super order book."""
        with self._lock:
            known = self._is_super.get(order_id)
        if known is not False:
            row = self._find(
                self._rows(self._sdk.super_order_book(), "read the super orders"),
                "orderId",
                order_id,
            )
            if row is not None:
                self.remember(order_id, is_super=True)
                return OrderView(order_id, row, mapping.broker_order(row, super_entry=True), True)
            if known:
                raise OperationalError(
                    f"super order {order_id} placed by this process is missing from Dhan's "
                    "super order book; check it on web.dhan.co"
                )
            self.remember(order_id, is_super=False)
        response = self._sdk.order(order_id)
        failure = response.failure
        if (
            failure is not None
            and not failure.outcome_unknown
            and not (failure.is_auth or failure.is_rate_limit)
        ):
            raise OperationalError(
                f"Dhan has no order {order_id!r} ({failure.describe()}): check the order id; Dhan "
                "lists orders only on the day they were placed"
            )
        rows = self._rows(response, f"read order {order_id}")
        row = self._find(rows, "orderId", order_id) or (rows[0] if rows else None)
        if row is None:
            raise OperationalError(f"Dhan answered with no order for id {order_id!r}")
        return OrderView(order_id, row, mapping.broker_order(row), False)

    def by_correlation_id(self, correlation_id: str) -> BrokerOrder | None:
        response = self._sdk.order_by_correlation_id(correlation_id)
        failure = response.failure
        if failure is not None and (
            failure.outcome_unknown or failure.is_auth or failure.is_rate_limit
        ):
            raise read_error(failure, f"look up correlation id {correlation_id}")
        if failure is None:
            rows = [
                row
                for row in _as_rows(response.data)
                if str(row.get("correlationId") or correlation_id) == correlation_id
                and not _is_exit_leg(row)
            ]
            if rows:
                return self._single(correlation_id, rows, super_rows=[])
        # Dhan said "no" (an error, or an empty answer): confirm against the day's books.
        orders = self.order_rows()
        supers = self.super_order_rows()
        return self._single(
            correlation_id,
            [
                row
                for row in orders
                if str(row.get("correlationId") or "") == correlation_id and not _is_exit_leg(row)
            ],
            super_rows=[
                row for row in supers if str(row.get("correlationId") or "") == correlation_id
            ],
        )

    def orders(self) -> list[BrokerOrder]:
        return [self._map(row) for row in self.order_rows()]

    def order_rows(self) -> list[Row]:
        return self._rows(self._sdk.order_book(), "read the order book")

    def super_order_rows(self) -> list[Row]:
        return self._rows(self._sdk.super_order_book(), "read the super orders")

    def trade_rows(self) -> list[Row]:
        return self._rows(self._sdk.trade_book(), "read the trade book")

    def position_rows(self) -> list[Row]:
        return self._rows(self._sdk.positions(), "read the positions")

    def net_quantity(self, security_id: str, exchange_segment: str, product_type: str) -> int:
        """The open quantity (+ long, - short) Dhan shows for one instrument and product."""
        total = 0
        for row in self.position_rows():
            if (
                str(row.get("securityId") or "") == security_id
                and str(row.get("exchangeSegment") or exchange_segment) == exchange_segment
                and str(row.get("productType") or product_type) == product_type
            ):
                total += mapping.to_int(row.get("netQty"), "netQty", row)
        return total

    def _single(
        self, correlation_id: str, rows: list[Row], super_rows: list[Row]
    ) -> BrokerOrder | None:
        by_id: dict[str, BrokerOrder] = {}
        for row in rows:
            order = self._map(row)
            by_id[order.order_id or ""] = order
        for row in super_rows:
            order = mapping.broker_order(row, super_entry=True)
            self.remember(order.order_id or "", is_super=True)
            by_id[order.order_id or ""] = order  # the super book's view of the entry wins
        if not by_id:
            return None
        if len(by_id) > 1:
            raise ReconciliationError(
                f"Dhan holds {len(by_id)} orders with correlation id {correlation_id}: "
                f"{', '.join(sorted(by_id))}. The same intent was sent more than once; a person "
                "must decide which to keep before trading continues."
            )
        return next(iter(by_id.values()))

    def _map(self, row: Row) -> BrokerOrder:
        with self._lock:
            is_super = self._is_super.get(str(row.get("orderId") or ""), False)
        leg = str(row.get("legName") or "ENTRY_LEG").upper()
        return mapping.broker_order(row, super_entry=is_super and leg == "ENTRY_LEG")

    @staticmethod
    def _rows(response: DhanResponse, action: str) -> list[Row]:
        if response.failure is not None:
            raise read_error(response.failure, action)
        if response.data in (None, "", [], {}):
            return []
        if not isinstance(response.data, list | dict):
            raise OperationalError(
                redact(
                    f"Dhan answered {action!r} with {type(response.data).__name__}, not JSON "
                    "rows; the API may have changed"
                )
            )
        return _as_rows(response.data)

    @staticmethod
    def _find(rows: list[Row], field: str, value: str) -> Row | None:
        for row in rows:
            if str(row.get(field) or "") == value:
                return row
        return None


def _as_rows(data: object) -> list[Row]:
    if isinstance(data, dict):
        return [data] if data else []
    if isinstance(data, list):
        return [row for row in data if isinstance(row, dict)]
    return []


def _is_exit_leg(row: Row) -> bool:
    """A super order's target or stop leg listed as a row of its own: it is not another order."""
    return str(row.get("legName") or "").upper() in ("TARGET_LEG", "STOP_LOSS_LEG")
