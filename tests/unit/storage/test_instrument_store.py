"""Reading Dhan's scrip master (both published formats) into the stored instrument table."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.errors import DataValidationError
from tradeloop.storage.instruments import (
    DETAILED,
    SAMPLE_AS_OF,
    InstrumentStore,
    bundled_master,
    read_scrip_master,
    scan_wanted_rows,
)

SAMPLE = resources.files("tradeloop.domain.market") / "data" / "dhan_scrip_master_sample.csv"
SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
HEADER, *ROWS = SAMPLE_TEXT.splitlines()
AS_OF = date(2026, 12, 2)

COMPACT = (
    "SEM_EXM_EXCH_ID,SEM_SEGMENT,SEM_SMST_SECURITY_ID,SEM_INSTRUMENT_NAME,SEM_EXPIRY_CODE,"
    "SEM_TRADING_SYMBOL,SEM_LOT_UNITS,SEM_CUSTOM_SYMBOL,SEM_EXPIRY_DATE,SEM_STRIKE_PRICE,"
    "SEM_OPTION_TYPE,SEM_TICK_SIZE,SEM_EXPIRY_FLAG,SEM_EXCH_INSTRUMENT_TYPE,SEM_SERIES,"
    "SM_SYMBOL_NAME\n"
    "NSE,I,13,INDEX,0,NIFTY,1.0,Nifty 50,0001-01-01,,XX,5.0000,,INDEX,X,NIFTY\n"
    "NSE,D,35001,OPTIDX,0,NIFTY-Dec2026-24000-CE,65.0,NIFTY 29 DEC 24000 CALL,"
    "2026-12-29 14:30:00,24000.00000,CE,5.0000,M,OP,,\n"
    "NSE,D,35002,FUTIDX,0,NIFTY-Dec2026-FUT,65.0,NIFTY DEC FUT,2026-12-29 14:30:00,"
    "-0.01000,XX,10.0000,M,FUT,,\n"
    "NSE,D,35003,OPTIDX,0,FINNIFTY-Dec2026-26000-CE,60.0,FINNIFTY 29 DEC 26000 CALL,"
    "2026-12-29 14:30:00,26000.00000,CE,5.0000,M,OP,,\n"
    "NSE,E,2885,EQUITY,0,RELIANCE,1.0,Reliance,,,XX,10.0000,NA,ES,EQ,RELIANCE\n"
)


def _write(tmp_path: Path, rows: list[str], name: str = "master.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _row_of(trading_symbol: str) -> tuple[int, str]:
    """The sample row naming `trading_symbol`, and its line in the file (header = line 1)."""
    for index, row in enumerate(ROWS):
        if f",{trading_symbol}," in row:
            return index + 2, row
    raise AssertionError(trading_symbol)


def _replace_cell(row: str, column: str, value: str) -> str:
    cells = row.split(",")
    cells[HEADER.split(",").index(column)] = value
    return ",".join(cells)


def test_the_bundled_sample_holds_nifty_and_banknifty_indices_futures_and_options() -> None:
    master = bundled_master()
    assert master.source == "bundled sample" and master.as_of == SAMPLE_AS_OF
    counts = master.counts()
    assert counts[("NIFTY", ContractKind.INDEX)] == 1
    assert counts[("NIFTY", ContractKind.FUT)] == 3
    assert counts[("NIFTY", ContractKind.CE)] == counts[("NIFTY", ContractKind.PE)] == 63
    assert counts[("BANKNIFTY", ContractKind.CE)] == 42
    assert master.underlyings() == ["BANKNIFTY", "NIFTY"]  # FINNIFTY, SENSEX, stocks skipped


def test_values_are_read_as_dhan_writes_them() -> None:
    master = bundled_master()
    option = master.resolve("NIFTY", "CE", expiry=date(2026, 12, 29), strike=24_000)
    assert option.exchange_segment == "NSE_FNO"
    assert option.trading_symbol == "NIFTY-Dec2026-24000-CE"
    assert option.lot_size == 65  # "65.0"
    assert option.tick_size == pytest.approx(0.05)  # "5.0000" paise
    future = master.resolve("BANKNIFTY", "FUT", expiry=date(2027, 1, 25))
    # NSE's rule since 2025-04-15: futures of an index above 30,000 trade on 0.20
    assert (future.strike, future.lot_size, future.tick_size) == (None, 30, pytest.approx(0.20))
    index = master.resolve("NIFTY", "INDEX")
    assert (index.security_id, index.exchange_segment, index.expiry) == ("13", "IDX_I", None)
    assert index.tick_size == pytest.approx(0.05)  # "5.0000" paise, like every other row


def test_the_compact_format_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "api-scrip-master.csv"
    path.write_text(COMPACT, encoding="utf-8")
    table = read_scrip_master(path).sort("security_id")
    assert table["security_id"].to_list() == ["13", "35001", "35002"]
    assert table["underlying"].to_list() == ["NIFTY"] * 3  # from SEM_TRADING_SYMBOL
    assert table["kind"].to_list() == ["INDEX", "CE", "FUT"]
    assert table["expiry"].to_list() == [None, date(2026, 12, 29), date(2026, 12, 29)]
    assert table["tick_size"].to_list() == pytest.approx([0.05, 0.05, 0.1])


def test_store_and_load_keep_the_as_of_date(tmp_path: Path) -> None:
    store = InstrumentStore(tmp_path / "instruments")
    assert store.load() is None
    imported = store.import_csv(_write(tmp_path, ROWS), as_of=AS_OF)
    loaded = store.load()
    assert loaded is not None
    assert loaded.as_of == AS_OF and "stored table" in loaded.source
    assert list(loaded) == list(imported) == list(bundled_master())


@pytest.mark.parametrize(
    ("symbol", "column", "value", "said"),
    [
        ("NIFTY-Dec2026-24000-CE", "LOT_SIZE", "abc", "'abc' is not a whole number"),
        ("NIFTY-Dec2026-24000-CE", "LOT_SIZE", "65.5", "'65.5' is not a whole number"),
        ("NIFTY-Dec2026-24000-PE", "TICK_SIZE", "-5", "'-5' is not a tick size"),
        ("BANKNIFTY-Jan2027-FUT", "SM_EXPIRY_DATE", "29/12/2026", "'29/12/2026' is not an expiry"),
        ("NIFTY-Dec2026-FUT", "SM_EXPIRY_DATE", "0001-01-01", "is not an expiry"),
        ("NIFTY-Jan2027-23500-CE", "STRIKE_PRICE", "", "an empty cell is not a strike"),
        ("NIFTY-Jan2027-23500-CE", "OPTION_TYPE", "CALL", "'CALL' is not an option type"),
        ("NIFTY-Jan2027-23500-PE", "SECURITY_ID", "x12", "'x12' is not a security id"),
    ],
)
def test_a_bad_value_is_refused_naming_line_and_column_and_the_table_is_kept(
    tmp_path: Path, symbol: str, column: str, value: str, said: str
) -> None:
    store = InstrumentStore(tmp_path / "instruments")
    store.import_csv(_write(tmp_path, ROWS, "good.csv"), as_of=AS_OF)
    before = store.path.read_bytes()
    line, row = _row_of(symbol)
    rows = list(ROWS)
    rows[line - 2] = _replace_cell(row, column, value)
    with pytest.raises(DataValidationError) as refused:
        store.import_csv(_write(tmp_path, rows, "bad.csv"), as_of=date(2026, 12, 3))
    message = str(refused.value)
    assert "bad.csv" in message and "nothing was stored" in message
    assert f"line {line}, column {column}" in message and said in message
    assert store.path.read_bytes() == before
    assert [p.name for p in store.root.iterdir() if p.name.endswith(".tmp")] == []


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    columns = HEADER.split(",")
    at = columns.index("LOT_SIZE")
    rows = [",".join(c for i, c in enumerate(r.split(",")) if i != at) for r in [HEADER, *ROWS]]
    path = tmp_path / "no-lot.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"no-lot.csv is missing column LOT_SIZE"):
        read_scrip_master(path)


def test_a_repeated_security_id_is_refused_with_both_lines(tmp_path: Path) -> None:
    line, row = _row_of("NIFTY-Dec2026-24000-CE")
    other_line, other = _row_of("NIFTY-Dec2026-24050-CE")
    rows = list(ROWS)
    rows[other_line - 2] = _replace_cell(other, "SECURITY_ID", row.split(",")[2])
    with pytest.raises(DataValidationError, match=f"lines {line}, {other_line} repeat SECURITY_ID"):
        read_scrip_master(_write(tmp_path, rows))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("a,b,c\n1,2,3\n", "neither SECURITY_ID"),
        (HEADER + "\n" + ROWS[4] + "\n", "lists no NSE NIFTY or BANKNIFTY"),
        (HEADER + '\nNSE,I,"13\n', "cannot read"),
    ],
    ids=["not-a-scrip-master", "no-wanted-rows", "unterminated-quote"],
)
def test_a_file_that_is_not_a_usable_scrip_master_is_refused(
    tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError, match=said):
        read_scrip_master(path)


def test_a_big_master_is_filtered_in_the_scan(tmp_path: Path) -> None:
    """~60k rows of other contracts around the sample: only the wanted rows come out, and the
    plan reads only the columns used and filters inside the scan (it streams, no timing)."""
    filler = _replace_cell(_row_of("NIFTY-Dec2026-24000-CE")[1], "UNDERLYING_SYMBOL", "TCS")
    others = [_replace_cell(filler, "SECURITY_ID", str(900_000 + n)) for n in range(60_000)]
    path = _write(tmp_path, [*others[:30_000], *ROWS, *others[30_000:]])
    assert len(list(bundled_master())) == read_scrip_master(path).height
    plan = scan_wanted_rows(path, DETAILED).explain()
    assert "11/33 COLUMNS" in plan or "12/33 COLUMNS" in plan, plan
    assert "SELECTION" in plan.split("Csv SCAN")[-1] or "FILTER" in plan, plan
