"""What the dhanhq SDK answered, classified: data, an explicit Dhan error, or no usable answer.

The SDK wraps every call in `{'status': 'success' | 'failure', 'remarks': ..., 'data': ...}` and
drops the HTTP status code; `DhanSdk` reads it (and `Retry-After`) from the `requests` response
itself and passes it in here. From the envelope three kinds of failure can be told apart:

- TRANSPORT: the SDK caught an exception and put its text in `remarks` (a timeout, a refused
  connection, a body that is not JSON). The request may or may not have reached Dhan.
- UNCODED: an HTTP error whose JSON body had no `errorCode`/`errorMessage` (Dhan's data APIs
  answer like that); the SDK keeps nothing of it, so nothing is known.
- CODED: Dhan's own error body (`errorType`, `errorCode`, `errorMessage`).

Only a CODED failure is an answer. Codes DH-908 (internal error), DH-909 (network error) and
DH-910 (other) say Dhan itself failed midway, so for a write they are as ambiguous as a timeout.

A rate-limit refusal is an answer of any kind: HTTP 429, with Dhan's DH-904 body, another body
or none, or a DH-904 code. Dhan refused the call before doing anything, so a create refused
like that is known not to exist and may be sent again (see `DhanSdk`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from tradeloop.adapters.redaction import redact
from tradeloop.errors import ConfigError, RateLimitedError, TradeloopError, TransientError

AUTH_CODES = frozenset({"DH-901", "DH-902", "DH-903", "807", "808", "809", "810"})
RATE_LIMIT_CODES = frozenset({"DH-904", "805"})
SERVER_FAULT_CODES = frozenset({"DH-908", "DH-909", "DH-910", "800"})
TOO_MANY_REQUESTS = 429
_DETAIL_LIMIT = 300


class FailureKind(StrEnum):
    TRANSPORT = "transport"
    UNCODED = "uncoded"
    CODED = "coded"


@dataclass(frozen=True, slots=True)
class DhanFailure:
    """One failed call. Every text field is already redacted."""

    kind: FailureKind
    code: str = ""
    error_type: str = ""
    detail: str = ""
    http_status: int | None = None
    """None when no HTTP answer came back (a timeout, a refused connection)."""
    retry_after: float | None = None
    """Seconds, from a `Retry-After` header in seconds."""

    @property
    def is_auth(self) -> bool:
        return self.code in AUTH_CODES

    @property
    def is_rate_limit(self) -> bool:
        """Dhan refused the call for its rate limit: nothing was done."""
        return self.http_status == TOO_MANY_REQUESTS or self.code in RATE_LIMIT_CODES

    @property
    def outcome_unknown(self) -> bool:
        """True when a write may have been applied even though the call failed."""
        if self.is_rate_limit:
            return False
        return self.kind is not FailureKind.CODED or self.code in SERVER_FAULT_CODES

    def describe(self) -> str:
        if self.is_rate_limit and not self.code:
            return f"HTTP {TOO_MANY_REQUESTS} Too Many Requests (Dhan's rate limit)"
        if self.kind is FailureKind.TRANSPORT:
            return f"no usable answer ({self.detail})"
        if self.kind is FailureKind.UNCODED:
            return (
                "an HTTP error without an error code or message "
                "(the dhanhq SDK keeps neither the status code nor the body)"
            )
        label = " ".join(part for part in (self.code, self.error_type) if part) or "error"
        return f"{label}: {self.detail or 'no message'}"


@dataclass(frozen=True, slots=True)
class DhanResponse:
    data: Any
    failure: DhanFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def parse_response(
    raw: object, http_status: int | None = None, retry_after: float | None = None
) -> DhanResponse:
    """Classify the SDK's envelope (see the module docstring).

    `http_status` and `retry_after` are what the HTTP response said, when one came back.
    """
    response = _classify(raw)
    if response.failure is None:
        return response
    failure = replace(response.failure, http_status=http_status, retry_after=retry_after)
    return DhanResponse(response.data, failure)


def _classify(raw: object) -> DhanResponse:
    if not isinstance(raw, dict) or raw.get("status") not in ("success", "failure"):
        return DhanResponse(None, DhanFailure(FailureKind.TRANSPORT, detail=_clip(repr(raw))))
    if raw["status"] == "success":
        data = raw.get("data")
        embedded = _embedded_error(data)
        return DhanResponse(data, embedded)
    remarks = raw.get("remarks")
    if isinstance(remarks, dict):
        code = _text(remarks.get("error_code"))
        error_type = _text(remarks.get("error_type"))
        message = _text(remarks.get("error_message"))
        if code or message:
            return DhanResponse(
                None, DhanFailure(FailureKind.CODED, code, error_type, _clip(message))
            )
        return DhanResponse(None, DhanFailure(FailureKind.UNCODED))
    return DhanResponse(None, DhanFailure(FailureKind.TRANSPORT, detail=_clip(str(remarks))))


def read_error(failure: DhanFailure, action: str) -> TradeloopError:
    """The error to raise when a read (or a write's verification) failed: who must act."""
    if failure.is_auth:
        return access_error(failure)
    if failure.is_rate_limit:
        return RateLimitedError(f"Dhan rate-limited the call to {action} ({failure.describe()})")
    return TransientError(f"Dhan could not {action}: {failure.describe()}; retry later")


def access_error(failure: DhanFailure) -> ConfigError:
    return ConfigError(
        f"Dhan refused the credentials ({failure.describe()}). Dhan access tokens expire after "
        "24 hours: generate a new one on web.dhan.co and set TRADELOOP_DHAN_ACCESS_TOKEN "
        "(and check TRADELOOP_DHAN_CLIENT_ID and that the account has API access for the segment)"
    )


def _embedded_error(data: object) -> DhanFailure | None:
    """A 2xx answer whose body is nevertheless Dhan's error body."""
    if not isinstance(data, dict) or data.get("orderId"):
        return None
    code = _text(data.get("errorCode"))
    message = _text(data.get("errorMessage"))
    if code or message:
        return DhanFailure(FailureKind.CODED, code, _text(data.get("errorType")), _clip(message))
    return None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _clip(text: str) -> str:
    text = redact(text)
    return text if len(text) <= _DETAIL_LIMIT else text[:_DETAIL_LIMIT] + "…"
