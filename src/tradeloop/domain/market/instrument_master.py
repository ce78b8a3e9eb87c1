"""The instrument master: every NIFTY and BANKNIFTY contract Dhan lists, and how to find one.

An `Instrument` is one row of Dhan's scrip master kept by `storage.instruments` (the indices
themselves, their futures and their options); `InstrumentMaster` answers "which contract is
NIFTY 24000 CE expiring 2026-12-29?" with the security id, lot size and tick size the broker
expects. A question that names nothing listed gets a `NotFoundError` that says what is listed
nearby: the nearest expiries, the nearest strikes, or the underlying the user probably meant.
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar

from tradeloop.errors import NotFoundError

_Listed = TypeVar("_Listed", date, float)

SUGGESTIONS = 3  # expiries or strikes named on each side of a miss


class ContractKind(StrEnum):
    """What a row is: the index itself, an index future, or a call or put option on it."""

    INDEX = "INDEX"
    FUT = "FUT"
    CE = "CE"
    PE = "PE"

    @property
    def is_option(self) -> bool:
        return self in (ContractKind.CE, ContractKind.PE)


@dataclass(frozen=True, slots=True)
class Instrument:
    """One listed contract. `expiry` is None only for an index and `strike` only for an index
    or a future; `lot_size` is in units (Dhan's quantities are units, not lots) and
    `tick_size` in rupees."""

    security_id: str
    exchange_segment: str  # Dhan's: IDX_I for an index, NSE_FNO for its derivatives
    trading_symbol: str  # e.g. NIFTY-Dec2026-24000-CE
    underlying: str  # NIFTY or BANKNIFTY
    kind: ContractKind
    lot_size: int
    tick_size: float
    expiry: date | None
    strike: float | None

    def describe(self) -> str:
        """A short name a person reads: 'NIFTY 2026-12-29 24000 CE' or 'NIFTY index'."""
        if self.kind is ContractKind.INDEX:
            return f"{self.underlying} index"
        parts = [self.underlying, str(self.expiry)]
        if self.strike is not None:
            parts.append(format_strike(self.strike))
        parts.append(self.kind.value)
        return " ".join(parts)


def format_strike(strike: float) -> str:
    """24000.0 -> '24000', 24012.5 -> '24012.5'."""
    return f"{strike:g}" if strike != int(strike) else str(int(strike))


class InstrumentMaster:
    """The listed contracts, looked up by (underlying, kind, expiry, strike) or by security id.

    `as_of` is the day the list was published (a contract listed then may have expired since);
    `source` says where it came from, for messages ("stored table", "bundled sample").
    """

    def __init__(self, instruments: Iterable[Instrument], as_of: date, source: str) -> None:
        self.as_of = as_of
        self.source = source
        self._by_id: dict[str, Instrument] = {}
        self._by_key: dict[tuple[str, ContractKind, date | None, float | None], Instrument] = {}
        for instrument in instruments:
            self._by_id[instrument.security_id] = instrument
            key = (instrument.underlying, instrument.kind, instrument.expiry, instrument.strike)
            self._by_key[key] = instrument

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(sorted(self._by_id.values(), key=_sort_key))

    def underlyings(self) -> list[str]:
        return sorted({instrument.underlying for instrument in self._by_id.values()})

    def counts(self) -> dict[tuple[str, ContractKind], int]:
        """How many contracts per (underlying, kind), sorted."""
        counted = Counter((i.underlying, i.kind) for i in self._by_id.values())
        return dict(sorted(counted.items()))

    # -- lookups by security id -------------------------------------------------------------

    def by_security_id(self, security_id: str) -> Instrument:
        found = self._by_id.get(str(security_id).strip())
        if found is None:
            raise NotFoundError(
                f"no instrument with security id {security_id!r} in the {self.source} "
                f"(as of {self.as_of}); find it with `tradeloop instruments find`, or load a "
                "newer scrip master with `tradeloop instruments load FILE`"
            )
        return found

    def lot_size(self, security_id: str) -> int:
        return self.by_security_id(security_id).lot_size

    def tick_size(self, security_id: str) -> float:
        return self.by_security_id(security_id).tick_size

    # -- what is listed -----------------------------------------------------------------------

    def expiries(self, underlying: str, kind: ContractKind | str | None = None) -> list[date]:
        """The expiries listed for `underlying` (of `kind` only, when given), ascending."""
        name = self._known_underlying(underlying)
        wanted = None if kind is None else _kind(kind)
        return sorted(
            {
                i.expiry
                for i in self._by_id.values()
                if i.underlying == name and i.expiry is not None and wanted in (None, i.kind)
            }
        )

    def strikes(
        self, underlying: str, expiry: date, kind: ContractKind | str | None = None
    ) -> list[float]:
        """The option strikes listed for `underlying` at `expiry` (of `kind`, when given)."""
        name = self._known_underlying(underlying)
        wanted = None if kind is None else _kind(kind)
        return sorted(
            {
                i.strike
                for i in self._by_id.values()
                if i.underlying == name
                and i.expiry == expiry
                and i.strike is not None
                and wanted in (None, i.kind)
            }
        )

    def find(
        self,
        underlying: str,
        kind: ContractKind | str | None = None,
        expiry: date | None = None,
        strike: float | None = None,
    ) -> list[Instrument]:
        """Every contract matching the given fields (a field left None matches all), sorted."""
        name = self._known_underlying(underlying)
        wanted = None if kind is None else _kind(kind)
        return sorted(
            (
                i
                for i in self._by_id.values()
                if i.underlying == name
                and wanted in (None, i.kind)
                and expiry in (None, i.expiry)
                and (strike is None or i.strike == strike)
            ),
            key=_sort_key,
        )

    # -- resolve ------------------------------------------------------------------------------

    def resolve(
        self,
        underlying: str,
        kind: ContractKind | str,
        expiry: date | None = None,
        strike: float | None = None,
    ) -> Instrument:
        """The one contract named, or a NotFoundError naming what is listed nearest to it.

        An index needs neither expiry nor strike; a future needs the expiry; an option both.
        """
        name = self._known_underlying(underlying)
        wanted = _kind(kind)
        if wanted is ContractKind.INDEX:
            return self._index(name)
        day = self._listed_expiry(name, wanted, expiry)
        if not wanted.is_option:
            return self._by_key[(name, wanted, day, None)]
        return self._by_key[(name, wanted, day, self._listed_strike(name, wanted, day, strike))]

    def _listed_expiry(self, name: str, kind: ContractKind, expiry: date | None) -> date:
        listed = self.expiries(name, kind)
        where = f"in the {self.source} (as of {self.as_of})"
        if not listed:
            raise NotFoundError(
                f"no {name} {kind.value} contracts {where}; load a scrip master that lists "
                "them with `tradeloop instruments load FILE`"
            )
        if expiry is None:
            shown = ", ".join(str(day) for day in listed[:SUGGESTIONS])
            raise NotFoundError(
                f"{name} {kind.value} needs an expiry: the first listed are {shown}"
            )
        if expiry not in listed:
            shown = ", ".join(str(day) for day in _nearest(listed, expiry))
            raise NotFoundError(
                f"no {name} {kind.value} expires on {expiry} {where}: the nearest listed "
                f"expiries are {shown}"
            )
        return expiry

    def _listed_strike(
        self, name: str, kind: ContractKind, expiry: date, strike: float | None
    ) -> float:
        listed = self.strikes(name, expiry, kind)
        if strike is None:
            raise NotFoundError(
                f"{name} {expiry} {kind.value} needs a strike: listed strikes run from "
                f"{format_strike(listed[0])} to {format_strike(listed[-1])}"
            )
        if float(strike) not in listed:
            shown = ", ".join(format_strike(value) for value in _nearest(listed, float(strike)))
            raise NotFoundError(
                f"no {name} {format_strike(strike)} {kind.value} expires on {expiry} in the "
                f"{self.source} (as of {self.as_of}): the nearest listed strikes are {shown}"
            )
        return float(strike)

    def _index(self, name: str) -> Instrument:
        found = self._by_key.get((name, ContractKind.INDEX, None, None))
        if found is None:
            raise NotFoundError(
                f"the {self.source} (as of {self.as_of}) does not list the {name} index itself"
            )
        return found

    def _known_underlying(self, underlying: str) -> str:
        name = underlying.strip().upper()
        known = self.underlyings()
        if name in known:
            return name
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise NotFoundError(
            f"unknown underlying {underlying!r}: the {self.source} (as of {self.as_of}) lists "
            f"{', '.join(known) or 'nothing'}.{hint}"
        )


def _kind(kind: ContractKind | str) -> ContractKind:
    if isinstance(kind, ContractKind):
        return kind
    text = str(kind).strip().upper()
    try:
        return ContractKind(text)
    except ValueError:
        choices = [member.value for member in ContractKind]
        raise NotFoundError(
            f"unknown instrument kind {kind!r}: use one of {', '.join(choices)}"
        ) from None


def _nearest(listed: list[_Listed], target: _Listed) -> list[_Listed]:
    """Up to SUGGESTIONS listed values on each side of `target` (listed is sorted)."""
    at = bisect.bisect_left(listed, target)
    return listed[max(0, at - SUGGESTIONS) : at + SUGGESTIONS]


def _sort_key(instrument: Instrument) -> tuple[str, date, float, str]:
    return (
        instrument.underlying,
        instrument.expiry or date.min,
        instrument.strike if instrument.strike is not None else -1.0,
        instrument.kind.value,
    )
