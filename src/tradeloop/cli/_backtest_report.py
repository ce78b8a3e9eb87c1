"""What `tradeloop backtest` prints: the run's window and contract, the walk-forward folds, the
metrics, the last trades and the score, with IST times and rupees."""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table

from tradeloop.cli._common import console
from tradeloop.domain.money import rupees

if TYPE_CHECKING:
    import polars as pl

    from tradeloop.domain.backtest import (
        BacktestConfig,
        BacktestResult,
        Metrics,
        ScoreCard,
        WalkForwardResult,
    )
    from tradeloop.domain.strategy.spec import StrategySpec

TRADES_SHOWN = 10
# Short labels so a trade row fits an 80-column terminal; files keep the full names.
_REASON_LABELS = {
    "trailing_stop": "trailing",
    "break_even_stop": "break-even",
    "max_bars": "max bars",
    "square_off": "square-off",
    "end_of_data": "end of data",
}
# The score's normalised terms (ScoreCard.components), named apart from the raw metrics printed
# above them: "profit factor 1.01" is the metric, "profit-factor score 0.004" its term.
COMPONENT_LABELS = {
    "win_rate": "win-rate score",
    "profit_factor": "profit-factor score",
    "max_drawdown": "drawdown share",
}


def print_report(
    spec: StrategySpec,
    candles: pl.DataFrame,
    config: BacktestConfig,
    result: BacktestResult,
    card: ScoreCard,
    walk: WalkForwardResult | None,
    contract_origin: str,
) -> None:
    """Print the run: the window, the folds, the metrics, the last trades and the score."""
    console.print(
        f"[bold]{spec.name}[/]  id {spec.id}  {spec.symbol} {spec.timeframe} {spec.direction}  "
        f"{_ist(candles['ts'][0])} → {_ist(candles['ts'][-1])} IST  ({candles.height} bars)",
        highlight=False,
        soft_wrap=True,
    )
    contract = "option" if result.legs is not None else "future"
    console.print(
        f"  the {spec.symbol} {contract}'s lot {config.lot_size} and tick {config.tick_size:g} "
        f"{contract_origin}, kept for the whole run",
        highlight=False,
        soft_wrap=True,
    )
    if result.legs is not None:
        console.print(
            "  premiums are model prices (Black-Scholes on the index at the day's ATM IV on "
            "the [options] smile), not market quotes: no bid-ask beyond the slippage; "
            "docs/options.md",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    if walk is not None:
        console.print(_folds_table(walk))
        for item in walk.folds:
            fold = item.fold
            console.print(
                f"  fold {fold.number}: in sample {fold.in_sample.first_day} → "
                f"{fold.in_sample.last_day}, out of sample {fold.out_of_sample.first_day} → "
                f"{fold.out_of_sample.last_day}",
                highlight=False,
                soft_wrap=True,
            )
        console.print("Out of sample (continuous over every fold):", style="bold")
    console.print(_metrics_table(result.metrics))
    for note in result.notes:
        console.print(f"  skipped: {note}", highlight=False, soft_wrap=True, markup=False)
    console.print(_trades_table(result))
    _print_score(card, walk is not None)


def contract_note(lot_size: int | None, tick_size: float | None) -> str:
    """Where the printed lot and tick came from: the contract table or the user's options."""
    given = [
        option
        for option, value in (("--lot-size", lot_size), ("--tick-size", tick_size))
        if value is not None
    ]
    if not given:
        return "on the first session (contract table)"
    return f"given with {' and '.join(given)} (over the contract table)"


def _ratio(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.2f}"


def _ist(moment: datetime, layout: str = "%Y-%m-%d %H:%M") -> str:
    from tradeloop.domain.market.calendar import IST

    return moment.astimezone(IST).strftime(layout)


def _metrics_table(metrics: Metrics) -> Table:
    table = Table(
        "metric",
        "value",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    table.columns[1].justify = "right"
    rows = [
        ("trades (wins / losses)", f"{metrics.trades} ({metrics.wins} / {metrics.losses})"),
        ("win rate", f"{metrics.win_rate_pct:.1f}%"),
        ("net P&L", rupees(metrics.net_pnl)),
        ("gross P&L / charges", f"{rupees(metrics.gross_pnl)} / {rupees(metrics.costs)}"),
        ("return / CAGR", f"{metrics.return_pct:.2f}% / {metrics.cagr_pct:.2f}%"),
        ("max drawdown", f"{rupees(metrics.max_drawdown)} ({metrics.max_drawdown_pct:.2f}%)"),
        (
            "longest drawdown",
            f"{metrics.longest_drawdown_bars} bars ({metrics.longest_drawdown_sessions} sessions)",
        ),
        ("profit factor", _ratio(metrics.profit_factor)),
        ("expectancy", f"{rupees(metrics.expectancy)} ({metrics.expectancy_r:+.2f} R)"),
        ("sharpe / sortino", f"{_ratio(metrics.sharpe)} / {_ratio(metrics.sortino)}"),
        ("exposure", f"{metrics.exposure_pct:.1f}% of bars"),
        (
            "signals skipped",
            f"{metrics.skipped_zero_lot} zero lots, {metrics.skipped_after_square_off} after "
            f"square-off, {metrics.skipped_invalid_stop} invalid stops"
            + (
                f", {metrics.skipped_no_contract} without a contract"
                if metrics.skipped_no_contract
                else ""
            ),
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _folds_table(walk: WalkForwardResult) -> Table:
    table = Table(
        "fold",
        "IS trades",
        "IS PF",
        "OOS trades",
        "OOS win",
        "OOS net",
        "OOS PF",
        "OOS DD",
        title=f"Walk-forward ({walk.mode})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    for column in table.columns:
        column.justify, column.no_wrap = "right", True
    for item in walk.folds:
        inside, outside = item.in_sample, item.out_of_sample
        table.add_row(
            str(item.fold.number),
            str(inside.trades),
            _ratio(inside.profit_factor),
            str(outside.trades),
            f"{outside.win_rate_pct:.0f}%",
            rupees(outside.net_pnl, paise=False),
            _ratio(outside.profit_factor),
            f"{outside.max_drawdown_pct:.1f}%",
        )
    return table


def _trades_table(result: BacktestResult) -> Table:
    """The last trades; an option trade shows its contract and lots (premiums as prices) and
    leaves its R multiple to the files, to fit 80 columns."""
    trades = result.trades.tail(TRADES_SHOWN)
    options = result.legs is not None
    sized = ("contract", "lots") if options else ("qty",)
    table = Table(
        "entry (IST)",
        "exit",
        *sized,
        "entry",
        "exit",
        "reason",
        "net",
        *(() if options else ("R",)),
        title=f"Last {trades.height} of {result.trades.height} trades",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    for column in table.columns:
        column.no_wrap = True
        if column.header in ("qty", "lots", "entry", "exit", "net", "R"):
            column.justify = "right"
    for row in trades.iter_rows(named=True):
        entered, exited = _ist(row["entry_time"]), _ist(row["exit_time"])
        same_day = entered[:10] == exited[:10]
        size: tuple[str, ...] = (str(row["quantity"]),)
        shown = entered
        if options:  # the year is in the window line above: room for the contract
            size = (f"{row['strike']:g}{row['option_type']} {row['expiry']:%d%b}", str(row["lots"]))
            shown = _ist(row["entry_time"], "%d %b %H:%M")
        table.add_row(
            shown,
            exited[11:] if same_day else exited[5:],
            *size,
            f"{row['entry_price']:.2f}",
            f"{row['exit_price']:.2f}",
            _REASON_LABELS.get(row["exit_reason"], row["exit_reason"]),
            rupees(row["net_pnl"], paise=False),
            *(() if options else (f"{row['r_multiple']:+.2f}",)),
        )
    return table


def _print_score(card: ScoreCard, out_of_sample: bool) -> None:
    verdict = (
        "[bold green]passes the score gate[/]"
        if card.passed
        else "[bold red]below the score gate[/]"
    )
    parts = ", ".join(
        f"{COMPONENT_LABELS.get(name, name)} {value:.3f}" for name, value in card.components.items()
    )
    console.print(f"score {card.score:.3f} {verdict}  ({parts})", highlight=False, soft_wrap=True)
    for reason in card.reasons:
        console.print(f"  - {reason}", highlight=False, soft_wrap=True)
    console.print(
        "  note: the score ranks; whether a strategy beats luck is the significance gate's "
        "question, which a research run asks on its lockbox (`tradeloop research run`, "
        "docs/backtesting.md)",
        highlight=False,
        soft_wrap=True,
    )
    if not out_of_sample:
        console.print(
            "  note: scored on the whole window (in sample); use --walk-forward N for the "
            "out-of-sample score that is ranked and passed against min_score",
            highlight=False,
            soft_wrap=True,
        )
