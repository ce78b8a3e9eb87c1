"""The manage flow: one trading day of the deployed strategies, then remember it.

One flow run per session day (the deployment in deployments/prefect.yaml allows one at a time,
scheduled at 09:10 IST on weekdays). With `source="live"` it trades today's session over Dhan's
live market feed, in the mode the settings allow (paper by default, live with every live switch:
`tasks.manage.trade_live_session`); with `feed` or `store` it replays a stored day in paper, its
prices over the replay of Dhan's feed on loopback (`speed` × real time, 0 = as fast as
possible) or read directly (`tasks.manage.trade_paper_day`). The tick loop runs inside the run;
the day's trades, P&L after costs and refused entries are published as a markdown artifact and
remembered in strategy memory. The day's page (`tradeloop.reports.day`: its trades on the price,
its P&L) is written under `<data_dir>/reports/days/<day>/` and its `day.png` published as the
image artifact `day-<date>-chart`; a drawing that fails is logged and the day goes on (its
trades are in the ledger: `tradeloop trades --day D --report` draws them again).
"""

from __future__ import annotations

import base64
import logging
from datetime import date
from pathlib import Path
from typing import Any, Literal, Self

from prefect import flow, get_run_logger
from prefect.artifacts import create_image_artifact, create_markdown_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradeloop.app import stores
from tradeloop.app.day_agent import DayAgentConfig
from tradeloop.app.manage import DaySummary, MinuteSource
from tradeloop.clock import utc_now
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.money import rupees
from tradeloop.settings import Settings, load_settings
from tradeloop.tasks.manage import remember_day, trade_live_session, trade_paper_day


class ManageParameters(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date | None = Field(
        None,
        description="The IST session to trade; a replayed one (feed, store) must be stored. "
        "Default, for source live only: today.",
    )
    speed: float = Field(0.0, ge=0, description="Replay speed: 0 = as fast as possible.")
    source: MinuteSource | Literal["live"] = Field(
        "feed",
        description="live: today over Dhan's live feed; feed: a stored day over the local "
        "replay of Dhan's feed; store: a stored day read directly.",
    )
    agent: DayAgentConfig | None = Field(
        None, description="The agent's turns with the order tools (none when not set)."
    )

    @model_validator(mode="after")
    def _a_day_to_replay(self) -> Self:
        if self.source != "live" and self.day is None:
            raise ValueError(f"day is needed to replay a stored day (source {self.source})")
        if self.source == "live" and self.agent is not None:
            raise ValueError(
                "the agent's turns read the day's stored minutes, which a live session does "
                "not have yet: give the agent a replayed day (source feed or store)"
            )
        return self


def _run_name() -> str:
    parameters = flow_run.get_parameters().get("parameters")
    day = getattr(parameters, "day", None)
    if isinstance(parameters, dict):
        day = parameters.get("day")
    return f"manage-{day or to_ist(utc_now()).date()}"


@flow(name="manage", flow_run_name=_run_name)
def manage_flow(parameters: ManageParameters) -> DaySummary:
    """Trade the deployed strategies through one session day: today over the live feed, or a
    stored day replayed in paper."""
    settings = load_settings()
    day = parameters.day or to_ist(utc_now()).date()
    run_id = str(flow_run.get_id() or f"local-manage-{day}")
    if parameters.source == "live":
        summary = trade_live_session(settings, day)
    else:
        summary = trade_paper_day(
            settings, day, parameters.speed, parameters.source, parameters.agent
        )
    remember_day(settings, run_id, summary)
    logger = get_run_logger()
    pages = write_day_report(settings, summary, logger) if summary.trades else None
    markdown = day_report(summary, pages)
    if summary.trades and pages is None:
        markdown += (
            "\nThe day's page was not written (the flow's log says why): "
            f"`tradeloop trades --day {day} --report` writes it from the ledger.\n"
        )
    create_markdown_artifact(
        key=f"day-{day.isoformat()}",
        markdown=markdown,
        description=f"{summary.mode.capitalize()} trading day {day}",
    )
    if pages is not None:
        html_path, png_path = pages
        encoded = base64.b64encode(png_path.read_bytes()).decode("ascii")
        create_image_artifact(
            image_url=f"data:image/png;base64,{encoded}",
            key=f"day-{day.isoformat()}-chart",
            description=f"{summary.mode.capitalize()} trading day {day}: the trades on the "
            f"price and the net P&L after charges (IST); the page is {html_path}",
        )
    return summary


def write_day_report(
    settings: Settings, summary: DaySummary, logger: logging.Logger | logging.LoggerAdapter[Any]
) -> tuple[Path, Path] | None:
    """Write the day's `report.html` and `day.png` (their paths); a failure to draw them is
    logged as a warning naming the error, and gives None: the day's trades are in the ledger
    already, and `tradeloop trades --day D --report` draws them again."""
    # Imported where used: plotly and matplotlib load only for a day with trades.
    from tradeloop.reports.day import write_html
    from tradeloop.reports.day_data import TradingDayRecord, load_candles
    from tradeloop.reports.day_png import write_png

    try:
        candles = load_candles(stores.candle_store(settings), summary.trades, summary.day)
        record = TradingDayRecord(
            summary.day, summary.mode, summary.trades, dict(summary.strategies), candles
        )
        return write_html(record, settings.data_dir), write_png(record, settings.data_dir)
    except Exception as exc:  # a chart must never fail a traded day
        logger.warning(
            "the day's report was not written (%s: %s); its trades are in the ledger: "
            "`tradeloop trades --day %s --report` draws it again",
            type(exc).__name__,
            exc,
            summary.day,
        )
        return None


def written_pages(settings: Settings, summary: DaySummary) -> tuple[Path, Path] | None:
    """The day's `report.html` and `day.png` as the flow wrote them, or None (no trades, or
    the drawing failed): for the terminal to say where they are after the flow."""
    from tradeloop.reports.day import REPORT_FILE
    from tradeloop.reports.day_data import day_folder
    from tradeloop.reports.day_png import DAY_PNG

    folder = day_folder(settings.data_dir, summary.day)
    pages = (folder / REPORT_FILE, folder / DAY_PNG)
    return pages if summary.trades and all(page.exists() for page in pages) else None


def day_report(summary: DaySummary, pages: tuple[Path, Path] | None = None) -> str:
    """The day as markdown: the strategies, each trade, the P&L after costs, the refusals, and
    where the day's page is (`pages`: its HTML and PNG, when they were written)."""
    lines = [
        f"# {summary.mode.capitalize()} trading day {summary.day}",
        "",
        f"{len(summary.strategies)} strategies, {summary.minutes} minutes, "
        f"{summary.decisions} entries decided, {len(summary.trades)} trades, "
        f"net P&L {rupees(summary.net_pnl)} after {rupees(summary.costs)} of charges.",
    ]
    if pages is not None:
        lines += [
            "",
            f"The day's page (its trades on the price, the P&L through the day): `{pages[0]}`; "
            f"the chart is the image artifact `day-{summary.day}-chart`.",
        ]
    if summary.trades:
        lines += [
            "",
            "| strategy | side | qty | entry (IST) | entry | exit (IST) | exit | reason | net |",
            "|---|---|---:|---|---:|---|---:|---|---:|",
        ]
    names = dict(summary.strategies)
    for trade in sorted(summary.trades, key=lambda t: t.entry_time):
        lines.append(
            f"| {names.get(trade.strategy_id, trade.strategy_id)} "
            f"| {'long' if trade.direction > 0 else 'short'} | {trade.quantity} "
            f"| {to_ist(trade.entry_time):%H:%M} | {trade.entry_price:.2f} "
            f"| {to_ist(trade.exit_time):%H:%M} | {trade.exit_price:.2f} "
            f"| {trade.exit_reason.value} | {rupees(trade.net_pnl)} |"
        )
    if summary.refusals:
        lines += ["", "## Refused entries", ""]
        for refusal in summary.refusals:
            name = names.get(refusal.strategy_id, refusal.strategy_id)
            lines.append(f"- {to_ist(refusal.at):%H:%M} {name}: {refusal.reason}")
    if summary.agent_turns:
        lines += ["", "## The agent's turns", ""]
        for turn in summary.agent_turns:
            lines.append(
                f"- {to_ist(turn.at):%H:%M} run {turn.run_id}: {turn.outcome} after "
                f"{turn.steps} steps, {turn.orders_placed} orders placed"
                + "".join(f"; refused: {reason}" for reason in turn.refusals)
            )
    return "\n".join(lines) + "\n"
