"""The bundled cost tables and the user's own: which exist, which is current, what they hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.domain.costs import (
    BUNDLED_TABLES,
    CURRENT_VERSION,
    RATE_FIELDS,
    CostTable,
    InstrumentKind,
)
from tradeloop.errors import ConfigError


@pytest.mark.parametrize("version", sorted(BUNDLED_TABLES))
def test_every_bundled_version_loads_with_every_kind(version: str) -> None:
    table = CostTable.bundled(version)
    assert table.version == version
    assert table.effective_from.isoformat() == version
    assert set(table.kinds) == set(InstrumentKind)


def test_the_two_bundled_versions_are_those_of_2024_and_2026() -> None:
    assert sorted(BUNDLED_TABLES) == ["2024-10-01", "2026-04-01"]


def test_the_default_table_is_the_newest_bundled_one() -> None:
    assert CURRENT_VERSION == max(BUNDLED_TABLES) == "2026-04-01"
    assert CostTable.bundled() == CostTable.bundled(CURRENT_VERSION)


def test_the_current_table_charges_the_stt_of_the_finance_act_2026() -> None:
    table = CostTable.bundled()
    assert table.rates(InstrumentKind.FUTURES).stt_sell_rate == 0.0005
    assert table.rates(InstrumentKind.OPTIONS).stt_sell_rate == 0.0015


def test_the_2024_table_keeps_the_stt_in_force_until_march_2026() -> None:
    table = CostTable.bundled("2024-10-01")
    assert table.rates(InstrumentKind.FUTURES).stt_sell_rate == 0.0002
    assert table.rates(InstrumentKind.OPTIONS).stt_sell_rate == 0.001


def test_the_bundled_versions_differ_only_in_futures_and_options_sell_stt() -> None:
    older, current = CostTable.bundled("2024-10-01"), CostTable.bundled("2026-04-01")
    differences = {
        (kind.value, name)
        for kind in InstrumentKind
        for name in RATE_FIELDS
        if getattr(older.rates(kind), name) != getattr(current.rates(kind), name)
    }
    assert differences == {("futures", "stt_sell_rate"), ("options", "stt_sell_rate")}


def test_an_unknown_bundled_version_is_refused_with_the_versions_there_are() -> None:
    with pytest.raises(ConfigError) as raised:
        CostTable.bundled("2025-01-01")
    message = str(raised.value)
    assert "'2025-01-01'" in message
    for version in BUNDLED_TABLES:
        assert version in message


def test_a_missing_table_file_names_the_file_and_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "costs" / "mine.toml"
    with pytest.raises(ConfigError) as raised:
        CostTable.load(missing)
    assert str(missing) in str(raised.value)
    assert "[execution] costs_table" in str(raised.value)


def test_a_copy_of_a_bundled_file_loads_as_the_same_table(tmp_path: Path) -> None:
    source = Path(__file__).parents[3] / "src/tradeloop/domain/data" / BUNDLED_TABLES["2024-10-01"]
    copy = tmp_path / "costs_2024-10.toml"
    copy.write_bytes(source.read_bytes())
    assert CostTable.load(copy) == CostTable.bundled("2024-10-01")
