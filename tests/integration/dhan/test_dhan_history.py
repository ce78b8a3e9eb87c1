"""History from Dhan: the real dhanhq SDK against the loopback chart APIs (`support.dhan_charts`).

Most tests pace the data limiter on a manual clock that moves only when the limiter or a retry
"sleeps", so they never wait; one uses the real limiter and the server's own count per second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import pytest
from pydantic import SecretStr

from support.dhan_charts import DhanChartsServer
from tradeloop.adapters.dhan.charts import DhanPayloadError
from tradeloop.adapters.dhan.history import INTRADAY_MAX_DAYS, DhanHistory, RetryPolicy
from tradeloop.adapters.ratelimit import InMemoryRateLimiter
from tradeloop.app.history import FetchSummary, fetch_history
from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.domain.market.plausibility_rules import PlausibilityRules
from tradeloop.errors import ConfigError, DataValidationError, RateLimitedError, TransientError
from tradeloop.storage.candles import InMemoryCandleStore

TOKEN = "TOKEN-SECRET-123"
CLIENT_ID = "1000000007"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CALENDAR = NSECalendar.default()


class LimiterClock(Protocol):
    """The `clock` fixture's type (conftest's ManualClock): moves only when something sleeps."""

    now: float
    sleeps: list[float]

    def __call__(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@pytest.fixture
def charts(monkeypatch: pytest.MonkeyPatch) -> Iterator[DhanChartsServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with DhanChartsServer(access_token=TOKEN, client_id=CLIENT_ID, calendar=CALENDAR) as server:
        yield server


@pytest.fixture
def make_history(charts: DhanChartsServer, clock: LimiterClock) -> Callable[..., DhanHistory]:
    def build(token: str = TOKEN, **options: Any) -> DhanHistory:
        return DhanHistory(
            CLIENT_ID,
            SecretStr(token),
            base_url=options.pop("base_url", charts.base_url),
            timeout=options.pop("timeout", 5.0),
            rate_limiter=options.pop(
                "rate_limiter", InMemoryRateLimiter(clock=clock, sleep=clock.sleep)
            ),
            retry=options.pop("retry", RetryPolicy()),
            sleep=clock.sleep,
        )

    return build


def run(
    history: DhanHistory,
    store: InMemoryCandleStore,
    start: date,
    end: date,
    interval: str = "1m",
    symbol: str = "NIFTY",
    rules: PlausibilityRules | None = None,
) -> FetchSummary:
    return fetch_history(
        history,
        store,
        CALENDAR,
        symbol=symbol,
        interval=interval,
        start=start,
        end=end,
        now=NOW,
        rules=rules or PlausibilityRules(),  # the [plausibility] defaults: a 20% move at most
    )


def fresh_store() -> InMemoryCandleStore:
    return InMemoryCandleStore(CALENDAR)


def test_a_200_day_minute_fetch_asks_for_90_day_windows_of_sessions_only(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory]
) -> None:
    start = date(2025, 1, 1)
    end = start + timedelta(days=199)
    store = fresh_store()

    summary = run(make_history(), store, start, end)

    sessions = CALENDAR.trading_days(start, end)
    asked = charts.answered
    assert summary.requests == len(asked) == 3 == summary.sends
    assert [a.interval for a in asked] == [1, 1, 1]
    firsts = [date.fromisoformat(a.from_text[:10]) for a in asked]
    lasts = [date.fromisoformat(a.to_text[:10]) for a in asked]
    assert all(a.from_text.endswith(" 09:15:00") and a.to_text.endswith(" 15:30:00") for a in asked)
    assert firsts[0] == sessions[0] and lasts[-1] == sessions[-1]
    for first, last in zip(firsts, lasts, strict=True):
        assert (last - first).days + 1 <= INTRADAY_MAX_DAYS
        assert CALENDAR.is_trading_day(first) and CALENDAR.is_trading_day(last)
    for last, following in zip(lasts, firsts[1:], strict=False):
        assert CALENDAR.next_trading_day(last) == following  # no day asked twice, none skipped
    assert summary.rows_inserted == len(sessions) * 375
    assert store.gaps("NIFTY", "1m", start, end) == []


def test_daily_candles_come_in_one_request_stored_at_the_session_open(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory]
) -> None:
    store = fresh_store()
    summary = run(make_history(), store, date(2024, 1, 1), date(2025, 6, 30), interval="1d")

    (asked,) = charts.answered
    assert (asked.path, asked.from_text, asked.to_text) == (
        "/charts/historical",
        "2024-01-01",
        "2025-07-01",  # Dhan's toDate is exclusive
    )
    stored = store.load("NIFTY", "1d")
    assert (
        stored.height
        == summary.rows_inserted
        == len(CALENDAR.trading_days(date(2024, 1, 1), date(2025, 6, 30)))
    )
    opens = stored["ts"].dt.convert_time_zone("Asia/Kolkata").dt.strftime("%H:%M").unique()
    assert opens.to_list() == ["09:15"]


def test_the_real_limiter_keeps_dhan_at_five_requests_a_second(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory]
) -> None:
    start = date(2022, 1, 1)
    end = start + timedelta(days=12 * INTRADAY_MAX_DAYS - 1)
    history = make_history(rate_limiter=InMemoryRateLimiter())  # real time

    summary = run(history, fresh_store(), start, end, interval="1h")

    assert summary.requests == len(charts.arrivals) >= 12
    assert charts.busiest_second() <= 5


@pytest.mark.parametrize("mode", ["500", "429", "drop"])
def test_a_failure_half_way_then_a_rerun_fetches_only_what_is_missing(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory], mode: Any
) -> None:
    start, end = date(2025, 1, 1), date(2025, 7, 19)  # three windows
    store = fresh_store()
    charts.fail_after(2, mode)  # the third window fails, however often it is sent

    with pytest.raises(TransientError) as failed:
        run(make_history(), store, start, end, interval="5m")

    if mode == "429":
        assert isinstance(failed.value, RateLimitedError)
    assert "run the same fetch again" in str(failed.value)
    assert len(charts.arrivals) == 2 + RetryPolicy().attempts
    written = store.load("NIFTY", "5m")
    assert written.height > 0 and store.gaps("NIFTY", "5m", start, end)

    charts.heal()
    before = len(charts.answered)
    summary = run(make_history(), store, start, end, interval="5m")

    rerun = charts.answered[before:]
    assert summary.requests == len(rerun) == 1
    assert rerun[0].from_text[:10] > written["ts"][-1].date().isoformat()
    clean = fresh_store()
    run(make_history(), clean, start, end, interval="5m")
    assert store.load("NIFTY", "5m").equals(clean.load("NIFTY", "5m"))
    assert store.gaps("NIFTY", "5m", start, end) == []


def test_a_transient_failure_is_retried_and_the_fetch_completes(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory], clock: LimiterClock
) -> None:
    charts.fail_after(0, "500", times=2)
    store = fresh_store()

    summary = run(make_history(), store, date(2025, 3, 3), date(2025, 3, 7))

    assert (summary.requests, summary.sends) == (1, 3)
    assert clock.sleeps[:2] == [1.0, 2.0]  # backed off before each resend
    assert store.load("NIFTY", "1m").height == 5 * 375


@pytest.mark.parametrize("style", ["empty", "dh905"])
def test_days_without_data_are_not_an_error_and_are_asked_again_alone(
    make_history: Callable[..., DhanHistory], charts: DhanChartsServer, style: Any
) -> None:
    charts.no_data_days = {date(2025, 3, 5)}
    charts.no_data_style = style
    store = fresh_store()

    first = run(make_history(), store, date(2025, 3, 3), date(2025, 3, 7))
    assert (first.requests, first.empty_windows, first.rows_inserted) == (1, 0, 4 * 375)

    second = run(make_history(), store, date(2025, 3, 3), date(2025, 3, 7))
    assert (second.requests, second.empty_windows, second.rows_inserted) == (1, 1, 0)
    assert charts.answered[-1].from_text == "2025-03-05 09:15:00"
    assert charts.answered[-1].to_text == "2025-03-05 15:30:00"


def test_a_range_of_holidays_and_weekends_asks_for_nothing(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory]
) -> None:
    summary = run(make_history(), fresh_store(), date(2025, 3, 29), date(2025, 3, 31))
    assert (summary.requests, summary.rows_inserted) == (0, 0)  # Sat, Sun, Id-ul-Fitr
    assert charts.arrivals == []


def test_a_wrong_token_is_a_config_error_naming_the_fix(
    make_history: Callable[..., DhanHistory],
) -> None:
    with pytest.raises(ConfigError) as refused:
        run(
            make_history(token="WRONG-TOKEN-456"), fresh_store(), date(2025, 3, 3), date(2025, 3, 7)
        )
    message = str(refused.value)
    assert "TRADELOOP_DHAN_ACCESS_TOKEN" in message and "DH-901" in message
    assert "WRONG-TOKEN-456" not in message


@pytest.mark.parametrize("code", ["806", "DH-902"])
def test_no_data_subscription_is_a_config_error_naming_the_fix(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory], code: Any
) -> None:
    charts.data_subscribed = False
    charts.subscription_refusal = code
    with pytest.raises(ConfigError) as refused:
        run(make_history(), fresh_store(), date(2025, 3, 3), date(2025, 3, 7))
    message = str(refused.value)
    assert "Subscribe to Data APIs" in message and code in message
    assert "TRADELOOP_DHAN_ACCESS_TOKEN" in message
    assert len(charts.arrivals) == 1  # never retried


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda bars: {k: v for k, v in bars.items() if k != "close"}, "'close'"),
        (lambda bars: {**bars, "volume": bars["volume"][:-1]}, "volume 374"),
        (lambda bars: {**bars, "high": ["x", *bars["high"][1:]]}, "'high' holds 'x' at index 0"),
        (lambda bars: [bars], "not an object of arrays"),
    ],
    ids=["missing-field", "short-array", "not-a-number", "not-an-object"],
)
def test_a_malformed_answer_names_the_field_and_writes_nothing(
    charts: DhanChartsServer,
    make_history: Callable[..., DhanHistory],
    change: Callable[[dict[str, list[float]]], Any],
    named: str,
) -> None:
    charts.mangle_next(change)
    store = fresh_store()
    with pytest.raises(DhanPayloadError) as refused:
        run(make_history(), store, date(2025, 3, 3), date(2025, 3, 3))
    assert named in str(refused.value)
    assert store.series() == []


def test_the_token_appears_in_no_log_error_or_output(
    charts: DhanChartsServer,
    make_history: Callable[..., DhanHistory],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    store = fresh_store()
    charts.fail_after(0, "500", times=1)
    run(make_history(), store, date(2025, 3, 3), date(2025, 3, 4))
    charts.fail_after(len(charts.arrivals), "drop")
    errors: list[str] = []
    with pytest.raises(TransientError) as dropped:
        run(make_history(), store, date(2025, 3, 5), date(2025, 3, 6))
    errors.append(str(dropped.value))
    charts.heal()
    charts.access_token = "ANOTHER-TOKEN-789"
    with pytest.raises(ConfigError) as refused:
        run(make_history(), store, date(2025, 3, 5), date(2025, 3, 6))
    errors.append(str(refused.value))
    errors.append(repr(make_history()))

    captured = capsys.readouterr()
    assert caplog.records, "DEBUG logging captured nothing: the check would prove nothing"
    for text in (caplog.text, captured.out, captured.err, *errors):
        assert TOKEN not in text


def test_minute_rows_outside_the_window_are_dropped(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory]
) -> None:
    # Dhan sends the current day's bars whatever toDate says: an extra day must not be stored.
    def extra_day(bars: dict[str, list[float]]) -> dict[str, list[float]]:
        later = int(datetime(2025, 3, 4, 4, 0, tzinfo=UTC).timestamp())
        return {k: [*v, v[-1] if k != "timestamp" else later] for k, v in bars.items()}

    charts.mangle_next(extra_day)
    store = fresh_store()
    run(make_history(), store, date(2025, 3, 3), date(2025, 3, 3))
    assert store.load("NIFTY", "1m").height == 375


def test_the_fetch_never_asks_beyond_today(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory]
) -> None:
    summary = run(make_history(), fresh_store(), date(2025, 12, 29), date(2026, 3, 31))
    assert summary.end == NOW.date()
    assert charts.answered[-1].to_text == "2026-01-05 15:30:00"


def test_banknifty_uses_its_own_security_id(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory]
) -> None:
    store = fresh_store()
    run(make_history(), store, date(2025, 3, 3), date(2025, 3, 3), symbol="banknifty")
    assert charts.answered[0].security_id == "25"
    assert store.load("BANKNIFTY", "1m")["close"].mean() > 40_000  # type: ignore[operator]


def test_a_window_with_a_50_percent_jump_is_refused_and_a_rerun_with_max_move_resumes(
    charts: DhanChartsServer, make_history: Callable[..., DhanHistory]
) -> None:
    start, end = date(2025, 1, 1), date(2025, 7, 19)  # three windows of 5m candles
    store = fresh_store()
    charts.jump_from(datetime(2025, 5, 2, 10, 0, tzinfo=IST), 1.5)  # inside the second window

    with pytest.raises(DataValidationError) as refused:
        run(make_history(), store, start, end, interval="5m")

    second = charts.answered[1]
    first_day, last_day = second.from_text[:10], second.to_text[:10]
    message = str(refused.value)
    assert f"NIFTY 5m from Dhan, window {first_day} to {last_day} (request 2 of 3)" in message
    assert "nothing of it was stored and the fetch stopped" in message
    assert "(2025-05-02 10:00 IST)" in message and "50.0%" in message
    assert "--max-move 0.51 on `tradeloop data import` or `tradeloop data fetch`" in message
    assert "1 earlier window of this fetch is stored" in message
    assert len(charts.answered) == 2  # the third window is never asked for
    kept = store.load("NIFTY", "5m")
    assert kept.height > 0
    assert kept["ts"].max().astimezone(IST).date().isoformat() < first_day  # type: ignore[union-attr]

    before = len(charts.answered)
    summary = run(
        make_history(), store, start, end, "5m", rules=PlausibilityRules(max_move_fraction=0.6)
    )

    rerun = charts.answered[before:]
    assert summary.requests == len(rerun) == 2  # from the refused window on, nothing earlier
    assert rerun[0].from_text[:10] == first_day
    assert store.gaps("NIFTY", "5m", start, end) == []
    jumped = store.load("NIFTY", "5m", datetime(2025, 5, 2, 4, 30, tzinfo=UTC))
    assert jumped["close"][0] > 35_000  # stored as Dhan sent it, 1.5 times the level
