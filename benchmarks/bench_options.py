"""Option pricing speed: `domain/options` against py_vollib (Jäckel's LetsBeRational in Python).

The same inputs in the same run, two workloads:

* a chain: NIFTY-like spot 24,000, 2 expiries (3 and 10 calendar days) × 81 strikes 50 apart
  × CE/PE = 324 options, on a smile;
* a batch of 100,000 options: ln(K/S) in [−0.3, 0.3], expiry 1 day to 1 year, vol 0.08 to 0.6,
  calls and puts.

For each: implied vols solved per second (from the prices of `black_scholes_price`, which both
invert), and options per second for the price and all five Greeks. Ours is one vectorised call
of the compiled kernels; py_vollib is called once per option and per Greek (it has no array
API; `py_vollib.black_scholes_merton` with q), which is how it is used. py_lets_be_rational runs
as pure Python (its numba path is off unless PY_LETS_BE_RATIONAL_ENABLE_NUMBA is set).

Reported: rates, the speed ratio and the largest absolute disagreement with py_vollib (IV: on
the options both solve; the counts each returns as unsolved are printed). Timings are medians
of runs in turns (ours, py_vollib, ...); the 100,000-option py_vollib run is timed once (it takes
seconds). No assertions: this prints, it does not judge. Target: ours >= 10x at <= 1e-8.

Option research throughput: strategy specs evaluated per second through the public research
path (`research.evaluate_specs`, walk-forward with 4 folds), option specs next to index
(futures-proxy) specs, in the same run on the same candles: 120 sessions of synthetic NIFTY 1m
bars (`generate_market`, its IV series for the `OptionMarket`), specs from `random_specs` on 5m
split by `instrument.kind == "option"` (the first 40 of each side). Timed per kind, one
`evaluate_specs` call on only that kind's specs (option specs with `options=OptionBacktest`):
resampling, compiling each spec (indicators included), the walk-forward backtests and scoring.
Not timed: generating the candles and specs, building the option model, and numba compilation
(a warm-up on the first 10 sessions compiles every kernel first). Medians of runs in turns;
printed with the machine's load average, the specs/s of each kind, their ratio, and the
out-of-sample trades per spec on average.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date
from datetime import time as clock

import numpy as np
import polars as pl
from py_vollib.black_scholes_merton import black_scholes_merton as vollib_price
from py_vollib.black_scholes_merton.greeks import analytical as vollib_greeks
from py_vollib.black_scholes_merton.implied_volatility import (
    implied_volatility as vollib_implied_vol,
)

from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.options import OptionBacktest
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.contracts import ContractFacts
from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.options.chain import Smile
from tradeloop.domain.options.expiries import ExpiryCalendar, bundled_expiry_rules
from tradeloop.domain.options.implied_vol import IVReason, IVResults, black_scholes_implied_vol
from tradeloop.domain.options.market import OptionMarket
from tradeloop.domain.options.pricing import black_scholes_greeks, black_scholes_price
from tradeloop.domain.research import Evaluation, evaluate_specs
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.domain.strategy.spec import StrategySpec

RATE = 0.065
DIVIDEND = 0.012
ROUNDS = 5
GREEK_NAMES = ("price", "delta", "gamma", "theta", "vega", "rho")
SESSIONS = 120
WARM_UP_SESSIONS = 10
SPECS_PER_KIND = 40
TIMEFRAME = "5m"
FOLDS = 4
RESEARCH_ROUNDS = 3

Inputs = dict[str, np.ndarray]


def chain() -> Inputs:
    strikes = 22_000.0 + 50.0 * np.arange(81)
    times = np.array([3.0, 10.0]) / 365
    strike, expiry, call = np.meshgrid(strikes, times, np.array([True, False]), indexing="ij")
    moneyness = np.log(strike / 24_000.0)
    vol = 0.13 + 0.6 * moneyness**2 - 0.08 * moneyness  # a smile with a skew
    spot = np.full(strike.shape, 24_000.0)
    return {"spot": spot, "strike": strike, "time": expiry, "vol": vol, "call": call}


def batch(count: int, rng: np.random.Generator) -> Inputs:
    spot = np.full(count, 24_000.0)
    return {
        "spot": spot,
        "strike": spot * np.exp(rng.uniform(-0.3, 0.3, count)),
        "time": rng.uniform(1 / 365, 1.0, count),
        "vol": rng.uniform(0.08, 0.6, count),
        "call": rng.random(count) < 0.5,
    }


def flat(inputs: Inputs) -> Inputs:
    return {name: array.reshape(-1) for name, array in inputs.items()}


# -- ours ------------------------------------------------------------------------------------


def ours_greeks(o: Inputs) -> np.ndarray:
    g = black_scholes_greeks(o["spot"], o["strike"], o["time"], o["vol"], RATE, DIVIDEND, o["call"])
    return np.stack([np.asarray(getattr(g, name)) for name in GREEK_NAMES], axis=-1)


def ours_implied_vol(o: Inputs, prices: np.ndarray) -> np.ndarray:
    result = black_scholes_implied_vol(
        prices, o["spot"], o["strike"], o["time"], RATE, DIVIDEND, o["call"]
    )
    assert isinstance(result, IVResults)
    return np.where(result.reason == IVReason.OK, result.vol, np.nan)


# -- py_vollib -------------------------------------------------------------------------------


def vollib_all_greeks(o: Inputs) -> np.ndarray:
    out = np.empty((o["spot"].size, len(GREEK_NAMES)))
    functions = (
        vollib_price, vollib_greeks.delta, vollib_greeks.gamma, vollib_greeks.theta,
        vollib_greeks.vega, vollib_greeks.rho,
    )  # fmt: skip
    for i in range(o["spot"].size):
        flag = "c" if o["call"][i] else "p"
        args = (flag, float(o["spot"][i]), float(o["strike"][i]), float(o["time"][i]), RATE,
                float(o["vol"][i]), DIVIDEND)  # fmt: skip
        for j, function in enumerate(functions):
            out[i, j] = function(*args)
    return out


def vollib_implied_vols(o: Inputs, prices: np.ndarray) -> np.ndarray:
    out = np.empty(prices.size)
    for i in range(prices.size):
        flag = "c" if o["call"][i] else "p"
        try:
            out[i] = vollib_implied_vol(float(prices[i]), float(o["spot"][i]),
                                        float(o["strike"][i]), float(o["time"][i]), RATE,
                                        DIVIDEND, flag)  # fmt: skip
        except Exception:  # py_vollib raises for prices it cannot solve
            out[i] = np.nan
    return out


# -- measuring -------------------------------------------------------------------------------


def timed(function: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def compare(label: str, o: Inputs, peer_rounds: int) -> None:
    count = o["spot"].size
    prices = np.asarray(
        black_scholes_price(o["spot"], o["strike"], o["time"], o["vol"], RATE, DIVIDEND, o["call"])
    )
    ours_greeks(o)  # compile outside the timings (cached on disk after the first run)
    ours_implied_vol(o, prices)
    ours_g, peer_g, ours_i, peer_i = [], [], [], []
    for round_ in range(max(ROUNDS, peer_rounds)):
        seconds, greeks = timed(lambda: ours_greeks(o))
        ours_g.append(seconds)
        seconds, ivs = timed(lambda: ours_implied_vol(o, prices))
        ours_i.append(seconds)
        if round_ < peer_rounds:
            seconds, peer_greeks = timed(lambda: vollib_all_greeks(o))
            peer_g.append(seconds)
            seconds, peer_ivs = timed(lambda: vollib_implied_vols(o, prices))
            peer_i.append(seconds)
    print(f"\n{label}: {count:,} options (medians of {len(ours_g)} runs of ours, "
          f"{len(peer_g)} of py_vollib)")  # fmt: skip
    for what, ours_t, peer_t in (
        ("price + 5 Greeks", ours_g, peer_g),
        ("implied vol     ", ours_i, peer_i),
    ):
        ours_rate = count / statistics.median(ours_t)
        peer_rate = count / statistics.median(peer_t)
        print(f"  {what}  ours {ours_rate:>14,.0f}/s   py_vollib {peer_rate:>10,.0f}/s   "
              f"ratio {ours_rate / peer_rate:>7.1f}x")  # fmt: skip
    for j, name in enumerate(GREEK_NAMES):
        disagreement = np.max(np.abs(greeks[:, j] - peer_greeks[:, j]))
        print(f"  max |ours − py_vollib| {name:<5}: {disagreement:.2e}")
    both = np.isfinite(ivs) & np.isfinite(peer_ivs)
    true_vol = o["vol"]
    peer_error = np.max(np.abs(peer_ivs[both] - true_vol[both]))
    print(f"  implied vol: solved ours {np.isfinite(ivs).sum():,}, py_vollib "
          f"{np.isfinite(peer_ivs).sum():,} of {count:,}; on the {both.sum():,} both solve: "
          f"max |ours − py_vollib| {np.max(np.abs(ivs[both] - peer_ivs[both])):.2e}, "
          f"max |ours − true| {np.max(np.abs(ivs[both] - true_vol[both])):.2e}, "
          f"max |py_vollib − true| {peer_error:.2e}")  # fmt: skip
    only_peer = np.isfinite(peer_ivs) & ~np.isfinite(ivs)
    if only_peer.any():
        print(f"  solved by py_vollib only: {only_peer.sum():,}; its max |error| there "
              f"{np.max(np.abs(peer_ivs[only_peer] - true_vol[only_peer])):.2e}")  # fmt: skip


# -- option research throughput ---------------------------------------------------------------


def option_backtest(implied_volatility: pl.DataFrame) -> OptionBacktest:
    """The option model the research context would build, without settings: NIFTY options on
    the bundled expiry rules, priced from the synthetic market's daily IV on a default smile."""
    market = OptionMarket(
        symbol="NIFTY",
        strike_step=50.0,
        expiries=ExpiryCalendar(bundled_expiry_rules(), NSECalendar.default()),
        iv_days=implied_volatility["day"].to_numpy().astype("datetime64[D]"),
        iv=implied_volatility["iv"].to_numpy(),
        rate=RATE,
        dividend_yield=0.0,
        smile=Smile(),
        expiry_square_off=clock(15, 15),
    )
    facts = ContractFacts("NIFTY", ContractKind.PE, 65, 0.05, "benchmark")
    return OptionBacktest(BacktestConfig.for_option("NIFTY", facts), market)


def research_specs() -> tuple[list[StrategySpec], list[StrategySpec]]:
    """The first SPECS_PER_KIND option specs and index (futures-proxy) specs of one seed."""
    options: list[StrategySpec] = []
    index: list[StrategySpec] = []
    count = 0
    while len(options) < SPECS_PER_KIND or len(index) < SPECS_PER_KIND:
        count += 100
        specs = random_specs(16, count, "NIFTY", TIMEFRAME)
        options = [spec for spec in specs if spec.instrument.kind == "option"]
        index = [spec for spec in specs if spec.instrument.kind != "option"]
    return options[:SPECS_PER_KIND], index[:SPECS_PER_KIND]


def research_throughput() -> None:
    market = generate_market("NIFTY", days=SESSIONS, start=date(2025, 1, 1), seed=16)
    candles = market.candles
    options = option_backtest(market.implied_volatility)
    index_config = BacktestConfig.for_symbol(
        "NIFTY", ContractFacts("NIFTY", ContractKind.FUT, 65, 0.05, "benchmark")
    )
    scoring, costs = ScoringConfig(), CostTable.bundled()
    option_specs, index_specs = research_specs()

    def evaluate(
        specs: Sequence[StrategySpec], bars: pl.DataFrame, model: OptionBacktest | None
    ) -> list[Evaluation]:
        return evaluate_specs(specs, bars, index_config, scoring, costs, folds=FOLDS, options=model)

    warm_up = candles.head(WARM_UP_SESSIONS * (candles.height // SESSIONS))
    evaluate(option_specs, warm_up, options)  # numba compiles outside the timings
    evaluate(index_specs, warm_up, None)
    option_t: list[float] = []
    index_t: list[float] = []
    for _ in range(RESEARCH_ROUNDS):
        start = time.perf_counter()
        option_evaluations = evaluate(option_specs, candles, options)
        option_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        index_evaluations = evaluate(index_specs, candles, None)
        index_t.append(time.perf_counter() - start)

    one, five, fifteen = os.getloadavg()
    kinds = [spec.instrument.kind for spec in index_specs]
    print(f"\nOption research throughput: {SESSIONS} sessions, {candles.height:,} 1m bars, "
          f"{TIMEFRAME} specs, {FOLDS} folds; {len(option_specs)} option specs, "
          f"{len(index_specs)} index specs ({kinds.count('index')} index, "
          f"{kinds.count('future')} future); medians of {RESEARCH_ROUNDS} runs in turns"
          )  # fmt: skip
    print(f"  load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs")
    print("  timed: evaluate_specs (resample, compile incl. indicators, walk-forward, scoring); "
          "not timed: data generation, numba compilation (warm-up first)")  # fmt: skip
    rates: dict[str, float] = {}
    for what, specs, samples, evaluations in (
        ("option specs", option_specs, option_t, option_evaluations),
        ("index specs ", index_specs, index_t, index_evaluations),
    ):
        seconds = statistics.median(samples)
        rates[what] = len(specs) / seconds
        trades = statistics.mean(e.walk_forward.out_of_sample.trades.height for e in evaluations)
        print(f"  {what}  {rates[what]:>10,.1f} specs/s   ({seconds:>7.3f} s for {len(specs)}; "
              f"{trades:>6.1f} out-of-sample trades per spec)")  # fmt: skip
    ratio = rates["index specs "] / rates["option specs"]
    print(f"  index / option specs/s: {ratio:.1f}x")


def main() -> None:
    compare("Chain (2 expiries x 81 strikes x CE/PE)", flat(chain()), peer_rounds=ROUNDS)
    compare("Batch", batch(100_000, np.random.default_rng(16)), peer_rounds=1)
    research_throughput()


if __name__ == "__main__":
    main()
