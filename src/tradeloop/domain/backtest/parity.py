"""Backtest/paper parity: one day's trades of a strategy from both, paired and compared.

Trades are paired by entry time; a pair differs in each field that is not equal (prices,
quantity and costs to 1e-6 rupees), and a trade on one side only is a difference too. The
comparison says *that* and *where* the two differ; why is the caller's to show (the risk
manager's refusals of the day, for a trade the backtest took and paper did not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class ParityTrade:
    """One round trip as both sides report it (times UTC, prices per unit, money in rupees)."""

    entry_time: datetime
    exit_time: datetime
    direction: int
    quantity: int
    entry_price: float
    exit_price: float
    exit_reason: str
    costs: float
    net_pnl: float


@dataclass(frozen=True, slots=True)
class ParityRow:
    """A paper trade and the backtest's trade with the same entry time (either may be None),
    and the fields in which they differ."""

    paper: ParityTrade | None
    backtest: ParityTrade | None
    differences: tuple[str, ...]


def compare(paper: Sequence[ParityTrade], backtest: Sequence[ParityTrade]) -> list[ParityRow]:
    """Pair the trades by entry time, in time order, and name each difference."""
    by_time_paper = {trade.entry_time: trade for trade in paper}
    by_time_backtest = {trade.entry_time: trade for trade in backtest}
    rows = []
    for moment in sorted(by_time_paper.keys() | by_time_backtest.keys()):
        ours, theirs = by_time_paper.get(moment), by_time_backtest.get(moment)
        rows.append(ParityRow(ours, theirs, _differences(ours, theirs)))
    return rows


def _differences(paper: ParityTrade | None, backtest: ParityTrade | None) -> tuple[str, ...]:
    if paper is None:
        return ("only in the backtest",)
    if backtest is None:
        return ("only in paper",)
    found = []
    for name in ("exit_time", "direction", "quantity", "exit_reason"):
        if getattr(paper, name) != getattr(backtest, name):
            found.append(name)
    for name in ("entry_price", "exit_price", "costs", "net_pnl"):
        if abs(getattr(paper, name) - getattr(backtest, name)) > TOLERANCE:
            found.append(name)
    return tuple(found)
