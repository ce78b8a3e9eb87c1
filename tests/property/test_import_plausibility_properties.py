"""Imports and the plausibility rules (issue 15 item 6), as properties: rows generated within the
rules are imported whole; one implausible row anywhere refuses the whole file, store unchanged."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.domain.market.plausibility_rules import PlausibilityRules
from tradeloop.errors import DataValidationError
from tradeloop.storage.candles import InMemoryCandleStore
from tradeloop.storage.importer import read_candle_file

CALENDAR = NSECalendar.default()
RULES = PlausibilityRules()  # a 20% move at most, no future bars
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=IST)
STORED_CLOSE = 24_000.0
FIRST_BAR = datetime(2025, 1, 3, 9, 15, tzinfo=IST)

# Each close within ±15% of the one before and wicks within 2%: every price stays under 18%
# from the close before its bar (1.15 x 1.02 = 1.173; 0.85 x 0.98 = 0.833).
step = st.tuples(
    st.floats(0.85, 1.15),
    st.floats(0.0, 0.02),
    st.floats(0.0, 0.02),
    st.integers(0, 10**12),
)
steps = st.lists(step, min_size=1, max_size=40)


def rows_within_rules(drawn: list[tuple[float, float, float, int]]) -> list[list[object]]:
    rows: list[list[object]] = []
    previous = STORED_CLOSE
    for minute, (ratio, up, down, volume) in enumerate(drawn):
        close = round(previous * ratio, 2)
        high = round(max(previous, close) * (1 + up), 2)
        low = round(min(previous, close) * (1 - down), 2)
        ts = (FIRST_BAR + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append([ts, previous, high, low, close, volume])
        previous = close
    return rows


def seeded_store() -> InMemoryCandleStore:
    """A store holding one bar the day before the file, closing at `STORED_CLOSE`."""
    store = InMemoryCandleStore(CALENDAR)
    store.write(
        pl.DataFrame(
            {
                "symbol": "NIFTY",
                "interval": "1m",
                "ts": [datetime(2025, 1, 2, 15, 29, tzinfo=IST)],
                "open": [STORED_CLOSE],
                "high": [STORED_CLOSE],
                "low": [STORED_CLOSE],
                "close": [STORED_CLOSE],
                "volume": [1],
            }
        )
    )
    return store


def import_rows(store: InMemoryCandleStore, rows: list[list[object]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "candles.csv"
        lines = ["ts,open,high,low,close,volume", *(",".join(map(str, row)) for row in rows)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        store.write_plausible(read_candle_file(path, "NIFTY", "1m").frame, RULES, NOW)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_rows_within_the_rules_are_imported_whole(
    drawn: list[tuple[float, float, float, int]],
) -> None:
    store = seeded_store()
    rows = rows_within_rules(drawn)
    import_rows(store, rows)
    stored = store.load("NIFTY", "1m")
    assert stored.height == 1 + len(rows)
    assert stored["close"].to_list()[1:] == [row[4] for row in rows]


corruptions = st.sampled_from(["jump", "drop", "future", "overflow", "absurd", "negative"])


@settings(max_examples=80, deadline=None)
@given(steps, st.data(), corruptions)
def test_one_implausible_row_refuses_the_whole_import_and_stores_nothing(
    drawn: list[tuple[float, float, float, int]], data: st.DataObject, corruption: str
) -> None:
    store = seeded_store()
    rows = rows_within_rules(drawn)
    last = len(rows) - 1
    index = last if corruption == "future" else data.draw(st.integers(0, last), label="row")
    row = rows[index]
    if corruption == "jump":  # the row's prices scaled from the close before by 1.5x or more
        factor = data.draw(st.floats(1.5, 100.0), label="factor")
        row[1:5] = [round(float(price) * factor, 2) for price in row[1:5]]  # type: ignore[arg-type]
    elif corruption == "drop":
        factor = data.draw(st.floats(0.01, 0.6), label="factor")
        row[1:5] = [round(float(price) * factor, 2) for price in row[1:5]]  # type: ignore[arg-type]
    elif corruption == "future":
        row[0] = "2099-01-02 " + str(row[0]).split(" ")[1]
    elif corruption == "overflow":
        row[5] = data.draw(st.integers(2**63, 2**80), label="volume")
    elif corruption == "absurd":
        row[1:5] = [data.draw(st.sampled_from(["1e308", "inf", "nan"]), label="price")] * 4
    else:
        row[1:5] = [-float(row[4])] * 4  # type: ignore[arg-type]
    before = store.load("NIFTY", "1m")
    try:
        import_rows(store, rows)
    except DataValidationError as refused:
        assert f"row {index} " in str(refused)
    else:
        raise AssertionError(f"{corruption} at row {index} was imported")
    assert store.load("NIFTY", "1m").equals(before)
