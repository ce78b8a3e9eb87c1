"""`DhanOptionChains` with the real dhanhq SDK against the loopback option-chain API."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from support.dhan_option_chain import LEVELS, DhanOptionChainServer, quote
from tradeloop.adapters.dhan.charts import DhanPayloadError
from tradeloop.adapters.dhan.option_chain import DhanOptionChains
from tradeloop.adapters.ratelimit import InMemoryRateLimiter
from tradeloop.cli import app
from tradeloop.domain.options.expiries import time_to_expiry
from tradeloop.domain.options.pricing import forward_price
from tradeloop.errors import ConfigError

TOKEN = "OPTION-CHAIN-SECRET-42"
CLIENT_ID = "1000000009"
EXPIRY = date(2026, 12, 10)
START = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


class ManualClock:
    """The limiter's monotonic clock: moves only when the limiter 'sleeps'."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class WallClock:
    """The chain's receive-time clock, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


pytestmark = pytest.mark.usefixtures("only_pytest_log_handlers")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[DhanOptionChainServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with DhanOptionChainServer(access_token=TOKEN, client_id=CLIENT_ID) as running:
        yield running


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def limiter_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_chains(
    server: DhanOptionChainServer, wall: WallClock, limiter_clock: ManualClock
) -> Callable[..., DhanOptionChains]:
    def build(token: str = TOKEN) -> DhanOptionChains:
        return DhanOptionChains(
            CLIENT_ID,
            SecretStr(token),
            base_url=server.base_url,
            timeout=5.0,
            rate_limiter=InMemoryRateLimiter(clock=limiter_clock, sleep=limiter_clock.sleep),
            rate=0.065,
            dividend_yield=0.012,
            clock=wall,
            sleep=lambda _: None,
        )

    return build


def test_a_chain_comes_back_with_every_strike_in_our_units(
    make_chains: Callable[..., DhanOptionChains], server: DhanOptionChainServer
) -> None:
    found = make_chains().chain("nifty", EXPIRY)

    level, step = LEVELS[13]
    assert (found.symbol, found.expiry, found.source, found.spot) == (
        "NIFTY",
        EXPIRY,
        "dhan",
        level,
    )
    assert found.as_of == START
    assert found.time == pytest.approx(time_to_expiry(START, EXPIRY))
    assert found.forward == pytest.approx(float(forward_price(level, found.time, 0.065, 0.012)))
    assert found.rows.height == 22
    assert found.rows.get_column("option_type").to_list()[:2] == ["CE", "PE"]
    atm = round(level / step) * step
    for row in found.rows.filter(found.rows["strike"] == atm + step).iter_rows(named=True):
        sent = quote(level, atm + step, row["option_type"].lower())
        assert row["price"] == pytest.approx(sent["last_price"])
        assert row["iv"] == pytest.approx(sent["implied_volatility"] / 100)  # percent → decimal
        assert row["delta"] == pytest.approx(sent["greeks"]["delta"])
        assert row["gamma"] == pytest.approx(sent["greeks"]["gamma"])
        assert row["theta"] == pytest.approx(sent["greeks"]["theta"])  # per day already
        assert row["vega"] == pytest.approx(sent["greeks"]["vega"])  # per vol point already
        assert row["oi"] == sent["oi"] and isinstance(row["oi"], int)
    body = server.chain_requests()[0].body
    assert body == {
        "UnderlyingScrip": 13,
        "UnderlyingSeg": "IDX_I",
        "Expiry": "2026-12-10",
        "dhanClientId": CLIENT_ID,  # the SDK adds it to every POST
    }
    assert len(found.around(2)) == 10


def test_banknifty_asks_with_its_own_security_id(
    make_chains: Callable[..., DhanOptionChains], server: DhanOptionChainServer
) -> None:
    found = make_chains().chain("BANKNIFTY", EXPIRY)
    assert found.spot == LEVELS[25][0]
    assert server.chain_requests()[0].body["UnderlyingScrip"] == 25


def test_the_expiry_list_comes_back_sorted_as_days(
    make_chains: Callable[..., DhanOptionChains], server: DhanOptionChainServer
) -> None:
    days = make_chains().expiries("NIFTY")
    assert days == sorted(days) and days[0] == date(2026, 12, 3) and len(days) == 4
    assert server.requests[0].path == "/optionchain/expirylist"


def test_chain_requests_are_spaced_three_seconds_apart(
    make_chains: Callable[..., DhanOptionChains],
    server: DhanOptionChainServer,
    limiter_clock: ManualClock,
    wall: WallClock,
) -> None:
    chains = make_chains()
    for _ in range(4):
        chains.chain("NIFTY", EXPIRY)
        wall.advance(5)  # past the cache: every call asks Dhan
    assert len(server.chain_requests()) == 4
    assert limiter_clock.sleeps and all(pause >= 3.0 for pause in limiter_clock.sleeps)
    assert limiter_clock.now >= 3 * 3.0


def test_the_real_limiter_keeps_dhan_at_one_chain_per_three_seconds(
    server: DhanOptionChainServer, wall: WallClock
) -> None:
    server.too_fast = True  # the server refuses a chain less than 3 s after the last
    chains = DhanOptionChains(
        CLIENT_ID,
        SecretStr(TOKEN),
        base_url=server.base_url,
        timeout=5.0,
        rate_limiter=InMemoryRateLimiter(margin_seconds=0.05),
        rate=0.065,
        dividend_yield=0.012,
        clock=wall,
    )
    chains.chain("NIFTY", EXPIRY)
    wall.advance(5)
    chains.chain("NIFTY", EXPIRY)
    arrivals = server.arrivals
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= 3.0


def test_a_repeated_call_within_three_seconds_is_answered_from_the_cache(
    make_chains: Callable[..., DhanOptionChains], server: DhanOptionChainServer, wall: WallClock
) -> None:
    chains = make_chains()
    first = chains.chain("NIFTY", EXPIRY)
    wall.advance(2.9)
    assert chains.chain("NIFTY", EXPIRY) is first
    assert len(server.chain_requests()) == 1
    chains.chain("NIFTY", date(2026, 12, 17))  # another expiry is another key
    assert len(server.chain_requests()) == 2
    wall.advance(0.2)
    assert chains.chain("NIFTY", EXPIRY) is not first
    assert len(server.chain_requests()) == 3


def test_a_wrong_token_is_a_config_error_naming_the_fix(
    make_chains: Callable[..., DhanOptionChains],
) -> None:
    with pytest.raises(ConfigError, match="TRADELOOP_DHAN_ACCESS_TOKEN") as caught:
        make_chains(token="WRONG-TOKEN-777").chain("NIFTY", EXPIRY)
    assert "WRONG-TOKEN-777" not in str(caught.value)


def _drop_iv(body: dict[str, Any]) -> dict[str, Any]:
    strike = next(iter(body["data"]["oc"]))
    del body["data"]["oc"][strike]["pe"]["implied_volatility"]
    return body


@pytest.mark.parametrize(
    ("mangle", "field"),
    [
        (_drop_iv, "pe.implied_volatility"),
        (lambda body: {"status": "success", "data": {"oc": {}}}, "data.last_price"),
        (lambda body: {"status": "success", "data": {"last_price": 1.0}}, "data.oc"),
        (lambda body: {"status": "success", "data": []}, "'data'"),
    ],
)
def test_a_malformed_chain_names_the_field(
    make_chains: Callable[..., DhanOptionChains],
    server: DhanOptionChainServer,
    mangle: Callable[[dict[str, Any]], Any],
    field: str,
) -> None:
    server.mangle_next(mangle)
    with pytest.raises(DhanPayloadError, match=field.replace(".", r"\.")):
        make_chains().chain("NIFTY", EXPIRY)


def test_the_token_appears_in_no_log_or_error_at_debug(
    make_chains: Callable[..., DhanOptionChains],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    chains = make_chains()
    chains.expiries("NIFTY")
    chains.chain("NIFTY", EXPIRY)
    with pytest.raises(ConfigError) as caught:
        make_chains(token="BAD-SECRET-999").chain("NIFTY", EXPIRY)
    assert caplog.records, "DEBUG logging captured nothing: the check would prove nothing"
    captured = capsys.readouterr()
    text = caplog.text + str(caught.value) + repr(chains) + captured.out + captured.err
    assert TOKEN not in text
    assert "BAD-SECRET-999" not in text


# -- the CLI: settings from the environment, the account's SQLite limiter, the loopback API ----


@pytest.fixture
def dhan_env(server: DhanOptionChainServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TRADELOOP_DHAN_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("TRADELOOP_DHAN_BASE_URL", server.base_url)


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.usefixtures("dhan_env")
def test_cli_chain_from_dhan_prints_dhans_rows_around_the_money(
    server: DhanOptionChainServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    args = ("options", "chain", "--source", "dhan", "--expiry", "2026-12-10", "--strikes", "2")
    printed = json.loads(_invoke(*args, "--json"))
    assert printed["source"] == "dhan" and printed["spot"] == LEVELS[13][0]
    assert len(printed["rows"]) == 10
    assert all(isinstance(row["oi"], int) and row["iv"] < 1 for row in printed["rows"])
    table = _invoke(*args)
    assert "24,000" in table and "Dhan's last traded prices" in table
    assert len(server.chain_requests()) == 2
    assert TOKEN not in str(printed) + table + caplog.text


@pytest.mark.usefixtures("dhan_env")
def test_cli_expiries_from_dhan_lists_dhans_days(server: DhanOptionChainServer) -> None:
    printed = json.loads(_invoke("options", "expiries", "--source", "dhan", "--json"))
    assert printed == ["2026-12-03", "2026-12-10", "2026-12-17", "2026-12-29"]
    assert "2026-12-03 Thu" in _invoke("options", "expiries", "--source", "dhan")


@pytest.mark.usefixtures("dhan_env")
def test_cli_chain_with_a_wrong_token_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", "WRONG-CLI-TOKEN-5")
    result = CliRunner().invoke(
        app, ["options", "chain", "--source", "dhan", "--expiry", "2026-12-10"]
    )
    assert result.exit_code != 0
    text = result.output + repr(result.exception)
    assert "TRADELOOP_DHAN_ACCESS_TOKEN" in text and "WRONG-CLI-TOKEN-5" not in text
