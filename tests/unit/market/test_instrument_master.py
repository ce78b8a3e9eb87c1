"""The instrument master: resolving contracts, and the misses that say what is listed nearby."""

from __future__ import annotations

from datetime import date

import pytest

from tradeloop.domain.market.instrument_master import (
    ContractKind,
    Instrument,
    InstrumentMaster,
)
from tradeloop.errors import NotFoundError

WEEKLY = date(2026, 12, 8)
MONTHLY = date(2026, 12, 29)
NEXT_MONTHLY = date(2027, 1, 25)


def _option(security_id: str, expiry: date, strike: float, kind: ContractKind) -> Instrument:
    month = expiry.strftime("%b%Y")
    return Instrument(
        security_id=security_id,
        exchange_segment="NSE_FNO",
        trading_symbol=f"NIFTY-{month}-{strike:.0f}-{kind.value}",
        underlying="NIFTY",
        kind=kind,
        lot_size=65,
        tick_size=0.05,
        expiry=expiry,
        strike=strike,
    )


def _master() -> InstrumentMaster:
    instruments = [
        Instrument("13", "IDX_I", "NIFTY", "NIFTY", ContractKind.INDEX, 1, 0.05, None, None),
        Instrument(
            "25", "IDX_I", "BANKNIFTY", "BANKNIFTY", ContractKind.INDEX, 1, 0.05, None, None
        ),
        Instrument(
            "900",
            "NSE_FNO",
            "NIFTY-Dec2026-FUT",
            "NIFTY",
            ContractKind.FUT,
            65,
            0.1,
            MONTHLY,
            None,
        ),
        Instrument(
            "901",
            "NSE_FNO",
            "BANKNIFTY-Dec2026-FUT",
            "BANKNIFTY",
            ContractKind.FUT,
            30,
            0.1,
            MONTHLY,
            None,
        ),
    ]
    security_id = 1000
    for expiry in (WEEKLY, MONTHLY, NEXT_MONTHLY):
        for strike in range(23_800, 24_201, 50):
            for kind in (ContractKind.CE, ContractKind.PE):
                security_id += 1
                instruments.append(_option(str(security_id), expiry, float(strike), kind))
    return InstrumentMaster(instruments, as_of=date(2026, 12, 2), source="test table")


MASTER = _master()


def test_resolve_an_option_by_underlying_kind_expiry_and_strike() -> None:
    found = MASTER.resolve("NIFTY", "CE", expiry=MONTHLY, strike=24_000)
    assert found.trading_symbol == "NIFTY-Dec2026-24000-CE"
    assert (found.kind, found.expiry, found.strike, found.lot_size) == (
        ContractKind.CE,
        MONTHLY,
        24_000.0,
        65,
    )
    assert MASTER.lot_size(found.security_id) == 65
    assert MASTER.tick_size(found.security_id) == 0.05


def test_resolve_a_future_needs_only_its_expiry_and_an_index_nothing() -> None:
    assert MASTER.resolve("banknifty", "fut", expiry=MONTHLY).security_id == "901"
    assert MASTER.resolve("NIFTY", ContractKind.INDEX).security_id == "13"


def test_a_missing_expiry_suggests_the_nearest_listed_ones() -> None:
    with pytest.raises(NotFoundError) as refused:
        MASTER.resolve("NIFTY", "PE", expiry=date(2026, 12, 30), strike=24_000)
    message = str(refused.value)
    assert "no NIFTY PE expires on 2026-12-30" in message
    assert "2026-12-29" in message and "2027-01-25" in message
    assert "test table (as of 2026-12-02)" in message


def test_a_missing_strike_suggests_the_nearest_listed_ones() -> None:
    with pytest.raises(NotFoundError) as refused:
        MASTER.resolve("NIFTY", "CE", expiry=WEEKLY, strike=24_010)
    message = str(refused.value)
    assert "no NIFTY 24010 CE expires on 2026-12-08" in message
    assert "24000, 24050" in message


def test_a_strike_beyond_the_listed_range_suggests_the_edge() -> None:
    with pytest.raises(NotFoundError, match="nearest listed strikes are 24100, 24150, 24200"):
        MASTER.resolve("NIFTY", "CE", expiry=WEEKLY, strike=30_000)


def test_an_option_without_expiry_or_strike_says_what_it_needs() -> None:
    with pytest.raises(NotFoundError, match="needs an expiry: the first listed are 2026-12-08"):
        MASTER.resolve("NIFTY", "CE")
    with pytest.raises(NotFoundError, match="needs a strike: listed strikes run from 23800 to"):
        MASTER.resolve("NIFTY", "CE", expiry=WEEKLY)


def test_a_misspelt_underlying_gets_a_did_you_mean() -> None:
    with pytest.raises(NotFoundError, match="Did you mean BANKNIFTY"):
        MASTER.resolve("BANKNIFY", "FUT", expiry=MONTHLY)


def test_no_options_listed_for_an_underlying_is_said_plainly() -> None:
    with pytest.raises(NotFoundError, match="no BANKNIFTY CE contracts in the test table"):
        MASTER.resolve("BANKNIFTY", "CE", expiry=MONTHLY, strike=51_000)


def test_an_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(NotFoundError, match="use one of INDEX, FUT, CE, PE"):
        MASTER.resolve("NIFTY", "CALL", expiry=MONTHLY, strike=24_000)


def test_an_unknown_security_id_says_how_to_find_one() -> None:
    with pytest.raises(NotFoundError, match="tradeloop instruments find"):
        MASTER.lot_size("424242")


def test_expiries_and_strikes_list_what_is_listed() -> None:
    assert MASTER.expiries("NIFTY") == [WEEKLY, MONTHLY, NEXT_MONTHLY]
    assert MASTER.expiries("NIFTY", "FUT") == [MONTHLY]
    assert MASTER.strikes("NIFTY", WEEKLY, "CE") == [float(s) for s in range(23_800, 24_201, 50)]
    assert MASTER.strikes("BANKNIFTY", MONTHLY) == []


def test_find_filters_by_any_field_and_sorts() -> None:
    found = MASTER.find("NIFTY", expiry=MONTHLY, strike=24_000)
    assert [i.kind for i in found] == [ContractKind.CE, ContractKind.PE]
    assert len(MASTER.find("NIFTY", "CE")) == 27
    assert MASTER.counts()[("NIFTY", ContractKind.PE)] == 27
    assert found[0].describe() == "NIFTY 2026-12-29 24000 CE"
