"""Who may change things: the POST routes need `Authorization: Bearer <TRADELOOP_API_TOKEN>`.

Without a token in the settings every POST is refused (403) and `tradeloop api` binds to
loopback only. The token is compared in constant time and never echoed.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tradeloop.api.errors import documented
from tradeloop.errors import UserError
from tradeloop.settings import ENV_PREFIX, Settings

TOKEN_VARIABLE = f"{ENV_PREFIX}API_TOKEN"
_bearer = HTTPBearer(auto_error=False, description=f"The value of {TOKEN_VARIABLE}.")


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let the request through only with the configured bearer token."""
    settings: Settings = request.app.state.settings
    if settings.api_token is None or not settings.api_token.get_secret_value():
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"changes through the API are off: set {TOKEN_VARIABLE} and restart `tradeloop api`, "
            "then send it as 'Authorization: Bearer <token>'",
        )
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"this route needs 'Authorization: Bearer <token>' with the token of {TOKEN_VARIABLE}",
            headers={"WWW-Authenticate": "Bearer"},
        )
    expected = settings.api_token.get_secret_value().encode()
    if not hmac.compare_digest(credentials.credentials.encode(), expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"the bearer token is wrong: send the value of {TOKEN_VARIABLE}",
            headers={"WWW-Authenticate": "Bearer"},
        )


Authorized = Depends(require_token)

# The answers `require_token` adds to a route, for its OpenAPI document.
AUTH_RESPONSES = documented(
    e401="The `Authorization: Bearer <token>` header is missing, or its token is not "
    f"{TOKEN_VARIABLE}.",
    e403=f"{TOKEN_VARIABLE} is not set: changes through the API are off.",
)


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    """Refuse to listen beyond this machine without a token: anyone who reaches the port would
    read the ledger, and nobody could use the POST routes."""
    token = settings.api_token
    if (token is None or not token.get_secret_value()) and not is_loopback(host):
        raise UserError(
            f"--host {host} would expose the API beyond this machine without a token: set "
            f"{TOKEN_VARIABLE} (a long random string; clients send it as a bearer token), or "
            "listen on 127.0.0.1"
        )
