"""The position store port: where positions, their events, fills and trades are written.

`save` is one transaction: the position's new state, the event that explains it, the fills that
caused it and, when it closes, the trade. The SQLModel ledger implements it; the in-memory
store is its fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from tradeloop.domain.execution.fills import BrokerFill
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.positions.model import Position, PositionEvent, TradeRecord
from tradeloop.errors import OperationalError


class StaleWriteError(OperationalError):
    """Another writer changed the position since it was read: two managers on one ledger?"""

    def __init__(self, position_id: str, expected: int, found: int) -> None:
        super().__init__(
            f"position {position_id} is at version {found}, expected {expected}: another "
            "position manager is writing to this ledger; run only one per ledger"
        )


class PositionStore(Protocol):
    def position(self, position_id: str) -> Position | None: ...

    def positions(
        self, trading_day: date | None = None, *, active_only: bool = False
    ) -> list[Position]:
        """Positions (of one day; only the not final ones when `active_only`), oldest first."""
        ...

    def save(
        self,
        position: Position,
        event: PositionEvent,
        fills: Sequence[BrokerFill] = (),
        trade: TradeRecord | None = None,
    ) -> None:
        """Write atomically; `position.version` must be the stored version + 1."""
        ...

    def events(self, position_id: str) -> list[PositionEvent]: ...

    def fills(self, trading_day: date | None = None) -> list[BrokerFill]: ...

    def trades(self, trading_day: date | None = None) -> list[TradeRecord]: ...


def fill_day(fill: BrokerFill) -> date:
    return to_ist(fill.ts).date()


class InMemoryPositionStore:
    """`PositionStore` in memory (tests, throwaway sessions)."""

    def __init__(self) -> None:
        self._positions: dict[str, Position] = {}
        self._events: dict[str, list[PositionEvent]] = {}
        self._fills: dict[str, BrokerFill] = {}
        self._trades: dict[str, TradeRecord] = {}

    def position(self, position_id: str) -> Position | None:
        return self._positions.get(position_id)

    def positions(
        self, trading_day: date | None = None, *, active_only: bool = False
    ) -> list[Position]:
        return [
            p
            for p in self._positions.values()
            if (trading_day is None or p.trading_day == trading_day)
            and not (active_only and p.state.is_final)
        ]

    def save(
        self,
        position: Position,
        event: PositionEvent,
        fills: Sequence[BrokerFill] = (),
        trade: TradeRecord | None = None,
    ) -> None:
        stored = self._positions.get(position.position_id)
        expected = (stored.version if stored else 0) + 1
        if position.version != expected:
            raise StaleWriteError(position.position_id, expected, position.version)
        self._positions[position.position_id] = position
        self._events.setdefault(position.position_id, []).append(event)
        for fill in fills:
            self._fills.setdefault(fill.fill_id, fill)
        if trade is not None:
            self._trades[trade.position_id] = trade

    def events(self, position_id: str) -> list[PositionEvent]:
        return list(self._events.get(position_id, []))

    def fills(self, trading_day: date | None = None) -> list[BrokerFill]:
        return [
            f for f in self._fills.values() if trading_day is None or fill_day(f) == trading_day
        ]

    def trades(self, trading_day: date | None = None) -> list[TradeRecord]:
        return [
            t for t in self._trades.values() if trading_day is None or t.trading_day == trading_day
        ]
