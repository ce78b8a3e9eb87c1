"""tradeloop's errors as HTTP answers: the user's mistakes are 4xx with the message, a service
that is down is 503, an operational refusal is 409. Our bugs stay 500 (and are logged)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from tradeloop.api.models import ErrorBody
from tradeloop.errors import (
    NotFoundError,
    OperationalError,
    TradeloopError,
    TransientError,
    UserError,
)

# Most specific first: the first class an error is an instance of decides its status.
_STATUS: tuple[tuple[type[TradeloopError], int], ...] = (
    (NotFoundError, status.HTTP_404_NOT_FOUND),
    (UserError, status.HTTP_400_BAD_REQUEST),
    (TransientError, status.HTTP_503_SERVICE_UNAVAILABLE),
    (OperationalError, status.HTTP_409_CONFLICT),
)


def documented(**answers: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route's errors, `documented(e404="No run with this id.")`:
    each status with the error body and when it is answered."""
    return {
        int(code[1:]): {"model": ErrorBody, "description": when} for code, when in answers.items()
    }


LEDGER_DOWN = "The ledger database cannot be reached; the message says what to start."
LIVE_REFUSED = (
    "Live trading is requested but refused (a live switch is off): nothing is shown, as "
    "`tradeloop positions` does; the message names the switches."
)


def status_of(exc: TradeloopError) -> int:
    for kind, code in _STATUS:
        if isinstance(exc, kind):
            return code
    return status.HTTP_500_INTERNAL_SERVER_ERROR


async def _tradeloop_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TradeloopError)  # registered for TradeloopError only
    return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TradeloopError, _tradeloop_error)


def invalid_input(
    field: str, message: str, where: Literal["query", "body", "path"] = "query"
) -> RequestValidationError:
    """A 422 in FastAPI's own shape, naming `field`, for a check FastAPI cannot express."""
    return RequestValidationError(
        [{"loc": (where, field), "msg": f"{field}: {message}", "type": "value_error"}]
    )
