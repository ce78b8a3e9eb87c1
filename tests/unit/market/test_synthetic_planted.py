"""The planted market: the null stream untouched, the edge present, the tape's texture kept."""

from __future__ import annotations

import numpy as np
import pytest

from tradeloop.domain.market.planted import BLOCK_MINUTES, TRIGGER_SIGMAS
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.errors import ConfigError

DAYS = 60


def _minute_returns(market_candles: object) -> np.ndarray:
    close = np.log(market_candles["close"].to_numpy())  # type: ignore[index]
    return np.diff(close.reshape(DAYS, -1), axis=1)


@pytest.fixture(scope="module")
def planted() -> np.ndarray:
    market = generate_market("NIFTY", days=DAYS, seed=11, regime="planted", edge_strength=0.6)
    return _minute_returns(market.candles)


def test_null_regime_gives_the_same_bytes_as_before() -> None:
    before = generate_market("NIFTY", days=5, seed=11)
    null = generate_market("NIFTY", days=5, seed=11, regime="null", edge_strength=0.8)
    assert null.candles.write_ipc(None).getvalue() == before.candles.write_ipc(None).getvalue()
    assert null.implied_volatility.equals(before.implied_volatility)


def test_strength_zero_is_the_null_market() -> None:
    null = generate_market("BANKNIFTY", days=5, seed=3)
    zero = generate_market("BANKNIFTY", days=5, seed=3, regime="planted", edge_strength=0.0)
    assert zero.candles.equals(null.candles)


def test_planted_market_is_deterministic_per_seed_and_differs_from_null() -> None:
    first = generate_market("NIFTY", days=5, seed=5, regime="planted")
    again = generate_market("NIFTY", days=5, seed=5, regime="planted")
    null = generate_market("NIFTY", days=5, seed=5)
    assert first.candles.equals(again.candles)
    assert not first.candles.equals(null.candles)
    assert first.implied_volatility.equals(null.implied_volatility)
    assert first.regimes.equals(null.regimes)


def test_planted_returns_keep_fat_tails(planted: np.ndarray) -> None:
    returns = planted.ravel()
    standard = (returns - returns.mean()) / returns.std()
    assert float(np.mean(standard**4)) - 3.0 > 1.0


def test_planted_returns_keep_volatility_clustering(planted: np.ndarray) -> None:
    magnitude = np.abs(planted[:, 60:]).ravel()  # past the opening's U-shape
    assert float(np.corrcoef(magnitude[:-1], magnitude[1:])[0, 1]) > 0.0


def test_large_five_minute_moves_are_partly_given_back(planted: np.ndarray) -> None:
    blocks = planted[:, BLOCK_MINUTES - 1 : 374].reshape(DAYS, -1, BLOCK_MINUTES).sum(axis=2)
    sigma = blocks.std(axis=1, keepdims=True)
    move, following = blocks[:, :-1].ravel(), blocks[:, 1:].ravel()
    large = np.abs(move) > TRIGGER_SIGMAS * np.repeat(sigma, blocks.shape[1] - 1)
    given_back = -np.sign(move[large]) * following[large]
    t_stat = given_back.mean() / (given_back.std(ddof=1) / np.sqrt(given_back.size))
    assert t_stat > 4.0


@pytest.mark.parametrize("strength", [-0.1, 0.81, float("nan"), float("inf")])
def test_strength_outside_its_range_is_refused_naming_it(strength: float) -> None:
    with pytest.raises(ConfigError, match="edge_strength"):
        generate_market("NIFTY", days=2, regime="planted", edge_strength=strength)


def test_unknown_regime_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="regime='plant'"):
        generate_market("NIFTY", days=2, regime="plant")  # type: ignore[arg-type]
