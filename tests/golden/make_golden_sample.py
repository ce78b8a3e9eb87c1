"""Regenerate tests/data/golden/nifty_5m_sample.csv and nifty_iv_sample.csv (run by hand; the
CSVs are committed).

    .venv/bin/python tests/golden/make_golden_sample.py

40 synthetic NIFTY sessions (seed 11) resampled to 5m: 3,000 bars, and the same market's ATM
implied volatility per day (the option golden backtest prices its contracts with it). After
regenerating, the pinned expectations must be regenerated too
(`pytest tests/golden --update-golden`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import SyntheticMarket, generate_market

DATA = Path(__file__).resolve().parents[1] / "data" / "golden"
SAMPLE = DATA / "nifty_5m_sample.csv"
IV_SAMPLE = DATA / "nifty_iv_sample.csv"


def sample_market() -> SyntheticMarket:
    return generate_market("NIFTY", days=40, start=date(2025, 1, 1), seed=11)


def write_candles(market: SyntheticMarket) -> None:
    bars = resample(market.candles, "5m")
    SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    bars.write_csv(SAMPLE)
    print(f"wrote {bars.height} bars to {SAMPLE}")


def write_iv(market: SyntheticMarket) -> None:
    iv = market.implied_volatility.select("symbol", "day", "iv")
    IV_SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    iv.write_csv(IV_SAMPLE)
    print(f"wrote {iv.height} days of implied volatility to {IV_SAMPLE}")


def main() -> None:
    market = sample_market()
    write_candles(market)
    write_iv(market)


if __name__ == "__main__":
    main()
