"""Regenerate tests/data/golden/nifty_5m_sample.csv (run by hand; the CSV is committed).

    .venv/bin/python tests/golden/make_golden_sample.py

40 synthetic NIFTY sessions (seed 11) resampled to 5m: 3,000 bars. After regenerating, the
pinned expectations must be regenerated too (`pytest tests/golden --update-golden`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "golden" / "nifty_5m_sample.csv"


def main() -> None:
    minutes = generate_market("NIFTY", days=40, start=date(2025, 1, 1), seed=11).candles
    bars = resample(minutes, "5m")
    SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    bars.write_csv(SAMPLE)
    print(f"wrote {bars.height} bars to {SAMPLE}")


if __name__ == "__main__":
    main()
