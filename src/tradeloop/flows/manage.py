"""The manage flow: one paper trading day of the deployed strategies, then remember it.

One flow run per session day (the deployment in deployments/prefect.yaml allows one at a time):
the day's prices arrive over the replay of Dhan's feed on loopback (`speed` × real time, 0 = as
fast as possible), the tick loop runs inside the run (`tasks.manage.trade_paper_day`), and the
day's trades, P&L after costs and refused entries are published as a markdown artifact and
remembered in strategy memory as paper results.
"""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel, ConfigDict, Field

from tradeloop.app.day_agent import DayAgentConfig
from tradeloop.app.manage import DaySummary, MinuteSource
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.money import rupees
from tradeloop.settings import load_settings
from tradeloop.tasks.manage import remember_day, trade_paper_day


class ManageParameters(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date = Field(description="The IST session to trade (its candles must be stored).")
    speed: float = Field(0.0, ge=0, description="Replay speed: 0 = as fast as possible.")
    source: MinuteSource = Field(
        "feed", description="feed: over the local replay of Dhan's feed; store: read directly."
    )
    agent: DayAgentConfig | None = Field(
        None, description="The agent's turns with the order tools (none when not set)."
    )


@flow(name="manage", flow_run_name="manage-{parameters.day}")
def manage_flow(parameters: ManageParameters) -> DaySummary:
    """Trade the active paper deployments through one replayed session day, in paper."""
    settings = load_settings()
    run_id = str(flow_run.get_id() or f"local-manage-{parameters.day}")
    summary = trade_paper_day(
        settings, parameters.day, parameters.speed, parameters.source, parameters.agent
    )
    remember_day(settings, run_id, summary)
    create_markdown_artifact(
        key=f"day-{parameters.day.isoformat()}",
        markdown=day_report(summary),
        description=f"Paper trading day {parameters.day}",
    )
    return summary


def day_report(summary: DaySummary) -> str:
    """The day as markdown: the strategies, each trade, the P&L after costs, the refusals."""
    lines = [
        f"# Paper trading day {summary.day}",
        "",
        f"{len(summary.strategies)} strategies, {summary.minutes} minutes, "
        f"{summary.decisions} entries decided, {len(summary.trades)} trades, "
        f"net P&L {rupees(summary.net_pnl)} after {rupees(summary.costs)} of charges.",
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
