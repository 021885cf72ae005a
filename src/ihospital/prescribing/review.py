"""The pharmacist's review of prescriptions (审方).

A prescription is valid only after a pharmacist of its institution approves it (R06). The
pharmacist works through the queue of the institution's prescriptions waiting for review, oldest
first; opening one (an audited read of health data, R13) shows its items, diagnoses, the
patient's age, sex and recorded allergies, and whether its signature still verifies. A
prescription whose signature does not verify cannot be approved. A rejection names one or more
reasons of the review standard (R20, :mod:`.review_codes`) and may add a note.

Nobody reviews a prescription of another institution (it is not found) nor one they wrote
themselves (the prescriber's account is the reviewer's, say a doctor also working as a
pharmacist). Only a prescription waiting for review is decided, by a conditional UPDATE, so of
two concurrent decisions exactly one wins and the other is told the prescription was decided.
Each decision is audited and published (``prescribing.prescription_approved`` /
``prescribing.prescription_rejected``) in its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.records.repository import latest_record
from ihospital.core.context import Actor
from ihospital.directory.access import practitioner_account_id
from ihospital.directory.models import Practitioner
from ihospital.directory.validation import is_long_text
from ihospital.errors import Conflict, Forbidden, NotFound, Unprocessable
from ihospital.outbox.service import emit
from ihospital.prescribing.documents import signed_content
from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.review_codes import checked_reasons
from ihospital.security.signing import canonical_json, sha256_hex, signing_key, verify

APPROVED = "prescribing.prescription_approved"
REJECTED = "prescribing.prescription_rejected"
PENDING = "pending_review"
DECISIONS = {"approve": "approved", "reject": "rejected"}
NOTE_MAX_LENGTH = 500
QUEUE_LIMIT = 200
PRESCRIPTION_DECISION_MESSAGE = "Approve or reject the prescription."
NOTE_MESSAGE = "Write the note in at most {limit} characters, without control characters."
SIGNATURE_MESSAGES = {
    "content_changed": (
        "The prescription was changed after the doctor signed it; it cannot be approved."
    ),
    "signature_invalid": (
        "The prescription's signature does not verify with the doctor's key; it cannot be approved."
    ),
}


def prescription_not_found(prescription_id: int) -> NotFound:
    return NotFound(
        "prescribing.prescription_not_found",
        "Prescription {prescription_id} was not found.",
        prescription_id=prescription_id,
    )


@dataclass(frozen=True)
class Prescriber:
    practitioner_id: int
    name: str
    title: str
    account_id: int


@dataclass(frozen=True)
class SignatureCheck:
    """Whether the stored content still hashes to ``content_sha256`` and the signature over it
    holds with the prescriber's public key; ``problem`` names what fails, if anything."""

    content_intact: bool
    signature_valid: bool

    @property
    def valid(self) -> bool:
        return self.content_intact and self.signature_valid

    @property
    def problem(self) -> str | None:
        if not self.content_intact:
            return "content_changed"
        return None if self.signature_valid else "signature_invalid"


@dataclass(frozen=True)
class QueueEntry:
    """A prescription waiting for review, how long it has waited and the doctor who wrote it."""

    prescription: Prescription
    waited: timedelta
    prescriber: Prescriber | None


@dataclass(frozen=True)
class ReviewView:
    """What the pharmacist sees of one prescription."""

    prescription: Prescription
    items: list[PrescriptionItem]
    prescriber: Prescriber | None
    allergies: str | None
    signature: SignatureCheck
    waited: timedelta


async def prescribers(session: AsyncSession, ids: Sequence[int]) -> dict[int, Prescriber]:
    """The doctors who wrote prescriptions, by practitioner id, in one query."""
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Practitioner.id, Practitioner.name, Practitioner.title, Practitioner.account_id
        ).where(Practitioner.id.in_(set(ids)))
    )
    return {row[0]: Prescriber(*row) for row in rows}


async def prescription_items(session: AsyncSession, prescription_id: int) -> list[PrescriptionItem]:
    return list(
        await session.scalars(
            select(PrescriptionItem)
            .where(PrescriptionItem.prescription_id == prescription_id)
            .order_by(PrescriptionItem.position)
        )
    )


async def check_signature(
    session: AsyncSession, prescription: Prescription, items: Sequence[PrescriptionItem]
) -> SignatureCheck:
    """Verify the prescription's signature over its signed document (R06)."""
    message = canonical_json(signed_content(prescription, items))
    key = await signing_key(session, key_id=prescription.signing_key_id)
    signed = (
        key is not None
        and key.practitioner_id == prescription.prescriber_id
        and verify(key.public_key, message=message, signature=prescription.signature)
    )
    return SignatureCheck(sha256_hex(message) == prescription.content_sha256, signed)


def waited(prescription: Prescription, now: datetime) -> timedelta:
    """How long the prescription waited for review: until its decision, or until now."""
    return (prescription.reviewed_at or now) - prescription.issued_at


async def review_queue(session: AsyncSession, actor: Actor) -> list[QueueEntry]:
    """The prescriptions of the pharmacist's institution waiting for review, oldest first, with
    their wait (the listing is audited)."""
    prescriptions = list(
        await session.scalars(
            select(Prescription)
            .where(
                Prescription.institution_id == actor.institution_id,
                Prescription.status == PENDING,
            )
            .order_by(Prescription.issued_at, Prescription.id)
            .limit(QUEUE_LIMIT)
        )
    )
    await record(
        session,
        actor,
        action="prescribing.review_queue_read",
        subject_type="institution",
        subject_id=actor.institution_id,
        details={"prescription_ids": [p.id for p in prescriptions]},
    )
    doctors = await prescribers(session, [p.prescriber_id for p in prescriptions])
    now = actor.clock.now()
    return [QueueEntry(p, waited(p, now), doctors.get(p.prescriber_id)) for p in prescriptions]


async def _institution_prescription(
    session: AsyncSession, actor: Actor, prescription_id: int
) -> Prescription:
    """A prescription of the reviewer's institution; another institution's is not found."""
    prescription = await session.get(Prescription, prescription_id)
    if prescription is None or prescription.institution_id != actor.institution_id:
        raise prescription_not_found(prescription_id)
    return prescription


async def audit_read(
    session: AsyncSession, actor: Actor, prescription: Prescription, **details: object
) -> None:
    """Record that ``actor`` read the prescription's health data (R13)."""
    await record(
        session,
        actor,
        action="prescription.read",
        subject_type="prescription",
        subject_id=prescription.id,
        patient_id=prescription.patient_id,
        details=details,
    )


async def open_for_review(
    session: AsyncSession, actor: Actor, *, prescription_id: int
) -> ReviewView:
    """One prescription of the pharmacist's institution with everything the review needs: its
    items, the prescriber, the allergies of the consultation's signed record and the signature
    check (the read is audited, R13)."""
    prescription = await _institution_prescription(session, actor, prescription_id)
    items = await prescription_items(session, prescription.id)
    medical_record = (
        await latest_record(session, prescription.consultation_id)
        if prescription.consultation_id is not None
        else None
    )
    await audit_read(session, actor, prescription, purpose="review")
    doctors = await prescribers(session, [prescription.prescriber_id])
    return ReviewView(
        prescription=prescription,
        items=items,
        prescriber=doctors.get(prescription.prescriber_id),
        allergies=medical_record.allergies if medical_record else None,
        signature=await check_signature(session, prescription, items),
        waited=waited(prescription, actor.clock.now()),
    )


def _checked_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if not note:
        return None
    if len(note) > NOTE_MAX_LENGTH or not is_long_text(note):
        raise Unprocessable(
            "prescribing.note_invalid", NOTE_MESSAGE, field="note", limit=NOTE_MAX_LENGTH
        )
    return note


def _already_decided(status: str) -> Conflict:
    return Conflict(
        "prescribing.already_decided",
        "This prescription is no longer waiting for review.",
        prescription_status=status,
    )


async def decide_prescription(
    session: AsyncSession,
    actor: Actor,
    *,
    prescription_id: int,
    decision: str,
    reasons: Sequence[str] = (),
    note: str | None = None,
) -> Prescription:
    """Approve a prescription of the pharmacist's institution, or reject it with coded reasons
    (R06, R20). Refused: a prescription of another institution (not found), one the reviewer
    wrote, one no longer waiting for review, an approval of one whose signature fails."""
    if decision not in DECISIONS:
        raise Unprocessable(
            "prescribing.decision_invalid", PRESCRIPTION_DECISION_MESSAGE, field="decision"
        )
    codes = checked_reasons(reasons, decision=decision)
    note = _checked_note(note)
    prescription = await _institution_prescription(session, actor, prescription_id)
    if prescription.status != PENDING:
        raise _already_decided(prescription.status)
    if await practitioner_account_id(session, prescription.prescriber_id) == actor.account_id:
        raise Forbidden(
            "prescribing.own_prescription",
            "You wrote this prescription; another pharmacist must review it.",
        )
    if decision == "approve":
        check = await check_signature(
            session, prescription, await prescription_items(session, prescription.id)
        )
        if check.problem is not None:
            raise Unprocessable(
                "prescribing.signature_invalid",
                SIGNATURE_MESSAGES[check.problem],
                reason=check.problem,
            )
    now = actor.clock.now()
    changed = await session.execute(
        update(Prescription)
        .where(Prescription.id == prescription.id, Prescription.status == PENDING)
        .values(
            status=DECISIONS[decision],
            reviewed_by_account_id=actor.account_id,
            reviewed_at=now,
            rejection_codes=codes or None,
            review_note=note,
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        await session.refresh(prescription)
        raise _already_decided(prescription.status)
    await session.refresh(prescription)
    await _published(session, actor, prescription)
    return prescription


async def _published(session: AsyncSession, actor: Actor, prescription: Prescription) -> None:
    """Audit the decision and publish it (R13)."""
    topic = APPROVED if prescription.status == "approved" else REJECTED
    details = {
        "status": prescription.status,
        "reasons": prescription.rejection_codes or [],
        "note": prescription.review_note,
        "review_seconds": int(waited(prescription, actor.clock.now()).total_seconds()),
    }
    await record(
        session,
        actor,
        action=topic,
        subject_type="prescription",
        subject_id=prescription.id,
        patient_id=prescription.patient_id,
        details=details,
    )
    payload = {
        "topic": topic,
        "prescription_id": prescription.id,
        "number": prescription.number,
        "institution_id": prescription.institution_id,
        "patient_id": prescription.patient_id,
        "prescriber_id": prescription.prescriber_id,
        "consultation_id": prescription.consultation_id,
        "reviewed_by_account_id": prescription.reviewed_by_account_id,
        "at": actor.clock.now().isoformat(),
        **details,
    }
    await emit(session, actor, topic=topic, payload=payload)
