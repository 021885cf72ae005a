"""Writing and reading the audit trail.

An entry is inserted in the caller's transaction with no lock and no read of the chain, so
audited transactions do not queue behind one another; the sealer links it into the hash chain
within seconds of its commit (see :mod:`ihospital.audit.chain`).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.chain import seal_all
from ihospital.audit.models import AuditEntry, AuditSeal
from ihospital.core.context import Actor


async def record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    subject_type: str,
    subject_id: object,
    patient_id: int | None = None,
    details: dict[str, Any] | None = None,
    flush: bool = True,
) -> AuditEntry:
    """Write one entry (who did what to which subject, from where) to the trail (R13).
    ``flush=False`` only adds it to the session: a caller writing many (the chat's batched
    sends) flushes them together."""
    entry = AuditEntry(
        occurred_at=actor.clock.now(),
        actor_account_id=actor.account_id,
        actor_role=actor.role,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        patient_id=patient_id,
        ip=actor.ip,
        request_id=actor.request_id,
        details=json.dumps(details or {}, sort_keys=True, ensure_ascii=False, default=str),
    )
    session.add(entry)
    if flush:
        await session.flush()
    return entry


async def list_entries(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_id: int | None = None,
    actor_account_id: int | None = None,
    action: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[tuple[AuditEntry, AuditSeal | None]], int]:
    """Entries newest first with filters and each one's link, for regulators and platform
    admins (R13). The pending entries are sealed first; reading the trail is itself recorded
    (and sealed in the next round)."""
    await seal_all(session, actor.clock)
    query = select(AuditEntry)
    if patient_id is not None:
        query = query.where(AuditEntry.patient_id == patient_id)
    if actor_account_id is not None:
        query = query.where(AuditEntry.actor_account_id == actor_account_id)
    if action:
        query = query.where(AuditEntry.action == action)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (
        await session.execute(
            query.add_columns(AuditSeal)
            .outerjoin(AuditSeal, AuditSeal.entry_id == AuditEntry.id)
            .order_by(AuditEntry.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    ).all()
    await record(
        session,
        actor,
        action="audit.read",
        subject_type="audit_log",
        subject_id="query",
        patient_id=patient_id,
        details={"actor_account_id": actor_account_id, "action": action, "page": page},
    )
    return [(entry, seal) for entry, seal in rows], total


async def seal_late(session: AsyncSession, actor: Actor) -> int:
    """Seal the entries that waited longer than the sealing window (after the workers were
    down), once an operator has checked them; the sealing is recorded with their number."""
    sealed = await seal_all(session, actor.clock, late=True)
    if sealed:
        await record(
            session,
            actor,
            action="audit.seal_late",
            subject_type="audit_log",
            subject_id="chain",
            details={"entries": sealed},
        )
    return sealed
