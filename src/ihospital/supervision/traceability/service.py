"""Opening a case: the timeline of a consultation or prescription for a regulator of its region,
an admin of its institution or a platform admin, with the audit chain checked (R13).

The case's reader gives its domain events; the audit entries about its subjects, the
supervision alerts about them and the reporting-feed deliveries are added here, and everything
is put in time order. The whole audit chain is sealed and walked (as ``ihospital audit verify``
does), and each entry the case relies on is given with its link (``seq``, hash) and whether that
link still matches the entry, so anyone can check the case file against the chain. A case
outside the reader's region or institution is not found, exactly like a case that does not
exist. Every opening and every export is itself audited, naming the 就诊人.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.chain import compute_hash, seal_all, verify_chain
from ihospital.audit.models import AuditEntry, AuditSeal
from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.core.i18n import gettext
from ihospital.directory.access import get_institution_row, may_manage
from ihospital.directory.models import Institution
from ihospital.directory.regions import covers
from ihospital.errors import NotFound
from ihospital.identity.accounts import account_names
from ihospital.security.permissions import Role
from ihospital.supervision.models import SupervisionAlert
from ihospital.supervision.reporting.models import ReportRecord
from ihospital.supervision.traceability import (  # noqa: F401 (importing registers the kinds)
    consultation_case,
    prescription_case,
)
from ihospital.supervision.traceability.kinds import (
    AUDIT,
    KINDS,
    RECORD,
    CaseEvent,
    CaseKind,
    CaseSubject,
)

CASE_KIND_UNKNOWN_MESSAGE = "There is no kind of case called {kind}; choose one of {known}."
CASE_NOT_FOUND_MESSAGE = "Case {case_id} ({kind_name}) was not found."
CASE_REFERENCE_NOT_FOUND_MESSAGE = "No case ({kind_name}) has the number or id {reference}."
EXPORTS = ("pdf", "json")


@dataclass(frozen=True)
class AuditLink:
    """An audit entry the case relies on, with its link in the chain; ``intact`` is whether the
    link's hash still matches the entry (None while the entry waits to be sealed)."""

    entry_id: int
    occurred_at: datetime
    action: str
    seq: int | None
    entry_hash: str | None
    prev_hash: str | None
    intact: bool | None


@dataclass(frozen=True)
class ChainStatus:
    """The outcome of walking the whole audit chain; ``first_bad_entry_id`` names the entry at
    the first broken link."""

    verified: bool
    checked: int
    first_bad_seq: int | None
    first_bad_entry_id: int | None
    reason: str
    unsealed: int


@dataclass(frozen=True)
class CaseFile:
    subject: CaseSubject
    title: str
    institution_name: str
    region_code: str
    events: list[CaseEvent]
    actors: dict[int, str]
    audit: list[AuditLink]
    chain: ChainStatus
    generated_at: datetime

    @property
    def tampered_entries(self) -> list[int]:
        """The case's own entries whose link no longer matches them."""
        return [link.entry_id for link in self.audit if link.intact is False]


def case_kind(kind: str) -> CaseKind:
    """The registered kind ``kind``, or 404 naming the kinds there are."""
    found = KINDS.get(kind)
    if found is None:
        raise NotFound(
            "supervision.case_kind_unknown",
            CASE_KIND_UNKNOWN_MESSAGE,
            kind=kind,
            known=", ".join(sorted(KINDS)),
        )
    return found


def case_not_found(kind: CaseKind, case_id: int) -> NotFound:
    return NotFound(
        "supervision.case_not_found",
        CASE_NOT_FOUND_MESSAGE,
        kind=kind.name,
        kind_name=gettext(kind.title),
        case_id=case_id,
    )


def may_read(actor: Actor, institution: Institution) -> bool:
    """Regulators read the cases of their region, institution admins those of their
    institution, platform admins all."""
    if actor.role == Role.REGULATOR:
        return covers(actor.region_code, institution.region_code)
    return may_manage(actor, institution.id)


async def find_case(session: AsyncSession, *, kind: str, reference: str) -> int:
    """The id of the case that ``reference`` names: its number (a prescription's) or its id.
    Finding is not reading: the case is scoped and audited when it is opened."""
    found = case_kind(kind)
    text = reference.strip()
    case_id = await found.find(session, text) if found.find else None
    if case_id is None and text.isdigit() and len(text) <= 18:
        case_id = int(text)
    if case_id is None:
        raise NotFound(
            "supervision.case_reference_not_found",
            CASE_REFERENCE_NOT_FOUND_MESSAGE,
            kind=kind,
            kind_name=gettext(found.title),
            reference=text,
        )
    return case_id


def _audit_condition(subjects: dict[str, set[int]]):
    return or_(
        *(
            and_(AuditEntry.subject_type == subject_type, AuditEntry.subject_id.in_(ids))
            for subject_type, ids in subjects.items()
            if ids
        )
    )


async def _alerts(session: AsyncSession, case: CaseSubject) -> list[SupervisionAlert]:
    alerts = list(
        await session.scalars(
            select(SupervisionAlert)
            .where(
                SupervisionAlert.subject.in_(sorted(case.alert_subjects)),
                SupervisionAlert.institution_id == case.institution_id,
            )
            .order_by(SupervisionAlert.id)
        )
    )
    for alert in alerts:
        subject = f"supervision_alert:{alert.id}"
        about = {"rule_id": alert.rule_id, "subject": alert.subject, "severity": alert.severity}
        steps = [
            (alert.opened_at, "supervision.alert_opened", None, about),
            (
                alert.acknowledged_at,
                "supervision.alert_acknowledged",
                alert.acknowledged_by_account_id,
                about,
            ),
            (
                alert.resolved_at,
                "supervision.alert_resolved",
                alert.resolved_by_account_id,
                {**about, "note": alert.resolution_note},
            ),
        ]
        for at, action, account_id, details in steps:
            if at is not None:
                case.events.append(
                    CaseEvent(at, RECORD, action, subject, account_id, details=details)
                )
    return alerts


async def _feed(session: AsyncSession, case: CaseSubject) -> None:
    rows = await session.scalars(
        select(ReportRecord)
        .where(
            or_(
                *(
                    and_(ReportRecord.kind == kind, ReportRecord.subject_id.in_(ids))
                    for kind, ids in case.feed_subjects.items()
                )
            ),
            ReportRecord.institution_id == case.institution_id,
        )
        .order_by(ReportRecord.sequence)
    )
    for row in rows:
        subject = f"reporting_record:{row.id}"
        about = {"idempotency_key": row.idempotency_key, "event": row.event}
        steps = [
            (row.created_at, "reporting.record_queued", about),
            (row.delivered_at, "reporting.record_delivered", about),
            (
                row.rejected_at,
                "reporting.record_rejected",
                {**about, "reject_code": row.reject_code, "reject_reason": row.reject_reason},
            ),
        ]
        for at, action, details in steps:
            if at is not None:
                case.events.append(
                    CaseEvent(at, RECORD, action, subject, version=row.version, details=details)
                )


async def _audit_links(
    session: AsyncSession, case: CaseSubject
) -> tuple[list[CaseEvent], list[AuditLink]]:
    subjects = {
        subject_type: {str(i) for i in ids} for subject_type, ids in case.audit_subjects.items()
    }
    rows = (
        await session.execute(
            select(AuditEntry, AuditSeal)
            .outerjoin(AuditSeal, AuditSeal.entry_id == AuditEntry.id)
            .where(_audit_condition(subjects))  # type: ignore[arg-type]
            .order_by(AuditEntry.id)
        )
    ).all()
    events, links = [], []
    for entry, seal in rows:
        events.append(
            CaseEvent(
                entry.occurred_at,
                AUDIT,
                entry.action,
                f"{entry.subject_type}:{entry.subject_id}",
                entry.actor_account_id,
                entry.actor_role,
                details=json.loads(entry.details or "{}"),
                audit_entry_id=entry.id,
            )
        )
        intact = None
        if seal is not None:
            intact = compute_hash(entry, seq=seal.seq, prev_hash=seal.prev_hash) == seal.entry_hash
        links.append(
            AuditLink(
                entry.id,
                entry.occurred_at,
                entry.action,
                seal.seq if seal else None,
                seal.entry_hash if seal else None,
                seal.prev_hash if seal else None,
                intact,
            )
        )
    return events, links


async def _chain(session: AsyncSession, actor: Actor) -> ChainStatus:
    result = await verify_chain(session, actor.clock)
    bad_entry = None
    if result.first_bad_seq is not None:
        bad_entry = await session.scalar(
            select(AuditSeal.entry_id).where(AuditSeal.seq == result.first_bad_seq)
        )
    elif not result.ok:
        bad_entry = result.oldest_unsealed_id
    return ChainStatus(
        verified=result.ok,
        checked=result.checked,
        first_bad_seq=result.first_bad_seq,
        first_bad_entry_id=bad_entry,
        reason=result.reason,
        unsealed=result.unsealed,
    )


async def open_case(
    session: AsyncSession, actor: Actor, *, kind: str, case_id: int, delivered_as: str = "api"
) -> CaseFile:
    """The timeline of case ``case_id`` of ``kind`` with the audit chain checked, for a reader
    who may see it (404 otherwise, as for a case that does not exist); the reading is audited
    with the format it was delivered in (``page``, ``api``, ``pdf``, ``json``)."""
    found = case_kind(kind)
    case = await found.read(session, case_id)
    if case is None:
        raise case_not_found(found, case_id)
    institution = await get_institution_row(session, case.institution_id)
    if not may_read(actor, institution):
        raise case_not_found(found, case_id)
    alerts = await _alerts(session, case)
    case.audit_subjects.setdefault("supervision_alert", set()).update(a.id for a in alerts)
    await _feed(session, case)
    await seal_all(session, actor.clock)
    audit_events, links = await _audit_links(session, case)
    chain = await _chain(session, actor)
    events = sorted(
        [*case.events, *audit_events],
        key=lambda event: (event.at, event.source != RECORD, event.audit_entry_id or 0),
    )
    actor_ids = {event.actor_account_id for event in events if event.actor_account_id}
    await record(
        session,
        actor,
        action="supervision.case_exported" if delivered_as in EXPORTS else "supervision.case_read",
        subject_type=kind,
        subject_id=case_id,
        patient_id=case.patient_id,
        details={
            "format": delivered_as,
            "audit_entries": len(links),
            "chain_verified": chain.verified,
        },
    )
    return CaseFile(
        subject=case,
        title=found.title,
        institution_name=institution.name,
        region_code=institution.region_code,
        events=events,
        actors=await account_names(session, actor_ids),
        audit=links,
        chain=chain,
        generated_at=actor.clock.now(),
    )
