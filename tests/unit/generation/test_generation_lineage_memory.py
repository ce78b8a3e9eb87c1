"""Strategy memory keeps a generated spec's lineage, and reads records written before it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from tradeloop.storage.memory import ParquetStrategyMemory, StrategyRecord

AT = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
LINEAGE: dict[str, str | list[str]] = {
    "generator": "llm",
    "model": "ollama:qwen2.5:7b-instruct",
    "prompt_sha256": "0123456789abcdef",
    "parents": ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"],
    "attempts": "2",
}


def _record(spec_id: str, **changes: object) -> StrategyRecord:
    values: dict[str, object] = {
        "run_id": "run-1",
        "evaluated_at": AT,
        "spec_id": spec_id,
        "name": f"spec_{spec_id}",
        "symbol": "NIFTY",
        "timeframe": "5m",
        "regime": "ranging/normal-vol",
        "window_start": AT,
        "window_end": AT,
        "score": 0.5,
        "passed": False,
        "spec_json": "{}",
    }
    values.update(changes)
    return StrategyRecord.model_validate(values)


def test_a_record_remembers_its_lineage_and_one_without_it_has_none(tmp_path: Path) -> None:
    memory = ParquetStrategyMemory(tmp_path)
    memory.remember("run-1", [_record("generated", lineage=LINEAGE), _record("template")])
    lineage = {record.spec_id: record.lineage for record in memory.best(10)}
    assert lineage == {"generated": LINEAGE, "template": {}}


def test_records_written_before_lineage_existed_still_load(tmp_path: Path) -> None:
    row = _record("old").to_row()
    del row["lineage"]
    pl.DataFrame([row]).write_parquet(tmp_path / "run=old.parquet")
    memory = ParquetStrategyMemory(tmp_path)
    memory.remember("run-2", [_record("new", run_id="run-2", lineage=LINEAGE)])
    records = {record.spec_id: record for record in memory.best(10)}
    assert records["old"].lineage == {}
    assert records["new"].lineage == LINEAGE
