"""`tradeloop api`: the REST API (docs/api.md), served by uvicorn from this process."""

from __future__ import annotations

import typer

from tradeloop.cli._common import console, settings


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app."""
    app.command("api")(api)


def api(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on; beyond loopback needs TRADELOOP_API_TOKEN.",
    ),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free one)."),
) -> None:
    """Serve the REST API: the ledger, strategy memory, deployments, agent runs, kill switch.

    POST routes need 'Authorization: Bearer <TRADELOOP_API_TOKEN>'; without that setting they
    are refused and the API listens on loopback only.
    """
    loaded = settings()
    from tradeloop.api.auth import check_bind

    check_bind(loaded, host)  # a UserError (exit 2) before anything listens
    import uvicorn

    from tradeloop.api.app import create_app

    if loaded.api_token is None:
        console.print("no TRADELOOP_API_TOKEN: POST routes are refused (403)", highlight=False)
    uvicorn.run(create_app(loaded), host=host, port=port, log_level="info")
