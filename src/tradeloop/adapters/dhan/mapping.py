"""Dhan v2 payloads to domain types: orders, super orders, positions, funds.

Dhan field names: `orderId`, `correlationId`, `orderStatus`, `transactionType`, `securityId`,
`quantity` (units, not lots), `filledQty`, `averageTradedPrice`, `omsErrorDescription`,
`updateTime` (IST wall clock, `YYYY-MM-DD HH:MM:SS`); positions carry `netQty`, `buyAvg`,
`sellAvg`, `realizedProfit`; the fund limit carries `availabelBalance` (Dhan's spelling).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tradeloop.adapters.redaction import redact
from tradeloop.domain.execution.orders import (
    BrokerOrder,
    BrokerPosition,
    Funds,
    OrderStatus,
    Side,
)
from tradeloop.domain.market.calendar import IST
from tradeloop.errors import OperationalError

ORDER_STATUS: Mapping[str, OrderStatus] = {
    "TRANSIT": OrderStatus.OPEN,
    "PENDING": OrderStatus.OPEN,
    "TRIGGERED": OrderStatus.OPEN,
    "MODIFIED": OrderStatus.OPEN,
    "PART_TRADED": OrderStatus.PART_FILLED,
    "TRADED": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    # Dhan uses CLOSED only for super orders (entry filled, exits placed): seen on a row that
    # does not say which order it is, the entry has still filled.
    "CLOSED": OrderStatus.FILLED,
}
"""Status of a plain order (or one leg). Anything else (e.g. INACTIVE) maps to UNKNOWN."""

SUPER_ENTRY_STATUS: Mapping[str, OrderStatus] = {
    **ORDER_STATUS,
    # In the super order book these describe the exit legs: the entry itself has filled.
    "TRIGGERED": OrderStatus.FILLED,
    "CLOSED": OrderStatus.FILLED,
}

STOP_LOSS_LEG = "STOP_LOSS_LEG"


def order_status(raw: object, table: Mapping[str, OrderStatus] = ORDER_STATUS) -> OrderStatus:
    return table.get(str(raw or "").strip().upper(), OrderStatus.UNKNOWN)


def broker_order(row: Mapping[str, Any], *, super_entry: bool = False) -> BrokerOrder:
    """One row of the order book (or of the super order book, with `super_entry`).

    A row whose own `legName` is ENTRY_LEG is a super order's entry whatever the caller knew:
    after a restart nothing in memory says which orders were super orders, the row does.
    """
    super_entry = super_entry or _text(row.get("legName")).upper() == "ENTRY_LEG"
    raw_status = str(row.get("orderStatus") or "")
    status = order_status(raw_status, SUPER_ENTRY_STATUS if super_entry else ORDER_STATUS)
    message = _text(row.get("omsErrorDescription"))
    if status is OrderStatus.UNKNOWN:
        message = f"unrecognised Dhan orderStatus {raw_status!r}. {message}".strip()
    average = to_float(row.get("averageTradedPrice"), "averageTradedPrice", row)
    return BrokerOrder(
        order_id=required_text(row, "orderId"),
        correlation_id=_text(row.get("correlationId")),
        status=status,
        side=side(row),
        quantity=to_int(row.get("quantity"), "quantity", row),
        filled_quantity=to_int(row.get("filledQty"), "filledQty", row),
        average_price=average if average > 0 else None,
        security_id=_text(row.get("securityId")),
        message=redact(message),
        updated_at=dhan_time(row.get("updateTime")),
    )


def stop_leg(row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The STOP_LOSS_LEG of a super order book row, if Dhan listed it."""
    for leg in row.get("legDetails") or ():
        if isinstance(leg, Mapping) and str(leg.get("legName", "")).upper() == STOP_LOSS_LEG:
            return leg
    return None


def broker_position(row: Mapping[str, Any]) -> BrokerPosition:
    net = to_int(row.get("netQty"), "netQty", row)
    if net > 0:
        average = to_float(row.get("buyAvg"), "buyAvg", row)
    elif net < 0:
        average = to_float(row.get("sellAvg"), "sellAvg", row)
    else:
        average = 0.0
    if average <= 0 and net:
        average = to_float(row.get("costPrice"), "costPrice", row)
    return BrokerPosition(
        security_id=required_text(row, "securityId"),
        net_quantity=net,
        average_price=average,
        realized_pnl=to_float(row.get("realizedProfit"), "realizedProfit", row),
        symbol=_text(row.get("tradingSymbol")),
    )


def funds(row: Mapping[str, Any]) -> Funds:
    # Dhan spells it "availabelBalance"; accept the correct spelling too should they fix it.
    key = "availabelBalance" if "availabelBalance" in row else "availableBalance"
    if key not in row:
        raise payload_error("availabelBalance", row)
    return Funds(
        available=to_float(row.get(key), key, row),
        utilized=to_float(row.get("utilizedAmount"), "utilizedAmount", row),
    )


def side(row: Mapping[str, Any]) -> Side:
    raw = str(row.get("transactionType") or "").strip().upper()
    try:
        return Side(raw)
    except ValueError:
        raise payload_error("transactionType", row) from None


def dhan_time(raw: object) -> datetime | None:
    """Dhan's IST wall-clock timestamp (or epoch seconds) as UTC; None when absent or unusable.

    Dhan writes `YYYY-MM-DD HH:MM:SS`; some endpoints use a `T` between date and time.
    """
    if raw is None or raw == "" or isinstance(raw, bool):
        return None
    try:
        if isinstance(raw, int | float):
            return datetime.fromtimestamp(float(raw), UTC)
        local = datetime.fromisoformat(str(raw).strip())
        if local.tzinfo is None:
            local = local.replace(tzinfo=IST)
        return local.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        # Dhan writes placeholders such as "0001-01-01 00:00:00" or "NA" for unset times.
        return None


def to_int(raw: object, field: str, row: Mapping[str, Any]) -> int:
    if raw is None or raw == "":
        return 0
    try:
        number = float(str(raw))
    except ValueError:
        raise payload_error(field, row) from None
    if not number.is_integer():
        raise payload_error(field, row)
    return int(number)


def to_float(raw: object, field: str, row: Mapping[str, Any]) -> float:
    if raw is None or raw == "":
        return 0.0
    try:
        return float(str(raw))
    except ValueError:
        raise payload_error(field, row) from None


def required_text(row: Mapping[str, Any], field: str) -> str:
    value = _text(row.get(field))
    if not value:
        raise payload_error(field, row)
    return value


def payload_error(field: str, row: object) -> OperationalError:
    shown = redact(repr(row))
    if len(shown) > 400:
        shown = shown[:400] + "…"
    return OperationalError(
        f"Dhan sent data tradeloop cannot read: field '{field}' is missing or invalid in "
        f"{shown}. The Dhan API may have changed; nothing was acted on. Report this with the "
        "payload above."
    )


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
