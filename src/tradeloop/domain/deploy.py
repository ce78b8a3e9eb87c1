"""Deployments: which researched strategies the trading day runs, in which mode, and why.

Research ends by deploying the best strategies that passed the significance gate to paper
(`choose_deployments`); a person may retire one, or promote an active paper one to live (the
composition root checks every live switch first; nothing here reads settings).

A deployment's id is ``dep-<spec id>-<n>``: ``n`` counts the deployments of that spec, so the
first is ``-1`` and a spec deployed again after it was retired gets ``-2``. The id does not carry
the mode, which a promotion changes. A spec has at most one active deployment at a time.

Its evidence is what passed, as numbers: ``score`` (the research score), ``passed`` (1.0), the
significance gate's numbers as `GateCard.numbers` names them (``psr``, ``dsr``,
``lockbox_sharpe``, ``lockbox_trades``, ``trials``, ...) and the research window's out-of-sample
metrics prefixed ``oos_`` (``oos_sharpe``, ``oos_trades``, ...). Values may be NaN or infinite
(a profit factor without a losing trade).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tradeloop.errors import NotFoundError, UserError

DeploymentMode = Literal["paper", "live"]
DeploymentStatus = Literal["active", "retired"]


class DeployCandidate(Protocol):
    """What deploying needs of a research record (`tradeloop.storage.memory.StrategyRecord`
    after the significance gate has this shape)."""

    @property
    def spec_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def timeframe(self) -> str: ...
    @property
    def spec_json(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def passed(self) -> bool: ...
    @property
    def gate(self) -> Mapping[str, float]: ...
    @property
    def metrics(self) -> Mapping[str, float]: ...


class Deployment(BaseModel):
    """One strategy deployed by one research run: what it is, its mode, its state, its evidence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="dep-<spec id>-<n>: the n-th deployment of the spec.")
    spec_id: str
    spec_version: int = Field(description="The `spec_version` of the spec's JSON format.")
    name: str
    symbol: str
    timeframe: str
    spec_json: str = Field(description="The spec as research evaluated it (JSON).")
    mode: DeploymentMode
    status: DeploymentStatus
    deployed_at: AwareDatetime
    run_id: str = Field(description="The research run that deployed it.")
    evidence: dict[str, float] = Field(
        description="score, passed, the gate's numbers and oos_* metrics (module docstring)."
    )
    retired_at: AwareDatetime | None = None
    retire_reason: str | None = None
    promoted_at: AwareDatetime | None = Field(None, description="When it was promoted to live.")

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def of(
        cls,
        candidate: DeployCandidate,
        *,
        sequence: int,
        run_id: str,
        mode: DeploymentMode,
        at: datetime,
    ) -> Deployment:
        """The `sequence`-th deployment (from 1) of `candidate`'s spec, active from `at`."""
        return cls(
            id=deployment_id(candidate.spec_id, sequence),
            spec_id=candidate.spec_id,
            spec_version=int(json.loads(candidate.spec_json).get("spec_version", 1)),
            name=candidate.name,
            symbol=candidate.symbol,
            timeframe=candidate.timeframe,
            spec_json=candidate.spec_json,
            mode=mode,
            status="active",
            deployed_at=at,
            run_id=run_id,
            evidence=evidence_of(candidate),
        )

    def retired(self, reason: str, at: datetime) -> Deployment:
        """This deployment retired at `at`; a `UserError` when it already is or no reason."""
        if not self.active:
            raise UserError(
                f"deployment {self.id} is already retired (at {self.retired_at:%Y-%m-%d %H:%M} "
                f"UTC: {self.retire_reason}); nothing changed"
            )
        return self.model_copy(
            update={"status": "retired", "retired_at": at, "retire_reason": required_reason(reason)}
        )

    def promoted(self, at: datetime) -> Deployment:
        """This active paper deployment in live mode from `at`; a `UserError` otherwise.

        The caller has checked every live switch: this only moves the record.
        """
        if not self.active:
            raise UserError(
                f"deployment {self.id} is retired ({self.retire_reason}): only an active paper "
                "deployment can be promoted; nothing changed"
            )
        if self.mode == "live":
            raise UserError(f"deployment {self.id} is already live; nothing changed")
        if not self.has_take_profit:
            raise UserError(
                f"deployment {self.id} ({self.name}) has no take profit: live entries go to "
                "Dhan as super orders (entry, stop and target together), which need a target, "
                "so every one would be refused. In paper its stop rests alone. Give the spec a "
                "take_profit and research it again; nothing changed"
            )
        return self.model_copy(update={"mode": "live", "promoted_at": at})

    @property
    def has_take_profit(self) -> bool:
        """Whether the deployed spec sets a take profit (live entries need one)."""
        exit_rules = json.loads(self.spec_json).get("exit") or {}
        return exit_rules.get("take_profit") is not None


def deployment_id(spec_id: str, sequence: int) -> str:
    """``dep-<spec id>-<sequence>``; `sequence` counts the spec's deployments from 1."""
    if sequence < 1:
        raise ValueError(f"deployment sequence {sequence} must be >= 1")
    return f"dep-{spec_id}-{sequence}"


def evidence_of(candidate: DeployCandidate) -> dict[str, float]:
    """The numbers a candidate passed with (see the module docstring for the names)."""
    evidence = {"score": float(candidate.score), "passed": 1.0 if candidate.passed else 0.0}
    evidence.update({name: float(value) for name, value in candidate.gate.items()})
    evidence.update({f"oos_{name}": float(value) for name, value in candidate.metrics.items()})
    return evidence


def required_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise UserError("a reason is required: --reason 'why it stops' (it is kept with it)")
    return text


def choose_deployments(
    records: Iterable[DeployCandidate], k: int, active: Iterable[Deployment]
) -> list[DeployCandidate]:
    """The best `k` records that passed the significance gate, best score first.

    A spec that has an active deployment in `active` is skipped, a spec that appears in
    several records counts once (its best passing record), a record whose score is not a
    finite number is skipped (it cannot be ranked), and equal scores are ordered by spec id so
    the choice is the same on every run. `k` <= 0 chooses nothing.
    """
    if k <= 0:
        return []
    taken = {deployment.spec_id for deployment in active if deployment.active}
    best: dict[str, DeployCandidate] = {}
    for record in records:
        if not record.passed or not math.isfinite(record.score) or record.spec_id in taken:
            continue
        known = best.get(record.spec_id)
        if known is None or record.score > known.score:
            best[record.spec_id] = record
    ranked = sorted(best.values(), key=lambda record: (-record.score, record.spec_id))
    return ranked[:k]


def unknown_deployment(deployment_id: str, known: Sequence[Deployment]) -> NotFoundError:
    """The error for an id that names no deployment: the active ones, and a close match."""
    active = [deployment.id for deployment in known if deployment.active]
    close = difflib.get_close_matches(deployment_id, [d.id for d in known], n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    listed = ", ".join(active) if active else "none"
    return NotFoundError(
        f"no deployment {deployment_id!r}.{hint} Active deployments: {listed} "
        "(see `tradeloop deployments ls --all`)"
    )


class DeploymentStore(Protocol):
    """Where deployments are kept (the ledger's database; `InMemoryDeploymentStore` in tests)."""

    def deployments(self, *, include_retired: bool = False) -> list[Deployment]:
        """Active deployments (every one with `include_retired`), oldest first."""
        ...

    def get(self, deployment_id: str) -> Deployment | None: ...

    def add(
        self, candidate: DeployCandidate, *, run_id: str, mode: DeploymentMode, at: datetime
    ) -> Deployment:
        """Deploy `candidate` (numbered after the spec's earlier deployments), atomically;
        a `UserError` when its spec already has an active deployment."""
        ...

    def retire(self, deployment_id: str, reason: str, at: datetime) -> Deployment:
        """Retire an active deployment; `NotFoundError` for an unknown id (listing the active
        ones), `UserError` when it is already retired or the reason is empty."""
        ...

    def promote(self, deployment_id: str, at: datetime) -> Deployment:
        """Move an active paper deployment to live. The caller checked the live switches."""
        ...


def already_active(candidate: DeployCandidate, deployment: Deployment) -> UserError:
    return UserError(
        f"spec {candidate.spec_id} ({candidate.name}) is already deployed as {deployment.id} "
        f"({deployment.mode}); retire it first to deploy it again"
    )


class InMemoryDeploymentStore:
    """A `DeploymentStore` in a dict: the same rules as the ledger's, for tests and tools."""

    def __init__(self) -> None:
        self._rows: dict[str, Deployment] = {}

    def deployments(self, *, include_retired: bool = False) -> list[Deployment]:
        rows = sorted(self._rows.values(), key=lambda d: (d.deployed_at, d.id))
        return [row for row in rows if include_retired or row.active]

    def get(self, deployment_id: str) -> Deployment | None:
        return self._rows.get(deployment_id)

    def add(
        self, candidate: DeployCandidate, *, run_id: str, mode: DeploymentMode, at: datetime
    ) -> Deployment:
        earlier = [row for row in self._rows.values() if row.spec_id == candidate.spec_id]
        for row in earlier:
            if row.active:
                raise already_active(candidate, row)
        deployment = Deployment.of(
            candidate, sequence=len(earlier) + 1, run_id=run_id, mode=mode, at=at
        )
        self._rows[deployment.id] = deployment
        return deployment

    def retire(self, deployment_id: str, reason: str, at: datetime) -> Deployment:
        changed = self._known(deployment_id).retired(reason, at)
        self._rows[deployment_id] = changed
        return changed

    def promote(self, deployment_id: str, at: datetime) -> Deployment:
        changed = self._known(deployment_id).promoted(at)
        self._rows[deployment_id] = changed
        return changed

    def _known(self, deployment_id: str) -> Deployment:
        row = self._rows.get(deployment_id)
        if row is None:
            raise unknown_deployment(deployment_id, self.deployments(include_retired=True))
        return row
