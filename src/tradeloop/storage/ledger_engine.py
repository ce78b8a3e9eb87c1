"""The ledger's database engine: SQLite (WAL, busy timeout, immediate writes) or PostgreSQL.

Database failures are translated here: a locked database is a `TransientError` and an
unreachable one a `DatabaseUnavailableError` (a `TransientError`: Prefect retries both); messages
name the host and port or the file, never the whole URL, which may hold a password.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.exc import OperationalError as SAOperationalError
from sqlmodel import Session

from tradeloop.errors import ConfigError, DatabaseUnavailableError, TransientError
from tradeloop.storage.ledger_models import ledger_registry

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_ledger_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for `url`; SQLite files get their directory created and safe pragmas.

    `busy_timeout_ms` is how long an SQLite writer waits for another one before the write fails
    as a `TransientError`.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "the ledger database URL is not a valid SQLAlchemy URL: fix TRADELOOP_DATABASE_URL "
            "(e.g. postgresql://user:password@host:5432/tradeloop)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            directory = Path(parsed.database).parent
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"the ledger database's directory {directory} cannot be created "
                    f"({exc.strerror}): fix the path in TRADELOOP_DATABASE_URL"
                ) from None
        engine = create_engine(
            parsed, connect_args={"timeout": busy_timeout_ms / 1000}, future=True
        )
        _sqlite_pragmas(engine, busy_timeout_ms)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername=f"postgresql+{_postgres_driver()}")
        return create_engine(parsed, pool_pre_ping=True, future=True)
    raise ConfigError(
        f"ledger backend '{parsed.get_backend_name()}' is not supported: use sqlite:///PATH "
        "or postgresql://... in TRADELOOP_DATABASE_URL"
    )


def _postgres_driver() -> str:
    """psycopg (3) when installed, else psycopg2: a bare postgresql:// URL works with either."""
    if importlib.util.find_spec("psycopg") is not None:
        return "psycopg"
    if importlib.util.find_spec("psycopg2") is not None:
        return "psycopg2"
    raise ConfigError("the PostgreSQL ledger needs a driver: install psycopg2-binary (or psycopg)")


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(connection: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level, so that "begin" below controls the transaction.
        connection.isolation_level = None
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # FULL: a committed order row survives power loss too, not only a killed process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: two writers wait (busy timeout) instead of
        # failing when a read transaction tries to upgrade to a write.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session committed on success, rolled back on error; DB failures translated."""
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()
    except SAOperationalError as exc:
        raise translated(engine, exc) from None
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise TransientError(
                f"ledger database connection lost ({_driver_message(exc)}): retry"
            ) from None
        raise


def _driver_message(exc: DBAPIError) -> str:
    # The first line of the driver's message, without SQL or parameters (they may be long and
    # the URL never appears there, but parameters could include a reason typed by a person).
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__


def translated(engine: Engine, exc: SAOperationalError) -> TransientError:
    """SQLAlchemy's OperationalError as ours: a locked SQLite file (retry), else a database that
    cannot be reached or opened."""
    reason = _driver_message(exc)
    if engine.url.get_backend_name() == "sqlite" and "locked" in reason:
        return TransientError(f"ledger database locked ({reason}): retry")
    return database_unavailable(engine, exc)


def database_unavailable(engine: Engine, exc: DBAPIError) -> DatabaseUnavailableError:
    """The error for a database that cannot be reached or opened: where it is (host and port,
    or the file; never the password) and what to start or fix."""
    url = engine.url
    reason = _driver_message(exc)
    if url.get_backend_name() == "sqlite":
        return DatabaseUnavailableError(
            f"the ledger database file {url.database} cannot be opened ({reason}): check that "
            "it is a file in a writable directory, or point TRADELOOP_DATABASE_URL at another file"
        )
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    return DatabaseUnavailableError(
        f"the ledger database (PostgreSQL at {where}, database {url.database!r}, user "
        f"{url.username!r}) cannot be reached ({reason}): start PostgreSQL there, or fix the "
        "host, port or credentials in TRADELOOP_DATABASE_URL"
    )


class LedgerDatabase:
    """What every store on the ledger's database starts with: its tables created if missing
    (the first connection's failure translated: unreachable, refused, no file), and `close`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            ledger_registry.metadata.create_all(engine)
        except SAOperationalError as exc:  # the first connection: unreachable, refused, no file
            raise translated(engine, exc) from None

    def close(self) -> None:
        self.engine.dispose()
