"""Keep registered secrets (broker access tokens) out of every log record and error message.

A `SecretRedactor` holds the secret strings this process knows about and replaces each of them
with `***` wherever it shows up: in a log record's message and arguments, in the traceback text
of a logged exception, and in any text passed to `redact()`.

Why both a filter and a record factory: a filter attached to a logger only sees records logged
*on that very logger*, not those propagated from its children (a filter on `urllib3` does not
see `urllib3.connectionpool`). `install()` therefore (1) adds the filter to the root logger, the
named vendor loggers and all their existing children, and to the root logger's handlers, and
(2) wraps the log record factory, so records from loggers created later are scrubbed too.

What logging cannot catch: `http.client` prints request headers with `print()` when
`HTTPConnection.debuglevel > 0`. The Dhan adapter refuses to send while that is switched on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import SecretStr

PLACEHOLDER = "***"
VENDOR_LOGGERS: tuple[str, ...] = ("dhanhq", "urllib3", "requests", "websockets")
_MIN_SECRET_LENGTH = 4


class SecretRedactor(logging.Filter):
    """A logging filter (and text scrubber) for a set of registered secret strings."""

    def __init__(self, secrets: Iterable[str | SecretStr] = (), placeholder: str = PLACEHOLDER):
        super().__init__()
        self.placeholder = placeholder
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._factory_installed = False
        for secret in secrets:
            self.register(secret)

    def register(self, secret: str | SecretStr) -> None:
        """Redact `secret` from now on, also in its escaped forms (as `repr()` shows it)."""
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if len(value.strip()) < _MIN_SECRET_LENGTH:
            # Redacting a one-letter "secret" would shred every log line; such a value is not a
            # credential anyway, and the caller validates credentials before registering them.
            raise ValueError(
                f"a secret to redact must have at least {_MIN_SECRET_LENGTH} characters"
            )
        forms = {value, value.strip(), repr(value)[1:-1], value.encode("unicode_escape").decode()}
        with self._lock:
            # Longest first, so a secret that contains another is replaced whole.
            merged = set(self._secrets) | {form for form in forms if form}
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """`text` with every registered secret replaced by the placeholder."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, self.placeholder)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place (message, arguments, traceback); never drop it."""
        self.scrub_record(record)
        return True

    def scrub_record(self, record: logging.LogRecord) -> logging.LogRecord:
        """Scrub `record` in place. A record without secrets is left exactly as it was."""
        if not self._secrets:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what can be shown, scrubbed
            message = f"{record.msg!s} (unformattable arguments dropped)"
            record.args = None
        scrubbed = self.redact(message)
        if scrubbed != message:
            record.msg = scrubbed
            record.args = None
        if record.exc_info and not record.exc_text:
            # Handlers format exc_info lazily into exc_text; when the traceback holds a secret,
            # fill exc_text now, scrubbed, so they reuse it instead of the raw exception.
            formatted = logging.Formatter().formatException(record.exc_info)
            if self.redact(formatted) != formatted:
                record.exc_text = formatted
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return record

    def install(self, logger_names: Iterable[str] = VENDOR_LOGGERS) -> None:
        """Scrub every record: root, vendor loggers and their children, handlers, new loggers.

        Safe to call more than once.
        """
        names = tuple(logger_names)
        targets: list[logging.Logger] = [logging.getLogger()]
        targets += [logging.getLogger(name) for name in names]
        prefixes = tuple(f"{name}." for name in names)
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if isinstance(logger, logging.Logger) and name.startswith(prefixes):
                targets.append(logger)
        for logger in targets:
            if self not in logger.filters:
                logger.addFilter(self)
        for handler in logging.getLogger().handlers:
            if self not in handler.filters:
                handler.addFilter(self)
        self._install_record_factory()

    def _install_record_factory(self) -> None:
        with self._lock:
            if self._factory_installed:
                return
            self._factory_installed = True
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

        def scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return self.scrub_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(scrubbing_factory)


_process_redactor = SecretRedactor()


def process_redactor() -> SecretRedactor:
    """The redactor shared by the whole process; adapters register their secrets here."""
    return _process_redactor


def register_secret(secret: str | SecretStr) -> None:
    """Register `secret` with the process redactor and make sure it scrubs all logging."""
    _process_redactor.register(secret)
    _process_redactor.install()


def redact(text: str) -> str:
    """`text` with every secret known to this process replaced by `***`.

    Use it on every error message built from vendor text (exception strings, response bodies).
    """
    return _process_redactor.redact(text)
