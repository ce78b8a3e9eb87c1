"""`tradeloop backtest SPEC.json`: backtest a strategy spec on stored candles and score it.

Loads 1m candles from the store, resamples them to the spec's timeframe, compiles the spec,
runs the backtest (or a walk-forward), prints the metrics and the score with IST times and
rupees (`_backtest_report.py`), and writes the trade list (CSV and Parquet, UTC times), the
equity curve and a `metrics.json` under `<data dir>/backtests/<spec id>/<UTC timestamp>/`.
This module holds the command, its option checks and the files it writes.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from tradeloop.cli._backtest_report import contract_note, print_report
from tradeloop.cli._common import console, settings
from tradeloop.errors import ConfigError, NotFoundError, UserError

if TYPE_CHECKING:
    # Imported where used: `tradeloop --help` must not pay for numba and polars.
    import polars as pl

    from tradeloop.app.research import ResearchContext
    from tradeloop.domain.backtest import (
        BacktestConfig,
        BacktestResult,
        ScoreCard,
        WalkForwardResult,
    )
    from tradeloop.domain.backtest.walkforward import BacktestParts, WalkForwardMode
    from tradeloop.domain.indicators.base import PriceArrays
    from tradeloop.domain.strategy.signals import Signals
    from tradeloop.domain.strategy.spec import StrategySpec
    from tradeloop.settings import Settings


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
        help="Units per lot of the future (an option spec: the option) for the whole run, over "
        "the contract table's.",
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
    from tradeloop.domain.backtest import score_metrics, score_walk_forward
    from tradeloop.domain.backtest.walkforward import walk_forward as walk_forward_parts
    from tradeloop.domain.indicators.base import PriceArrays
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
    options = _options(capital, risk_pct, slippage_bps, no_costs, lot_size, tick_size)
    candles = _candles(context, spec, first_day, last_day)
    config = _config(context, spec, candles, options)
    scoring = context.scoring
    signals = compile_spec(spec, candles)
    arrays = PriceArrays.of(candles)  # the arrays compile_spec read
    backtest = _backtester(context, spec, signals, candles, arrays, config)
    walk: WalkForwardResult | None = None
    if walk_forward:
        folds_mode = cast("WalkForwardMode", mode)
        [walk] = walk_forward_parts(
            backtest, [spec.id], arrays, folds=walk_forward, mode=folds_mode
        )
        result, card = walk.out_of_sample, score_walk_forward(walk, scoring)
    else:
        [result] = backtest(0, len(arrays), True)
        card = score_metrics(result.metrics, scoring)

    print_report(spec, candles, config, result, card, walk, contract_note(lot_size, tick_size))
    folder = _save(current, spec, result, card, walk, candles)
    for name in ("trades.csv", "trades.parquet", "equity.parquet", "metrics.json"):
        console.print(f"wrote {folder / name}", highlight=False, soft_wrap=True)
    backtest_id = f"{spec.id}-{folder.name}"  # storage/backtests.py's id
    console.print(
        f"backtest id {backtest_id}: `tradeloop report {backtest_id} --open` for its charts",
        highlight=False,
        soft_wrap=True,
    )


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

    # The one mapping from settings (the research context, with the future's or the option's
    # lot and tick on the first session, or --lot-size / --tick-size over them), then this
    # run's options on top.
    contract = {name: options.get(name) for name in ("lot_size", "tick_size")}
    first_day = first_session(candles)
    if spec.instrument.kind == "option":
        config = context.option_backtest(spec.symbol, first_day, **contract).config
    else:
        config = context.backtest_config(spec.symbol, first_day, **contract)
    return _validated(BacktestConfig, {**config.model_dump(), **options})


def _backtester(
    context: ResearchContext,
    spec: StrategySpec,
    signals: Signals,
    candles: pl.DataFrame,
    arrays: PriceArrays,
    config: BacktestConfig,
) -> BacktestParts:
    """Backtests of `signals` over any bar range: the index's kernel, or the option backtest
    of the spec's instrument on the option model."""
    from tradeloop.app.research import first_session
    from tradeloop.domain.backtest import run_backtest
    from tradeloop.domain.backtest.options import OptionBacktest
    from tradeloop.domain.strategy.rules import OptionInstrument

    instrument = spec.instrument
    if isinstance(instrument, OptionInstrument):
        first_day = first_session(candles)
        options = OptionBacktest(config, context.option_market(spec.symbol, first_day))

        def option_parts(start: int, end: int, keep: bool) -> list[BacktestResult]:
            return options.run(
                [signals], [instrument], arrays, context.costs, start=start, end=end,
                keep_equity=keep,
            )  # fmt: skip

        return option_parts

    def index_parts(start: int, end: int, keep: bool) -> list[BacktestResult]:
        return [
            run_backtest(signals, arrays, config, context.costs, start=start, end=end,
                         keep_equity=keep)
        ]  # fmt: skip

    return index_parts


def _validated(model: type[BacktestConfig], values: dict[str, Any]) -> BacktestConfig:
    try:
        return model.model_validate(values)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"invalid backtest option: {exc}") from None


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
