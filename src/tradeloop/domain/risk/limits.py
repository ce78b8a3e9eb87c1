"""The risk limits every order is checked against, built once from `RiskSettings`."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradeloop.settings import RiskSettings


class RiskLimits(BaseModel):
    """Frozen risk limits (rupees, percents of `capital`, IST wall-clock times)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    capital: float = Field(gt=0, description="Trading capital in rupees.")
    risk_per_trade_pct: float = Field(1.0, gt=0, le=10)
    max_open_positions: int = Field(3, ge=1)
    max_daily_loss_pct: float = Field(3.0, gt=0, le=100)
    max_capital_per_trade_pct: float = Field(100.0, gt=0)
    entry_window_start: time = time(9, 20)
    entry_window_end: time = time(15, 0)
    min_reward_risk: float = Field(1.5, gt=0)

    @model_validator(mode="after")
    def _window_in_order(self) -> RiskLimits:
        if self.entry_window_start >= self.entry_window_end:
            raise ValueError(
                f"entry_window_start {self.entry_window_start} must be before entry_window_end "
                f"{self.entry_window_end} (IST)"
            )
        return self

    @classmethod
    def from_settings(cls, settings: RiskSettings) -> RiskLimits:
        # Only our fields: RiskSettings may grow settings this model does not use.
        return cls.model_validate(settings.model_dump(include=set(cls.model_fields)))

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
