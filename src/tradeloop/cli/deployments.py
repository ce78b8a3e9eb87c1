"""`tradeloop deployments`: the strategies research deployed, retiring one, promoting one to live.

Research deploys to paper only. Promoting to live is a person's act: it needs `--live` and every
live switch (the same guard as the order path), and no agent tool can do it. Times are shown in
IST.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from tradeloop.cli._common import compact_table, console, fail, settings

if TYPE_CHECKING:
    # Imported where used: `tradeloop --help` must not pay for SQLAlchemy.
    from tradeloop.domain.deploy import Deployment
    from tradeloop.storage.deployments import SqlDeploymentStore

deployments_app = typer.Typer(
    help=(
        "Deployed strategies: research deploys the best that passed the gate to paper; "
        "retire one, or promote one to live (every live switch needed)."
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(deployments_app, name="deployments")


def _store() -> SqlDeploymentStore:
    from tradeloop.app import stores

    return stores.deployment_store(settings())


def _ist(moment: datetime | None) -> datetime | None:
    from tradeloop.domain.market.calendar import to_ist

    return None if moment is None else to_ist(moment)


def _number(value: float | None, digits: int = 2) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


@deployments_app.command("ls")
def list_deployments(
    include_retired: bool = typer.Option(False, "--all", help="Include retired deployments."),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON (times IST with their offset) for scripts."
    ),
) -> None:
    """The active deployments (with --all, the retired ones too), oldest first."""
    store = _store()
    try:
        rows = store.deployments(include_retired=include_retired)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([_as_json(row) for row in rows], indent=2, allow_nan=False))
        return
    if not rows:
        kind = "deployments" if include_retired else "active deployments (--all shows retired)"
        console.print(f"no {kind}")
        return
    # Fits 80 columns: no vertical rules, one space between columns, the day over the time,
    # mode and status in one column (a retired deployment's mode is in --json).
    table = compact_table("deployments")
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold", min_width=10)
    table.add_column("symbol", no_wrap=True)
    table.add_column("tf", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("deployed\n(IST)", no_wrap=True)
    table.add_column("score/\nDSR", justify="right", no_wrap=True)
    for row in rows:
        deployed = _ist(row.deployed_at)
        table.add_row(
            row.id,
            row.name,
            row.symbol,
            row.timeframe,
            _state(row),
            "" if deployed is None else deployed.strftime("%Y-%m-%d\n%H:%M"),
            f"{_number(row.evidence.get('score'))}/{_number(row.evidence.get('dsr'))}",
        )
    console.print(table)


@deployments_app.command("retire")
def retire(
    deployment_id: str = typer.Argument(..., help="The deployment's id (see `ls`)."),
    reason: str = typer.Option(..., "--reason", help="Why it stops: kept with the deployment."),
) -> None:
    """Retire a deployment: the trading day stops running it (its record stays)."""
    from tradeloop.domain.deploy import required_reason

    why = required_reason(reason)  # refused before the database is opened (or created)
    store = _store()
    try:
        retired = store.retire(deployment_id, why, datetime.now(UTC))
    finally:
        store.close()
    console.print(f"retired {retired.id} ({retired.name}, {retired.mode}): {retired.retire_reason}")


@deployments_app.command("promote")
def promote(
    deployment_id: str = typer.Argument(..., help="The active paper deployment's id."),
    live: bool = typer.Option(
        False, "--live", help="Required: say that this strategy is to trade real money."
    ),
) -> None:
    """Promote an active paper deployment to live; refused unless every live switch is set.

    `tradeloop live check` shows the switches. Nothing changes when this is refused.
    """
    from tradeloop.app.trading import mode_guard

    if not live:
        raise fail("pass --live to promote a deployment to live trading (real money)", code=2)
    loaded = settings()
    mode_guard(loaded).require_live()  # TradingRefusedError naming the missing switches
    from tradeloop.app import stores

    store = stores.deployment_store(loaded)
    try:
        promoted = store.promote(deployment_id, datetime.now(UTC))
    finally:
        store.close()
    console.print(
        f"[bold red]{promoted.id} ({promoted.name}, {promoted.symbol}) is now live[/]: "
        "its orders go to Dhan with real money"
    )


def _state(row: Deployment) -> str:
    if not row.active:
        return "retired"
    return "[bold red]live[/]" if row.mode == "live" else row.mode


def _as_json(row: Deployment) -> dict[str, Any]:
    values = row.model_dump(mode="json", exclude={"evidence"})
    for name in ("deployed_at", "retired_at", "promoted_at"):
        moment = _ist(getattr(row, name))
        values[name] = None if moment is None else moment.isoformat()
    # JSON has no NaN or infinity: a number that is not finite is null.
    values["evidence"] = {
        name: value if math.isfinite(value) else None for name, value in row.evidence.items()
    }
    return values
