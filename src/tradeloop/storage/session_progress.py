"""How far each trading day has been processed, in the ledger's database: the
`SessionProgress` of `tradeloop.domain.positions.day`. One row per (day, session key), upserted
after each bar, in its own transaction."""

from __future__ import annotations

from datetime import date, datetime

from tradeloop.storage.ledger_engine import LedgerDatabase, create_ledger_engine, transaction
from tradeloop.storage.ledger_models import SessionProgressRow


class SqlSessionProgress(LedgerDatabase):
    """Session progress on one ledger database."""

    def last_bar(self, day: date, session_key: str) -> datetime | None:
        with transaction(self.engine) as session:
            row = session.get(SessionProgressRow, (day, session_key))
            return None if row is None else row.last_bar

    def record(self, day: date, session_key: str, last_bar: datetime) -> None:
        with transaction(self.engine) as session:
            row = session.get(SessionProgressRow, (day, session_key))
            if row is None:
                session.add(SessionProgressRow(day=day, session_key=session_key, last_bar=last_bar))
            else:
                row.last_bar = last_bar
                session.add(row)


def open_session_progress(url: str) -> SqlSessionProgress:
    """The session progress at `url` (the ledger's database)."""
    return SqlSessionProgress(create_ledger_engine(url))
