"""Which order, which leg and which correlation id a trade of Dhan's trade book belongs to.

Dhan's trade book (`GET /trades`) names only the `orderId` of each trade. The correlation id
(our intent id) and the leg come from the day's order book and super order book:

- A plain order: its order book row carries the `correlationId`; every trade is its ENTRY
  (an exit order sent by `exit_position` is a plain order with the exit intent's id).
- A super order is one entry row in the super order book with `legDetails` for its
  `TARGET_LEG` and `STOP_LOSS_LEG`. Dhan's documentation shows those legs under the entry's own
  `orderId`. When a leg carries an `orderId` of its own, its trades are that leg's, with the
  parent's correlation id. When it shares the entry's id, a trade on the entry's side is the
  ENTRY. A trade on the other side is the leg Dhan shows as TRADED or PART_TRADED, if exactly
  one is. Otherwise it is the stop leg when the trade's `orderType` is a stop order, else
  whichever leg's price is nearer the trade's price (the stop leg on a tie). A trade against the
  side of an order the super order book does not list is an exit leg too, never an entry.
- Order book rows with `legName` TARGET_LEG or STOP_LOSS_LEG (how Dhan lists bracket legs) are
  read in the same way.

Only the exit reason depends on that last choice (target or stop); the quantity, price and side
of the fill come from the trade itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tradeloop.adapters.dhan import mapping
from tradeloop.domain.execution.fills import FillLeg
from tradeloop.domain.execution.orders import Side

Row = Mapping[str, Any]

LEG_NAMES: Mapping[str, FillLeg] = {
    "ENTRY_LEG": FillLeg.ENTRY,
    "TARGET_LEG": FillLeg.TARGET,
    "STOP_LOSS_LEG": FillLeg.STOP_LOSS,
}
"""Dhan's `legName`; anything else ("", "NA", absent) is a plain order: an ENTRY."""
_EXECUTED = ("TRADED", "PART_TRADED")


@dataclass(frozen=True, slots=True)
class ExitLeg:
    """A target or stop leg that shares its order id with the entry."""

    leg: FillLeg
    status: str
    price: float


@dataclass(frozen=True, slots=True)
class Origin:
    """What one Dhan order id stands for."""

    correlation_id: str
    entry_side: Side
    fixed_leg: FillLeg | None = None
    """Set when every trade of this order id is of one leg (ENTRY: on the entry's side)."""
    exit_legs: tuple[ExitLeg, ...] = ()

    def leg_of(self, side: Side, order_type: str, price: float) -> FillLeg:
        """The leg a trade on `side` at `price` belongs to (see the module docstring)."""
        if self.fixed_leg is not None and self.fixed_leg is not FillLeg.ENTRY:
            return self.fixed_leg
        if side is self.entry_side:
            return FillLeg.ENTRY
        # The other side of an entry is an exit leg under the entry's id, even when its details
        # are missing (a super order Dhan no longer lists in its super order book).
        executed = [leg for leg in self.exit_legs if leg.status in _EXECUTED]
        if len(executed) == 1:
            return executed[0].leg
        if order_type.upper().startswith("STOP_LOSS"):
            return FillLeg.STOP_LOSS
        priced = [leg for leg in self.exit_legs if leg.price > 0]
        if not priced:
            return FillLeg.STOP_LOSS
        # Sorting on (distance, leg is not the stop) puts the stop first on a tie.
        nearest = min(
            priced, key=lambda leg: (abs(leg.price - price), leg.leg is not FillLeg.STOP_LOSS)
        )
        return nearest.leg


def order_origins(order_rows: Iterable[Row], super_rows: Iterable[Row]) -> dict[str, Origin]:
    """Origin by Dhan order id, from the day's order book and super order book."""
    origins: dict[str, Origin] = {}
    grouped: dict[str, list[Row]] = {}
    for row in order_rows:
        grouped.setdefault(mapping.required_text(row, "orderId"), []).append(row)
    for order_id, rows in grouped.items():
        origins[order_id] = _plain_origin(rows)
    for row in super_rows:
        entry_id = mapping.required_text(row, "orderId")
        known = origins.get(entry_id)
        correlation_id = _text(row.get("correlationId")) or (known.correlation_id if known else "")
        side = mapping.side(row)
        shared: list[ExitLeg] = []
        for detail in row.get("legDetails") or ():
            if not isinstance(detail, Mapping):
                continue
            leg = LEG_NAMES.get(_text(detail.get("legName")).upper())
            if leg is None or leg is FillLeg.ENTRY:
                continue
            leg_id = _text(detail.get("orderId"))
            if leg_id and leg_id != entry_id:
                origins[leg_id] = Origin(correlation_id, side, fixed_leg=leg)
            else:
                shared.append(_exit_leg(leg, detail))
        origins[entry_id] = Origin(correlation_id, side, exit_legs=tuple(shared))
    return origins


def _plain_origin(rows: list[Row]) -> Origin:
    """Rows of the order book with one order id: a plain order, or an entry and its legs."""
    by_leg = {LEG_NAMES.get(_text(row.get("legName")).upper(), FillLeg.ENTRY): row for row in rows}
    correlation_id = next(
        (_text(row.get("correlationId")) for row in rows if _text(row.get("correlationId"))), ""
    )
    if len(by_leg) == 1:
        [(leg, row)] = by_leg.items()
        return Origin(correlation_id, mapping.side(row), fixed_leg=leg)
    entry = by_leg.get(FillLeg.ENTRY)
    if entry is None:
        # Both exit legs and no entry row: the entry is on the opposite side of either leg.
        entry_side = mapping.side(next(iter(by_leg.values()))).opposite
    else:
        entry_side = mapping.side(entry)
    exits = tuple(_exit_leg(leg, row) for leg, row in by_leg.items() if leg is not FillLeg.ENTRY)
    return Origin(correlation_id, entry_side, exit_legs=exits)


def _exit_leg(leg: FillLeg, row: Row) -> ExitLeg:
    price = mapping.to_float(row.get("triggerPrice"), "triggerPrice", row) or mapping.to_float(
        row.get("price"), "price", row
    )
    return ExitLeg(leg, _text(row.get("orderStatus")).upper(), price)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
