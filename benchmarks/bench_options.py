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
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
from py_vollib.black_scholes_merton import black_scholes_merton as vollib_price
from py_vollib.black_scholes_merton.greeks import analytical as vollib_greeks
from py_vollib.black_scholes_merton.implied_volatility import (
    implied_volatility as vollib_implied_vol,
)

from tradeloop.domain.options.implied_vol import IVReason, IVResults, black_scholes_implied_vol
from tradeloop.domain.options.pricing import black_scholes_greeks, black_scholes_price

RATE = 0.065
DIVIDEND = 0.012
ROUNDS = 5
GREEK_NAMES = ("price", "delta", "gamma", "theta", "vega", "rho")

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


def main() -> None:
    compare("Chain (2 expiries x 81 strikes x CE/PE)", flat(chain()), peer_rounds=ROUNDS)
    compare("Batch", batch(100_000, np.random.default_rng(16)), peer_rounds=1)


if __name__ == "__main__":
    main()
