"""Rows of Dhan's trade book (`GET /trades`) as `BrokerFill`s, oldest first.

Each row is one execution: `orderId`, `exchangeOrderId`, `exchangeTradeId`, `transactionType`,
`exchangeSegment`, `productType`, `orderType`, `tradingSymbol`, `securityId`, `tradedQuantity`
(units), `tradedPrice`, and `createTime`/`updateTime`/`exchangeTime` as IST wall clock.

- `fill_id` is `dhan:<segment>:<IST date>:<exchangeTradeId>`. The exchange numbers trades per
  segment and day, and the ledger keeps fills of every day, so the id carries both. A row listed
  twice is one fill. When the trade id is missing, "0", or shared by two different trades (Dhan
  has been seen to send "0" for every trade), the id is built from the order id, exchange order
  id, time, quantity and price instead, with `#2`, `#3`, ... for identical trades.
- `ts` is `exchangeTime` (else `updateTime`, else `createTime`), read as IST, stored as UTC.
- `costs`: Dhan's trade book carries no itemised charges, so they are computed from the shared
  cost table (`tradeloop.domain.costs`), options or futures by the contract (an option has an
  option type, a strike or a CE/PE symbol), intraday equity for NSE_EQ/BSE_EQ INTRADAY. Brokerage
  is charged per executed order, so a partially filled order's trades share one order's charges:
  each trade carries the increase in the order's charges it caused, oldest first, and the trades
  of an order add up to the charges of one order of their total turnover. Segments or products
  the table has no rates for (delivery, currency, commodity) get no costs: read the contract
  note for those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tradeloop.adapters.dhan import mapping
from tradeloop.adapters.dhan.origins import Origin
from tradeloop.domain.costs import CostBreakdown, CostTable, InstrumentKind
from tradeloop.domain.execution.fills import BrokerFill, FillLeg
from tradeloop.domain.execution.orders import Side
from tradeloop.domain.market.calendar import to_ist
from tradeloop.errors import TransientError

Row = Mapping[str, Any]

_TIME_FIELDS = ("exchangeTime", "updateTime", "createTime")
_NO_TRADE_ID = ("", "0")
_OPTION_TYPES = ("CALL", "PUT", "CE", "PE")
_OPTION_SYMBOL = re.compile(r"(CE|PE|CALL|PUT)$")
_EARLIEST_YEAR = 2000
"""Anything earlier is one of Dhan's placeholders for an unset time (0001-01-01, 1970-01-01)."""


@dataclass(frozen=True, slots=True)
class _Trade:
    trade_id: str
    order_id: str
    exchange_order_id: str
    segment: str
    security_id: str
    side: Side
    order_type: str
    quantity: int
    price: float
    ts: datetime
    kind: InstrumentKind | None

    @property
    def content(self) -> tuple[object, ...]:
        """What makes two rows the same execution."""
        execution = (self.order_id, self.exchange_order_id, self.side, self.quantity, self.price)
        return (*execution, self.ts)

    def id_prefix(self) -> str:
        return f"dhan:{self.segment}:{to_ist(self.ts):%Y%m%d}:"


def fills_from_trades(
    rows: Iterable[Row], origins: Mapping[str, Origin], cost_table: CostTable
) -> list[BrokerFill]:
    """Every trade as a fill, oldest first (see the module docstring).

    Raises `TransientError` when a trade's order is in neither of the day's order books (the
    books may lag the trade book for a moment) and `OperationalError` for an unreadable row.
    """
    trades = [_parse(row) for row in rows]
    unknown = sorted({trade.order_id for trade in trades if trade.order_id not in origins})
    if unknown:
        raise TransientError(
            f"Dhan's trade book lists trades of order(s) {', '.join(unknown)} that neither its "
            "order book nor its super order book shows, so their correlation ids are unknown; "
            "no fills were returned. Retry shortly; if it persists, check those orders on "
            "web.dhan.co"
        )
    identified = _with_ids(trades)
    legs = {
        fill_id: origins[trade.order_id].leg_of(trade.side, trade.order_type, trade.price)
        for fill_id, trade in identified.items()
    }
    ordered = sorted(
        identified.items(),
        key=lambda item: (item[1].ts, legs[item[0]] is not FillLeg.ENTRY, item[0]),
    )
    charged: dict[tuple[str, FillLeg], float] = {}
    fills: list[BrokerFill] = []
    for fill_id, trade in ordered:
        leg = legs[fill_id]
        before = charged.get((trade.order_id, leg), 0.0)
        after = before + trade.price * trade.quantity
        charged[(trade.order_id, leg)] = after
        fills.append(
            BrokerFill(
                fill_id=fill_id,
                order_id=trade.order_id,
                correlation_id=origins[trade.order_id].correlation_id,
                leg=leg,
                security_id=trade.security_id,
                side=trade.side,
                quantity=trade.quantity,
                price=trade.price,
                ts=trade.ts,
                costs=_costs(cost_table, trade, before, after),
            )
        )
    return fills


def instrument_kind(row: Row) -> InstrumentKind | None:
    """The cost table's instrument kind of a trade, or None when the table has no rates for it."""
    segment = str(row.get("exchangeSegment") or "").upper()
    if segment.endswith("_FNO"):
        option_type = str(row.get("drvOptionType") or "").strip().upper()
        strike = _number_or_zero(row.get("drvStrikePrice"))
        symbol = str(row.get("tradingSymbol") or "").strip().upper()
        if option_type in _OPTION_TYPES or strike > 0 or _OPTION_SYMBOL.search(symbol):
            return InstrumentKind.OPTIONS
        return InstrumentKind.FUTURES
    product = str(row.get("productType") or "").upper()
    if segment in ("NSE_EQ", "BSE_EQ") and product == "INTRADAY":
        return InstrumentKind.EQUITY_INTRADAY
    return None


def _parse(row: Row) -> _Trade:
    quantity = mapping.to_int(row.get("tradedQuantity"), "tradedQuantity", row)
    if quantity <= 0:
        raise mapping.payload_error("tradedQuantity", row)
    price = mapping.to_float(row.get("tradedPrice"), "tradedPrice", row)
    if price <= 0:
        raise mapping.payload_error("tradedPrice", row)
    return _Trade(
        trade_id=_text(row.get("exchangeTradeId")),
        order_id=mapping.required_text(row, "orderId"),
        exchange_order_id=_text(row.get("exchangeOrderId")),
        segment=mapping.required_text(row, "exchangeSegment").upper(),
        security_id=mapping.required_text(row, "securityId"),
        side=mapping.side(row),
        order_type=_text(row.get("orderType")),
        quantity=quantity,
        price=price,
        ts=_trade_time(row),
        kind=instrument_kind(row),
    )


def _trade_time(row: Row) -> datetime:
    for field in _TIME_FIELDS:
        ts = mapping.dhan_time(row.get(field))
        if ts is not None and ts.year >= _EARLIEST_YEAR:
            return ts
    raise mapping.payload_error("exchangeTime", row)


def _with_ids(trades: list[_Trade]) -> dict[str, _Trade]:
    """Each execution once, under its fill id (see the module docstring)."""
    by_trade_id: dict[str, list[_Trade]] = {}
    unnamed: list[_Trade] = []
    for trade in trades:
        if trade.trade_id in _NO_TRADE_ID:
            unnamed.append(trade)
        else:
            by_trade_id.setdefault(trade.id_prefix() + trade.trade_id, []).append(trade)
    identified: dict[str, _Trade] = {}
    for fill_id, group in by_trade_id.items():
        if len({trade.content for trade in group}) == 1:
            identified[fill_id] = group[0]  # one execution listed more than once
        else:
            unnamed.extend(group)
    unnamed.sort(key=lambda trade: (trade.ts, trade.order_id, trade.exchange_order_id))
    for trade in unnamed:
        base = (
            f"{trade.id_prefix()}order-{trade.order_id}:{trade.exchange_order_id}:"
            f"{to_ist(trade.ts):%H%M%S}:{trade.quantity}@{trade.price:g}"
        )
        fill_id, copy = base, 1
        while fill_id in identified:
            copy += 1
            fill_id = f"{base}#{copy}"
        identified[fill_id] = trade
    return identified


def _costs(cost_table: CostTable, trade: _Trade, before: float, after: float) -> dict[str, float]:
    """The increase in the order's charges from turnover `before` to `after`, by component."""
    if trade.kind is None:
        return {}
    is_buy = trade.side is Side.BUY
    # Turnover as the price of one unit: the charges depend on turnover only.
    now = cost_table.order_costs(trade.kind, is_buy, after, 1.0).as_dict()
    earlier = (
        cost_table.order_costs(trade.kind, is_buy, before, 1.0) if before > 0 else CostBreakdown()
    ).as_dict()
    return {name: max(0.0, now[name] - earlier[name]) for name in now if name != "total"}


def _number_or_zero(value: object) -> float:
    """A hint field (the strike): unreadable means absent, not a payload error."""
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
