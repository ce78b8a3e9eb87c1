"""The REST API's application: `create_app(settings)` is its composition root.

One `Settings` per app; every request opens the stores it reads from them and closes them. The
routes live one module per area; `tradeloop api` serves the app with uvicorn.
"""

from __future__ import annotations

from fastapi import FastAPI

from tradeloop import __version__
from tradeloop.api import (
    routes_agent,
    routes_backtests,
    routes_health,
    routes_runs,
    routes_strategies,
    routes_trading,
)
from tradeloop.api.errors import add_error_handlers
from tradeloop.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """The API over the ledger, stores and flows that `settings` configure."""
    app = FastAPI(
        title="tradeloop",
        # No Swagger UI or ReDoc: their pages load scripts from a CDN. /openapi.json is served.
        docs_url=None,
        redoc_url=None,
        version=__version__,
        description=(
            "The ledger, strategy memory, deployments and agent runs of tradeloop. Times are "
            "IST with their offset, money in rupees. POST routes need "
            "'Authorization: Bearer <TRADELOOP_API_TOKEN>'."
        ),
    )
    app.state.settings = settings
    add_error_handlers(app)
    routers = (
        routes_health,
        routes_trading,
        routes_strategies,
        routes_backtests,
        routes_agent,
        routes_runs,
    )
    for module in routers:
        app.include_router(module.router)
    return app
