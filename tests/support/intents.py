"""Order intents for tests: keyword arguments override any field."""

from __future__ import annotations

from datetime import date
from typing import Any

from tradeloop.domain.execution.orders import OrderIntent, Side

TRADING_DAY = date(2026, 1, 6)  # a Tuesday, an NSE trading day


def future_entry(**overrides: Any) -> OrderIntent:
    """Buy one lot of the NIFTY future at 24,000 with a stop at 23,900 and a target at 24,200."""
    fields: dict[str, Any] = {
        "strategy_id": "s-orb",
        "symbol": "NIFTY-FUT",
        "security_id": "13",
        "side": Side.BUY,
        "quantity": 65,
        "lot_size": 65,
        "stop_loss": 23_900.0,
        "target": 24_200.0,
        "reference_price": 24_000.0,
        "trading_day": TRADING_DAY,
    }
    fields.update(overrides)
    return OrderIntent.model_validate(fields)
