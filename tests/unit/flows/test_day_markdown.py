"""The managed day's markdown (the flow's `day-YYYY-MM-DD` artifact and `tradeloop manage`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tradeloop.app.manage import DaySummary
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.positions.day import Refusal
from tradeloop.domain.positions.model import TradeRecord
from tradeloop.flows.manage import day_report

DAY = date(2025, 3, 4)
STRATEGIES = [("dep-a-1", "nifty_orb_vwap_5m")]


def _trade() -> TradeRecord:
    return TradeRecord(
        position_id="p-1",
        strategy_id="dep-a-1",
        symbol="NIFTY",
        security_id="13",
        trading_day=DAY,
        direction=-1,
        quantity=75,
        entry_time=datetime(2025, 3, 4, 4, 50, tzinfo=UTC),
        entry_price=22962.11,
        exit_time=datetime(2025, 3, 4, 9, 45, tzinfo=UTC),
        exit_price=23006.3,
        exit_reason=ExitReason.SQUARE_OFF,
        gross_pnl=-3314.25,
        costs=120.5,
        net_pnl=-3434.75,
        r_multiple=-0.4,
    )


def test_a_day_with_trades_lists_each_in_ist_with_its_net() -> None:
    refused = Refusal("dep-a-1", datetime(2025, 3, 4, 9, 35, tzinfo=UTC), "outside the window")
    report = day_report(DaySummary(DAY, STRATEGIES, 375, 2, [_trade()], [refused]))

    assert "2 entries decided, 1 trades, net P&L -₹3,434.75 after ₹120.50 of charges" in report
    assert "| nifty_orb_vwap_5m | short | 75 | 10:20 | 22962.11 | 15:15 | 23006.30 |" in report
    assert "- 15:05 nifty_orb_vwap_5m: outside the window" in report


def test_a_day_without_trades_prints_no_empty_table() -> None:
    report = day_report(DaySummary(DAY, STRATEGIES, 375, 0, [], []))

    assert "0 entries decided, 0 trades, net P&L ₹0.00" in report
    assert "| strategy |" not in report and "Refused" not in report
