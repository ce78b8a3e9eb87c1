"""The instrument's contract facts an order must respect: whole lots and the price tick.

An exchange takes quantities in whole lots and prices on the tick grid; Dhan refuses anything
else (DH-906), but only after the request has left. So both are settled before anything leaves:

* **Where the facts come from.** The intent carries the instrument's `lot_size` (required) and
  may carry its `tick_size`. For NSE index derivatives the `ContractTable`
  (`domain/market/contracts.py`) the composition root builds from the instrument master (the
  stored Dhan scrip master, else the bundled sample) and the dated lot revision table knows
  both: the listed contract with the intent's security id, else `<underlying> <kind>` on the
  intent's trading day (the underlying is the first word of the trading symbol and the kind its
  last, FUT, CE or PE: `NIFTY-Jan2026-FUT`, `NIFTY-Dec2026-24000-CE`). An intent that disagrees
  with the table is refused, and an intent without a tick takes the table's. Every function
  here takes the table as a required argument; the risk manager holds the one the app built.
* **Refused** (the risk check, `contract_failures`): an entry whose lot differs from the
  instrument's, a tick that is not a multiple of the instrument's, an entry whose tick is not
  known at all, a derivative of a listed index whose lot the table cannot tell for that day, and
  any price off the tick grid. The message names the instrument's lot and tick.
* **Rounded** (`on_tick`, used by the position manager before it writes an entry, and
  `protective_stop` for every stop it moves), each price in the direction that never adds risk:

  ================  ======================  ==============================================
  price             long (BUY entry)        why
  ================  ======================  ==============================================
  `stop_loss`       up (toward the entry)   the stop is never looser than asked
  `target`          down (toward the entry) the reward the risk check sees is never more
                                            than asked, and the exit comes no later
  `price` (limit)   down                    a limit is never widened: no worse a fill
  `trigger_price`   down                    as the limit (for a SELL stop exit: up, tighter)
  `reference_price` up                      a market entry's sizing price is never better
                                            than the market (Dhan sends it as the limit)
  `trailing_jump`   down (at least 1 tick)  the stop trails at least as closely
  ================  ======================  ==============================================

  A short (SELL entry) is the mirror: `stop_loss` down, `target` up, `price` and
  `trigger_price` up, `reference_price` down. Rounding may move a stop onto the entry; the risk
  check then refuses the entry for its levels, as it would any other.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tradeloop.domain import price_ticks
from tradeloop.domain.execution.orders import ExchangeSegment, OrderIntent
from tradeloop.domain.market.contracts import (
    ContractFacts,
    ContractTable,
    kind_of_symbol,
    underlying_of_symbol,
)
from tradeloop.errors import NotFoundError

_SNAP = price_ticks.SNAP
"""A price within this many ticks of the grid is on it (float noise: 24000.050000000003)."""


def index_contract(intent: OrderIntent, contracts: ContractTable) -> ContractFacts | None:
    """The facts of the index derivative `intent` trades (NSE F&O only), or None when the
    table does not list its underlying or its kind cannot be told from the symbol.

    A NotFoundError when the table lists the underlying but not for the intent's day (or kind).
    """
    if intent.exchange_segment is not ExchangeSegment.NSE_FNO:
        return None
    underlying = underlying_of_symbol(intent.symbol)
    if underlying not in contracts.underlyings():
        return None
    listed = contracts.of_security(intent.security_id)
    if listed is not None and listed.underlying == underlying:
        return listed
    kind = kind_of_symbol(intent.symbol)
    if kind is None:
        return None
    return contracts.facts(underlying, kind, intent.trading_day)


def symbol_contract(symbol: str, day: date, contracts: ContractTable) -> ContractFacts | None:
    """The facts of the index derivative named `symbol` on `day`, or None when the table cannot
    tell them (an unlisted underlying, a symbol without FUT/CE/PE, a day it does not cover)."""
    underlying, kind = underlying_of_symbol(symbol), kind_of_symbol(symbol)
    if kind is None or underlying not in contracts.underlyings():
        return None
    try:
        return contracts.facts(underlying, kind, day)
    except NotFoundError:
        return None


def tick_of(intent: OrderIntent, contracts: ContractTable) -> float | None:
    """The intent's tick, else its contract's, else None (unknown)."""
    if intent.tick_size:
        return intent.tick_size
    facts = _contract_or_none(intent, contracts)
    return None if facts is None else facts.tick_size


def describe(intent: OrderIntent, contracts: ContractTable) -> str:
    """`NIFTY-FUT (lot 65, tick 0.05)`: the instrument as a refusal names it."""
    facts = _contract_or_none(intent, contracts)
    lot = facts.lot_size if facts is not None else intent.lot_size
    tick = tick_of(intent, contracts)
    return f"{intent.symbol} (lot {lot}, tick {tick if tick is not None else 'unknown'})"


def contract_failures(intent: OrderIntent, contracts: ContractTable) -> list[str]:
    """Why `intent` cannot go out as it is (empty when it can); see the module docstring.

    Exits skip the lot checks: an exit sells what was filled, and refusing it helps nobody.
    """
    failures: list[str] = []
    try:
        facts = index_contract(intent, contracts)
    except NotFoundError as exc:
        facts = None
        if not intent.is_exit:
            failures.append(
                f"the lot of {intent.symbol} on {intent.trading_day} is not known: {exc}"
            )
    if facts is not None and not intent.is_exit and intent.lot_size != facts.lot_size:
        failures.append(
            f"{describe(intent, contracts)}: the intent says lot_size {intent.lot_size}, the "
            f"instrument master {facts.lot_size} ({facts.source}); build it with "
            f"lot_size={facts.lot_size} and a quantity in whole lots"
        )
    if (
        facts is not None
        and intent.tick_size
        and not _is_multiple(intent.tick_size, facts.tick_size)
    ):
        failures.append(
            f"{describe(intent, contracts)}: tick_size {intent.tick_size} is not a multiple of "
            f"the instrument's tick {facts.tick_size}"
        )
    tick = tick_of(intent, contracts)
    if tick is None:
        if not intent.is_exit or _prices(intent):
            failures.append(
                f"the tick size of {intent.symbol} is not known: set tick_size on the intent to "
                "the instrument's tick (`tradeloop instruments find` lists it)"
            )
        return failures
    for name, value in _prices(intent).items():
        if not is_on_tick(value, tick):
            down, up = round_to_tick(value, tick, -1), round_to_tick(value, tick, 1)
            failures.append(
                f"{name} {_shown(value)} is not on the tick of {describe(intent, contracts)}: use "
                f"{_shown(down)} or {_shown(up)} (the position manager rounds its entries itself)"
            )
    if intent.trailing_jump and not is_on_tick(intent.trailing_jump, tick):
        failures.append(
            f"trailing_jump {_shown(intent.trailing_jump)} is not a whole number of ticks of "
            f"{describe(intent, contracts)}"
        )
    return failures


def _contract_or_none(intent: OrderIntent, contracts: ContractTable) -> ContractFacts | None:
    try:
        return index_contract(intent, contracts)
    except NotFoundError:
        return None


def on_tick(intent: OrderIntent, contracts: ContractTable) -> OrderIntent:
    """`intent` with its prices rounded to the tick, each in the direction that adds no risk.

    The same intent (same id) when nothing moves or the tick is unknown (the risk check then
    refuses it, naming the tick).
    """
    tick = tick_of(intent, contracts)
    if tick is None:
        return intent
    sign = intent.side.sign
    # +1 rounds up, -1 down; for a BUY entry (sign +1), see the module docstring's table.
    directions = {
        "stop_loss": sign,
        "target": -sign,
        "price": -sign,
        "trigger_price": -sign,
        "reference_price": sign,
    }
    update: dict[str, Any] = {}
    for name, value in _prices(intent).items():
        if not is_on_tick(value, tick):  # float noise on the grid is left alone: same id
            update[name] = round_to_tick(value, tick, directions[name])
    if intent.trailing_jump and not is_on_tick(intent.trailing_jump, tick):
        update["trailing_jump"] = max(round_to_tick(intent.trailing_jump, tick, -1), tick)
    return intent.model_copy(update=update) if update else intent


def protective_stop(direction: int, stop: float, tick: float | None) -> float:
    """`stop` on the tick grid, toward the position (a long's stop up, a short's down)."""
    return stop if tick is None else round_to_tick(stop, tick, direction)


def is_on_tick(value: float, tick: float) -> bool:
    units = value / tick
    return abs(units - round(units)) <= _SNAP


def round_to_tick(value: float, tick: float, direction: int) -> float:
    """`value` on the grid of `tick`: up (`direction` > 0) or down (< 0) when it is off it
    (`domain/price_ticks.py`, the rule the backtester rounds its levels with too)."""
    return float(price_ticks.round_to_tick(float(value), float(tick), int(direction)))


def _shown(price: float) -> str:
    return format(price, ".10g")


def _is_multiple(tick: float, of: float) -> bool:
    return is_on_tick(tick, of) and tick >= of * (1 - _SNAP)


def _prices(intent: OrderIntent) -> dict[str, float]:
    fields = {
        "stop_loss": intent.stop_loss,
        "target": intent.target,
        "price": intent.price,
        "trigger_price": intent.trigger_price,
        "reference_price": intent.reference_price,
    }
    return {name: value for name, value in fields.items() if value is not None}
