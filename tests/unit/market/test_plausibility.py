"""check_plausibility: the relaxable rules (future bars, moves from the close before), pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from pydantic import ValidationError

from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.domain.market.plausibility import StoredBar, check_plausibility
from tradeloop.domain.market.plausibility_rules import PlausibilityRules
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.market.validation import validate_candles
from tradeloop.errors import DataValidationError, UserError

DEFAULTS = PlausibilityRules()
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=IST)


def bars(
    closes: list[float], start: datetime = datetime(2025, 1, 2, 9, 15, tzinfo=IST)
) -> pl.DataFrame:
    """Minute bars whose open is the previous close (the first opens at its own close)."""
    closes = [float(close) for close in closes]
    opens = [closes[0], *closes[:-1]]
    return validate_candles(
        pl.DataFrame(
            {
                "symbol": "NIFTY",
                "interval": "1m",
                "ts": [start + timedelta(minutes=i) for i in range(len(closes))],
                "open": opens,
                "high": [max(o, c) for o, c in zip(opens, closes, strict=True)],
                "low": [min(o, c) for o, c in zip(opens, closes, strict=True)],
                "close": closes,
                "volume": [10] * len(closes),
            }
        ),
        NSECalendar.default(),
    )


def refusal(
    frame: pl.DataFrame,
    rules: PlausibilityRules = DEFAULTS,
    before: StoredBar | None = None,
    after: StoredBar | None = None,
) -> str:
    with pytest.raises(DataValidationError) as refused:
        check_plausibility(frame, rules, NOW, before, after)
    assert isinstance(refused.value, UserError)
    return str(refused.value)


def test_defaults_are_a_20_percent_move_and_no_future_bars() -> None:
    assert DEFAULTS.max_move_fraction == 0.2
    assert DEFAULTS.allow_future is False


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "abc"])
def test_a_move_limit_that_is_not_a_positive_number_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="max_move_fraction"):
        PlausibilityRules(max_move_fraction=bad)  # type: ignore[arg-type]


def test_plausible_bars_pass() -> None:
    check_plausibility(bars([24_000, 24_100, 23_900]), DEFAULTS, NOW, None, None)


def test_a_bar_dated_2099_is_refused_naming_the_row_and_the_option() -> None:
    frame = bars([24_000, 24_010], start=datetime(2099, 1, 2, 9, 15, tzinfo=IST))
    message = refusal(frame)
    assert "bars in the future: 2 rows" in message
    assert "row 0 (2099-01-02 09:15 IST) opens after now (2026-12-02 12:00 IST)" in message
    assert "--allow-future" in message and "allow_future" in message


def test_allow_future_relaxes_the_future_rule() -> None:
    frame = bars([24_000, 24_010], start=datetime(2099, 1, 2, 9, 15, tzinfo=IST))
    check_plausibility(frame, PlausibilityRules(allow_future=True), NOW, None, None)


def test_a_bar_opening_after_now_today_is_in_the_future_and_one_at_now_is_not() -> None:
    at_now = bars([24_000], start=NOW)
    check_plausibility(at_now, DEFAULTS, NOW, None, None)
    assert "row 0 (2026-12-02 12:01 IST)" in refusal(
        bars([24_000], start=NOW + timedelta(minutes=1))
    )


def test_the_clock_decides_what_is_future_not_the_machine() -> None:
    frame = bars([24_000], start=datetime(2025, 1, 2, 9, 15, tzinfo=IST))
    earlier = datetime(2025, 1, 1, 12, 0, tzinfo=IST)
    with pytest.raises(DataValidationError, match="bars in the future"):
        check_plausibility(frame, DEFAULTS, earlier, None, None)


def test_a_50_percent_jump_from_the_previous_row_is_refused_naming_row_column_value() -> None:
    frame = bars([24_000, 24_010, 36_015, 36_020])
    message = refusal(frame)
    assert "prices more than 20.0% from the close before them: 1 row" in message
    assert "row 2 (2025-01-02 09:17 IST): close=36015.0 is 50.0% from row 1's close, 24010.0" in (
        message
    )
    assert "--max-move 0.5 " in message and "max_move_fraction" in message
    check_plausibility(frame, PlausibilityRules(max_move_fraction=0.5), NOW, None, None)


def test_a_50_percent_drop_to_a_misplaced_decimal_is_refused() -> None:
    message = refusal(bars([24_000, 2_400.5]))
    assert "row 1" in message and "close=2400.5 is 90.0% from row 0's close, 24000.0" in message


def test_a_50_percent_jump_from_the_stored_close_before_is_refused() -> None:
    before = StoredBar(datetime(2025, 1, 1, 15, 29, tzinfo=IST), 24_000.0)
    message = refusal(bars([36_000, 36_010]), before=before)
    assert (
        "row 0 (2025-01-02 09:15 IST): close=36000.0 is 50.0% from the stored close at "
        "2025-01-01 15:29 IST, 24000.0"
    ) in message
    assert "--max-move 0.5 " in message


def test_a_stored_bar_after_the_frame_far_from_its_last_close_is_refused() -> None:
    after = StoredBar(datetime(2025, 1, 2, 9, 20, tzinfo=IST), 12_000.0)
    message = refusal(bars([24_000, 24_010]), after=after)
    assert (
        "row 1 (2025-01-02 09:16 IST): close=24010.0; the stored bar after it "
        "(2025-01-02 09:20 IST) closes at 12000.0, 50.0% away"
    ) in message


def test_a_raised_limit_lets_the_real_move_through() -> None:
    before = StoredBar(datetime(2025, 1, 1, 15, 29, tzinfo=IST), 24_000.0)
    check_plausibility(
        bars([36_000, 36_010]), PlausibilityRules(max_move_fraction=0.5), NOW, before, None
    )


def test_a_10_percent_crash_day_gap_passes_the_defaults() -> None:
    before = StoredBar(datetime(2025, 1, 1, 15, 29, tzinfo=IST), 24_000.0)
    check_plausibility(bars([21_600, 21_400, 20_500]), DEFAULTS, NOW, before, None)


def test_both_rules_are_reported_together() -> None:
    frame = bars([24_000, 48_000], start=datetime(2099, 1, 2, 9, 15, tzinfo=IST))
    message = refusal(frame)
    assert "(2 rules failed)" in message
    assert "--allow-future" in message and "--max-move 1" in message


@pytest.mark.parametrize("symbol", ["NIFTY", "BANKNIFTY"])
@pytest.mark.parametrize("regime", ["null", "planted"])
def test_the_synthetic_market_passes_the_default_rules(symbol: str, regime: str) -> None:
    market = generate_market(symbol, days=250, seed=7, start=date(2025, 1, 1), regime=regime)
    check_plausibility(market.candles, DEFAULTS, NOW, None, None)


def test_the_suggested_max_move_lets_even_a_huge_move_through() -> None:
    frame = bars([1.5, 123_456_789.0])
    message = refusal(frame)
    suggested = message.split("--max-move ")[1].split(" ")[0]
    assert suggested == "8.24e+07"
    check_plausibility(
        frame, PlausibilityRules(max_move_fraction=float(suggested)), NOW, None, None
    )
