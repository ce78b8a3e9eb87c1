"""The contract table: lot and tick by day, from the instrument master and the revision table."""

from __future__ import annotations

from datetime import date

import pytest

from support.contracts import sample_contracts
from tradeloop.domain.market.contracts import (
    ContractTable,
    bundled_revisions,
    kind_of_symbol,
    parse_revisions,
)
from tradeloop.domain.market.instrument_master import ContractKind, InstrumentMaster
from tradeloop.errors import DataValidationError, NotFoundError

TABLE = sample_contracts()  # the bundled sample, as of 2026-12-02


@pytest.mark.parametrize(
    ("underlying", "day", "lot"),
    [
        ("NIFTY", date(2014, 10, 31), 25),  # NSE: 50 to 25 from 2014-10-31
        ("NIFTY", date(2015, 10, 29), 25),  # the October 2015 monthly expired on 25
        ("NIFTY", date(2015, 10, 30), 75),  # the November 2015 monthly, the first on 75
        ("NIFTY", date(2016, 3, 1), 75),
        ("NIFTY", date(2021, 6, 24), 75),  # the June 2021 monthly expired on 75
        ("NIFTY", date(2021, 6, 25), 50),
        ("NIFTY", date(2022, 6, 1), 50),
        ("NIFTY", date(2024, 3, 1), 50),
        ("NIFTY", date(2024, 4, 26), 25),  # NSE: every NIFTY contract traded from 2024-04-26
        ("NIFTY", date(2024, 6, 3), 25),
        ("NIFTY", date(2025, 1, 30), 25),  # the last 25-lot monthly expired that day
        ("NIFTY", date(2025, 1, 31), 75),
        ("NIFTY", date(2025, 12, 30), 75),
        ("NIFTY", date(2026, 1, 6), 65),
        ("BANKNIFTY", date(2018, 10, 26), 20),  # NSE: 40 to 20 for every contract that day
        ("BANKNIFTY", date(2019, 3, 1), 20),
        ("BANKNIFTY", date(2020, 6, 25), 20),
        ("BANKNIFTY", date(2020, 6, 26), 25),  # the July 2020 monthly, the first on 25
        ("BANKNIFTY", date(2022, 6, 1), 25),
        ("BANKNIFTY", date(2023, 6, 1), 25),
        ("BANKNIFTY", date(2024, 6, 3), 15),
        ("BANKNIFTY", date(2025, 7, 15), 35),
        ("BANKNIFTY", date(2026, 1, 6), 30),
    ],
)
def test_a_day_before_the_master_gets_the_lot_of_its_period(
    underlying: str, day: date, lot: int
) -> None:
    facts = TABLE.facts(underlying, "FUT", day)
    assert facts.lot_size == lot
    assert "lot revision table" in facts.source


def test_a_2016_and_a_2022_day_get_the_lots_nse_set_then() -> None:
    assert TABLE.facts("NIFTY", "FUT", date(2016, 8, 1)).lot_size == 75
    assert TABLE.facts("NIFTY", "CE", date(2016, 8, 1)).lot_size == 75
    assert TABLE.facts("NIFTY", "FUT", date(2022, 8, 1)).lot_size == 50
    assert TABLE.facts("BANKNIFTY", "PE", date(2022, 8, 1)).lot_size == 25
    assert "NSE circular 28/2021" in TABLE.facts("NIFTY", "FUT", date(2022, 8, 1)).source


def test_before_april_2025_futures_and_options_traded_on_five_paise() -> None:
    for underlying, day in [
        ("NIFTY", date(2015, 1, 5)),
        ("NIFTY", date(2016, 8, 1)),
        ("BANKNIFTY", date(2019, 3, 1)),
        ("BANKNIFTY", date(2022, 8, 1)),
    ]:
        for kind in ("FUT", "CE"):
            assert TABLE.facts(underlying, kind, day).tick_size == 0.05


def test_index_futures_moved_to_a_coarser_tick_in_april_2025_and_options_did_not() -> None:
    assert TABLE.facts("NIFTY", "FUT", date(2025, 4, 14)).tick_size == 0.05
    assert TABLE.facts("NIFTY", "FUT", date(2025, 4, 15)).tick_size == 0.10
    assert TABLE.facts("BANKNIFTY", "FUT", date(2025, 4, 15)).tick_size == 0.20
    assert TABLE.facts("NIFTY", ContractKind.CE, date(2025, 4, 15)).tick_size == 0.05


def test_from_the_masters_day_on_the_nearest_listed_contract_answers() -> None:
    facts = TABLE.facts("nifty", "FUT", date(2026, 12, 10))
    assert (facts.lot_size, facts.tick_size) == (65, pytest.approx(0.10))
    assert "NIFTY-Dec2026-FUT" in facts.source and "bundled sample" in facts.source
    assert TABLE.facts("NIFTY", "PE", date(2026, 12, 10)).tick_size == pytest.approx(0.05)


def test_an_expiry_names_its_contract_and_an_unlisted_one_gets_the_nearest() -> None:
    assert TABLE.facts("BANKNIFTY", "FUT", date(2026, 12, 2), date(2027, 1, 25)).lot_size == 30
    with pytest.raises(NotFoundError, match="nearest listed expiries are"):
        TABLE.facts("BANKNIFTY", "FUT", date(2026, 12, 2), date(2027, 1, 26))


def test_a_day_after_every_listed_expiry_asks_for_a_newer_master() -> None:
    with pytest.raises(NotFoundError, match="none live on 2027-06-01; load a newer scrip master"):
        TABLE.facts("NIFTY", "FUT", date(2027, 6, 1))


def test_a_day_before_the_revision_table_says_where_it_starts_and_how_to_proceed() -> None:
    with pytest.raises(NotFoundError, match="starts on 2014-10-31 for NIFTY"):
        TABLE.facts("NIFTY", "FUT", date(2014, 6, 2))
    # BANKNIFTY's 30-to-40 day was not verified: its rows start in October 2018
    with pytest.raises(NotFoundError) as caught:
        TABLE.facts("BANKNIFTY", "FUT", date(2016, 8, 1))
    message = str(caught.value)
    assert "no lot size of BANKNIFTY is known for 2016-08-01" in message
    assert "starts on 2018-10-26 for BANKNIFTY" in message
    assert "tradeloop backtest SPEC.json --lot-size N --tick-size T" in message


def test_an_underlying_the_master_does_not_list_is_refused_naming_what_it_lists() -> None:
    with pytest.raises(NotFoundError) as caught:
        TABLE.facts("FINNIFTY", "FUT", date(2026, 12, 10))
    message = str(caught.value)
    assert "lists no contracts on 'FINNIFTY'" in message
    assert "BANKNIFTY FUT, CE, PE; NIFTY FUT, CE, PE" in message
    assert "tradeloop instruments load" in message
    with pytest.raises(NotFoundError, match="Did you mean NIFTY"):
        TABLE.facts("NIFTI", "FUT", date(2024, 6, 3))  # refused whatever the day


def test_a_kind_the_master_does_not_list_is_refused_naming_what_it_lists() -> None:
    futures_only = InstrumentMaster(
        [i for i in TABLE.master if i.kind is not ContractKind.CE],
        as_of=TABLE.master.as_of,
        source="futures file",
    )
    table = ContractTable(futures_only, bundled_revisions())
    with pytest.raises(NotFoundError, match=r"lists no NIFTY CE contracts: it lists .*NIFTY FUT"):
        table.facts("NIFTY", "CE", date(2024, 6, 3))
    with pytest.raises(NotFoundError, match="use one of FUT, CE, PE"):
        table.facts("NIFTY", "INDEX", date(2026, 12, 10))


def test_the_bundled_revisions_name_a_source_on_every_row() -> None:
    rows = bundled_revisions()
    assert {r.underlying for r in rows} == {"NIFTY", "BANKNIFTY"}
    assert all(r.source and r.lot_size > 0 for r in rows)


def test_a_bad_revision_row_is_refused_by_line() -> None:
    text = (
        "effective_from,underlying,lot_size,future_tick_size,option_tick_size,source\n"
        "2024-04-26,NIFTY,twenty-five,0.05,0.05,x\n"
    )
    with pytest.raises(DataValidationError, match=r"mine\.csv line 2"):
        parse_revisions(text, "mine.csv")


def test_the_kind_is_the_last_word_of_a_trading_symbol() -> None:
    assert kind_of_symbol("NIFTY-Dec2026-FUT") is ContractKind.FUT
    assert kind_of_symbol("NIFTY-Dec2026-24000-CE") is ContractKind.CE
    assert kind_of_symbol("NIFTY 24000 PE") is ContractKind.PE
    assert kind_of_symbol("NIFTY") is None


def test_the_strike_step_comes_from_the_masters_strikes_else_the_index() -> None:
    table = sample_contracts()
    on = table.as_of
    assert table.strike_step("NIFTY", on) == 50.0  # the master lists 23500, 23550, ...
    assert table.strike_step("banknifty", on) == 100.0
    assert table.strike_step("NIFTY", date(2020, 1, 1)) == 50.0  # before the master: INDICES
    with pytest.raises(NotFoundError):
        table.strike_step("FINNIFTY", on)


def test_a_master_listing_100_point_nifty_strikes_gives_a_step_of_100() -> None:
    wide = [
        i
        for i in TABLE.master
        if i.underlying != "NIFTY" or i.strike is None or i.strike % 100 == 0
    ]
    master = InstrumentMaster(wide, as_of=TABLE.master.as_of, source="100-point file")
    table = ContractTable(master, bundled_revisions())
    assert table.strike_step("NIFTY", TABLE.master.as_of) == 100.0
