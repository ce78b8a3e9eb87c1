"""The risk limits every order is checked against: the `[risk]` section of the settings.

This model *is* the settings section (`Settings.risk`), so a limit has one default and one
validation, whether it comes from tradeloop.toml, the environment or a test.
"""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradeloop.domain.market import session


class RiskLimits(BaseModel):
    """Limits the risk manager enforces on every order, whoever asked for it.

    Rupees, percents of `capital`, IST wall-clock times. Frozen and strict.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    capital: float = Field(1_000_000.0, gt=0, description="Trading capital in rupees.")
    risk_per_trade_pct: float = Field(
        1.0, gt=0, le=10, description="Percent of capital at risk per trade."
    )
    max_open_positions: int = Field(3, ge=1, le=50)
    max_daily_loss_pct: float = Field(
        3.0, gt=0, le=100, description="Daily loss that HALTs trading."
    )
    max_capital_per_trade_pct: float = Field(
        500.0,
        gt=0,
        le=1000,
        description=(
            "Largest notional (entry × quantity) of one trade, as percent of capital. Index "
            "futures are margined (about 12-20%), so 500 allows up to 5x; set 100 for no leverage."
        ),
    )
    entry_window_start: time = Field(
        session.ENTRY_WINDOW_START, description="No new entries before this IST time."
    )
    entry_window_end: time = Field(
        session.ENTRY_WINDOW_END, description="No new entries after this IST time."
    )
    min_reward_risk: float = Field(
        1.5, gt=0, description="Minimum (target - entry) / (entry - stop)."
    )

    @model_validator(mode="after")
    def _window_in_order(self) -> RiskLimits:
        if self.entry_window_start >= self.entry_window_end:
            raise ValueError(
                f"entry_window_start {self.entry_window_start} must be before entry_window_end "
                f"{self.entry_window_end} (IST)"
            )
        return self

    @property
    def risk_fraction(self) -> float:
        """Fraction of capital a single stop-out may lose (1% → 0.01)."""
        return self.risk_per_trade_pct / 100.0

    @property
    def risk_budget(self) -> float:
        """Rupees a single stop-out may lose."""
        return self.capital * self.risk_fraction

    @property
    def max_daily_loss(self) -> float:
        """Rupees of loss in one day that halt trading (a positive number)."""
        return self.capital * self.max_daily_loss_pct / 100.0

    @property
    def max_notional_per_trade(self) -> float:
        return self.capital * self.max_capital_per_trade_pct / 100.0
