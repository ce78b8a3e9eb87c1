"""PSR and DSR as a gate: more trials, a shorter record or a higher bar never make passing easier.

All Sharpe ratios are per period. Kurtosis is drawn at or above 1 + skewness² (every real
distribution's moments are), except in the range test, which takes any floats at all.
"""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tradeloop.domain.backtest.significance import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
)

sharpes = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
skews = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False)
excess_over_bound = st.floats(min_value=0.0, max_value=50.0, allow_nan=False)
record_lengths = st.integers(min_value=2, max_value=1_000_000)
trial_counts = st.integers(min_value=1, max_value=10_000_000)
sharpe_variances = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
thresholds = st.floats(min_value=0.5, max_value=1.0)


def kurtosis_for(skewness: float, excess: float) -> float:
    """A kurtosis a distribution with this skewness can have: at least 1 + skewness²."""
    return 1.0 + skewness**2 + excess


@settings(max_examples=300, deadline=None)
@given(
    sharpe=sharpes,
    skewness=skews,
    excess=excess_over_bound,
    n_returns=record_lengths,
    variance=sharpe_variances,
    fewer=trial_counts,
    more=trial_counts,
)
def test_more_trials_never_raise_the_deflated_sharpe_ratio(
    sharpe: float,
    skewness: float,
    excess: float,
    n_returns: int,
    variance: float,
    fewer: int,
    more: int,
) -> None:
    fewer, more = sorted((fewer, more))
    kurtosis = kurtosis_for(skewness, excess)
    assert expected_max_sharpe(more, variance) >= expected_max_sharpe(fewer, variance)
    dsr_fewer = deflated_sharpe_ratio(sharpe, n_returns, skewness, kurtosis, fewer, variance)
    dsr_more = deflated_sharpe_ratio(sharpe, n_returns, skewness, kurtosis, more, variance)
    assume(not math.isnan(dsr_fewer))  # only a zero radicand (γ₃·SR = 2 at the bound)
    assert dsr_more <= dsr_fewer


@settings(max_examples=300, deadline=None)
@given(
    sharpe=sharpes,
    benchmark=sharpes,
    skewness=skews,
    excess=excess_over_bound,
    shorter=record_lengths,
    longer=record_lengths,
    threshold=thresholds,
)
def test_a_shorter_record_never_makes_passing_easier(
    sharpe: float,
    benchmark: float,
    skewness: float,
    excess: float,
    shorter: int,
    longer: int,
    threshold: float,
) -> None:
    """With the same moments, PSR is non-decreasing in the record length T when SR ≥ SR* and
    non-increasing when SR ≤ SR* (a longer record is surer either way, so a strategy below its
    benchmark looks worse with more data — correct). The gate property follows and is checked
    directly: for any threshold ≥ 0.5, if the shorter record passes, the longer one passes."""
    shorter, longer = sorted((shorter, longer))
    kurtosis = kurtosis_for(skewness, excess)
    psr_shorter = probabilistic_sharpe_ratio(sharpe, benchmark, shorter, skewness, kurtosis)
    psr_longer = probabilistic_sharpe_ratio(sharpe, benchmark, longer, skewness, kurtosis)
    assume(not math.isnan(psr_shorter))
    if sharpe >= benchmark:
        assert psr_longer >= psr_shorter
    if sharpe <= benchmark:
        assert psr_longer <= psr_shorter
    if psr_shorter >= threshold:
        assert psr_longer >= threshold


@settings(max_examples=500, deadline=None)
@given(
    sharpe=st.floats(),
    benchmark=st.floats(),
    n_returns=st.integers(min_value=-10, max_value=10**12),
    skewness=st.floats(),
    kurtosis=st.floats(),
)
def test_psr_is_a_probability_or_nan_for_any_input(
    sharpe: float, benchmark: float, n_returns: int, skewness: float, kurtosis: float
) -> None:
    psr = probabilistic_sharpe_ratio(sharpe, benchmark, n_returns, skewness, kurtosis)
    assert math.isnan(psr) or 0.0 <= psr <= 1.0


@settings(max_examples=500, deadline=None)
@given(
    sharpe=st.floats(),
    n_returns=st.integers(min_value=-10, max_value=10**12),
    skewness=st.floats(),
    kurtosis=st.floats(),
    n_trials=st.integers(min_value=-10, max_value=10**30),
    variance=st.floats(),
)
def test_dsr_is_a_probability_or_nan_for_any_input(
    sharpe: float,
    n_returns: int,
    skewness: float,
    kurtosis: float,
    n_trials: int,
    variance: float,
) -> None:
    dsr = deflated_sharpe_ratio(sharpe, n_returns, skewness, kurtosis, n_trials, variance)
    assert math.isnan(dsr) or 0.0 <= dsr <= 1.0


@settings(max_examples=300, deadline=None)
@given(
    sharpe=sharpes,
    lower=sharpes,
    higher=sharpes,
    skewness=skews,
    excess=excess_over_bound,
    n_returns=record_lengths,
)
def test_a_higher_benchmark_never_raises_the_psr(
    sharpe: float, lower: float, higher: float, skewness: float, excess: float, n_returns: int
) -> None:
    lower, higher = sorted((lower, higher))
    kurtosis = kurtosis_for(skewness, excess)
    psr_lower = probabilistic_sharpe_ratio(sharpe, lower, n_returns, skewness, kurtosis)
    psr_higher = probabilistic_sharpe_ratio(sharpe, higher, n_returns, skewness, kurtosis)
    assume(not math.isnan(psr_lower))
    assert psr_higher <= psr_lower
