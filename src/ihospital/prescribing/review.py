"""The pharmacist's review of prescriptions (审方).

A prescription is valid only after a pharmacist of its institution approves it (R06). The
pharmacist works through the queue of the institution's prescriptions waiting for review, oldest
first; opening one (an audited read of health data, R13) shows its items, diagnoses, the
patient's age, sex and allergies (the structured list and the latest signed record's text, as
the prescribing checks read them), and whether its signature still verifies
(:func:`~ihospital.prescribing.verification.check_signature`). A prescription whose signature does
not verify cannot be approved. A rejection names one or more
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
from ihospital.core.context import Actor
from ihospital.directory.access import practitioner_account_id, practitioners_by_id
from ihospital.directory.validation import is_long_text
from ihospital.errors import Conflict, Forbidden, Unprocessable
from ihospital.outbox.service import emit
from ihospital.prescribing.allergies import KnownAllergies, patient_allergies
from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.repository import prescription_items, prescription_not_found
from ihospital.prescribing.review_codes import checked_reasons
from ihospital.prescribing.verification import SignatureCheck, check_signature

APPROVED = "prescribing.prescription_approved"
REJECTED = "prescribing.prescription_rejected"
PENDING = "pending_review"
DECISIONS = {"approve": "approved", "reject": "rejected"}
NOTE_MAX_LENGTH = 500
QUEUE_LIMIT = 200
PRESCRIPTION_DECISION_MESSAGE = "Approve or reject the prescription."
NOTE_MESSAGE = "Write the note in at most {limit} characters, without control characters."
SIGNATURE_MESSAGES = {
    "unknown_key": (
        "The prescription was signed with a key that is not the doctor's; it cannot be approved."
    ),
    "content_changed": (
        "The prescription was changed after the doctor signed it; it cannot be approved."
    ),
    "signature_invalid": (
        "The prescription's signature does not verify with the doctor's key; it cannot be approved."
    ),
}


@dataclass(frozen=True)
class Prescriber:
    practitioner_id: int
    name: str
    title: str
    account_id: int


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
    allergies: KnownAllergies
    signature: SignatureCheck
    waited: timedelta


async def prescribers(session: AsyncSession, ids: Sequence[int]) -> dict[int, Prescriber]:
    """The doctors who wrote prescriptions, by practitioner id, from the directory."""
    return {
        doctor.id: Prescriber(doctor.id, doctor.name, doctor.title, doctor.account_id)
        for doctor in (await practitioners_by_id(session, ids)).values()
    }


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
    items, the prescriber, the patient's allergies (recorded list and signed record) and the
    signature check (the read is audited, R13)."""
    prescription = await _institution_prescription(session, actor, prescription_id)
    items = await prescription_items(session, prescription.id)
    await audit_read(session, actor, prescription, purpose="review")
    doctors = await prescribers(session, [prescription.prescriber_id])
    return ReviewView(
        prescription=prescription,
        items=items,
        prescriber=doctors.get(prescription.prescriber_id),
        allergies=await patient_allergies(session, prescription.patient_id),
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
        if check.reason is not None:
            raise Unprocessable(
                "prescribing.signature_invalid",
                SIGNATURE_MESSAGES[check.reason],
                reason=check.reason,
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
        "appointment_id": prescription.appointment_id,
        "reviewed_by_account_id": prescription.reviewed_by_account_id,
        "at": actor.clock.now().isoformat(),
        **details,
    }
    await emit(session, actor, topic=topic, payload=payload)
