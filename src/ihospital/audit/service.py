"""Writing and verifying the audit chain.

Appends are serialised so that ``seq`` and ``prev_hash`` are taken from the true last entry: on
PostgreSQL by a transaction-scoped advisory lock, on SQLite by the database's single writer
(every transaction begins IMMEDIATE, see ``ihospital.db``). The lock is held until the
transaction commits, so the entry lands together with the change it describes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor

GENESIS_HASH = "0" * 64
AUDIT_LOCK_KEY = 7_420_001


def _canonical(entry: AuditEntry) -> bytes:
    content = {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.isoformat(timespec="microseconds"),
        "actor_account_id": entry.actor_account_id,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "patient_id": entry.patient_id,
        "ip": entry.ip,
        "request_id": entry.request_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False).encode()


def compute_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


async def record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    subject_type: str,
    subject_id: object,
    patient_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry (who did what to which subject, from where) to the chain (R13)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    last = (
        await session.execute(
            select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
        )
    ).first()
    entry = AuditEntry(
        seq=(last.seq + 1) if last else 1,
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
        prev_hash=last.entry_hash if last else GENESIS_HASH,
    )
    entry.entry_hash = compute_hash(entry)
    session.add(entry)
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
) -> tuple[list[AuditEntry], int]:
    """Entries newest first with filters, for regulators and platform admins (R13).
    Reading the trail is itself recorded."""
    query = select(AuditEntry)
    if patient_id is not None:
        query = query.where(AuditEntry.patient_id == patient_id)
    if actor_account_id is not None:
        query = query.where(AuditEntry.actor_account_id == actor_account_id)
    if action:
        query = query.where(AuditEntry.action == action)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (
        await session.scalars(
            query.order_by(AuditEntry.seq.desc()).offset((page - 1) * page_size).limit(page_size)
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
    return list(rows), total


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


async def _entries(session: AsyncSession, batch: int = 2000) -> AsyncIterator[AuditEntry]:
    after = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq > after)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].seq
        session.expunge_all()


async def verify_chain(session: AsyncSession) -> VerifyResult:
    """Walk the chain in order and name the first entry that was edited, deleted or reordered."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    async for entry in _entries(session):
        if entry.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, "missing entry (deleted)")
        if entry.prev_hash != prev_hash:
            return VerifyResult(False, checked, entry.seq, "chain broken (reordered or replaced)")
        if compute_hash(entry) != entry.entry_hash:
            return VerifyResult(False, checked, entry.seq, "content changed (edited)")
        prev_hash = entry.entry_hash
        expected_seq += 1
        checked += 1
    return VerifyResult(True, checked)
