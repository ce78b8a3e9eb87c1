"""PSR and DSR: the papers' worked examples, a hand computation, and every degenerate input.

Each statistic is checked twice: against the number the paper prints (to its last printed
digit), and against the same formula recomputed here without `statistics.NormalDist` — Φ from
`math.erf`, Φ⁻¹ by bisection on it — to 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeloop.domain.backtest.significance import (
    EULER_MASCHERONI,
    SharpeMoments,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_moments,
)

# --- the formulas again, independently -------------------------------------------------------


def phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def phi_inverse(p: float) -> float:
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        if phi(middle) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def reference_expected_max(n: int, variance: float) -> float:
    gamma = 0.5772156649015329
    return math.sqrt(variance) * (
        (1 - gamma) * phi_inverse(1 - 1 / n) + gamma * phi_inverse(1 - 1 / (n * math.e))
    )


def reference_psr(sr: float, benchmark: float, t: int, skew: float, kurt: float) -> float:
    return phi(
        (sr - benchmark) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    )


# --- Bailey & López de Prado (2014), the Deflated Sharpe Ratio's numerical example ------------

PERIODS_PER_YEAR = 250  # the paper's example: "non-annualized (with 250 observations per year)"
DAILY_SHARPE = 2.5 / math.sqrt(PERIODS_PER_YEAR)
DAILY_SHARPE_VARIANCE = 0.5 / PERIODS_PER_YEAR  # V of annualised SRs = 1/2, scaled by 1/250


def test_deflated_sharpe_ratio_reproduces_the_papers_numerical_example() -> None:
    """Bailey, D. H. & López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
    Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management
    40(5), 94-107 (SSRN 2460551, version of July 31, 2014), section "A numerical example",
    pp. 9-10 of the working paper.

    Inputs: an annualised SR of 2.5 over 5 years of daily returns (T = 1250), N = 100
    independent trials, V[{SR_n}] = 1/2 (annualised), skewness −3, kurtosis 10; 250
    observations a year. The paper prints SR_0 ≈ 0.1132 (non-annualised) and DSR ≈ 0.9004.

    0.9004 is what the unrounded SR_0 = 0.113172… gives; plugging the printed 0.1132 into the
    formula gives 0.90026 instead, so the assertions use the unrounded threshold.
    """
    threshold = expected_max_sharpe(100, DAILY_SHARPE_VARIANCE)
    assert threshold == pytest.approx(0.1132, abs=5e-5)  # the paper's 4 decimals
    assert threshold == pytest.approx(reference_expected_max(100, DAILY_SHARPE_VARIANCE), abs=1e-9)
    assert threshold == pytest.approx(0.11317200186513, abs=1e-12)  # pinned

    dsr = deflated_sharpe_ratio(DAILY_SHARPE, 1250, -3.0, 10.0, 100, DAILY_SHARPE_VARIANCE)
    assert dsr == pytest.approx(0.9004, abs=5e-5)
    assert dsr == pytest.approx(reference_psr(DAILY_SHARPE, threshold, 1250, -3.0, 10.0), abs=1e-9)
    assert dsr == pytest.approx(0.90039683444939, abs=1e-12)  # pinned
    assert dsr < 0.95  # the investor's verdict: not a discovery at 95% confidence


def test_deflated_sharpe_ratio_reproduces_the_papers_46_and_88_trial_variants() -> None:
    """Same paper and section, next paragraph: after only N = 46 trials DSR would have been
    0.9505; with Normal returns (skewness 0, kurtosis 3) DSR = 0.9505 after N = 88 trials."""
    after_46 = deflated_sharpe_ratio(DAILY_SHARPE, 1250, -3.0, 10.0, 46, DAILY_SHARPE_VARIANCE)
    normal_after_88 = deflated_sharpe_ratio(DAILY_SHARPE, 1250, 0.0, 3.0, 88, DAILY_SHARPE_VARIANCE)
    assert after_46 == pytest.approx(0.9505, abs=5e-5)
    assert normal_after_88 == pytest.approx(0.9505, abs=5e-5)
    expected_46 = reference_psr(
        DAILY_SHARPE, reference_expected_max(46, DAILY_SHARPE_VARIANCE), 1250, -3.0, 10.0
    )
    assert after_46 == pytest.approx(expected_46, abs=1e-9)


def test_expected_max_sharpe_uses_the_euler_mascheroni_constant() -> None:
    assert abs(EULER_MASCHERONI - 0.5772156649015329) < 1e-16
    for n in (2, 10, 1_000, 1_000_000):
        assert expected_max_sharpe(n, 1.0) == pytest.approx(
            reference_expected_max(n, 1.0), abs=1e-9
        )


def test_expected_max_of_ten_standard_normals_is_about_1_57() -> None:
    """Bailey, Borwein, López de Prado & Zhu (2014), "Pseudo-Mathematics and Financial
    Charlatanism", Notices of the AMS 61(5): the approximation gives ≈ 1.57 for N = 10, V = 1
    (the exact expected maximum of 10 standard normals is 1.5388)."""
    assert expected_max_sharpe(10, 1.0) == pytest.approx(1.575, abs=5e-3)


# --- PSR ----------------------------------------------------------------------------------------


def test_probabilistic_sharpe_ratio_worked_by_hand_for_normal_returns() -> None:
    """SR = 0.1 per period over T = 101 returns, normal (skew 0, kurtosis 3), against SR* = 0:
    the radicand is 1 − 0 + (3 − 1)/4 · 0.01 = 1.005, z = 0.1 · √100 / √1.005 = 0.9975093,
    PSR = Φ(0.9975093) = 0.8407413."""
    psr = probabilistic_sharpe_ratio(0.1, 0.0, 101, 0.0, 3.0)
    assert psr == pytest.approx(phi(1.0 / math.sqrt(1.005)), abs=1e-12)
    assert psr == pytest.approx(0.8407413, abs=5e-8)


def test_probabilistic_sharpe_ratio_of_a_negatively_skewed_fat_tailed_track_record() -> None:
    """The hedge-fund example behind Bailey & López de Prado (2012), "The Sharpe Ratio
    Efficient Frontier", Journal of Risk 15(2), and López de Prado (2018), Advances in Financial
    Machine Learning, exercises 14.5-14.6: a monthly SR of 0.458 over 24 months against SR* = 0
    gives PSR ≈ 0.982 for normal returns and ≈ 0.913 with skewness −2.448 and kurtosis 10.164;
    over 36 months with those moments ≈ 0.953 (0.95351). The three values are as reproduced by
    the DaruFinance/deflated-sharpe test suite; checked here against the formula to 1e-9."""
    normal = probabilistic_sharpe_ratio(0.458, 0.0, 24, 0.0, 3.0)
    skewed = probabilistic_sharpe_ratio(0.458, 0.0, 24, -2.448, 10.164)
    longer = probabilistic_sharpe_ratio(0.458, 0.0, 36, -2.448, 10.164)
    assert normal == pytest.approx(0.982, abs=5e-4)
    assert skewed == pytest.approx(0.913, abs=5e-4)
    assert longer == pytest.approx(0.9535, abs=5e-4)
    assert normal == pytest.approx(reference_psr(0.458, 0.0, 24, 0.0, 3.0), abs=1e-9)
    assert skewed == pytest.approx(reference_psr(0.458, 0.0, 24, -2.448, 10.164), abs=1e-9)


def test_psr_is_one_half_when_the_sharpe_equals_the_benchmark() -> None:
    assert probabilistic_sharpe_ratio(0.05, 0.05, 500, -1.0, 6.0) == 0.5


def test_psr_below_the_benchmark_is_below_one_half_even_when_z_rounds_to_zero() -> None:
    assert probabilistic_sharpe_ratio(0.05 - 1e-17, 0.05, 1000, 0.0, 3.0) < 0.5


def test_deflated_sharpe_ratio_with_one_trial_is_the_psr_against_zero() -> None:
    one_trial = deflated_sharpe_ratio(DAILY_SHARPE, 1250, -3.0, 10.0, 1, math.nan)
    assert one_trial == probabilistic_sharpe_ratio(DAILY_SHARPE, 0.0, 1250, -3.0, 10.0)


# --- degenerate inputs: NaN, never an exception, never a number ------------------------------


@pytest.mark.parametrize(
    ("sharpe", "benchmark", "n_returns", "skewness", "kurtosis"),
    [
        (0.1, 0.0, 1, 0.0, 3.0),  # one return: T − 1 = 0
        (0.1, 0.0, 0, 0.0, 3.0),  # no returns
        (0.1, 0.0, -5, 0.0, 3.0),  # a negative count
        (math.nan, 0.0, 100, 0.0, 3.0),
        (0.1, math.nan, 100, 0.0, 3.0),
        (0.1, 0.0, 100, math.nan, 3.0),
        (0.1, 0.0, 100, 0.0, math.nan),
        (math.inf, 0.0, 100, 0.0, 3.0),
        (0.1, -math.inf, 100, 0.0, 3.0),
        (0.5, 0.0, 100, 10.0, 1.0),  # 1 − 5 + 0 < 0: moments no distribution has
        (1.0, 0.0, 100, 2.0, 1.0),  # radicand exactly 0: no estimation error is not a thing
    ],
)
def test_psr_of_undefined_inputs_is_nan(
    sharpe: float, benchmark: float, n_returns: int, skewness: float, kurtosis: float
) -> None:
    assert math.isnan(probabilistic_sharpe_ratio(sharpe, benchmark, n_returns, skewness, kurtosis))


@pytest.mark.parametrize(
    ("n_trials", "variance"),
    [(0, 0.01), (-3, 0.01), (10, -0.01), (10, math.nan), (10, math.inf), (10**400, 0.01)],
)
def test_expected_max_of_undefined_inputs_is_nan(n_trials: int, variance: float) -> None:
    assert math.isnan(expected_max_sharpe(n_trials, variance))


def test_expected_max_with_one_trial_or_no_dispersion_is_zero() -> None:
    assert expected_max_sharpe(1, 0.01) == 0.0
    assert expected_max_sharpe(1, math.nan) == 0.0  # one trial's Sharpe variance is undefined
    assert expected_max_sharpe(100, 0.0) == 0.0


def test_expected_max_for_more_trials_than_one_minus_one_over_n_resolves() -> None:
    """1 − 1/N rounds to 1 beyond N ≈ 1e16; the tail form −Φ⁻¹(1/N) still gives a number."""
    assert expected_max_sharpe(10**20, 1.0) > expected_max_sharpe(10**15, 1.0) > 0


def test_deflated_sharpe_ratio_of_undefined_inputs_is_nan() -> None:
    assert math.isnan(deflated_sharpe_ratio(0.1, 1250, -3.0, 10.0, 0, 0.01))
    assert math.isnan(deflated_sharpe_ratio(0.1, 1250, -3.0, 10.0, 100, -1.0))
    assert math.isnan(deflated_sharpe_ratio(0.1, 1, -3.0, 10.0, 100, 0.01))
    assert math.isnan(deflated_sharpe_ratio(0.5, 100, 10.0, 1.0, 100, 0.01))


# --- sharpe_moments -------------------------------------------------------------------------


def test_sharpe_moments_match_the_definitions() -> None:
    """Sharpe: mean / std with ddof=1. Skewness, kurtosis: population (÷ n) central moments,
    kurtosis non-excess. Recomputed in plain Python."""
    returns = [0.01, -0.02, 0.005, 0.03, -0.01, 0.0, 0.012, -0.004]
    n = len(returns)
    mean = sum(returns) / n
    deviations = [r - mean for r in returns]
    m2, m3, m4 = (sum(d**k for d in deviations) / n for k in (2, 3, 4))
    sample_std = math.sqrt(sum(d**2 for d in deviations) / (n - 1))

    moments = sharpe_moments(np.array(returns))

    assert moments.n == n
    assert moments.sharpe == pytest.approx(mean / sample_std, rel=1e-12)
    assert moments.skewness == pytest.approx(m3 / m2**1.5, rel=1e-12)
    assert moments.kurtosis == pytest.approx(m4 / m2**2, rel=1e-12)


def test_sharpe_moments_of_two_point_series() -> None:
    """Returns 0 and 2: mean 1, sample std √2, Sharpe 1/√2; symmetric, kurtosis 1 (the least
    any distribution has)."""
    moments = sharpe_moments(np.array([0.0, 2.0]))
    assert isinstance(moments, SharpeMoments)
    assert moments.n == 2
    assert moments.sharpe == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    assert moments.skewness == 0.0
    assert moments.kurtosis == pytest.approx(1.0, rel=1e-15)


def test_sharpe_moments_feed_the_psr_of_a_normal_sample() -> None:
    returns = np.random.default_rng(7).normal(0.001, 0.01, 2_000)
    moments = sharpe_moments(returns)
    assert abs(moments.skewness) < 0.2 and abs(moments.kurtosis - 3.0) < 0.4
    psr = probabilistic_sharpe_ratio(
        moments.sharpe, 0.0, moments.n, moments.skewness, moments.kurtosis
    )
    assert 0.0 <= psr <= 1.0


@pytest.mark.parametrize(
    ("returns", "why"),
    [
        ([], "no returns"),
        ([0.01], "one return: no sample standard deviation"),
        ([0.01, 0.01, 0.01], "zero variance"),
        ([0.1, 0.1, 0.1], "equal values whose float mean is off by an ulp"),
        ([0.01, math.nan, 0.02], "a NaN return"),
        ([0.01, math.inf, 0.02], "an infinite return"),
        ([[0.01, 0.02], [0.03, 0.04]], "not one series"),
        ([1.7e308, 1.7e308, -1e308], "a sum beyond float range"),
    ],
)
def test_sharpe_moments_of_degenerate_series_are_nan(returns: list[float], why: str) -> None:
    moments = sharpe_moments(np.array(returns, dtype=np.float64))
    assert moments.n == np.asarray(returns).size, why
    assert math.isnan(moments.sharpe), why
    assert math.isnan(moments.skewness), why
    assert math.isnan(moments.kurtosis), why
