"""Research validity: does the deployment gate pass luck, and does it find a real edge?

Two synthetic markets whose truth is known (`tradeloop.domain.market.planted`):

* **Null market** (random walk, no edge): for NIFTY and BANKNIFTY, per seed, two years
  (500 sessions, the demo's length) and a research run of `--specs` random 5m specs (backtestable
  ones only: option specs are dropped and more drawn). Each is walked forward and scored on the
  research window; the score gate's candidates are judged by the significance gate on the
  lockbox (the last 20 % of sessions) with trials = every spec of the run. Twice: with the score
  gate at its default (min_score 0.5), and opened (min_score 0) so the significance gate alone
  stands between luck and deployment. Every pass here is a false discovery.
* **Planted market** (mean reversion after large 5-minute moves) at several strengths: the same
  run plus the targeting template (`planted_edge_spec`). The template's detection rate is its
  passes / seeds. A random spec that passes may have found the edge or been lucky; each one is
  also gated on the *null twin* (same seed: the same minute shocks without the planted drift,
  with the same trials): refused there, its lockbox profit came from the edge ("found it");
  passed there too, it is a false discovery.

The template's entry (a 5m candle up more than 0.3 %) is calibrated on NIFTY: the planted edge
triggers at two of the symbol's own 5-minute sigmas, and BANKNIFTY's volatility is 1.2 times
NIFTY's, so there the template also fires on moves the edge does not revert. Its BANKNIFTY
detection rate is shown apart and measures a template off its calibration.

Run: ``python benchmarks/bench_validity.py [--specs N] [--seeds 1 2 3] [--quick]``. Nothing is
written; timings are printed, not asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.gate import GateCard, TrialStats
from tradeloop.domain.backtest.scoring import ScoringConfig, score_walk_forward
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.contracts import ContractFacts
from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.domain.market.planted import DEFAULT_EDGE_STRENGTH, MarketRegime, check_edge
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.research import Evaluation, evaluate_specs, gate_specs, split_lockbox
from tradeloop.domain.strategy.generators import planted_edge_spec, random_specs
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import ConfigError

DAYS = 500
START = date(2025, 1, 1)
TIMEFRAME = "5m"
SYMBOLS = ("NIFTY", "BANKNIFTY")
CALIBRATED = "NIFTY"  # the symbol the template's 0.3 % threshold is calibrated on
STRENGTHS = (0.4, DEFAULT_EDGE_STRENGTH, 0.8)
SEEDS = (1, 2, 3)
SPECS = 1000
COSTS = CostTable.bundled()
DEFAULT = ScoringConfig()
OPENED = ScoringConfig(min_score=0.0)
# The lots and tick the figures in docs/backtesting.md were measured with (those of January 2026
# on), kept fixed so a rerun reproduces them; the research path would take the synthetic
# market's January 2025 lots (25, 15) from the instrument master's revision table instead.
FUTURES = {
    name: ContractFacts(name, ContractKind.FUT, lot, 0.05, "bench_validity: the measured lots")
    for name, lot in (("NIFTY", 65), ("BANKNIFTY", 30))
}

_started = time.perf_counter()


def say(message: str) -> None:
    """A progress line, stamped with the seconds since the start."""
    print(f"[{time.perf_counter() - _started:6.1f}s] {message}", flush=True)


def backtestable_specs(seed: int, count: int, symbol: str) -> list[StrategySpec]:
    """The first `count` random 5m specs of `seed` the backtester can test (options dropped)."""
    drawn = count
    while True:
        specs = [
            spec
            for spec in random_specs(seed, drawn, symbol, TIMEFRAME)
            if spec.instrument.kind != "option"
        ]
        if len(specs) >= count:
            return specs[:count]
        drawn = math.ceil(drawn * 1.25) + 10


def market(symbol: str, seed: int, regime: MarketRegime, strength: float = 0.0) -> pl.DataFrame:
    """`DAYS` sessions of 1m candles; the planted market at `strength`, or the null one."""
    return generate_market(
        symbol, days=DAYS, start=START, seed=seed, regime=regime, edge_strength=strength
    ).candles


# ---------------------------------------------------------------------------- one research run
@dataclass(frozen=True)
class Research:
    """One research run on one market: its evaluations, its trials and its lockbox's start."""

    evaluations: list[Evaluation]
    trials: TrialStats
    candles: pl.DataFrame
    lockbox_start: datetime
    lockbox_sessions: int

    def candidates(self, scoring: ScoringConfig) -> list[StrategySpec]:
        """The specs that pass the score gate of `scoring` on the research window."""
        return [
            evaluation.spec
            for evaluation in self.evaluations
            if score_walk_forward(evaluation.walk_forward, scoring).passed
        ]

    def gate(
        self,
        specs: Sequence[StrategySpec],
        scoring: ScoringConfig,
        candles: pl.DataFrame | None = None,
    ) -> list[GateCard]:
        """The significance gate of `specs` on this run's lockbox sessions, against this run's
        trials; on `candles` (the null twin) instead of the run's own when given."""
        if not specs:
            return []
        return gate_specs(
            specs,
            self.candles if candles is None else candles,
            self.lockbox_start,
            BacktestConfig.for_symbol(specs[0].symbol, FUTURES[specs[0].symbol]),
            COSTS,
            scoring,
            {TIMEFRAME: self.trials},
        )


def research(candles: pl.DataFrame, specs: Sequence[StrategySpec]) -> Research:
    """Walk every spec forward on the research window and score it; trials = every spec."""
    lockbox = split_lockbox(candles, DEFAULT.lockbox_fraction)
    if lockbox.start is None:
        raise SystemExit(f"{DAYS} sessions hold no lockbox: raise DAYS")
    evaluations = evaluate_specs(
        specs,
        lockbox.research,
        BacktestConfig.for_symbol(specs[0].symbol, FUTURES[specs[0].symbol]),
        DEFAULT,
        COSTS,
        folds=DEFAULT.walk_forward_folds,
    )
    metrics = [evaluation.walk_forward.out_of_sample.metrics for evaluation in evaluations]
    trials = TrialStats.of(
        [m.sharpe for m in metrics], [m.trades for m in metrics], [m.sessions for m in metrics]
    )
    return Research(evaluations, trials, candles, lockbox.start, lockbox.sessions)


# ------------------------------------------------------------------------------- null market
@dataclass(frozen=True)
class NullRun:
    symbol: str
    seed: int
    trials: int
    lockbox_sessions: int
    reached: dict[str, int]  # score gate ("default", "opened") → candidates judged on the lockbox
    passed: dict[str, list[str]]  # score gate → names that passed both gates
    best_dsr: dict[str, float]  # score gate → the highest DSR luck reached


def null_run(symbol: str, seed: int, count: int) -> NullRun:
    run = research(market(symbol, seed, "null"), backtestable_specs(seed, count, symbol))
    reached: dict[str, int] = {}
    passed: dict[str, list[str]] = {}
    best: dict[str, float] = {}
    for label, scoring in (("default", DEFAULT), ("opened", OPENED)):
        candidates = run.candidates(scoring)
        cards = run.gate(candidates, scoring)
        reached[label] = len(candidates)
        passed[label] = [s.name for s, c in zip(candidates, cards, strict=True) if c.passed]
        best[label] = max((c.dsr for c in cards if math.isfinite(c.dsr)), default=math.nan)
    return NullRun(symbol, seed, run.trials.trials, run.lockbox_sessions, reached, passed, best)


# ---------------------------------------------------------------------------- planted market
@dataclass(frozen=True)
class PlantedRun:
    symbol: str
    strength: float
    seed: int
    trials: int
    template_score: float
    template_scored: bool  # passed the score gate
    template: GateCard  # on the planted lockbox (gated even when the score gate refused it)
    template_twin: GateCard  # the same, on the null twin's lockbox
    reached: int  # random specs through the score gate
    found: list[str]  # random specs that pass here and are refused on the null twin
    lucky: list[str]  # random specs that pass here and on the null twin too

    @property
    def detected(self) -> bool:
        return self.template_scored and self.template.passed


def planted_run(symbol: str, strength: float, seed: int, count: int) -> PlantedRun:
    target = planted_edge_spec(symbol, TIMEFRAME)
    run = research(
        market(symbol, seed, "planted", strength),
        [target, *backtestable_specs(seed, count, symbol)],
    )
    twin = market(symbol, seed, "null")
    score = next(e.score for e in run.evaluations if e.spec.id == target.id)
    template, template_twin = run.gate([target], DEFAULT)[0], run.gate([target], DEFAULT, twin)[0]
    randoms = [spec for spec in run.candidates(DEFAULT) if spec.id != target.id]
    winners = [s for s, c in zip(randoms, run.gate(randoms, DEFAULT), strict=True) if c.passed]
    on_twin = run.gate(winners, DEFAULT, twin)
    return PlantedRun(
        symbol=symbol,
        strength=strength,
        seed=seed,
        trials=run.trials.trials,
        template_score=score.score,
        template_scored=score.passed,
        template=template,
        template_twin=template_twin,
        reached=len(randoms),
        found=[s.name for s, c in zip(winners, on_twin, strict=True) if not c.passed],
        lucky=[s.name for s, c in zip(winners, on_twin, strict=True) if c.passed],
    )


# ---------------------------------------------------------------------------------- printing
def null_line(run: NullRun) -> str:
    return (
        f"null {run.symbol:<9} seed {run.seed}: {run.trials:,} trials, lockbox "
        f"{run.lockbox_sessions} sessions\n    passed/reached the lockbox: score gate 0.5 "
        f"{len(run.passed['default'])}/"
        f"{run.reached['default']}, opened {len(run.passed['opened'])}/"
        f"{run.reached['opened']} (best DSR {_number(run.best_dsr['opened'], '.2f')})"
    )


def planted_line(run: PlantedRun) -> str:
    card, twin = run.template, run.template_twin
    verdict = "PASS" if run.detected else "refused"
    if not run.template_scored:
        verdict += f" (score {run.template_score:.2f} < {DEFAULT.min_score})"
    indent = " " * 4
    return (
        f"planted {run.symbol} strength {run.strength:.1f} seed {run.seed}, {run.trials:,} "
        f"trials: template {verdict}\n{indent}template lockbox Sharpe "
        f"{card.lockbox_sharpe:.2f}, PSR {card.psr:.3f}, DSR {card.dsr:.3f}, "
        f"{card.lockbox_trades} trades (twin {twin.lockbox_sharpe:.2f})\n{indent}"
        f"random specs passed/reached the lockbox {len(run.found) + len(run.lucky)}/"
        f"{run.reached}: {len(run.found)} found the edge, {len(run.lucky)} luck"
        + "".join(
            "\n" + textwrap.fill(reason, 80, initial_indent="    - ", subsequent_indent=" " * 6)
            for reason in card.reasons
        )
    )


def null_summary(runs: Sequence[NullRun]) -> list[str]:
    lines = [
        "null market (no edge): every pass is a false discovery",
        f"  {'symbol':<10}{'score gate':<13}{'trials':>8}{'reached':>9}{'passed':>8}"
        f"{'FDR':>8}{'best DSR':>10}",
    ]
    for symbol in dict.fromkeys(run.symbol for run in runs):
        mine = [run for run in runs if run.symbol == symbol]
        trials = sum(run.trials for run in mine)
        for label, gate in (("default", "0.5 (dflt)"), ("opened", "0 (opened)")):
            reached = sum(run.reached[label] for run in mine)
            passed = sum(len(run.passed[label]) for run in mine)
            best = max(run.best_dsr[label] for run in mine)
            lines.append(
                f"  {symbol:<10}{gate:<13}{trials:>8,}{reached:>9,}{passed:>8}"
                f"{100 * passed / trials:>7.2f}%{_number(best, '.2f'):>10}"
            )
    return lines


def planted_summary(runs: Sequence[PlantedRun]) -> list[str]:
    lines = [
        "planted market: the template's detection rate and the random specs' passes",
        f"  {'symbol':<10}{'strength':>8}{'detected':>10}{'Sharpe':>14}{'DSR':>13}"
        f"{'random pass':>13}{'edge/luck':>10}",
    ]
    keys = dict.fromkeys((run.symbol, run.strength) for run in runs)
    for symbol, strength in keys:
        mine = [run for run in runs if (run.symbol, run.strength) == (symbol, strength)]
        detected = sum(run.detected for run in mine)
        traded = [run.template for run in mine if run.template.lockbox_trades > 0]
        sharpes = [card.lockbox_sharpe for card in traded]
        dsrs = [card.dsr for card in traded]
        found = sum(len(run.found) for run in mine)
        lucky = sum(len(run.lucky) for run in mine)
        note = "" if symbol == CALIBRATED else "*"
        lines.append(
            f"  {symbol + note:<10}{strength:>8.1f}{f'{detected}/{len(mine)}':>10}"
            f"{_span(sharpes, '.1f'):>14}{_span(dsrs, '.2f'):>13}"
            f"{f'{found + lucky}/{sum(run.reached for run in mine)}':>13}{f'{found}/{lucky}':>10}"
        )
    if any(run.symbol != CALIBRATED for run in runs):
        lines.append(f"  * template calibrated on {CALIBRATED} (0.3 % entry): off-calibration here")
    lines.append("  Sharpe, DSR: the template's lockbox range over the seeds it traded in the")
    lines.append("  lockbox; random pass: passed / reached the lockbox; edge/luck: refused /")
    lines.append("  passed on the null twin")
    idle = [run for run in runs if run.template.lockbox_trades == 0]
    for symbol, seed in dict.fromkeys((run.symbol, run.seed) for run in idle):
        strengths = ", ".join(
            f"{r.strength:.1f}" for r in idle if (r.symbol, r.seed) == (symbol, seed)
        )
        lines.append(f"  no template trade in the lockbox: {symbol} seed {seed} ({strengths})")
    return lines


def _span(values: Sequence[float], spec: str) -> str:
    finite = [value for value in values if math.isfinite(value)]
    if not finite:
        return "-"
    return f"{format(min(finite), spec)}..{format(max(finite), spec)}"


def _number(value: float, spec: str) -> str:
    return "-" if math.isnan(value) else format(value, spec)


# -------------------------------------------------------------------------------------- main
def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, help=f"random specs a run (default {SPECS:,})")
    parser.add_argument(
        "--seeds", type=int, nargs="+", help=f"market seeds (default {' '.join(map(str, SEEDS))})"
    )
    parser.add_argument(
        "--strengths", type=float, nargs="+", default=list(STRENGTHS), help="planted strengths"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 200 specs and seed 1 unless given"
    )
    options = parser.parse_args()
    if options.specs is None:
        options.specs = 200 if options.quick else SPECS
    if options.seeds is None:
        options.seeds = [1] if options.quick else list(SEEDS)
    if options.specs < 1 or min(options.seeds) < 0:
        parser.error("give --specs of 1 or more and --seeds of 0 or more")
    for strength in options.strengths:
        try:
            check_edge("planted", strength)
        except ConfigError as error:
            parser.error(str(error))
    return options


def main() -> None:
    options = arguments()
    seeds = ", ".join(map(str, options.seeds))
    print(
        f"== research validity: {DAYS} sessions, {options.specs:,} random {TIMEFRAME} specs "
        f"a run, seeds {seeds}, {os.cpu_count()} cores"
    )
    say("warming up (numba cache, first market)")
    research(market("NIFTY", 0, "null"), backtestable_specs(0, 20, "NIFTY"))

    started = time.perf_counter()
    nulls = []
    for symbol in SYMBOLS:
        for seed in options.seeds:
            nulls.append(null_run(symbol, seed, options.specs))
            say(null_line(nulls[-1]))
    null_seconds = time.perf_counter() - started

    started = time.perf_counter()
    planted = []
    for symbol in SYMBOLS:
        for strength in options.strengths:
            for seed in options.seeds:
                planted.append(planted_run(symbol, strength, seed, options.specs))
                say(planted_line(planted[-1]))
    planted_seconds = time.perf_counter() - started

    print(f"\n== summary ({DAYS} sessions, lockbox {DEFAULT.lockbox_fraction:.0%}, seeds {seeds})")
    print("\n".join(null_summary(nulls)))
    print("\n".join(planted_summary(planted)))
    for run in [*nulls]:
        for label in ("default", "opened"):
            for name in run.passed[label]:
                print(f"  FALSE DISCOVERY on null {run.symbol} seed {run.seed} ({label}): {name}")
    for planted_one in planted:
        for name in planted_one.lucky:
            print(f"  luck on planted {planted_one.symbol} seed {planted_one.seed}: {name}")
    print(
        f"wall time: null {null_seconds:.0f} s, planted {planted_seconds:.0f} s, "
        f"total {time.perf_counter() - _started:.0f} s"
    )


if __name__ == "__main__":
    main()
