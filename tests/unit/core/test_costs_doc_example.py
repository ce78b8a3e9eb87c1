"""docs/costs.md states what the code computes: its worked examples and its copy of the table.

Each example is marked `<!-- costs-example kind=... buy=... sell=... quantity=... -->` and
followed by a table of every charge on the buy, the sell and the round trip, then a sentence
with the gross P&L, the charges and the net P&L. They are recomputed here with the bundled
table, rounded to the paisa. The rates the page lists for each kind are compared with the
bundled table too, so neither can change without the other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tradeloop.domain.costs import RATE_FIELDS, CostTable, InstrumentKind

ROOT = Path(__file__).parents[3]
PAGE = (ROOT / "docs" / "costs.md").read_text(encoding="utf-8")

EXAMPLE = re.compile(
    r"<!-- costs-example kind=(\w+) buy=([\d.]+) sell=([\d.]+) quantity=(\d+) -->\n"
    r"((?:\|[^\n]*\|\n)+)"
    r"\s*Gross\s+P&L\s[^=]*=\s+₹([\d,.]+);\s+charges\s+₹([\d,.]+)\s+"
    r"\(([\d.]+)%\s+of\s+the\s+gross\);\s+\*\*net\s+P&L\s+₹([\d,.]+)\*\*",
    re.DOTALL,
)
EXAMPLES = EXAMPLE.findall(PAGE)
ROW = re.compile(r"^\| `(\w+)` \| (.+) \|$", re.MULTILINE)


def rupees(text: str) -> float:
    return float(text.strip().removeprefix("₹").replace(",", ""))


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.split("|")]


def test_the_page_has_the_option_and_futures_examples() -> None:
    assert [example[0] for example in EXAMPLES] == ["options", "futures"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example[0])
def test_worked_example_matches_the_code(example: tuple[str, ...]) -> None:
    kind, buy_price, sell_price, quantity, table, gross, charges, share, net = example
    costs = CostTable.load()
    buy = costs.order_costs(InstrumentKind(kind), True, float(buy_price), int(quantity))
    sell = costs.order_costs(InstrumentKind(kind), False, float(sell_price), int(quantity))
    computed = {"buy": buy.as_dict(), "sell": sell.as_dict(), "round trip": (buy + sell).as_dict()}

    rows = {name: [rupees(value) for value in cells(values)] for name, values in ROW.findall(table)}
    assert list(rows) == [*computed["buy"]], "one row per charge and the total, in code order"
    for name, (on_buy, on_sell, on_round_trip) in rows.items():
        assert on_buy == round(computed["buy"][name], 2), f"{kind} buy {name}"
        assert on_sell == round(computed["sell"][name], 2), f"{kind} sell {name}"
        assert on_round_trip == round(computed["round trip"][name], 2), f"{kind} trip {name}"

    gross_pnl = (float(sell_price) - float(buy_price)) * int(quantity)
    total = computed["round trip"]["total"]
    assert rupees(gross) == round(gross_pnl, 2)
    assert rupees(charges) == round(total, 2)
    assert float(share) == round(100 * total / gross_pnl, 2)
    assert rupees(net) == round(gross_pnl - total, 2)


@pytest.mark.parametrize("kind", list(InstrumentKind), ids=str)
def test_listed_rates_are_the_bundled_table(kind: InstrumentKind) -> None:
    section = PAGE.split(f"\n### {kind.value}\n", 1)[1].split("\n#", 1)[0]
    listed = {name: float(cells(values)[0]) for name, values in ROW.findall(section)}
    rates = CostTable.load().rates(kind)
    assert listed == {name: getattr(rates, name) for name in RATE_FIELDS}


def test_the_page_names_the_bundled_version() -> None:
    table = CostTable.load()
    assert f'`version = "{table.version}"`' in PAGE
    assert f"`effective_from = {table.effective_from.isoformat()}`" in PAGE


def test_the_example_table_loads(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", PAGE, re.DOTALL)
    example = next(block for block in blocks if block.startswith("version ="))
    path = tmp_path / "costs.toml"
    path.write_text(example, encoding="utf-8")
    table = CostTable.load(path)
    assert set(table.kinds) == {InstrumentKind.FUTURES, InstrumentKind.OPTIONS}
