"""Deployments in the ledger's database (SQLite by default, PostgreSQL through
`TRADELOOP_DATABASE_URL`): the `DeploymentStore` of `tradeloop.domain.deploy`.

Every change is one transaction. `add` numbers the deployment after the spec's earlier ones
inside its transaction, and the `deployments` table's unique `active_spec_id` refuses a second
active deployment of one spec even when two writers race (the loser gets a `UserError`).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tradeloop.domain.deploy import (
    DeployCandidate,
    Deployment,
    DeploymentMode,
    already_active,
    unknown_deployment,
)
from tradeloop.errors import UserError
from tradeloop.storage.ledger_engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    LedgerDatabase,
    create_ledger_engine,
    transaction,
)
from tradeloop.storage.ledger_models import DeploymentRow


class SqlDeploymentStore(LedgerDatabase):
    """Deployments on one ledger database. Create it with `open_deployment_store(url)`."""

    def deployments(self, *, include_retired: bool = False) -> list[Deployment]:
        query = select(DeploymentRow).order_by(
            col(DeploymentRow.deployed_at), col(DeploymentRow.id)
        )
        if not include_retired:
            query = query.where(DeploymentRow.status == "active")
        with transaction(self.engine) as session:
            return [_deployment(row) for row in session.exec(query)]

    def get(self, deployment_id: str) -> Deployment | None:
        with transaction(self.engine) as session:
            row = session.get(DeploymentRow, deployment_id)
            return None if row is None else _deployment(row)

    def add(
        self, candidate: DeployCandidate, *, run_id: str, mode: DeploymentMode, at: datetime
    ) -> Deployment:
        try:
            with transaction(self.engine) as session:
                active = session.exec(
                    select(DeploymentRow).where(DeploymentRow.active_spec_id == candidate.spec_id)
                ).first()
                if active is not None:
                    raise already_active(candidate, _deployment(active))
                earlier = session.exec(
                    select(func.count())
                    .select_from(DeploymentRow)
                    .where(DeploymentRow.spec_id == candidate.spec_id)
                ).one()
                deployment = Deployment.of(
                    candidate, sequence=int(earlier) + 1, run_id=run_id, mode=mode, at=at
                )
                session.add(_row(deployment))
        except IntegrityError:
            # Another writer deployed the same spec between our read and our write.
            raise UserError(
                f"spec {candidate.spec_id} ({candidate.name}) was deployed by another run at "
                "the same moment; see `tradeloop deployments ls`"
            ) from None
        return deployment

    def retire(self, deployment_id: str, reason: str, at: datetime) -> Deployment:
        with transaction(self.engine) as session:
            row = self._known(session, deployment_id)
            changed = _deployment(row).retired(reason, at)
            row.status = changed.status
            row.active_spec_id = None
            row.retired_at = changed.retired_at
            row.retire_reason = changed.retire_reason
            session.add(row)
            return changed

    def promote(self, deployment_id: str, at: datetime) -> Deployment:
        with transaction(self.engine) as session:
            row = self._known(session, deployment_id)
            changed = _deployment(row).promoted(at)
            row.mode = changed.mode
            row.promoted_at = changed.promoted_at
            session.add(row)
            return changed

    def _known(self, session: Session, deployment_id: str) -> DeploymentRow:
        row = session.get(DeploymentRow, deployment_id)
        if row is None:
            rows = session.exec(select(DeploymentRow).order_by(col(DeploymentRow.deployed_at)))
            raise unknown_deployment(deployment_id, [_deployment(r) for r in rows])
        return row


def open_deployment_store(
    url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> SqlDeploymentStore:
    """The deployments in the ledger database at `url` (tables created if missing)."""
    return SqlDeploymentStore(create_ledger_engine(url, busy_timeout_ms=busy_timeout_ms))


def _row(deployment: Deployment) -> DeploymentRow:
    return DeploymentRow(
        id=deployment.id,
        spec_id=deployment.spec_id,
        active_spec_id=deployment.spec_id if deployment.active else None,
        spec_version=deployment.spec_version,
        name=deployment.name,
        symbol=deployment.symbol,
        timeframe=deployment.timeframe,
        spec_json=deployment.spec_json,
        mode=deployment.mode,
        status=deployment.status,
        run_id=deployment.run_id,
        evidence=json.dumps(deployment.evidence, sort_keys=True),
        deployed_at=deployment.deployed_at,
        retired_at=deployment.retired_at,
        retire_reason=deployment.retire_reason,
        promoted_at=deployment.promoted_at,
    )


def _deployment(row: DeploymentRow) -> Deployment:
    values = row.model_dump(exclude={"active_spec_id", "evidence"})
    return Deployment.model_validate({**values, "evidence": json.loads(row.evidence)})
