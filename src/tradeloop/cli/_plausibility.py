"""The plausibility options of the commands that write candles (`tradeloop data import`,
`tradeloop data fetch`): one definition of `--max-move` and `--allow-future`, one check, and the
rules they relax (`app.stores.plausibility_rules`, the `[plausibility]` settings section)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import typer

from tradeloop.errors import ConfigError

if TYPE_CHECKING:
    from tradeloop.domain.market.plausibility_rules import PlausibilityRules
    from tradeloop.settings import Settings

MAX_MOVE_OPTION = typer.Option(
    None,
    "--max-move",
    help="Largest move of a bar's prices from the close before it, as a fraction (0.5 = "
    "50%); default: the setting plausibility.max_move_fraction (0.2).",
)
ALLOW_FUTURE_OPTION = typer.Option(
    False, "--allow-future", help="Accept bars that open after now (synthetic/test data)."
)


def plausibility_rules(
    current: Settings, max_move: float | None, allow_future: bool
) -> PlausibilityRules:
    """The settings' rules with this run's `--max-move` / `--allow-future` on top; a bad
    `--max-move` is a ConfigError before anything is read or asked for."""
    from tradeloop.app import stores

    return stores.plausibility_rules(current, checked_max_move(max_move), allow_future)


def checked_max_move(value: float | None) -> float | None:
    """`--max-move` as given, or a ConfigError saying what it takes."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ConfigError(
            f"--max-move {value:g}: use a fraction above 0, e.g. 0.5 to allow a 50% move "
            "between a bar and the close before it (a large number such as 100 allows any)"
        )
    return value
