"""The research leaderboard as a trader reads it: rupees with Indian grouping, at 80 columns."""

from __future__ import annotations

from rich.console import Console

from tradeloop.cli.research import leaderboard_table
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.research import LeaderboardRow


def row(net_pnl: float) -> LeaderboardRow:
    return LeaderboardRow(
        rank=1,
        name="nifty_ema_cross_15m",
        spec_id="abc123",
        symbol="NIFTY",
        timeframe="15m",
        score=0.5,
        passed=False,
        trades=42,
        win_rate_pct=48.0,
        profit_factor=1.3,
        net_pnl=net_pnl,
        return_pct=12.3,
        max_drawdown_pct=4.5,
        sharpe=1.1,
        reason="score 0.50 is below min_score 0.65",
    )


def rendered(net_pnl: float) -> str:
    console = Console(width=200, record=True)
    console.print(leaderboard_table([row(net_pnl)], ScoringConfig()))
    return console.export_text()


def test_net_pnl_is_shown_in_rupees_with_indian_grouping() -> None:
    assert "₹1,23,457" in rendered(123_456.7)
    assert "-₹12,34,568" in rendered(-1_234_567.8)
