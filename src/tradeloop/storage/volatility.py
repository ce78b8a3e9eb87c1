"""Daily implied volatility (a VIX-like annualised fraction per symbol and session).

One Parquet file per symbol, `<root>/symbol=NIFTY/data.parquet`, rows `(symbol, day, iv)` sorted
by day. Writes are validated whole, upserted by day (re-writing a day replaces it) and each
symbol's file is replaced atomically, exactly as the candle store does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Final

import polars as pl

from tradeloop.domain.market.validation import SYMBOL_PATTERN, RuleFailure, raise_if_any
from tradeloop.storage._files import (
    DATA_FILE,
    exclusive_writer,
    not_found,
    upsert,
    write_parquet_atomically,
)
from tradeloop.storage._series import WriteReport

VOLATILITY_SCHEMA: Final[dict[str, pl.DataType]] = {
    "symbol": pl.String(),
    "day": pl.Date(),
    "iv": pl.Float64(),
}
MAX_PLAUSIBLE_IV = 3.0
"""300% annualised: above it the values are almost surely percentages, not fractions."""
_EXAMPLES = 5


class VolatilityStore:
    """Implied volatility per symbol and day under `root` (by default `<data_dir>/volatility`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def write(self, df: pl.DataFrame) -> WriteReport:
        """Validate `df` (symbol, day, iv; any number of symbols) and upsert it by day."""
        frame = validate_volatility(df)
        replaced = 0
        touched = []
        with exclusive_writer(self.root):
            for (symbol,), part in frame.group_by("symbol", maintain_order=True):
                path = self._path(str(symbol))
                merged, overlap = upsert(_read(path), part.sort("day"), "day")
                write_parquet_atomically(merged, path)
                replaced += overlap
                touched.append(f"symbol={symbol}")
        return WriteReport(
            rows_inserted=frame.height - replaced,
            rows_replaced=replaced,
            partitions=tuple(touched),
        )

    def load(self, symbol: str, start: date | None = None, end: date | None = None) -> pl.DataFrame:
        """Days with `start <= day < end` (end exclusive, as for candles), sorted by day."""
        frame = _read(self._path(symbol.strip().upper()))
        if frame is None:
            raise not_found(
                f"no implied volatility for {symbol!r}",
                symbol,
                self.symbols(),
                "Write it with `tradeloop data iv import FILE --symbol S` (a real series such "
                "as India VIX), `tradeloop data synth` or VolatilityStore.write.",
            )
        if start is not None:
            frame = frame.filter(pl.col("day") >= start)
        if end is not None:
            frame = frame.filter(pl.col("day") < end)
        return frame

    def symbols(self) -> list[str]:
        """Symbols with stored implied volatility, sorted."""
        return sorted(
            path.parent.name.removeprefix("symbol=")
            for path in self.root.glob(f"symbol=*/{DATA_FILE}")
        )

    def _path(self, symbol: str) -> Path:
        return self.root / f"symbol={symbol}" / DATA_FILE


def _read(path: Path) -> pl.DataFrame | None:
    if not path.exists():
        return None
    return pl.read_parquet(path).cast(VOLATILITY_SCHEMA)  # type: ignore[arg-type]


def validate_volatility(df: pl.DataFrame) -> pl.DataFrame:
    """`df` cast to `VOLATILITY_SCHEMA`, or `DataValidationError` naming every broken rule."""
    missing = [column for column in VOLATILITY_SCHEMA if column not in df.columns]
    unexpected = [column for column in df.columns if column not in VOLATILITY_SCHEMA]
    if missing or unexpected:
        raise_if_any(
            [
                RuleFailure(
                    f"columns {', '.join(df.columns) or 'none'}",
                    None,
                    (),
                    "implied volatility needs exactly symbol, day (a date), iv (annualised "
                    "fraction, 0.14 for 14%)",
                )
            ],
            "implied volatility",
        )
    kinds = {"symbol": pl.String(), "day": pl.Date()}
    wrong = [column for column, dtype in kinds.items() if df.schema[column] != dtype]
    if not df.schema["iv"].is_numeric():
        wrong.append("iv")
    if wrong:
        raise_if_any(
            [
                RuleFailure(
                    f"column {column} has type {df.schema[column]}",
                    None,
                    (),
                    f"{column} must be {VOLATILITY_SCHEMA[column]}",
                )
                for column in wrong
            ],
            "implied volatility",
        )
    frame = df.with_columns(
        pl.col("symbol").str.strip_chars().str.to_uppercase(), pl.col("iv").cast(pl.Float64())
    ).with_row_index("row")
    iv = pl.col("iv")
    checks = [
        ("missing days", pl.col("day").is_null(), "drop the rows without a day"),
        (
            "symbol missing or not a valid name",
            ~pl.col("symbol").str.contains(SYMBOL_PATTERN.pattern).fill_null(False),
            "use letters, digits and & _ . - only, e.g. NIFTY",
        ),
        (
            "iv missing, not finite or not above zero",
            ~(iv.is_finite() & (iv > 0)).fill_null(False),
            "drop those days or fill them from another source",
        ),
        (
            f"iv above {MAX_PLAUSIBLE_IV:g} (300%)",
            (iv > MAX_PLAUSIBLE_IV).fill_null(False) & iv.is_finite(),
            "iv is an annualised fraction (0.14 for 14%): divide percentages by 100",
        ),
        (
            "the same symbol and day twice",
            pl.struct("symbol", "day").is_duplicated(),
            "keep one value per symbol and day (df.unique(['symbol', 'day'], keep='last'))",
        ),
    ]
    failures = []
    for rule, mask, fix in checks:
        offending = frame.filter(mask)
        if offending.height:
            examples = tuple(
                f"row {row['row']}: symbol={row['symbol']} day={row['day']} iv={row['iv']}"
                for row in offending.head(_EXAMPLES).iter_rows(named=True)
            )
            failures.append(RuleFailure(rule, offending.height, examples, fix))
    raise_if_any(failures, "implied volatility")
    return frame.drop("row")
