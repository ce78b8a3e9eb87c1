"""docs/costs.md states what the code computes: its worked examples and its copy of the tables.

Each example is marked `<!-- costs-example version=... kind=... buy=... sell=... quantity=... -->`
and followed by a table of every charge on the buy, the sell and the round trip, then a sentence
with the gross P&L, the charges and the net P&L. They are recomputed here with the bundled table
the marker names, which must be the current one, and rounded to the nearest paisa. The sentence
after `<!-- costs-comparison version=... -->` gives the same round trips' charges and STT at an
older bundled table. The rates the page lists for each kind and version, and the versions it
names, are compared with the bundled tables too, so neither can change without the other.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tradeloop.domain.costs import (
    BUNDLED_TABLES,
    CURRENT_VERSION,
    RATE_FIELDS,
    CostBreakdown,
    CostTable,
    InstrumentKind,
)

ROOT = Path(__file__).parents[3]
PAGE = (ROOT / "docs" / "costs.md").read_text(encoding="utf-8")
FLAT_PAGE = re.sub(r"\s+", " ", PAGE)

EXAMPLE = re.compile(
    r"<!-- costs-example version=([\d-]+) kind=(\w+) buy=([\d.]+) sell=([\d.]+)"
    r" quantity=(\d+) -->\n"
    r"((?:\|[^\n]*\|\n)+)"
    r"\s*Gross\s+P&L\s[^=]*=\s+₹([\d,.]+);\s+charges\s+₹([\d,.]+)\s+"
    r"\(([\d.]+)%\s+of\s+the\s+gross\);\s+\*\*net\s+P&L\s+₹([\d,.]+)\*\*",
    re.DOTALL,
)
EXAMPLES = EXAMPLE.findall(PAGE)
COMPARISON = re.compile(r"<!-- costs-comparison version=([\d-]+) -->\n(.+?)\n\n", re.DOTALL)
ROW = re.compile(r"^\| `(\w+)` \| (.+) \|$", re.MULTILINE)


def paise(value: float) -> Decimal:
    """`value` to the nearest paisa, a half paisa up (₹14.625 is shown as ₹14.63)."""
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rupees(text: str) -> Decimal:
    return Decimal(text.strip().removeprefix("₹").replace(",", ""))


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.split("|")]


def round_trip(table: CostTable, example: tuple[str, ...]) -> tuple[CostBreakdown, CostBreakdown]:
    _, kind, buy_price, sell_price, quantity = example[:5]
    buy = table.order_costs(InstrumentKind(kind), True, float(buy_price), int(quantity))
    sell = table.order_costs(InstrumentKind(kind), False, float(sell_price), int(quantity))
    return buy, sell


def trip_costs(table: CostTable, example: tuple[str, ...]) -> CostBreakdown:
    buy, sell = round_trip(table, example)
    return buy + sell


def test_the_page_has_the_option_and_futures_examples() -> None:
    assert [example[1] for example in EXAMPLES] == ["options", "futures"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example[1])
def test_worked_example_is_charged_at_the_current_table(example: tuple[str, ...]) -> None:
    assert example[0] == CURRENT_VERSION


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example[1])
def test_worked_example_matches_the_code(example: tuple[str, ...]) -> None:
    version, kind, buy_price, sell_price, quantity = example[:5]
    table, gross, charges, share, net = example[5:]
    buy, sell = round_trip(CostTable.bundled(version), example)
    computed = {"buy": buy.as_dict(), "sell": sell.as_dict(), "round trip": (buy + sell).as_dict()}

    rows = {name: [rupees(value) for value in cells(values)] for name, values in ROW.findall(table)}
    assert list(rows) == [*computed["buy"]], "one row per charge and the total, in code order"
    for name, (on_buy, on_sell, on_round_trip) in rows.items():
        assert on_buy == paise(computed["buy"][name]), f"{kind} buy {name}"
        assert on_sell == paise(computed["sell"][name]), f"{kind} sell {name}"
        assert on_round_trip == paise(computed["round trip"][name]), f"{kind} trip {name}"

    gross_pnl = (float(sell_price) - float(buy_price)) * int(quantity)
    total = computed["round trip"]["total"]
    assert rupees(gross) == paise(gross_pnl)
    assert rupees(charges) == paise(total)
    assert Decimal(share) == paise(100 * total / gross_pnl)
    assert rupees(net) == paise(gross_pnl - total)


def test_the_comparison_gives_the_same_round_trips_at_the_older_table() -> None:
    [(version, sentence)] = COMPARISON.findall(PAGE)
    assert version in BUNDLED_TABLES
    assert version != CURRENT_VERSION
    older, current = CostTable.bundled(version), CostTable.bundled()
    sentence = " ".join(sentence.split())

    totals = re.findall(r"₹([\d,.]+) \((\w+)\)", sentence)
    stt = re.findall(r"₹([\d,.]+) instead of ₹([\d,.]+)", sentence)
    for example, (total, kind), (older_stt, current_stt) in zip(EXAMPLES, totals, stt, strict=True):
        assert kind == example[1]
        older_trip, current_trip = trip_costs(older, example), trip_costs(current, example)
        assert rupees(total) == paise(older_trip.total), kind
        assert rupees(older_stt) == paise(older_trip.stt), kind
        assert rupees(current_stt) == paise(current_trip.stt), kind
        assert older_trip.total - older_trip.stt == pytest.approx(
            current_trip.total - current_trip.stt
        ), f"{kind}: the page says STT is the whole difference"


def rate_columns(kind: InstrumentKind) -> tuple[list[str], dict[str, list[float]]]:
    section = PAGE.split(f"\n#### {kind.value}\n", 1)[1].split("\n#", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("| field |"))
    versions = [cell.strip("`") for cell in cells(header)[2:] if re.fullmatch(r"`[\d-]+`", cell)]
    rows = {
        name: [float(value) for value in cells(values)[: len(versions)]]
        for name, values in ROW.findall(section)
    }
    return versions, rows


@pytest.mark.parametrize("kind", list(InstrumentKind), ids=str)
def test_listed_rates_are_those_of_every_bundled_table(kind: InstrumentKind) -> None:
    versions, rows = rate_columns(kind)
    assert sorted(versions) == sorted(BUNDLED_TABLES)
    assert versions[0] == CURRENT_VERSION, "the current table's column comes first"
    for column, version in enumerate(versions):
        rates = CostTable.bundled(version).rates(kind)
        listed = {name: values[column] for name, values in rows.items()}
        assert listed == {name: getattr(rates, name) for name in RATE_FIELDS}, version


def test_the_stt_change_table_matches_the_bundled_tables() -> None:
    section = PAGE.split("\n### What changed on 1 April 2026\n", 1)[1].split("\n#", 1)[0]
    rows = {cells(line)[1]: cells(line)[2:4] for line in section.splitlines() if "% |" in line}
    for label, kind in (
        ("sale of a future", InstrumentKind.FUTURES),
        ("sale of an option (premium)", InstrumentKind.OPTIONS),
    ):
        before, after = (float(value.removesuffix("%")) / 100 for value in rows[label])
        assert before == pytest.approx(CostTable.bundled("2024-10-01").rates(kind).stt_sell_rate)
        assert after == pytest.approx(CostTable.bundled("2026-04-01").rates(kind).stt_sell_rate)


def test_the_page_names_every_bundled_version_and_the_current_one() -> None:
    for version, file_name in BUNDLED_TABLES.items():
        table = CostTable.bundled(version)
        row = f'| `"{table.version}"` | `{file_name}` | `{table.effective_from.isoformat()}` |'
        assert row in PAGE, version
    assert f'| `"{CURRENT_VERSION}"` | `{BUNDLED_TABLES[CURRENT_VERSION]}`' in PAGE
    assert f"every charge comes from the newest bundled table, **`{CURRENT_VERSION}`**" in FLAT_PAGE
    assert f"`CURRENT_VERSION`, now `{CURRENT_VERSION}`" in FLAT_PAGE


def test_the_example_table_is_the_current_one_with_ipft_in_the_exchange_charge(
    tmp_path: Path,
) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", PAGE, re.DOTALL)
    example = next(block for block in blocks if block.startswith("version ="))
    path = tmp_path / "costs.toml"
    path.write_text(example, encoding="utf-8")
    table = CostTable.load(path)
    assert set(table.kinds) == {InstrumentKind.FUTURES, InstrumentKind.OPTIONS}

    ipft_per_crore = {InstrumentKind.FUTURES: 10.0, InstrumentKind.OPTIONS: 50.0}
    current = CostTable.bundled()
    for kind, ipft in ipft_per_crore.items():
        mine, bundled = table.rates(kind), current.rates(kind)
        assert mine.exchange_rate == pytest.approx(bundled.exchange_rate + ipft / 1e7)
        assert mine.model_dump(exclude={"exchange_rate"}) == bundled.model_dump(
            exclude={"exchange_rate"}
        )
