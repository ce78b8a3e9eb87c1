"""Indian trading charges from one versioned table, shared by backtest, paper and live.

Per executed order of `turnover = price × quantity` (quantity in units):

    brokerage  = min(brokerage_flat, brokerage_rate × turnover)
    stt        = (stt_buy_rate if buy else stt_sell_rate) × turnover
    exchange   = exchange_rate × turnover
    sebi       = sebi_per_crore × turnover / 1e7
    stamp_duty = stamp_buy_rate × turnover on buys, 0 on sells
    gst        = gst_rate × (brokerage + exchange + sebi)

For options `price` is the premium. Every component is >= 0 for any non-negative input.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradeloop.errors import ConfigError


class InstrumentKind(StrEnum):
    FUTURES = "futures"
    OPTIONS = "options"
    EQUITY_INTRADAY = "equity_intraday"


class ChargeRates(BaseModel):
    """Rates of one instrument kind (fractions of turnover unless named otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    brokerage_flat: float = Field(ge=0)
    brokerage_rate: float = Field(ge=0)
    stt_buy_rate: float = Field(ge=0)
    stt_sell_rate: float = Field(ge=0)
    exchange_rate: float = Field(ge=0)
    sebi_per_crore: float = Field(ge=0)
    stamp_buy_rate: float = Field(ge=0)
    gst_rate: float = Field(ge=0)

    def as_vector(self) -> np.ndarray:
        """The rates in `RATE_FIELDS` order, for compiled kernels."""
        return np.array([getattr(self, name) for name in RATE_FIELDS], dtype=np.float64)


RATE_FIELDS: tuple[str, ...] = tuple(ChargeRates.model_fields)


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """The charges of one order or one round trip, in rupees."""

    brokerage: float = 0.0
    stt: float = 0.0
    exchange: float = 0.0
    sebi: float = 0.0
    stamp_duty: float = 0.0
    gst: float = 0.0

    @property
    def total(self) -> float:
        return self.brokerage + self.stt + self.exchange + self.sebi + self.stamp_duty + self.gst

    def __add__(self, other: CostBreakdown) -> CostBreakdown:
        return CostBreakdown(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(CostBreakdown))
        )

    def as_dict(self) -> dict[str, float]:
        values = {f.name: getattr(self, f.name) for f in fields(CostBreakdown)}
        values["total"] = self.total
        return values


def order_costs(rates: ChargeRates, is_buy: bool, price: float, quantity: float) -> CostBreakdown:
    """Charges of one executed order (see the module docstring for the formulas)."""
    turnover = abs(price * quantity)
    brokerage = min(rates.brokerage_flat, rates.brokerage_rate * turnover)
    exchange = rates.exchange_rate * turnover
    sebi = rates.sebi_per_crore * turnover / 1e7
    return CostBreakdown(
        brokerage=brokerage,
        stt=(rates.stt_buy_rate if is_buy else rates.stt_sell_rate) * turnover,
        exchange=exchange,
        sebi=sebi,
        stamp_duty=rates.stamp_buy_rate * turnover if is_buy else 0.0,
        gst=rates.gst_rate * (brokerage + exchange + sebi),
    )


class CostTable(BaseModel):
    """A versioned table of charge rates per instrument kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    effective_from: date
    kinds: dict[InstrumentKind, ChargeRates]

    def rates(self, kind: InstrumentKind) -> ChargeRates:
        try:
            return self.kinds[kind]
        except KeyError:
            raise ConfigError(
                f"cost table {self.version} has no rates for '{kind}': add a [kinds.{kind}] table"
            ) from None

    def order_costs(
        self, kind: InstrumentKind, is_buy: bool, price: float, quantity: float
    ) -> CostBreakdown:
        return order_costs(self.rates(kind), is_buy, price, quantity)

    @classmethod
    def bundled(cls, version: str | None = None) -> CostTable:
        """A table shipped with tradeloop: the newest (the rates in force now) unless `version`.

        Every backtest charges today's rates on every trade, whatever its date, so a strategy is
        judged by what it would cost to trade now; name an older version to see a past regime.
        """
        chosen = CURRENT_VERSION if version is None else version
        if chosen not in BUNDLED_TABLES:
            raise ConfigError(
                f"no bundled cost table {chosen!r}: the bundled versions are "
                f"{', '.join(sorted(BUNDLED_TABLES))}"
            )
        source = resources.files("tradeloop.domain").joinpath(f"data/{BUNDLED_TABLES[chosen]}")
        return cls._parse(source.read_text(encoding="utf-8"), f"bundled cost table {chosen}")

    @classmethod
    def load(cls, path: Path) -> CostTable:
        """The user's TOML table at `path`; errors name the file and the field."""
        if not path.exists():
            raise ConfigError(f"cost table {path} does not exist: fix [execution] costs_table")
        return cls._parse(path.read_text(encoding="utf-8"), str(path))

    @classmethod
    def _parse(cls, text: str, origin: str) -> CostTable:
        try:
            return cls.model_validate(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"{origin}: {problems}") from exc


BUNDLED_TABLES: dict[str, str] = {
    "2024-10-01": "costs_2024-10.toml",
    "2026-04-01": "costs_2026-04.toml",
}
"""Bundled versions (the date they took effect) and their files under `domain/data/`."""
CURRENT_VERSION = max(BUNDLED_TABLES)
