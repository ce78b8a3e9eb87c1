"""How a backtest sizes, fills and charges trades: `BacktestConfig`.

The fill rules themselves are documented in docs/backtesting.md; this module only holds the
knobs. Build a config for an index with `BacktestConfig.for_symbol("NIFTY", facts, ...)`: the
index is traded as its future proxy (spot prices, the future's lot size and tick, futures
costs). `facts` come from the `ContractTable` the composition root builds from the instrument
master: the future's lot and tick on the backtest's first day. A backtest spanning a lot
revision keeps that first day's lot throughout (its config, stored with the result, says which);
split the window at the revision to trade each side with its own lot.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradeloop.domain.costs import InstrumentKind
from tradeloop.domain.exits import ExitReason as ExitReason  # public as backtest.ExitReason
from tradeloop.domain.market.contracts import ContractFacts
from tradeloop.domain.market.instrument_master import ContractKind

SizingMode = Literal["risk", "fixed_quantity"]
LevelsFrom = Literal["signal", "fill"]


class BacktestConfig(BaseModel):
    """Capital, sizing, slippage and costs of one backtest. Frozen and strict."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    capital: float = Field(1_000_000.0, gt=0, description="Starting capital in rupees.")
    risk_per_trade_pct: float = Field(
        1.0,
        gt=0,
        le=100,
        description="Percent of capital lost if the initial stop is hit (sizing='risk').",
    )
    sizing: SizingMode = Field(
        "risk",
        description=(
            "'risk': quantity = floor(capital × risk% / (entry − stop) / lot) × lot; "
            "'fixed_quantity': always `quantity` units (to compare with other engines)."
        ),
    )
    quantity: int = Field(
        0, ge=0, description="Units per trade when sizing='fixed_quantity' (units, not lots)."
    )
    lot_size: int = Field(
        1,
        gt=0,
        description="Units per lot: risk sizing rounds down to lots (for_symbol: the contract's).",
    )
    compounding: bool = Field(
        True,
        description="Size from the realised equity (True) or always from `capital` (False).",
    )
    slippage_bps: float = Field(
        2.0, ge=0, le=1000, description="Slippage against the taker, basis points of the price."
    )
    slippage_ticks: float = Field(
        0.0, ge=0, description="Slippage against the taker, in ticks (added to the bps part)."
    )
    tick_size: float = Field(
        0.05, gt=0, description="Price tick in rupees (for_symbol: the contract's)."
    )
    instrument_kind: InstrumentKind = Field(
        InstrumentKind.FUTURES, description="Which rows of the cost table apply."
    )
    stops_from_entry_bar: bool = Field(
        True,
        description=(
            "Check the stop and target on the entry bar itself (True, the default) or only from "
            "the bar after it (False: the vectorbt and backtesting.py convention)."
        ),
    )
    apply_costs: bool = Field(True, description="Charge brokerage, STT, fees, stamp duty, GST.")
    levels_from: LevelsFrom = Field(
        "signal",
        description=(
            "Where the stop, target and size are measured from: 'signal', the signal bar's "
            "close, as the order path sends them (the last price when the order goes out); "
            "'fill', the fill at the next open, slippage included (vectorbt, backtesting.py)."
        ),
    )
    max_notional_pct: float | None = Field(
        None,
        gt=0,
        description=(
            "Risk sizing never takes a notional (fill × quantity) above this percent of the "
            "sizing capital, as the risk manager's max_capital_per_trade_pct; None = no cap."
        ),
    )

    @model_validator(mode="after")
    def _quantity_for_fixed_sizing(self) -> BacktestConfig:
        if self.sizing == "fixed_quantity" and self.quantity <= 0:
            raise ValueError(
                "sizing='fixed_quantity' needs quantity > 0 (units per trade); set quantity, "
                "or use sizing='risk'"
            )
        return self

    @classmethod
    def for_symbol(cls, symbol: str, facts: ContractFacts, **overrides: Any) -> BacktestConfig:
        """A config for the index `symbol` traded as its future: the future's lot size and tick
        (`facts`, from the contract table), futures costs."""
        if facts.underlying != symbol.strip().upper() or facts.kind is not ContractKind.FUT:
            raise ValueError(
                f"for_symbol({symbol!r}) was given the facts of {facts.underlying} "
                f"{facts.kind.value}: pass the contract table's facts of the {symbol} future"
            )
        values: dict[str, Any] = {
            "lot_size": facts.lot_size,
            "tick_size": facts.tick_size,
            "instrument_kind": InstrumentKind.FUTURES,
        }
        values.update(overrides)
        return cls(**values)

    @classmethod
    def for_option(cls, symbol: str, facts: ContractFacts, **overrides: Any) -> BacktestConfig:
        """A config for buying `symbol`'s options: the option's lot size and tick (`facts`,
        from the contract table), the option rows of the cost table."""
        if facts.underlying != symbol.strip().upper() or not facts.kind.is_option:
            raise ValueError(
                f"for_option({symbol!r}) was given the facts of {facts.underlying} "
                f"{facts.kind.value}: pass the contract table's facts of a {symbol} option"
            )
        values: dict[str, Any] = {
            "lot_size": facts.lot_size,
            "tick_size": facts.tick_size,
            "instrument_kind": InstrumentKind.OPTIONS,
        }
        values.update(overrides)
        return cls(**values)

    def kernel_vector(self) -> np.ndarray:
        """The config as the float64 vector the kernel reads (see `layout.C_*`)."""
        return np.array(
            [
                self.capital,
                self.risk_per_trade_pct / 100.0,
                1.0 if self.sizing == "fixed_quantity" else 0.0,
                float(self.quantity),
                float(self.lot_size),
                1.0 if self.compounding else 0.0,
                self.slippage_bps,
                self.slippage_ticks,
                self.tick_size,
                1.0 if self.stops_from_entry_bar else 0.0,
                1.0 if self.apply_costs else 0.0,
                math.inf if self.max_notional_pct is None else self.max_notional_pct / 100.0,
                1.0 if self.levels_from == "signal" else 0.0,
            ],
            dtype=np.float64,
        )
