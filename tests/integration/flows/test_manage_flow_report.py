"""The manage flow publishes the day's chart: it writes the day's page and day.png under the
data dir, names the page in the day's markdown artifact, and publishes the PNG as the image
artifact `day-<date>-chart`; a drawing that fails is a warning, not a failed day."""

from __future__ import annotations

import base64
import logging
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

import tradeloop.reports.day_png as day_png
from support.paper_day import record_paper_day
from support.records import passed_record
from tradeloop.app import stores
from tradeloop.app.manage import DaySummary
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.flows.manage import (
    ManageParameters,
    manage_flow,
    write_day_report,
    written_pages,
)
from tradeloop.reports.day_data import day_folder
from tradeloop.settings import load_settings

DAY = date(2025, 3, 5)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def deployed() -> None:
    """Eight random NIFTY specs deployed to paper over a stored month (they trade DAY)."""
    settings = load_settings()
    market = generate_market("NIFTY", days=30, start=date(2025, 2, 3), seed=21)
    stores.candle_store(settings).write(market.candles)
    store = stores.deployment_store(settings)
    try:
        for spec in random_specs(11, 8, "NIFTY", "5m"):
            if spec.instrument.kind != "option":
                store.add(passed_record(spec), run_id="t", mode="paper", at=datetime.now(UTC))
    finally:
        store.close()


def _artifacts(key: str) -> list[object]:
    with get_client(sync_client=True) as client:
        return list(
            client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
        )


@pytest.mark.usefixtures("prefect_harness", "deployed")
def test_the_manage_flow_writes_the_days_page_and_publishes_its_png() -> None:
    summary = manage_flow(ManageParameters(day=DAY, source="store"))

    assert summary.trades, "the deployed specs trade the day"
    folder = day_folder(load_settings().data_dir, DAY)
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="price-NIFTY"' in page and 'id="pnl-chart"' in page
    [image] = _artifacts(f"day-{DAY}-chart")
    assert image.type == "image"  # type: ignore[attr-defined]
    prefix = "data:image/png;base64,"
    assert image.data.startswith(prefix)  # type: ignore[attr-defined]
    encoded = image.data.removeprefix(prefix)  # type: ignore[attr-defined]
    assert base64.b64decode(encoded) == (folder / "day.png").read_bytes()
    [markdown] = _artifacts(f"day-{DAY}")
    assert str(folder / "report.html") in markdown.data  # type: ignore[attr-defined]
    # the terminal (`tradeloop manage`, the demo) names the same files after the flow
    pages = (folder / "report.html", folder / "day.png")
    assert written_pages(load_settings(), summary) == pages
    assert written_pages(load_settings(), replace(summary, trades=[])) is None


def test_a_report_that_cannot_be_drawn_is_a_warning_naming_the_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    record_paper_day(DAY)
    ledger = stores.ledger(load_settings())
    try:
        trades = ledger.trades(DAY)
    finally:
        ledger.close()
    summary = DaySummary(DAY, [], 375, 1, trades, [])

    def broken(*_args: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(day_png, "write_png", broken)
    with caplog.at_level(logging.WARNING):
        pages = write_day_report(load_settings(), summary, logging.getLogger("test-manage"))

    assert pages is None
    assert "OSError: No space left on device" in caplog.text
    assert f"tradeloop trades --day {DAY} --report" in caplog.text
