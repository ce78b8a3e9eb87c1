"""Is a backtest's Sharpe ratio real? The Probabilistic and Deflated Sharpe ratios.

Three statistics of Bailey & López de Prado, and the return moments they need:

* `probabilistic_sharpe_ratio` (PSR; "The Sharpe Ratio Efficient Frontier", Journal of Risk
  15(2), 2012): the probability that the true Sharpe ratio exceeds a benchmark ``SR*``, given
  the observed Sharpe ratio, the track-record length and the skewness and kurtosis of returns::

      PSR = Φ( (SR − SR*)·√(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4·SR²) )

* `expected_max_sharpe` ("The Deflated Sharpe Ratio", Journal of Portfolio Management 40(5),
  2014, equation 1 with a zero mean): the Sharpe ratio the best of N independent trials is
  expected to show when none of them has skill::

      E[max SR] = √V·((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))),  γ = Euler–Mascheroni

* `deflated_sharpe_ratio` (DSR, same paper, equation 2): the PSR against that expected
  maximum, i.e. the probability of skill once the selection among N trials is accounted for.

Units. Every Sharpe ratio here (``sharpe``, ``benchmark_sharpe``, the result of
`expected_max_sharpe`) is per period — mean over standard deviation of the returns at their
own sampling frequency (daily returns: a daily Sharpe ratio) — and ``sharpe_variance`` is the
variance of the trials' per-period Sharpe ratios. ``n_returns`` counts those periods. Nothing
is annualised: the formulas are not unit-free, and an annualised Sharpe ratio fed in as if it
were daily makes every PSR close to 1. To convert, with 252 sessions a year (as
`tradeloop.domain.backtest.metrics` annualises): ``SR_annual = SR_daily·√252``, so
``SR_daily = SR_annual/√252``; a variance of Sharpe ratios scales with the square of that
factor, ``V_daily = V_annual/252``. The paper's own example uses 250 days a year.

``kurtosis`` is always the non-excess (Pearson) kurtosis: 3 for normal returns.

Undefined is NaN, never an exception and never a made-up number: each function below lists the
inputs for which its statistic does not exist. A NaN probability compares false with any
threshold, so a gate written ``dsr >= threshold`` refuses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

EULER_MASCHERONI = 0.57721566490153286
"""γ in the expected maximum of N standard normals (Bailey & López de Prado 2014, eq. 1)."""

_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class SharpeMoments:
    """What PSR and DSR need to know about one return series, all per period.

    * ``sharpe``: mean / standard deviation of the returns, the standard deviation with
      ``ddof=1`` (the sample estimate, as `metrics` computes its Sharpe ratio). The returns are
      taken as given: pass excess returns for a Sharpe ratio over a risk-free rate.
    * ``n``: the number of returns given (``T`` in the papers).
    * ``skewness``: third central moment over the second to the power 1.5, both the biased
      population moments (divide by ``n``), as in the papers (``scipy.stats.skew`` with
      ``bias=True``).
    * ``kurtosis``: fourth central moment over the second squared, population moments,
      non-excess (Pearson; normal = 3; ``scipy.stats.kurtosis(fisher=False, bias=True)``).
    """

    sharpe: float
    n: int
    skewness: float
    kurtosis: float


def sharpe_moments(returns: npt.ArrayLike) -> SharpeMoments:
    """The per-period Sharpe ratio, count, skewness and kurtosis of a 1-D series of returns.

    ``n`` is always the number of values given. ``sharpe``, ``skewness`` and ``kurtosis`` are
    all NaN together when:

    * there are fewer than 2 returns (no sample standard deviation);
    * any return is NaN or infinite (the series is broken; dropping values would compute the
      statistics of a different series);
    * every return is the same (zero variance: the Sharpe ratio and the standardised moments do
      not exist);
    * the array is not one-dimensional;
    * a result does not fit in a float (e.g. a tiny non-zero spread around a huge mean).
    """
    values = np.asarray(returns, dtype=np.float64)
    count = int(values.size)
    undefined = SharpeMoments(sharpe=math.nan, n=count, skewness=math.nan, kurtosis=math.nan)
    if values.ndim != 1 or count < 2 or not bool(np.isfinite(values).all()):
        return undefined
    # Checked on the values, not on the deviations: the mean of equal values can be off by an
    # ulp, and deviations of 1e-17 would make a Sharpe ratio of 1e16 out of a constant series.
    if float(np.min(values)) == float(np.max(values)):
        return undefined
    with np.errstate(all="ignore"):
        mean = float(np.mean(values))
        deviations = values - mean
        scale = float(np.max(np.abs(deviations)))
        if not (math.isfinite(mean) and math.isfinite(scale)) or scale == 0.0:
            return undefined
        # Moments of deviations / scale (all within [-1, 1]): no overflow or underflow on the
        # way; the standardised moments do not depend on the scale.
        unit = deviations / scale
        second = float(np.mean(unit**2))
        third = float(np.mean(unit**3))
        fourth = float(np.mean(unit**4))
        deviation = scale * math.sqrt(second * count / (count - 1))  # ddof=1
        sharpe = mean / deviation
    skewness = third / second**1.5
    kurtosis = fourth / second**2
    if not all(math.isfinite(x) for x in (sharpe, skewness, kurtosis)):
        return undefined
    return SharpeMoments(sharpe=sharpe, n=count, skewness=skewness, kurtosis=kurtosis)


def probabilistic_sharpe_ratio(
    sharpe: float,
    benchmark_sharpe: float,
    n_returns: int,
    skewness: float,
    kurtosis: float,
) -> float:
    """PSR: the probability that the true per-period Sharpe ratio exceeds ``benchmark_sharpe``.

    ``Φ((SR − SR*)·√(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4·SR²))`` (Bailey & López de Prado 2012),
    with ``sharpe`` (SR) and ``benchmark_sharpe`` (SR*) per period, ``n_returns`` (T) the number
    of returns behind ``sharpe``, ``skewness`` (γ₃) and non-excess ``kurtosis`` (γ₄, normal 3)
    of those returns. In [0, 1]; at least 0.5 exactly when SR ≥ SR*.

    NaN when:

    * any input is NaN or infinite;
    * ``n_returns`` < 2 (no standard error; T − 1 ≤ 0);
    * ``1 − γ₃·SR + (γ₄ − 1)/4·SR² ≤ 0``. Moments of a real distribution always satisfy
      γ₄ ≥ 1 + γ₃², which keeps this at least ``(1 − γ₃·SR/2)² ≥ 0``; a negative value means
      moments no distribution has (e.g. extreme skewness with a small kurtosis), and zero means
      no estimation error at all — neither gives a meaningful probability.
    """
    if not all(math.isfinite(x) for x in (sharpe, benchmark_sharpe, skewness, kurtosis)):
        return math.nan
    if n_returns < 2:
        return math.nan
    # sharpe * sharpe, not sharpe**2: a float ** raises OverflowError, a product gives inf.
    radicand = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * (sharpe * sharpe)
    if not radicand > 0.0 or not math.isfinite(radicand):
        return math.nan
    z = (sharpe - benchmark_sharpe) * math.sqrt(n_returns - 1) / math.sqrt(radicand)
    if math.isnan(z):
        return math.nan
    probability = _STANDARD_NORMAL.cdf(z)
    if sharpe < benchmark_sharpe:
        # Φ of a tiny negative z rounds to 0.5; keep "PSR ≥ 0.5 exactly when SR ≥ SR*", so a
        # 0.5 threshold never passes a strategy below its benchmark on a rounding.
        probability = min(probability, math.nextafter(0.5, 0.0))
    return probability


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """The per-period Sharpe ratio the best of ``n_trials`` skill-less trials is expected to show.

    ``√V·((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))`` (Bailey & López de Prado 2014, eq. 1,
    with the trials' mean Sharpe ratio zero, the null hypothesis), where ``sharpe_variance``
    (V) is the variance of the trials' per-period Sharpe ratios and ``n_trials`` (N) the number
    of independent trials. Non-decreasing in N.

    * ``n_trials == 1``: 0.0 — one trial is not a selection, whatever V is (V of a single
      Sharpe ratio is itself undefined, so it is not looked at).
    * ``sharpe_variance == 0``: 0.0 — identical trials, nothing to select.
    * NaN when ``n_trials`` < 1, or ``sharpe_variance`` is negative, NaN or infinite.
    """
    if n_trials < 1:
        return math.nan
    if n_trials == 1:
        return 0.0
    if not math.isfinite(sharpe_variance) or sharpe_variance < 0.0:
        return math.nan
    # Φ⁻¹(1 − p) = −Φ⁻¹(p): exact for small p, where 1 − p would round to 1 for N > ~1e16.
    tail = 1 / n_trials  # int / int: no overflow converting a huge N to float
    if tail <= 0.0:  # N beyond what a float resolves: the expectation is not computable
        return math.nan
    inverse = _STANDARD_NORMAL.inv_cdf
    quantiles = -(1.0 - EULER_MASCHERONI) * inverse(tail) - EULER_MASCHERONI * inverse(
        tail / math.e
    )
    return math.sqrt(sharpe_variance) * quantiles


def deflated_sharpe_ratio(
    sharpe: float,
    n_returns: int,
    skewness: float,
    kurtosis: float,
    n_trials: int,
    sharpe_variance: float,
) -> float:
    """DSR: the PSR of the selected strategy against the best Sharpe ratio luck would give.

    ``probabilistic_sharpe_ratio(sharpe, expected_max_sharpe(n_trials, sharpe_variance),
    n_returns, skewness, kurtosis)`` (Bailey & López de Prado 2014, eq. 2). ``sharpe``,
    ``skewness``, ``kurtosis`` and ``n_returns`` describe the selected strategy's returns;
    ``n_trials`` and ``sharpe_variance`` (of per-period Sharpe ratios) every trial tried,
    the losers included. Non-increasing in ``n_trials``. With one trial it is the PSR against
    zero. NaN whenever either of the two functions is.
    """
    benchmark = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, benchmark, n_returns, skewness, kurtosis)
