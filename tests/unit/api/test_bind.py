"""Where `tradeloop api` may listen: loopback always, anywhere else only with a token."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tradeloop.api.auth import check_bind, is_loopback
from tradeloop.errors import UserError
from tradeloop.settings import load_settings


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_public_host_needs_a_token() -> None:
    without = load_settings()
    with_token = without.model_copy(update={"api_token": SecretStr("t0ken")})

    with pytest.raises(UserError, match="TRADELOOP_API_TOKEN"):
        check_bind(without, "0.0.0.0")
    check_bind(without, "127.0.0.1")
    check_bind(with_token, "0.0.0.0")
