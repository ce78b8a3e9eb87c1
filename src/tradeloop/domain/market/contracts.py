"""Lot size and tick size of an index future or option on a given day: `ContractTable`.

Two sources, one answer:

* **The instrument master** (`InstrumentMaster`: the scrip master the user loaded with
  `tradeloop instruments load`, else the bundled sample; the composition root picks it) knows the
  contracts listed on the day it was published (`as_of`). From that day on, the facts of
  `<underlying> <kind>` are those of the nearest listed contract that has not expired (or of the
  contract with the given expiry).
* **The lot revision table** (`lot_revisions.csv`, shipped beside this module) covers the days
  before `as_of`, which the master no longer lists: one row per NSE revision, in force from
  `effective_from` until the next row of the same underlying. `effective_from` is the first day
  the *near-month future* carried the new lot (NSE changes a lot from a given expiry on, so
  during a transition a far contract may already trade the new lot). Each row names its source;
  what they are, as checked for this table:

  ==========  =========  ===  ========  =====================================================
  from        index      lot  fut tick  source
  ==========  =========  ===  ========  =====================================================
  2014-10-31  NIFTY       25  0.05      NSE revision effective 2014-10-31 (50 to 25): the
                                        NIFTY rows start here, earlier days are refused
  2015-10-30  NIFTY       75  0.05      NSE list of 2015-08-07 (SEBI Rs 5 lakh minimum): from
                                        the November 2015 expiries; day derived (after the
                                        October 2015 monthly expiry)
  2018-10-26  BANKNIFTY   20  0.05      NSE revision of every contract (40 to 20): the
                                        BANKNIFTY rows start here (the day 30 became 40 was
                                        not found), earlier days are refused
  2020-06-26  BANKNIFTY   25  0.05      NSE: 25 for contracts expiring from 2020-07-30; day
                                        derived (after the June 2020 monthly expiry)
  2021-06-25  NIFTY       50  0.05      NSE circular 28/2021 of 2021-03-31: from the July 2021
                                        monthly, long-term options from June 25, 2021
  2023-06-30  BANKNIFTY   15  0.05      NSE circular effective 2023-04-28: from the July 2023
                                        monthly
  2024-04-26  NIFTY       25  0.05      NSE circular of 2024-04-02: every contract from 04-26
  2025-01-30  BANKNIFTY   30  0.05      NSE circular of 2024-10-18 (SEBI Rs 15 lakh minimum
  2025-01-31  NIFTY       75  0.05      contract value): the old monthlies ran to January 2025
  2025-04-15  NIFTY       75  0.10      NSE tick revision: index futures by index level
  2025-04-15  BANKNIFTY   30  0.20      (15k-30k: 0.10, above 30k: 0.20); options keep 0.05
  2025-06-27  BANKNIFTY   35  0.20      NSE circular of 2025-03-28: from the July 2025 monthly
  2025-12-31  NIFTY       65  0.10      NSE circular effective 2025-10-28: from the January
  2025-12-31  BANKNIFTY   30  0.20      2026 expiry (the December 2025 monthly kept 75 / 35)
  ==========  =========  ===  ========  =====================================================

  Options trade on the future's lot and on 0.05 throughout. A day before an underlying's first
  row is a NotFoundError that says how to backtest it anyway (`tradeloop backtest --lot-size N
  --tick-size T`).

  The tick bands of index futures are reviewed monthly by index level; the table assumes NIFTY
  stayed between 15,000 and 30,000 and BANKNIFTY above 30,000 since April 2025.

An underlying or kind the master does not list is refused (`NotFoundError` naming what it does
list) whatever the day: the master says what can be traded, the table only what it cost before.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources

import numpy as np

from tradeloop.domain.market.instrument_master import ContractKind, InstrumentMaster
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.errors import DataValidationError, NotFoundError

REVISIONS_RESOURCE = "lot_revisions.csv"
TRADED_KINDS = (ContractKind.FUT, ContractKind.CE, ContractKind.PE)


@dataclass(frozen=True, slots=True)
class ContractFacts:
    """What an order or a backtest of one contract must respect: units per lot and the price
    tick in rupees. `source` says where they came from, for reports and refusals."""

    underlying: str
    kind: ContractKind
    lot_size: int
    tick_size: float
    source: str


@dataclass(frozen=True, slots=True)
class LotRevision:
    """One row of the lot revision table: in force from `effective_from` on."""

    effective_from: date
    underlying: str
    lot_size: int
    future_tick_size: float
    option_tick_size: float
    source: str

    def tick_size(self, kind: ContractKind) -> float:
        return self.option_tick_size if kind.is_option else self.future_tick_size


def bundled_revisions() -> tuple[LotRevision, ...]:
    """The revision table shipped in the package (see the module docstring)."""
    resource = resources.files("tradeloop.domain.market") / "data" / REVISIONS_RESOURCE
    return parse_revisions(resource.read_text(encoding="utf-8"), REVISIONS_RESOURCE)


def parse_revisions(text: str, name: str) -> tuple[LotRevision, ...]:
    """The rows of a revision CSV (`effective_from,underlying,lot_size,future_tick_size,
    option_tick_size,source`), or a DataValidationError naming the line that is wrong."""
    rows: list[LotRevision] = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            revision = LotRevision(
                effective_from=date.fromisoformat(row["effective_from"]),
                underlying=row["underlying"].strip().upper(),
                lot_size=int(row["lot_size"]),
                future_tick_size=float(row["future_tick_size"]),
                option_tick_size=float(row["option_tick_size"]),
                source=row["source"].strip(),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataValidationError(
                f"{name} line {line}: {exc}; each row needs effective_from (YYYY-MM-DD), "
                "underlying, lot_size, future_tick_size, option_tick_size and source"
            ) from None
        if revision.lot_size <= 0 or min(revision.future_tick_size, revision.option_tick_size) <= 0:
            raise DataValidationError(f"{name} line {line}: lot and ticks must be above 0")
        rows.append(revision)
    return tuple(sorted(rows, key=lambda r: (r.underlying, r.effective_from)))


class ContractTable:
    """Lot and tick of `<underlying> <FUT|CE|PE> [expiry]` on a day, from the master and the
    revision table (see the module docstring)."""

    def __init__(self, master: InstrumentMaster, revisions: Iterable[LotRevision]) -> None:
        self.master = master
        self.revisions = tuple(sorted(revisions, key=lambda r: (r.underlying, r.effective_from)))

    @property
    def as_of(self) -> date:
        """From this day on the master answers; before it, the revision table."""
        return self.master.as_of

    def underlyings(self) -> list[str]:
        return self.master.underlyings()

    def facts(
        self,
        underlying: str,
        kind: ContractKind | str,
        on: date,
        expiry: date | None = None,
    ) -> ContractFacts:
        """The lot and tick of `underlying` `kind` traded on `on` (of the contract expiring on
        `expiry`, when given); a NotFoundError says what the master or the table has instead."""
        name, wanted = self._listed(underlying, kind)
        if expiry is not None:
            return self._of_expiry(name, wanted, expiry)
        if on >= self.master.as_of:
            return self._from_master(name, wanted, on)
        return self._from_revisions(name, wanted, on)

    def strike_step(self, underlying: str, on: date) -> float:
        """The gap between `underlying`'s option strikes on `on`: from the master's day on, the
        most common gap between the strikes it lists for the nearest expiry from `on` (the
        smaller on a tie); before it (or with too few strikes listed), the index's standard
        step (`instruments.INDICES`: NIFTY 50, BANKNIFTY 100)."""
        name, kind = self._listed(underlying, ContractKind.CE)
        if on >= self.master.as_of:
            live = [day for day in self.master.expiries(name, kind) if day >= on]
            if live:
                strikes = np.array(self.master.strikes(name, live[0], kind))
                gaps = np.round(np.diff(strikes), 6)
                gaps = gaps[gaps > 0]
                if len(gaps) >= 2:
                    values, counts = np.unique(gaps, return_counts=True)
                    return float(values[int(np.argmax(counts))])
        return index_instrument(name).strike_step

    def of_security(self, security_id: str) -> ContractFacts | None:
        """The facts of the listed future or option with `security_id`, else None."""
        try:
            found = self.master.by_security_id(security_id)
        except NotFoundError:
            return None
        if found.kind not in TRADED_KINDS:
            return None
        return ContractFacts(
            found.underlying,
            found.kind,
            found.lot_size,
            found.tick_size,
            f"{self.master.source} (as of {self.master.as_of}): {found.trading_symbol}",
        )

    # -- the two sources -----------------------------------------------------------------------

    def _of_expiry(self, name: str, kind: ContractKind, expiry: date) -> ContractFacts:
        listed = self.master.find(name, kind, expiry)
        if not listed:
            self.master.resolve(name, kind, expiry)  # raises, naming the nearest expiries
        return self._facts_of(listed[0].security_id)

    def _from_master(self, name: str, kind: ContractKind, on: date) -> ContractFacts:
        live = [i for i in self.master.find(name, kind) if i.expiry is not None and i.expiry >= on]
        if not live:
            last = self.master.expiries(name, kind)[-1]
            raise NotFoundError(
                f"the {self.master.source} (as of {self.master.as_of}) lists {name} {kind.value} "
                f"contracts expiring up to {last}, none live on {on}; load a newer scrip master "
                "with `tradeloop instruments load FILE`"
            )
        nearest = min(live, key=lambda i: (i.expiry, i.security_id))
        return self._facts_of(nearest.security_id)

    def _facts_of(self, security_id: str) -> ContractFacts:
        facts = self.of_security(security_id)
        assert facts is not None  # a listed future or option
        return facts

    def _from_revisions(self, name: str, kind: ContractKind, on: date) -> ContractFacts:
        rows = [r for r in self.revisions if r.underlying == name]
        in_force = [r for r in rows if r.effective_from <= on]
        if not in_force:
            since = f"starts on {rows[0].effective_from}" if rows else "has no row"
            raise NotFoundError(
                f"no lot size of {name} is known for {on}: the {self.master.source} (as of "
                f"{self.master.as_of}) covers that day on, and the lot revision table {since} "
                f"for {name} (no verified source was found for earlier lots). To backtest "
                "these days, give the future's lot and tick yourself: `tradeloop backtest "
                "SPEC.json --lot-size N --tick-size T` (NSE index futures and options traded "
                "on 0.05 before 2025-04-15)"
            )
        row = in_force[-1]
        return ContractFacts(
            name,
            kind,
            row.lot_size,
            row.tick_size(kind),
            f"lot revision table (in force from {row.effective_from}): {row.source}",
        )

    def _listed(self, underlying: str, kind: ContractKind | str) -> tuple[str, ContractKind]:
        """The master's spelling of `underlying` and `kind`, or a NotFoundError listing what
        the master has."""
        name = underlying.strip().upper()
        wanted = _traded_kind(kind)
        counts = self.master.counts()
        listed = sorted({u for u, k in counts if k in TRADED_KINDS})
        if name not in listed:
            close = difflib.get_close_matches(name, listed, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise NotFoundError(
                f"the {self.master.source} (as of {self.master.as_of}) lists no contracts on "
                f"{underlying!r}: it lists {_what(counts) or 'nothing'}.{hint} Load a scrip "
                "master that lists it with `tradeloop instruments load FILE`"
            )
        if (name, wanted) not in counts:
            raise NotFoundError(
                f"the {self.master.source} (as of {self.master.as_of}) lists no {name} "
                f"{wanted.value} contracts: it lists {_what(counts)}. Load a scrip master that "
                "lists them with `tradeloop instruments load FILE`"
            )
        return name, wanted


def _traded_kind(kind: ContractKind | str) -> ContractKind:
    text = kind.value if isinstance(kind, ContractKind) else str(kind).strip().upper()
    choices = [k.value for k in TRADED_KINDS]
    if text not in choices:
        raise NotFoundError(f"unknown contract kind {kind!r}: use one of {', '.join(choices)}")
    return ContractKind(text)


def _what(counts: dict[tuple[str, ContractKind], int]) -> str:
    """'BANKNIFTY FUT, CE, PE; NIFTY FUT, CE' from the master's counts."""
    kinds: dict[str, list[str]] = {}
    for kind in TRADED_KINDS:
        for underlying in sorted(u for u, k in counts if k is kind):
            kinds.setdefault(underlying, []).append(kind.value)
    return "; ".join(f"{u} {', '.join(ks)}" for u, ks in sorted(kinds.items()))


def kind_of_symbol(symbol: str) -> ContractKind | None:
    """FUT, CE or PE from a trading symbol's last word (`NIFTY-Dec2026-FUT`, `NIFTY 24000 CE`)."""
    words: Sequence[str] = symbol.replace("-", " ").split()
    last = words[-1].upper() if words else ""
    return ContractKind(last) if last in {k.value for k in TRADED_KINDS} else None


def underlying_of_symbol(symbol: str) -> str:
    """NIFTY from `NIFTY-Dec2026-FUT`: the first word of a trading symbol, upper case."""
    words = symbol.replace("-", " ").split()
    return words[0].upper() if words else ""
