"""The audit chain: sealing entries into a hash chain, and verifying it (全程留痕, R13).

Writing an entry (:func:`ihospital.audit.service.record`) takes no lock and reads nothing: the
entry is inserted with the change it describes and commits with it, so transactions that write
audit entries (every booking, every reading of health data) never wait for one another.

The chain is built afterwards by the *sealer*. Under one lock (PostgreSQL: a transaction-level
advisory lock; SQLite: its single writer, every transaction begins IMMEDIATE) it takes the
committed entries that have no seal yet, in id order, and appends one :class:`AuditSeal` each:
the next ``seq`` and the hash of the entry's canonical content with that ``seq`` and the previous
link's hash. Only sealers take the lock, and only for one batch. An entry whose transaction
commits after a higher id was sealed is simply sealed in the next round: the chain's order is
the order of sealing. The sealer runs beside every outbox worker every few seconds
(:func:`run_sealer`), and before the trail is listed or verified, so readers see it sealed.
Entries and seals are append-only (ORM guards here, triggers in the database).

Until it is sealed an entry could be edited or removed without trace, so that window is bounded:
the sealer only seals entries written in the last ``SEAL_WITHIN``, and :func:`verify_chain`
fails on any older entry without a seal: the sealer has not been running, or seals were removed
(the last links could otherwise be deleted, their entries edited, and everything sealed again
unnoticed). After a worker outage an operator who has checked the trail seals those entries with
``ihospital audit verify --seal-late`` (:func:`ihospital.audit.service.seal_late`, recorded).

The hash is the one entries carried when each held its own link (before migration 0013), so the
links moved out of the entries keep verifying.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.audit.models import AuditEntry, AuditSeal
from ihospital.core.clock import Clock

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
AUDIT_LOCK_KEY = 7_420_001
SEAL_WITHIN = timedelta(minutes=10)
SEAL_BATCH = 1000
SEAL_EVERY_SECONDS = 2.0


def _canonical(entry: AuditEntry, seq: int, prev_hash: str) -> bytes:
    content = {
        "seq": seq,
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
        "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False).encode()


def compute_hash(entry: AuditEntry, *, seq: int, prev_hash: str) -> str:
    """The hash of the link that puts ``entry`` at position ``seq`` after ``prev_hash``."""
    return hashlib.sha256(_canonical(entry, seq, prev_hash)).hexdigest()


def _unsealed() -> ColumnElement[bool]:
    return ~exists().where(AuditSeal.entry_id == AuditEntry.id)


async def _last_link(session: AsyncSession) -> tuple[int, str]:
    last = (
        await session.execute(
            select(AuditSeal.seq, AuditSeal.entry_hash).order_by(AuditSeal.seq.desc()).limit(1)
        )
    ).first()
    return (last.seq, last.entry_hash) if last else (0, GENESIS_HASH)


async def seal_pending(
    session: AsyncSession, clock: Clock, *, late: bool = False, limit: int = SEAL_BATCH
) -> int:
    """Append the links of up to ``limit`` committed, unsealed entries in id order; returns how
    many. Entries older than ``SEAL_WITHIN`` are left for verification to report, unless
    ``late``, which seals only those. The caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    cutoff = clock.now() - SEAL_WITHIN
    age = AuditEntry.occurred_at < cutoff if late else AuditEntry.occurred_at >= cutoff
    entries = (
        await session.scalars(
            select(AuditEntry).where(_unsealed(), age).order_by(AuditEntry.id).limit(limit)
        )
    ).all()
    if not entries:
        return 0
    seq, prev_hash = await _last_link(session)
    links = []
    for entry in entries:
        seq += 1
        entry_hash = compute_hash(entry, seq=seq, prev_hash=prev_hash)
        links.append(
            {"seq": seq, "entry_id": entry.id, "prev_hash": prev_hash, "entry_hash": entry_hash}
        )
        prev_hash = entry_hash
    await session.execute(insert(AuditSeal), links)
    return len(links)


async def seal_all(session: AsyncSession, clock: Clock, *, late: bool = False) -> int:
    """Seal batch after batch in the caller's transaction until nothing is left to seal."""
    total = 0
    while (sealed := await seal_pending(session, clock, late=late)) > 0:
        total += sealed
        if sealed < SEAL_BATCH:
            break
    return total


async def run_sealer(
    factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    stop: asyncio.Event,
    every: float = SEAL_EVERY_SECONDS,
) -> None:
    """Seal one batch per transaction until ``stop`` is set; pause ``every`` seconds whenever a
    batch comes back short. A failed round (the database unreachable) is logged and retried."""
    while not stop.is_set():
        try:
            async with factory() as session, session.begin():
                sealed = await seal_pending(session, clock)
        except Exception:
            log.exception("sealing the audit trail failed")
            sealed = 0
        if sealed < SEAL_BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


@dataclass(frozen=True)
class VerifyResult:
    """``checked`` links verified; ``unsealed`` entries without a link yet, ``late`` of them
    older than ``SEAL_WITHIN``, the oldest being ``oldest_unsealed_id``."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    unsealed: int = 0
    late: int = 0
    oldest_unsealed_id: int | None = None
    oldest_unsealed_at: datetime | None = None


async def _links(
    session: AsyncSession, batch: int = 2000
) -> AsyncIterator[tuple[AuditSeal, AuditEntry | None]]:
    after = 0
    while True:
        rows = (
            await session.execute(
                select(AuditSeal, AuditEntry)
                .outerjoin(AuditEntry, AuditEntry.id == AuditSeal.entry_id)
                .where(AuditSeal.seq > after)
                .order_by(AuditSeal.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        for seal, entry in rows:
            yield seal, entry
        after = rows[-1][0].seq
        session.expunge_all()


async def _walk(session: AsyncSession) -> VerifyResult:
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    async for seal, entry in _links(session):
        if seal.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, "missing link (seal deleted)")
        if seal.prev_hash != prev_hash:
            return VerifyResult(False, checked, seal.seq, "chain broken (reordered or replaced)")
        if entry is None:
            return VerifyResult(False, checked, seal.seq, "missing entry (deleted)")
        if compute_hash(entry, seq=seal.seq, prev_hash=prev_hash) != seal.entry_hash:
            return VerifyResult(False, checked, seal.seq, "content changed (edited)")
        prev_hash = seal.entry_hash
        expected_seq += 1
        checked += 1
    return VerifyResult(True, checked)


async def verify_chain(session: AsyncSession, clock: Clock) -> VerifyResult:
    """Walk the links in order and name the first entry that was edited, deleted or reordered;
    then count the entries not sealed yet, and fail if one is older than ``SEAL_WITHIN``."""
    walked = await _walk(session)
    if not walked.ok:
        return walked
    cutoff = clock.now() - SEAL_WITHIN
    unsealed, late = (
        await session.execute(
            select(func.count(), func.count().filter(AuditEntry.occurred_at < cutoff)).where(
                _unsealed()
            )
        )
    ).one()
    if not unsealed:
        return walked
    oldest = (
        await session.execute(
            select(AuditEntry.id, AuditEntry.occurred_at)
            .where(_unsealed())
            .order_by(AuditEntry.occurred_at, AuditEntry.id)
            .limit(1)
        )
    ).first()
    if oldest is None:  # a sealer running beside this check sealed them in between
        return walked
    return VerifyResult(
        ok=not late,
        checked=walked.checked,
        reason=(
            f"not sealed within {SEAL_WITHIN.seconds // 60} minutes (the sealer is not "
            "running, or seals were removed)"
            if late
            else ""
        ),
        unsealed=unsealed,
        late=late,
        oldest_unsealed_id=oldest.id,
        oldest_unsealed_at=oldest.occurred_at,
    )
