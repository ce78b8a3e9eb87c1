"""The instrument table: Dhan's scrip master trimmed to NIFTY and BANKNIFTY, stored as Parquet.

Dhan publishes two CSVs of every instrument it lists (https://dhanhq.co/docs/v2/instruments/):
the detailed `api-scrip-master-detailed.csv` (EXCH_ID, SEGMENT, SECURITY_ID, INSTRUMENT,
UNDERLYING_SYMBOL, SYMBOL_NAME, LOT_SIZE, SM_EXPIRY_DATE, STRIKE_PRICE, OPTION_TYPE, TICK_SIZE,
...) and the compact `api-scrip-master.csv` (the same facts as SEM_EXM_EXCH_ID, SEM_SEGMENT,
SEM_SMST_SECURITY_ID, ..., without an underlying column). Both are read; the header says which.

The real file is ~100 MB of every stock, currency and commodity contract. It is scanned lazily
by polars with every column read as text: only the eleven columns used are parsed, and rows
other than NSE's NIFTY/BANKNIFTY index, index futures (FUTIDX) and index options (OPTIDX) are
dropped in the scan. What is kept is then checked whole; one bad row refuses the file with its
line and column named, and the stored table is left as it was.

Values as Dhan writes them: LOT_SIZE "65.0" (units per lot), TICK_SIZE in paise ("5.0000" is
₹0.05), SM_EXPIRY_DATE "2026-12-29" (the compact file adds " 14:30:00"; "0001-01-01" means
none), STRIKE_PRICE "24000.00000" (futures carry "-0.01000"), OPTION_TYPE CE/PE (XX otherwise).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Final

import polars as pl

from tradeloop.domain.market.instrument_master import ContractKind, Instrument, InstrumentMaster
from tradeloop.domain.market.instruments import INDICES
from tradeloop.errors import DataValidationError
from tradeloop.storage._files import exclusive_writer, write_parquet_atomically

TABLE_FILE = "instruments.parquet"
SAMPLE_RESOURCE = "dhan_scrip_master_sample.csv"
SAMPLE_AS_OF = date(2026, 12, 2)
"""The day the bundled sample describes (its weekly NIFTY expiry 2026-12-08 was next)."""
_EXAMPLES = 5
_PAISE_PER_RUPEE = 100.0

INSTRUMENT_SCHEMA: Final[dict[str, pl.DataType]] = {
    "security_id": pl.String(),
    "exchange_segment": pl.String(),
    "trading_symbol": pl.String(),
    "underlying": pl.String(),
    "kind": pl.String(),
    "lot_size": pl.Int64(),
    "tick_size": pl.Float64(),
    "expiry": pl.Date(),
    "strike": pl.Float64(),
}


@dataclass(frozen=True)
class _Format:
    name: str
    columns: dict[str, str]  # our field -> the file's column; "underlying" may be absent


DETAILED = _Format(
    "detailed (api-scrip-master-detailed.csv)",
    {
        "exchange": "EXCH_ID",
        "segment": "SEGMENT",
        "security_id": "SECURITY_ID",
        "instrument": "INSTRUMENT",
        "underlying": "UNDERLYING_SYMBOL",
        "trading_symbol": "SYMBOL_NAME",
        "lot_size": "LOT_SIZE",
        "expiry": "SM_EXPIRY_DATE",
        "strike": "STRIKE_PRICE",
        "option_type": "OPTION_TYPE",
        "tick_size": "TICK_SIZE",
    },
)
COMPACT = _Format(
    "compact (api-scrip-master.csv)",
    {
        "exchange": "SEM_EXM_EXCH_ID",
        "segment": "SEM_SEGMENT",
        "security_id": "SEM_SMST_SECURITY_ID",
        "instrument": "SEM_INSTRUMENT_NAME",
        "trading_symbol": "SEM_TRADING_SYMBOL",
        "lot_size": "SEM_LOT_UNITS",
        "expiry": "SEM_EXPIRY_DATE",
        "strike": "SEM_STRIKE_PRICE",
        "option_type": "SEM_OPTION_TYPE",
        "tick_size": "SEM_TICK_SIZE",
    },
)
_KEPT_INSTRUMENTS = {"INDEX": "IDX_I", "FUTIDX": "NSE_FNO", "OPTIDX": "NSE_FNO"}


class InstrumentStore:
    """The one instrument table under `root` (by default `<data_dir>/instruments`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def path(self) -> Path:
        return self.root / TABLE_FILE

    def import_csv(self, path: Path, as_of: date) -> InstrumentMaster:
        """Parse Dhan's scrip master at `path` and replace the stored table with it, all or
        nothing; `as_of` is the day the file was published."""
        table = read_scrip_master(path)
        stored = table.with_columns(as_of=pl.lit(as_of, dtype=pl.Date()))
        with exclusive_writer(self.root):
            write_parquet_atomically(stored, self.path)
        return master_from_table(table, as_of, source=f"stored table ({self.path})")

    def load(self) -> InstrumentMaster | None:
        """The stored table, or None when nothing was loaded yet. Read once per version of the
        file: a research run asks for it in every task, and building the table's tens of
        thousands of contracts took longer than the tasks' own work."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return _read_master(self.path, stat.st_ino, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _read_master(path: Path, inode: int, modified_ns: int, size: int) -> InstrumentMaster:
    """The table at `path` as it was at (`inode`, `modified_ns`, `size`): a write replaces the
    file by a rename (a new inode), so the key changes with every write. An `InstrumentMaster`
    is never changed after it is built."""
    frame = pl.read_parquet(path)
    as_of = frame["as_of"][0] if frame.height else date.min
    return master_from_table(frame.drop("as_of"), as_of, source=f"stored table ({path})")


@lru_cache(maxsize=1)
def bundled_master() -> InstrumentMaster:
    """The trimmed sample shipped in the package: a few expiries of NIFTY and BANKNIFTY in
    Dhan's detailed format. Its security ids are illustrative: never send them to Dhan."""
    resource = resources.files("tradeloop.domain.market") / "data" / SAMPLE_RESOURCE
    with resources.as_file(resource) as path:
        table = read_scrip_master(path)
    return master_from_table(table, SAMPLE_AS_OF, source="bundled sample")


def master_from_table(table: pl.DataFrame, as_of: date, source: str) -> InstrumentMaster:
    instruments = (
        Instrument(
            security_id=row["security_id"],
            exchange_segment=row["exchange_segment"],
            trading_symbol=row["trading_symbol"],
            underlying=row["underlying"],
            kind=ContractKind(row["kind"]),
            lot_size=row["lot_size"],
            tick_size=row["tick_size"],
            expiry=row["expiry"],
            strike=row["strike"],
        )
        for row in table.iter_rows(named=True)
    )
    return InstrumentMaster(instruments, as_of=as_of, source=source)


# -- reading the CSV ------------------------------------------------------------------------


def read_scrip_master(path: Path) -> pl.DataFrame:
    """The NIFTY/BANKNIFTY rows of the scrip master at `path`, typed (INSTRUMENT_SCHEMA), or a
    DataValidationError naming the file, and the line and column of what is wrong."""
    path = Path(path)
    file_format = _detect_format(path)
    try:
        raw = scan_wanted_rows(path, file_format).collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataValidationError(
            f"cannot read {path} as a CSV: {str(exc).splitlines()[0][:300]}"
        ) from exc
    if raw.height == 0:
        raise DataValidationError(
            f"{path} lists no NSE {' or '.join(INDICES)} index, future or option: is it Dhan's "
            "scrip master? Download https://images.dhan.co/api-data/api-scrip-master-detailed.csv"
        )
    return _typed(raw, path, file_format)


def _detect_format(path: Path) -> _Format:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except FileNotFoundError:
        raise DataValidationError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise DataValidationError(f"{path} is a directory, not a scrip master CSV") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataValidationError(f"cannot read {path}'s header: {exc}") from exc
    names = {name.strip() for name in header}
    for candidate in (DETAILED, COMPACT):
        if candidate.columns["security_id"] in names:
            missing = [column for column in candidate.columns.values() if column not in names]
            if missing:
                raise DataValidationError(
                    f"{path} is missing column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)} of Dhan's {candidate.name} scrip master: use the file "
                    "exactly as Dhan publishes it"
                )
            return candidate
    raise DataValidationError(
        f"{path} is not Dhan's scrip master: its header has neither SECURITY_ID (the detailed "
        "file) nor SEM_SMST_SECURITY_ID (the compact one). Download "
        "https://images.dhan.co/api-data/api-scrip-master-detailed.csv"
    )


def scan_wanted_rows(path: Path, file_format: _Format) -> pl.LazyFrame:
    """A lazy scan keeping only NSE NIFTY/BANKNIFTY index, FUTIDX and OPTIDX rows, all text,
    with `line` the row's line in the file (the header is line 1)."""
    columns = file_format.columns
    text = {field: pl.col(column).str.strip_chars() for field, column in columns.items()}
    symbol = text["trading_symbol"]
    underlying = (
        text["underlying"]
        if "underlying" in text
        else symbol.str.split("-").list.first()  # compact: NIFTY-Dec2026-24000-CE -> NIFTY
    )
    return (
        pl.scan_csv(
            path,
            infer_schema=False,
            row_index_name="line",
            row_index_offset=2,
            encoding="utf8-lossy",
        )
        .select(
            pl.col("line"),
            *(
                expression.alias(field)
                for field, expression in text.items()
                if field != "underlying"
            ),
            underlying.str.to_uppercase().alias("underlying"),
        )
        .filter(
            (pl.col("exchange") == "NSE")
            & pl.col("instrument").is_in(list(_KEPT_INSTRUMENTS))
            & pl.col("underlying").is_in(list(INDICES))
            & ((pl.col("instrument") != "INDEX") | (pl.col("segment") == "I"))
        )
    )


def _typed(raw: pl.DataFrame, path: Path, file_format: _Format) -> pl.DataFrame:
    instrument = pl.col("instrument")
    option = instrument == "OPTIDX"
    derivative = instrument != "INDEX"
    lot = pl.col("lot_size").cast(pl.Float64, strict=False)
    tick = pl.col("tick_size").cast(pl.Float64, strict=False)
    strike = pl.col("strike").cast(pl.Float64, strict=False)
    expiry = pl.col("expiry").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    frame = raw.with_columns(
        exchange_segment=instrument.replace_strict(_KEPT_INSTRUMENTS),
        kind=pl.when(option)
        .then(pl.col("option_type"))
        .when(derivative)
        .then(pl.lit(ContractKind.FUT.value))
        .otherwise(pl.lit(ContractKind.INDEX.value)),
        lot_size=lot.cast(pl.Int64, strict=False),
        tick_size=tick / _PAISE_PER_RUPEE,
        expiry=pl.when(derivative).then(expiry),
        strike=pl.when(option).then(strike),
        problem_lot=~(lot > 0) | (lot != lot.round()) | lot.is_null(),
        problem_tick=~(tick > 0) | tick.is_null(),
        problem_expiry=derivative & (expiry.is_null() | (expiry <= date(1900, 1, 1))),
        problem_strike=option & (strike.is_null() | ~(strike > 0)),
        problem_option=option & ~pl.col("option_type").is_in(["CE", "PE"]),
        problem_id=~pl.col("security_id").str.contains(r"^\d+$").fill_null(False),
    )
    _refuse_bad_values(frame, raw, path, file_format)
    _refuse_duplicates(frame, path, file_format)
    return frame.select(pl.col(name).cast(dtype) for name, dtype in INSTRUMENT_SCHEMA.items()).sort(
        "underlying", "kind", "expiry", "strike", nulls_last=False
    )


_CHECKS: Final = (
    ("problem_id", "security_id", "is not a security id (digits)"),
    ("problem_lot", "lot_size", "is not a whole number of units above 0"),
    ("problem_tick", "tick_size", "is not a tick size above 0 (paise)"),
    ("problem_expiry", "expiry", "is not an expiry date (YYYY-MM-DD)"),
    ("problem_strike", "strike", "is not a strike above 0"),
    ("problem_option", "option_type", "is not an option type (CE or PE)"),
)


def _refuse_bad_values(
    frame: pl.DataFrame, raw: pl.DataFrame, path: Path, file_format: _Format
) -> None:
    """Refuse the file naming the first bad cells, with their text as read from the file."""
    problems: list[tuple[int, str, str]] = []
    for flag, field, what in _CHECKS:
        for line in frame.filter(pl.col(flag).fill_null(True))["line"].to_list():
            problems.append((line, field, what))
    if not problems:
        return
    text = {row["line"]: row for row in raw.iter_rows(named=True)}
    problems.sort()
    shown = [
        f"line {line}, column {file_format.columns[field]}: {_cell(text[line][field])} {what}"
        for line, field, what in problems[:_EXAMPLES]
    ]
    more = f" (and {len(problems) - _EXAMPLES} more)" if len(problems) > _EXAMPLES else ""
    raise DataValidationError(
        f"{path} was refused, nothing was stored: {'; '.join(shown)}{more}. Fix those rows or "
        "download the file again from Dhan"
    )


def _cell(value: str | None) -> str:
    return repr(value) if value else "an empty cell"


def _refuse_duplicates(frame: pl.DataFrame, path: Path, file_format: _Format) -> None:
    for key, column in (
        (["security_id"], file_format.columns["security_id"]),
        (["underlying", "kind", "expiry", "strike"], "the contract"),
    ):
        repeated = frame.filter(pl.struct(key).is_duplicated()).sort("line")
        if repeated.height:
            first = repeated.row(0, named=True)
            lines = repeated.filter(pl.struct(key).eq(pl.struct(key).first()))["line"].to_list()
            named = ", ".join(str(first[part]) for part in key if first[part] is not None)
            raise DataValidationError(
                f"{path} was refused, nothing was stored: lines "
                f"{', '.join(map(str, lines[:_EXAMPLES]))} repeat {column} ({named}); a scrip "
                "master lists each contract once: download the file again from Dhan"
            )
