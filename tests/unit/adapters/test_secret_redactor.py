"""SecretRedactor: registered secrets never survive into log records or messages."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from tradeloop.adapters.redaction import PLACEHOLDER, SecretRedactor, redact, register_secret

SECRET = "tok-SECRET-123"


@pytest.fixture
def redactor() -> SecretRedactor:
    return SecretRedactor([SECRET])


@pytest.fixture
def isolated_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tradeloop.tests.redaction")
    yield logger
    logger.filters.clear()


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("x", logging.ERROR, __file__, 1, message, args, exc_info)


def test_redact_replaces_every_occurrence(redactor: SecretRedactor) -> None:
    assert redactor.redact(f"a {SECRET} b {SECRET}") == f"a {PLACEHOLDER} b {PLACEHOLDER}"


def test_filter_rewrites_message_and_arguments(redactor: SecretRedactor) -> None:
    entry = record("header access-token=%s for client %s", SECRET, "1000000003")

    assert redactor.filter(entry) is True
    assert entry.getMessage() == "header access-token=*** for client 1000000003"
    assert entry.args is None


def test_record_without_secret_is_left_untouched(redactor: SecretRedactor) -> None:
    entry = record("order %s placed", "42")

    redactor.filter(entry)

    assert (entry.msg, entry.args) == ("order %s placed", ("42",))


def test_traceback_of_a_logged_exception_is_scrubbed(redactor: SecretRedactor) -> None:
    try:
        raise RuntimeError(f"server echoed {SECRET}")
    except RuntimeError as exc:
        entry = record("call failed", exc=exc)

    redactor.filter(entry)
    text = logging.Formatter().format(entry)

    assert SECRET not in text
    assert "server echoed ***" in text


def test_escaped_forms_of_a_secret_are_scrubbed_too() -> None:
    redactor = SecretRedactor(["tok-WITH-NEWLINE\n"])

    shown = redactor.redact(f"invalid header value {'tok-WITH-NEWLINE' + chr(10)!r}")

    assert "tok-WITH-NEWLINE" not in shown


def test_secretstr_is_accepted() -> None:
    redactor = SecretRedactor([SecretStr(SECRET)])
    assert redactor.redact(SECRET) == PLACEHOLDER


@pytest.mark.parametrize("value", ["", "   ", "abc"])
def test_too_short_secret_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="at least 4 characters"):
        SecretRedactor([value])


def test_unformattable_record_is_kept_and_scrubbed(redactor: SecretRedactor) -> None:
    entry = record(f"broken %d format {SECRET}", "not-a-number")

    redactor.filter(entry)

    assert SECRET not in entry.getMessage()
    assert "unformattable" in entry.getMessage()


def test_installed_filter_scrubs_child_loggers_and_new_loggers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    register_secret(SECRET)
    caplog.set_level(logging.DEBUG)
    # A child of a vendor logger (filters on "urllib3" alone would not see it) and a logger
    # created after installation.
    logging.getLogger("urllib3.connectionpool").debug("send header access-token: %s", SECRET)
    logging.getLogger("brand.new.logger").warning(f"token {SECRET} in an f-string")
    logging.error("Exception in dhanhq: %s", SECRET)

    assert len(caplog.records) == 3
    assert SECRET not in caplog.text
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_module_redact_uses_the_process_redactor() -> None:
    register_secret("tok-PROCESS-777")
    assert redact("x tok-PROCESS-777 y") == "x *** y"


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.text(max_size=30),
    suffix=st.text(max_size=30),
    # Tokens are JWT-like: letters, digits, "-", "_", ".". A secret made of the placeholder's
    # own "*" could be re-formed by the replacement itself.
    secret=st.text(alphabet="ABCxyz0129-_.", min_size=4, max_size=40),
)
def test_a_registered_secret_never_survives_redaction(
    prefix: str, suffix: str, secret: str
) -> None:
    redactor = SecretRedactor([secret])
    assert secret not in redactor.redact(prefix + secret + suffix + secret)
