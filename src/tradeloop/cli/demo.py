"""`make demo`: the research loop on the embedded defaults, end to end, with nothing to set up.

1. synthesize two years of NIFTY and BANKNIFTY minute bars into the candle store (Prefect flow):
   by default a market with a planted edge, with ``--regime null`` a random walk;
2. research: the example strategies plus a seeded random search, walked forward and ranked on
   the research window, the score gate's candidates then judged on the lockbox by the
   significance gate (PSR, DSR against every strategy tried), remembered in strategy memory;
3. print the store, the leaderboard, the gate's verdicts and what to run next.

Prefect runs on its temporary local server with its home inside the data directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradeloop.app import stores
from tradeloop.cli._common import settings
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.market.planted import DEFAULT_EDGE_STRENGTH

if TYPE_CHECKING:
    from tradeloop.settings import Settings

EXAMPLES = Path("examples/strategies")
RANDOM_SPECS_PER_SYMBOL = 150
DAYS = 500  # two years: a lockbox of 100 sessions, enough to tell an edge from luck

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--regime",
        choices=("planted", "null"),
        default="planted",
        help="planted (default): a market with a planted edge; null: a random walk, no edge",
    )
    regime = parser.parse_args(argv).regime
    current = settings()
    console.rule("[bold]tradeloop demo")
    if regime == "planted":
        console.print(
            f"A synthetic market with a [bold]planted edge of strength {DEFAULT_EDGE_STRENGTH}"
            "[/] (mean reversion after large 5-minute moves; see docs/data.md), so the whole "
            "loop has something real to find."
        )
    else:
        console.print(
            "A synthetic [bold]random-walk[/] market with no edge (--regime null): whatever "
            "the random search finds there is luck, and the gate should refuse it all."
        )
    console.print(
        f"mode: [bold]{current.trading_mode}[/]  ·  data dir: {current.data_dir}  ·  "
        f"Prefect home: {current.prefect_home}"
    )
    console.print("Starting a temporary local Prefect server (the first start takes a while)…")

    from tradeloop.cli._prefect import prefect_api

    with prefect_api():
        _run(current, regime)


def _run(current: Settings, regime: Literal["planted", "null"]) -> None:
    from tradeloop.cli.research import leaderboard_table
    from tradeloop.flows.data import SynthParameters, synthesize_flow
    from tradeloop.flows.research import ResearchParameters, research_flow

    started = time.perf_counter()
    synthesize_flow(
        SynthParameters(symbols=["NIFTY", "BANKNIFTY"], days=DAYS, seed=7, regime=regime)
    )
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
    scoring = current.strategy
    console.print(leaderboard_table(examples, scoring, "The example strategies"))
    console.print(leaderboard_table(rows[:10], scoring, "Top 10 incl. the random search"))
    passed = [row for row in rows if row.passed]
    reused = (
        f"; {result.reused} more were already in strategy memory from an earlier run with the "
        "same candles and settings"
        if result.reused
        else ""
    )
    console.print(
        f"Evaluated {result.evaluated} strategies × {current.strategy.walk_forward_folds}-fold "
        f"walk-forward in {research_seconds:.1f} s{reused}."
    )
    gated = [row for row in rows if row.trials]
    console.print(
        f"{len(gated)} of {len(rows)} passed the score gate on the research window and were "
        f"tested on the lockbox (the last {scoring.lockbox_fraction:.0%} of sessions, which no "
        f"ranking saw); [bold]{len(passed)} passed[/] the significance gate."
    )
    for row in gated[:5]:
        verdict = "[green]passed[/]" if row.passed else escape(row.reason)
        console.print(f"  [bold]{escape(row.name)}[/]: {verdict}", highlight=False)
    if regime == "null" and not passed:
        console.print(
            "No edge was planted in this market: refusing everything is the right answer."
        )
    if result.report:
        console.print(
            "The run's page (leaderboard, score histogram with the gate):", highlight=False
        )
        console.print(f"  {result.report}", highlight=False, soft_wrap=True)
    day = _trade_a_day(current, result.deployed)
    console.print(f"(whole demo {time.perf_counter() - started:.0f} s)")
    console.rule("next")
    day_text = day.isoformat() if day is not None else "YYYY-MM-DD"
    steps = (
        ("this run's page", f".venv/bin/tradeloop research report {result.run_id} --open"),
        ("what trades in paper, with its evidence", ".venv/bin/tradeloop deployments ls"),
        (
            "a day over the replayed feed",
            f".venv/bin/tradeloop manage --date {day_text} --speed 600",
        ),
        ("every gate number and reason", ".venv/bin/tradeloop research best --limit 5"),
        (
            "a backtest and its report (`tradeloop report ID --open`)",
            ".venv/bin/tradeloop backtest examples/strategies/nifty_ema_cross_15m.json "
            "--walk-forward 4",
        ),
        ("the same loop on a market with no edge", "make demo ARGS='--regime null'"),
        ("write your own spec against it", ".venv/bin/tradeloop strategy schema"),
        ("paper is the default; see docs/trading.md", ".venv/bin/tradeloop live check"),
        ("the REST API on 127.0.0.1:8000 (docs/api.md)", ".venv/bin/tradeloop api"),
        (
            "the Prefect UI on http://127.0.0.1:4200: these runs and their artifacts",
            f"PREFECT_HOME={_shown(current.prefect_home)} .venv/bin/prefect server start",
        ),
    )
    for what, command in steps:
        # the comment above its command: each fits 80 columns, and a command copies whole
        console.print(f"  # {what}", highlight=False)
        console.print(f"  {command}", highlight=False, soft_wrap=True)


def _trade_a_day(current: Settings, deployed: list[str]) -> date | None:
    """Deploy → manage → remember: trade the last stored session in paper with what the run
    deployed, over the replayed feed, then check paper against the backtest for that day."""
    from tradeloop.app.manage import deployed_strategies
    from tradeloop.app.parity import parity
    from tradeloop.app.session import last_decision_day
    from tradeloop.cli.session import print_parity
    from tradeloop.flows.manage import ManageParameters, day_report, manage_flow, written_pages

    console.rule("deploy → manage a day in paper")
    strategies = deployed_strategies(current)
    if not strategies:
        console.print("Nothing passed the gate, so nothing is deployed and no day is traded.")
        return None
    for deployment_id, spec in strategies:
        new = " (deployed by this run)" if deployment_id in deployed else ""
        console.print(f"  deployed to paper: [bold]{deployment_id}[/] {spec.name}{new}")
    day = last_decision_day(current, strategies[0][1])
    if day is None:
        console.print("The deployed strategy decides no entry in the last 20 sessions stored.")
        return None
    console.print(
        f"Trading {day} (the last stored session it decides an entry on) in paper: its prices "
        "replayed over the local Dhan feed, each minute's decisions sized by the risk manager "
        "and sent through the gateway…"
    )
    summary = manage_flow(ManageParameters(day=day, source="feed"))
    report = day_report(summary, written_pages(current, summary))
    console.print(report, markup=False, highlight=False, soft_wrap=True)
    for _, spec in strategies:
        print_parity(parity(current, spec, day))
    return day


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is under it (shorter to copy)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    from tradeloop.cli._common import run_app

    run_app(main)
