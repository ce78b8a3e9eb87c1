"""`tradeloop backtest SPEC.json`: backtest a strategy spec on stored candles and score it.

Loads 1m candles from the store, resamples them to the spec's timeframe, compiles the spec,
runs the backtest (or a walk-forward), prints the metrics and the score with IST times and
rupees, and writes the trade list (CSV and Parquet, UTC times), the equity curve and a
`metrics.json` under `<data dir>/backtests/<spec id>/<UTC timestamp>/`.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from rich import box
from rich.table import Table

from tradeloop.cli._common import console, settings
from tradeloop.domain.money import rupees
from tradeloop.errors import ConfigError, NotFoundError, UserError

if TYPE_CHECKING:
    # Imported where used: `tradeloop --help` must not pay for numba and polars.
    import polars as pl

    from tradeloop.app.research import ResearchContext
    from tradeloop.domain.backtest import (
        BacktestConfig,
        BacktestResult,
        Metrics,
        ScoreCard,
        WalkForwardResult,
    )
    from tradeloop.domain.backtest.walkforward import WalkForwardMode
    from tradeloop.domain.strategy.spec import StrategySpec
    from tradeloop.settings import Settings

TRADES_SHOWN = 10
# Short labels so a trade row fits an 80-column terminal; files keep the full names.
_REASON_LABELS = {
    "trailing_stop": "trailing",
    "break_even_stop": "break-even",
    "max_bars": "max bars",
    "square_off": "square-off",
    "end_of_data": "end of data",
}


def register(app: typer.Typer) -> None:
    """Add the top-level `backtest` command to the root app."""
    app.command("backtest")(backtest)


def backtest(
    spec_file: Path = typer.Argument(..., help="Strategy spec JSON file.", metavar="SPEC.json"),
    symbol: str | None = typer.Option(None, help="Index to test on; default: the spec's."),
    start: str | None = typer.Option(
        None, "--from", help="First IST day (YYYY-MM-DD); default: the first stored."
    ),
    end: str | None = typer.Option(
        None, "--to", help="Last IST day, inclusive (YYYY-MM-DD); default: the last stored."
    ),
    walk_forward: int = typer.Option(
        0, "--walk-forward", min=0, max=20, help="Folds of a walk-forward (0 = one backtest)."
    ),
    mode: str = typer.Option("rolling", help="Walk-forward in-sample: rolling or anchored."),
    capital: float | None = typer.Option(None, help="Capital in rupees; default \\[risk] capital."),
    risk_pct: float | None = typer.Option(
        None,
        "--risk-pct",
        help="Percent of capital risked a trade; default \\[risk] risk_per_trade_pct.",
    ),
    slippage_bps: float | None = typer.Option(
        None, help="Slippage in basis points; default \\[execution] slippage_bps."
    ),
    no_costs: bool = typer.Option(False, "--no-costs", help="Charge no brokerage or taxes."),
    lot_size: int | None = typer.Option(
        None,
        "--lot-size",
        help="Units per lot of the future for the whole run, over the contract table's.",
    ),
    tick_size: float | None = typer.Option(
        None,
        "--tick-size",
        help="Price tick in rupees for the whole run, over the contract table's (both options "
        "let a day before the table be tested).",
    ),
) -> None:
    """Backtest SPEC.json on stored 1m candles, print metrics and score, save the trades."""
    from tradeloop.app.research import research_context
    from tradeloop.domain.backtest import (
        run_backtest,
        run_walk_forward,
        score_metrics,
        score_walk_forward,
    )
    from tradeloop.domain.strategy.compiler import compile_spec
    from tradeloop.domain.strategy.spec import load_spec

    current = settings()
    context = research_context(current)
    spec = _retarget(load_spec(spec_file), symbol)
    first_day, last_day = _day(start, "--from"), _day(end, "--to")
    if first_day and last_day and last_day < first_day:
        raise UserError(f"--to {last_day} is before --from {first_day}: swap them")
    if mode not in ("rolling", "anchored"):
        raise UserError(f"--mode {mode!r} is unknown: use rolling or anchored")
    _refuse_unsupported(spec)
    options = _options(capital, risk_pct, slippage_bps, no_costs, lot_size, tick_size)
    candles = _candles(context, spec, first_day, last_day)
    config = _config(context, spec, candles, options)
    table, scoring = context.costs, context.scoring
    signals = compile_spec(spec, candles)
    walk: WalkForwardResult | None = None
    if walk_forward:
        folds_mode = cast("WalkForwardMode", mode)
        walk = run_walk_forward(
            signals, candles, config, table, folds=walk_forward, mode=folds_mode
        )
        result, card = walk.out_of_sample, score_walk_forward(walk, scoring)
    else:
        result = run_backtest(signals, candles, config, table)
        card = score_metrics(result.metrics, scoring)

    _report(spec, candles, config, result, card, walk, _contract_note(lot_size, tick_size))
    folder = _save(current, spec, result, card, walk, candles)
    for name in ("trades.csv", "trades.parquet", "equity.parquet", "metrics.json"):
        console.print(f"wrote {folder / name}", highlight=False, soft_wrap=True)


def _report(
    spec: StrategySpec,
    candles: pl.DataFrame,
    config: BacktestConfig,
    result: BacktestResult,
    card: ScoreCard,
    walk: WalkForwardResult | None,
    contract_note: str,
) -> None:
    """Print the run: the window, the folds, the metrics, the last trades and the score."""
    console.print(
        f"[bold]{spec.name}[/]  id {spec.id}  {spec.symbol} {spec.timeframe} {spec.direction}  "
        f"{_ist(candles['ts'][0])} → {_ist(candles['ts'][-1])} IST  ({candles.height} bars)",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  the {spec.symbol} future's lot {config.lot_size} and tick {config.tick_size:g} "
        f"{contract_note}, kept for the whole run",
        highlight=False,
        soft_wrap=True,
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
    console.print(_trades_table(result))
    _print_score(card, walk is not None)


def _retarget(spec: StrategySpec, symbol: str | None) -> StrategySpec:
    from tradeloop.domain.strategy.spec import StrategySpec

    if symbol is None or symbol.strip().upper() == spec.symbol:
        return spec
    document = spec.model_dump(mode="json")
    document["symbol"] = symbol
    return StrategySpec.from_document(document)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def _candles(
    context: ResearchContext, spec: StrategySpec, first_day: date | None, last_day: date | None
) -> pl.DataFrame:
    from tradeloop.domain.market.resample import resample

    remedy = (
        f"run `tradeloop data synth --symbol {spec.symbol}` or `tradeloop data import` to store "
        "1m candles first"
    )
    try:
        minutes = context.minute_candles(spec.symbol, first_day, last_day)
    except NotFoundError as exc:
        raise NotFoundError(f"no 1m candles stored for {spec.symbol}: {remedy} ({exc})") from None
    if minutes.height == 0:
        window = f"from {first_day or 'the start'} to {last_day or 'the end'}"
        raise NotFoundError(f"no 1m candles for {spec.symbol} {window}: {remedy}")
    return minutes if spec.timeframe == "1m" else resample(minutes, spec.timeframe)


def _refuse_unsupported(spec: StrategySpec) -> None:
    from tradeloop.domain.research import unsupported_reason

    reason = unsupported_reason(spec)
    if reason is not None:
        raise UserError(reason)


def _options(
    capital: float | None,
    risk_pct: float | None,
    slippage_bps: float | None,
    no_costs: bool,
    lot_size: int | None = None,
    tick_size: float | None = None,
) -> dict[str, Any]:
    """This run's options, checked before any candle is read (a bad value is refused first)."""
    from tradeloop.domain.backtest import BacktestConfig

    given = {
        "capital": capital,
        "risk_per_trade_pct": risk_pct,
        "slippage_bps": slippage_bps,
        "lot_size": lot_size,
        "tick_size": tick_size,
    }
    options: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    options["apply_costs"] = not no_costs
    _validated(BacktestConfig, options)
    return options


def _config(
    context: ResearchContext, spec: StrategySpec, candles: pl.DataFrame, options: dict[str, Any]
) -> BacktestConfig:
    from tradeloop.app.research import first_session
    from tradeloop.domain.backtest import BacktestConfig

    # The one mapping from settings (the research context, with the future's lot and tick on
    # the first session, or --lot-size / --tick-size over them), then this run's options on top.
    contract = {name: options.get(name) for name in ("lot_size", "tick_size")}
    config = context.backtest_config(spec.symbol, first_session(candles), **contract)
    return _validated(BacktestConfig, {**config.model_dump(), **options})


def _contract_note(lot_size: int | None, tick_size: float | None) -> str:
    """Where the printed lot and tick came from: the contract table or the user's options."""
    given = [
        option
        for option, value in (("--lot-size", lot_size), ("--tick-size", tick_size))
        if value is not None
    ]
    if not given:
        return "on the first session (contract table)"
    return f"given with {' and '.join(given)} (over the contract table)"


def _validated(model: type[BacktestConfig], values: dict[str, Any]) -> BacktestConfig:
    try:
        return model.model_validate(values)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"invalid backtest option: {exc}") from None


def _ratio(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.2f}"


def _ist(moment: datetime) -> str:
    from tradeloop.domain.market.calendar import IST

    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M")


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
            f"square-off, {metrics.skipped_invalid_stop} invalid stops",
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
    trades = result.trades.tail(TRADES_SHOWN)
    table = Table(
        "entry (IST)",
        "exit",
        "qty",
        "entry",
        "exit",
        "reason",
        "net",
        "R",
        title=f"Last {trades.height} of {result.trades.height} trades",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    for index, column in enumerate(table.columns):
        column.no_wrap = True
        if index in (2, 3, 4, 6, 7):
            column.justify = "right"
    for row in trades.iter_rows(named=True):
        entered, exited = _ist(row["entry_time"]), _ist(row["exit_time"])
        same_day = entered[:10] == exited[:10]
        table.add_row(
            entered,
            exited[11:] if same_day else exited[5:],
            str(row["quantity"]),
            f"{row['entry_price']:.2f}",
            f"{row['exit_price']:.2f}",
            _REASON_LABELS.get(row["exit_reason"], row["exit_reason"]),
            rupees(row["net_pnl"], paise=False),
            f"{row['r_multiple']:+.2f}",
        )
    return table


def _print_score(card: ScoreCard, out_of_sample: bool) -> None:
    verdict = (
        "[bold green]passes the score gate[/]"
        if card.passed
        else "[bold red]below the score gate[/]"
    )
    parts = ", ".join(f"{name} {value:.3f}" for name, value in card.components.items())
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


def _save(
    current: Settings,
    spec: StrategySpec,
    result: BacktestResult,
    card: ScoreCard,
    walk: WalkForwardResult | None,
    candles: pl.DataFrame,
) -> Path:
    import polars as pl

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = current.backtests_dir / spec.id / stamp
    folder.mkdir(parents=True, exist_ok=True)
    trades = result.trades.with_columns(pl.col("exit_reason").cast(pl.String))
    trades.write_csv(folder / "trades.csv")
    trades.write_parquet(folder / "trades.parquet")
    result.equity.write_parquet(folder / "equity.parquet")
    document = {
        "spec": json.loads(spec.to_json()),
        "window": {
            "first_bar": candles["ts"][0].isoformat(),
            "last_bar": candles["ts"][-1].isoformat(),
            "bars": candles.height,
        },
        "result": result.summary(),
        "score": card.model_dump(mode="json"),
        "walk_forward": walk.summary()["folds"] if walk is not None else None,
    }
    text = json.dumps(document, indent=2, default=str)
    (folder / "metrics.json").write_text(text + "\n", encoding="utf-8")
    return folder
