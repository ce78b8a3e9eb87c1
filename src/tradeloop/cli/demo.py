"""`make demo`: the research loop on the embedded defaults, end to end, with nothing to set up.

1. synthesize a year of NIFTY and BANKNIFTY minute bars into the candle store (Prefect flow);
2. research: the example strategies plus a seeded random search, walked forward and scored on
   out-of-sample results only, remembered in strategy memory (Prefect flow);
3. print the store, the leaderboard and what to run next.

Prefect runs on its temporary local server with its home inside the data directory.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from tradeloop.app import stores
from tradeloop.cli._common import settings
from tradeloop.domain.market.calendar import to_ist

if TYPE_CHECKING:
    from tradeloop.settings import Settings

EXAMPLES = Path("examples/strategies")
RANDOM_SPECS_PER_SYMBOL = 150

# The leaderboard has 13 columns: when the output is a log (CI, a pipe), rich would squeeze it
# into 80 columns and cut every name; a terminal keeps its own width.
console = (
    Console(width=150) if not sys.stdout.isatty() and "COLUMNS" not in os.environ else Console()
)


def _store_table() -> Table:
    table = Table(title="Candle store", title_justify="left")
    for header in ("symbol", "interval", "bars", "sessions", "first (IST)", "last (IST)"):
        table.add_column(header, justify="right" if header in ("bars", "sessions") else "left")
    store = stores.candle_store(settings())
    for series in store.series():
        table.add_row(
            series.symbol,
            series.interval,
            f"{series.rows:,}",
            str(series.sessions),
            to_ist(series.first).strftime("%Y-%m-%d %H:%M"),
            to_ist(series.last).strftime("%Y-%m-%d %H:%M"),
        )
    return table


def main() -> None:
    current = settings()
    console.rule("[bold]tradeloop demo")
    console.print(
        f"mode: [bold]{current.trading_mode}[/]  ·  data dir: {current.data_dir}  ·  "
        f"Prefect home: {current.prefect_home}"
    )
    console.print("Starting a temporary local Prefect server (the first start takes a while)…")

    from tradeloop.cli._prefect import prefect_api

    with prefect_api():
        _run(current)


def _run(current: Settings) -> None:
    from tradeloop.cli.research import leaderboard_table
    from tradeloop.flows.data import SynthParameters, synthesize_flow
    from tradeloop.flows.research import ResearchParameters, research_flow

    started = time.perf_counter()
    synthesize_flow(SynthParameters(symbols=["NIFTY", "BANKNIFTY"], days=250, seed=7))
    console.print(_store_table())

    research_started = time.perf_counter()
    parameters = ResearchParameters(
        spec_dir=str(EXAMPLES) if EXAMPLES.is_dir() else None,
        templates=[] if EXAMPLES.is_dir() else ["5m", "15m"],
        random_count=RANDOM_SPECS_PER_SYMBOL,
        random_timeframe="5m",
        seed=7,
    )
    result = research_flow(parameters)
    rows = result.leaderboard
    research_seconds = time.perf_counter() - research_started

    random_names = ("nifty_random", "banknifty_random")
    examples = [row for row in rows if not row.name.startswith(random_names)]
    console.print(leaderboard_table(examples, current.strategy.min_score, "The example strategies"))
    console.print(
        leaderboard_table(rows[:10], current.strategy.min_score, "Top 10 incl. the random search")
    )
    passed = [row for row in rows if row.passed]
    reused = (
        f"; {result.reused} more were already in strategy memory from an earlier run with the "
        "same candles and settings"
        if result.reused
        else ""
    )
    console.print(
        f"Evaluated {result.evaluated} strategies × {current.strategy.walk_forward_folds}-fold "
        f"walk-forward in {research_seconds:.1f} s{reused} "
        f"(whole demo {time.perf_counter() - started:.0f} s)."
    )
    if passed:
        console.print(
            f"[green]{len(passed)} reached min_score {current.strategy.min_score}[/] with at "
            f"least {current.strategy.min_trades} out-of-sample trades."
        )
    else:
        console.print(
            f"[yellow]No strategy reached min_score {current.strategy.min_score}[/] with at least "
            f"{current.strategy.min_trades} out-of-sample trades. On a synthetic random-walk "
            "market that is the honest answer."
        )
    console.rule("next")
    console.print(
        "  .venv/bin/tradeloop backtest examples/strategies/nifty_ema_cross_15m.json"
        " --walk-forward 4\n"
        "  .venv/bin/tradeloop research best --limit 5\n"
        "  .venv/bin/tradeloop strategy schema        # write your own spec against it\n"
        "  .venv/bin/tradeloop live check             # paper is the default; see docs/trading.md"
    )


if __name__ == "__main__":
    from tradeloop.cli._common import run_app

    run_app(main)
