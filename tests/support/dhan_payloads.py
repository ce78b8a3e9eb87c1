"""Dhan v2 payload shapes for the loopback server: orders, super orders, trades, positions.

Field names and values follow the DhanHQ v2 docs (orders, super order, portfolio, annexure).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

IST = timezone(timedelta(hours=5, minutes=30))
MAX_MODIFICATIONS = 25
LIVE_STATUSES = ("TRANSIT", "PENDING", "PART_TRADED", "TRIGGERED")


@dataclass
class FakeOrder:
    order_id: str
    correlation_id: str
    transaction_type: str
    exchange_segment: str
    product_type: str
    order_type: str
    security_id: str
    quantity: int
    price: float
    trigger_price: float = 0.0
    validity: str = "DAY"
    disclosed_quantity: int = 0
    status: str = "PENDING"
    filled_quantity: int = 0
    average_price: float = 0.0
    error_description: str = ""
    modifications: int = 0
    is_super: bool = False
    target_price: float = 0.0
    stop_loss_price: float = 0.0
    trailing_jump: float = 0.0
    stop_status: str = "PENDING"
    target_status: str = "PENDING"
    created: str = field(default_factory=lambda: ist_now())
    updated: str = field(default_factory=lambda: ist_now())
    distinct_leg_ids: bool = False
    """Give the target and stop legs order ids of their own (Dhan documents the entry's id)."""
    book_shows_super_status: bool = False
    """The order book rows of a super order carry the super order's status (CLOSED once a leg
    traded, TRIGGERED), as Dhan's order status annexure allows, instead of the entry's."""

    @property
    def super_status(self) -> str:
        if self.status == "TRADED" and "TRADED" in (self.stop_status, self.target_status):
            return "CLOSED"
        return self.status

    def leg_order_id(self, leg_name: str) -> str:
        if not self.distinct_leg_ids:
            return self.order_id
        return f"{self.order_id}-{'1' if leg_name == 'TARGET_LEG' else '2'}"

    def book_row(self, client_id: str) -> dict[str, Any]:
        return {
            "dhanClientId": client_id,
            "orderId": self.order_id,
            "exchangeOrderId": f"X{self.order_id}",
            "correlationId": self.correlation_id,
            "orderStatus": self.super_status
            if self.is_super and self.book_shows_super_status
            else self.status,
            "transactionType": self.transaction_type,
            "exchangeSegment": self.exchange_segment,
            "productType": self.product_type,
            "orderType": self.order_type,
            "validity": self.validity,
            "tradingSymbol": f"SYM{self.security_id}",
            "securityId": self.security_id,
            "quantity": self.quantity,
            "disclosedQuantity": self.disclosed_quantity,
            "price": self.price,
            "triggerPrice": self.trigger_price,
            "afterMarketOrder": False,
            "boProfitValue": 0.0,
            "boStopLossValue": 0.0,
            "legName": "ENTRY_LEG" if self.is_super else "",
            "createTime": self.created,
            "updateTime": self.updated,
            "exchangeTime": self.updated,
            "drvExpiryDate": "0001-01-01 00:00:00",
            "drvOptionType": None,
            "drvStrikePrice": 0.0,
            "omsErrorCode": "",
            "omsErrorDescription": self.error_description,
            "algoId": "0",
            "remainingQuantity": self.quantity - self.filled_quantity,
            "averageTradedPrice": self.average_price,
            "filledQty": self.filled_quantity,
        }

    def super_row(self, client_id: str) -> dict[str, Any]:
        status = self.super_status
        exit_side = "SELL" if self.transaction_type == "BUY" else "BUY"
        legs = [
            self._leg("TARGET_LEG", exit_side, self.target_price, self.target_status, 0.0),
            self._leg(
                "STOP_LOSS_LEG",
                exit_side,
                self.stop_loss_price,
                self.stop_status,
                self.trailing_jump,
            ),
        ]
        return {
            **{key: value for key, value in self.book_row(client_id).items() if key in _SUPER_KEYS},
            "orderStatus": status,
            "ltp": self.price,
            "trailingJump": self.trailing_jump,
            "legDetails": legs,
        }

    def _leg(self, name: str, side: str, price: float, status: str, jump: float) -> dict[str, Any]:
        return {
            "orderId": self.leg_order_id(name),
            "legName": name,
            "transactionType": side,
            "remainingQuantity": 0 if status == "TRADED" else self.quantity,
            "triggeredQuantity": self.quantity if status == "TRADED" else 0,
            "price": price,
            "orderStatus": status,
            "trailingJump": jump,
        }


_SUPER_KEYS = (
    "dhanClientId",
    "orderId",
    "correlationId",
    "transactionType",
    "exchangeSegment",
    "productType",
    "orderType",
    "validity",
    "tradingSymbol",
    "securityId",
    "quantity",
    "remainingQuantity",
    "price",
    "afterMarketOrder",
    "legName",
    "exchangeOrderId",
    "createTime",
    "updateTime",
    "exchangeTime",
    "omsErrorDescription",
    "averageTradedPrice",
    "filledQty",
)


@dataclass(frozen=True)
class Instrument:
    """What the trade book says about a contract (`tradingSymbol` and the `drv*` fields)."""

    trading_symbol: str
    option_type: str | None = None
    """CALL or PUT for an option."""
    strike: float = 0.0
    expiry: str | None = None


@dataclass
class Trade:
    """One execution: a row of the trade book, and what the positions are computed from."""

    security_id: str
    exchange_segment: str
    product_type: str
    side: str
    quantity: int
    price: float
    order_id: str = ""
    exchange_order_id: str = ""
    trade_id: str = ""
    order_type: str = "MARKET"
    order_created: str = field(default_factory=lambda: ist_now())
    time: str = field(default_factory=lambda: ist_now())
    instrument: Instrument | None = None

    def row(self, client_id: str) -> dict[str, Any]:
        instrument = self.instrument or Instrument(f"SYM{self.security_id}")
        return {
            "dhanClientId": client_id,
            "orderId": self.order_id,
            "exchangeOrderId": self.exchange_order_id,
            "exchangeTradeId": self.trade_id,
            "transactionType": self.side,
            "exchangeSegment": self.exchange_segment,
            "productType": self.product_type,
            "orderType": self.order_type,
            "tradingSymbol": instrument.trading_symbol,
            "securityId": self.security_id,
            "tradedQuantity": self.quantity,
            "tradedPrice": self.price,
            "createTime": self.order_created,
            "updateTime": self.time,
            "exchangeTime": self.time,
            "drvExpiryDate": instrument.expiry,
            "drvOptionType": instrument.option_type,
            "drvStrikePrice": instrument.strike,
        }


def check_create(body: Any, client_id: str, *, super_order: bool) -> str:
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if body.get("dhanClientId") != client_id:
        return f"dhanClientId {body.get('dhanClientId')!r} does not match the token's client"
    required = [
        "transactionType",
        "exchangeSegment",
        "productType",
        "orderType",
        "securityId",
        "quantity",
    ]
    required += ["price", "targetPrice", "stopLossPrice"] if super_order else ["validity"]
    missing = [name for name in required if body.get(name) in (None, "")]
    if missing:
        return f"missing fields: {', '.join(missing)}"
    if body["transactionType"] not in ("BUY", "SELL"):
        return f"invalid transactionType {body['transactionType']!r}"
    allowed = (
        ("LIMIT", "MARKET") if super_order else ("LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_MARKET")
    )
    if body["orderType"] not in allowed:
        return f"invalid orderType {body['orderType']!r}"
    if not isinstance(body["quantity"], int) or body["quantity"] <= 0:
        return f"invalid quantity {body['quantity']!r}"
    correlation_id = str(body.get("correlationId") or "")
    if len(correlation_id) > 30 or not re.fullmatch(r"[A-Za-z0-9 _.-]*", correlation_id):
        return f"invalid correlationId {correlation_id!r}"
    if body["orderType"] in ("LIMIT", "STOP_LOSS") and not float(body.get("price") or 0) > 0:
        return "a LIMIT or STOP_LOSS order needs a price"
    if body["orderType"].startswith("STOP_LOSS") and not float(body.get("triggerPrice") or 0) > 0:
        return "a stop loss order needs a triggerPrice"
    if super_order:
        price, target, stop = (float(body[k]) for k in ("price", "targetPrice", "stopLossPrice"))
        ordered = (
            stop < price < target if body["transactionType"] == "BUY" else target < price < stop
        )
        if not ordered:
            return "stopLossPrice, price and targetPrice are not in order for the side"
    return ""


def modification_refusal(
    order: FakeOrder | None, order_id: str, *, super_order: bool
) -> tuple[int, bytes] | None:
    if order is None or order.is_super != super_order:
        return not_found(order_id)
    live = order.status in LIVE_STATUSES or (
        super_order and order.status == "TRADED" and order.stop_status == "PENDING"
    )
    if not live:
        return 400, error_body("Order_Error", "DH-906", f"Order is {order.status}, not pending")
    if order.modifications >= MAX_MODIFICATIONS:
        return 400, error_body(
            "Order_Error", "DH-906", f"Maximum {MAX_MODIFICATIONS} modifications reached"
        )
    return None


def position_rows(trades: list[Trade], client_id: str) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, str, str], list[Trade]] = {}
    for trade in trades:
        key = (trade.security_id, trade.exchange_segment, trade.product_type)
        grouped.setdefault(key, []).append(trade)
    rows = []
    for (security_id, segment, product), group in grouped.items():
        buys = [t for t in group if t.side == "BUY"]
        sells = [t for t in group if t.side == "SELL"]
        buy_qty = sum(t.quantity for t in buys)
        sell_qty = sum(t.quantity for t in sells)
        buy_avg = sum(t.quantity * t.price for t in buys) / buy_qty if buy_qty else 0.0
        sell_avg = sum(t.quantity * t.price for t in sells) / sell_qty if sell_qty else 0.0
        net = buy_qty - sell_qty
        matched = min(buy_qty, sell_qty)
        rows.append(
            {
                "dhanClientId": client_id,
                "tradingSymbol": f"SYM{security_id}",
                "securityId": security_id,
                "positionType": "LONG" if net > 0 else "SHORT" if net < 0 else "CLOSED",
                "exchangeSegment": segment,
                "productType": product,
                "buyAvg": round(buy_avg, 2),
                "buyQty": buy_qty,
                "costPrice": round(buy_avg if net > 0 else sell_avg, 2),
                "sellAvg": round(sell_avg, 2),
                "sellQty": sell_qty,
                "netQty": net,
                "realizedProfit": round(matched * (sell_avg - buy_avg), 2),
                "unrealizedProfit": 0.0,
                "rbiReferenceRate": 1.0,
                "multiplier": 1,
                "carryForwardBuyQty": 0,
                "carryForwardSellQty": 0,
                "carryForwardBuyValue": 0.0,
                "carryForwardSellValue": 0.0,
                "dayBuyQty": buy_qty,
                "daySellQty": sell_qty,
                "dayBuyValue": round(buy_qty * buy_avg, 2),
                "daySellValue": round(sell_qty * sell_avg, 2),
                "drvExpiryDate": "0001-01-01",
                "drvOptionType": None,
                "drvStrikePrice": 0.0,
                "crossCurrency": False,
            }
        )
    return rows


def not_found(order_id: str) -> tuple[int, bytes]:
    return 404, error_body("Order_Error", "DH-906", f"No order {order_id} for this client")


def error_body(error_type: str, code: str, message: str) -> bytes:
    return json_bytes({"errorType": error_type, "errorCode": code, "errorMessage": message})


def json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def ist_now() -> str:
    return ist_text(datetime.now(IST))


def ist_text(moment: datetime) -> str:
    """Dhan's timestamp format: IST wall clock, `YYYY-MM-DD HH:MM:SS`."""
    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")
