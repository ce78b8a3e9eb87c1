"""docs/indicators.md and the catalogue stay in step with the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradeloop.domain.indicators import indicator_names
from tradeloop.domain.indicators.reference import (
    catalogue,
    markdown_definitions,
    markdown_table,
    refresh_markdown,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "indicators.md"


def test_docs_page_holds_the_generated_table_and_definitions() -> None:
    page = DOCS.read_text(encoding="utf-8")
    hint = (
        "docs/indicators.md is stale: rewrite it with "
        "tradeloop.domain.indicators.reference.refresh_markdown(page)"
    )
    assert markdown_table() in page, hint
    assert markdown_definitions() in page, hint
    assert refresh_markdown(page) == page, hint


def test_catalogue_is_json_and_lists_every_indicator_with_units() -> None:
    entries = json.loads(json.dumps(catalogue()))
    assert [entry["name"] for entry in entries] == indicator_names()
    rsi = next(entry for entry in entries if entry["name"] == "rsi")
    assert rsi["params"] == [
        {
            "name": "period",
            "type": "integer",
            "default": 14,
            "minimum": 2,
            "maximum": 200,
            "description": "window length in bars",
        }
    ]
    assert rsi["outputs"] == [{"name": "rsi", "unit": "percent"}]
    assert rsi["default_output"] == "rsi"


def test_refreshing_a_page_without_markers_says_which_are_missing() -> None:
    with pytest.raises(ValueError, match="lacks the markers"):
        refresh_markdown("# Indicators\n")
