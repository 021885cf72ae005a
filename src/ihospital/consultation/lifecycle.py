"""A patient account's consultations: start one for one of its 就诊人, follow, confirm the
guardian's presence, cancel (the doctor's side is :mod:`.workstation`).

Only verified doctors allowed to serve online at the institution are chosen (R05); the fee is the
doctor's price for the type there. With an earlier offline diagnosis the consultation may become
diagnostic once the doctor confirms it (R01); without, it is a health consultation (健康咨询).
A child under 6 needs the guardian's presence confirmed before a doctor accepts (R11).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.campaigns.places import take_place
from ihospital.consultation.events import GUARDIAN_CONFIRMED, STARTED, transition
from ihospital.consultation.guardians import checked_guardian, keep_guardian
from ihospital.consultation.matching import first_available_doctor
from ihospital.consultation.models import Consultation
from ihospital.consultation.payment import bill_fee
from ihospital.consultation.prices import check_type, fee_of
from ihospital.consultation.states import (
    begin_waiting,
    cancel,
    locked_consultation,
    not_found,
    wrong_status,
)
from ihospital.core.context import Actor
from ihospital.directory.eligibility import require_online_service
from ihospital.directory.validation import is_long_text, is_plain_text
from ihospital.errors import Conflict, Unprocessable
from ihospital.identity.patients import lock_patient_for_action, patient_age
from ihospital.security.crypto import FieldCipher

COMPLAINT_MAX_LENGTH = 1000
GUARDIAN_AGE_LIMIT = 6  # R11: children under 6
SCHEDULE_DAYS_AHEAD = 30
COMPLAINT_MESSAGE = "Describe the complaint in 1 to {limit} characters."
PRIOR_MESSAGE = (
    "Give the earlier diagnosis completely (institution, date and diagnosis), or leave it out."
)
PRIOR_DATE_MESSAGE = "The earlier diagnosis cannot be dated in the future."
DOCTOR_OR_DEPARTMENT_MESSAGE = "Choose either a doctor or a department, not both."
SCHEDULE_MESSAGE = "A time can be booked only for a video consultation, within {days} days."


@dataclass(frozen=True)
class PriorDiagnosis:
    """An earlier offline diagnosis (门诊/住院病历, 出院小结, 诊断证明) the patient gives (R01)."""

    institution: str
    diagnosed_on: date
    diagnosis: str


def _checked_complaint(complaint: str) -> str:
    complaint = complaint.strip()
    if not 1 <= len(complaint) <= COMPLAINT_MAX_LENGTH or not is_long_text(complaint):
        raise Unprocessable(
            "consultation.complaint_invalid",
            COMPLAINT_MESSAGE,
            field="complaint",
            limit=COMPLAINT_MAX_LENGTH,
        )
    return complaint


def _checked_prior(prior: PriorDiagnosis, today: date) -> PriorDiagnosis:
    institution, diagnosis = prior.institution.strip(), prior.diagnosis.strip()
    if not (
        1 <= len(institution) <= 128
        and 1 <= len(diagnosis) <= 500
        and is_plain_text(institution)
        and is_long_text(diagnosis)
    ):
        raise Unprocessable("consultation.prior_incomplete", PRIOR_MESSAGE, field="prior_diagnosis")
    if prior.diagnosed_on > today:
        raise Unprocessable(
            "consultation.prior_in_future", PRIOR_DATE_MESSAGE, field="prior_diagnosis"
        )
    return PriorDiagnosis(institution, prior.diagnosed_on, diagnosis)


def _check_schedule(consultation_type: str, scheduled_at: datetime | None, now: datetime) -> None:
    if scheduled_at is None:
        return
    if (
        consultation_type != "video"
        or scheduled_at.tzinfo is None
        or not now < scheduled_at <= now + timedelta(days=SCHEDULE_DAYS_AHEAD)
    ):
        raise Unprocessable(
            "consultation.schedule_invalid",
            SCHEDULE_MESSAGE,
            field="scheduled_at",
            days=SCHEDULE_DAYS_AHEAD,
        )


async def start_consultation(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_id: int,
    institution_id: int,
    consultation_type: str,
    complaint: str,
    practitioner_id: int | None = None,
    department_code: str | None = None,
    prior: PriorDiagnosis | None = None,
    scheduled_at: datetime | None = None,
    campaign_id: int | None = None,
) -> Consultation:
    """Start a consultation of one of the account's 就诊人 (another account's is not found) with
    a doctor allowed to serve online at the institution (R05) — the chosen one, or the first
    available of ``department_code`` — for the doctor's price of the type there. With a fee it
    awaits payment; without, it waits for the doctor at once. In a running 义诊 campaign
    (``campaign_id``) it is free and takes one of the doctor's places of the day. One open
    consultation per 就诊人 and doctor."""
    check_type(consultation_type)
    complaint = _checked_complaint(complaint)
    now, today = actor.clock.now(), actor.clock.today_local()
    prior = None if prior is None else _checked_prior(prior, today)
    _check_schedule(consultation_type, scheduled_at, now)
    patient = await lock_patient_for_action(session, actor, patient_id=patient_id)
    if not patient.is_active:
        raise Conflict(
            "consultation.patient_removed",
            "This patient has been removed and cannot start a consultation.",
            field="patient_id",
        )
    if (practitioner_id is None) == (department_code is None):
        raise Unprocessable(
            "consultation.doctor_or_department",
            DOCTOR_OR_DEPARTMENT_MESSAGE,
            field="practitioner_id",
        )
    if practitioner_id is None:
        practitioner_id = await first_available_doctor(
            session,
            actor,
            institution_id=institution_id,
            department_code=department_code,
            consultation_type=consultation_type,
        )
    await require_online_service(
        session, actor, practitioner_id=practitioner_id, institution_id=institution_id
    )
    place = None
    if campaign_id is not None:
        place = await take_place(
            session,
            actor,
            campaign_id=campaign_id,
            practitioner_id=practitioner_id,
            institution_id=institution_id,
            consultation_type=consultation_type,
        )
    fee = (
        0
        if place
        else await fee_of(
            session,
            practitioner_id=practitioner_id,
            institution_id=institution_id,
            consultation_type=consultation_type,
        )
    )
    if fee is None:
        raise Conflict(
            "consultation.type_not_offered",
            "This doctor does not offer this type of consultation here.",
            field="consultation_type",
        )
    age = patient_age(patient, today)
    consultation = Consultation(
        account_id=actor.account_id,
        patient_id=patient.id,
        practitioner_id=practitioner_id,
        institution_id=institution_id,
        consultation_type=consultation_type,
        status="awaiting_payment" if fee else "waiting",
        complaint=complaint,
        fee_fen=fee,
        patient_name=patient.name,
        patient_sex=patient.sex,
        patient_age=age,
        patient_verified=patient.realname_status == "verified",
        prior_institution=None if prior is None else prior.institution,
        prior_diagnosed_on=None if prior is None else prior.diagnosed_on,
        prior_diagnosis=None if prior is None else prior.diagnosis,
        guardian_required=age < GUARDIAN_AGE_LIMIT,
        scheduled_at=scheduled_at,
        created_at=now,
        campaign_id=campaign_id,
        campaign_day_id=None if place is None else place.id,
    )
    try:
        async with session.begin_nested():
            session.add(consultation)
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "consultation.already_open",
            "This patient already has an open consultation with this doctor.",
            field="practitioner_id",
        ) from None
    if fee:
        await bill_fee(session, actor, consultation=consultation)
    else:
        await begin_waiting(session, actor, consultation)
    campaign = {} if campaign_id is None else {"campaign_id": campaign_id}
    await transition(session, actor, consultation, topic=STARTED, fee_fen=fee, **campaign)
    return consultation


async def own_consultation(
    session: AsyncSession, actor: Actor, consultation_id: int, *, for_update: bool = False
) -> Consultation:
    """A consultation of the actor's account; anyone else's is not found."""
    if for_update:
        consultation = await locked_consultation(session, consultation_id)
    else:
        consultation = await session.get(Consultation, consultation_id)
    if consultation is None or consultation.account_id != actor.account_id:
        raise not_found(consultation_id)
    return consultation


async def get_consultation(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> Consultation:
    """One consultation of the account's 就诊人 (the read is audited)."""
    consultation = await own_consultation(session, actor, consultation_id)
    await audit_read(session, actor, consultation)
    return consultation


async def audit_read(session: AsyncSession, actor: Actor, consultation: Consultation) -> None:
    """Record that ``actor`` read the consultation's content (R13)."""
    await record(
        session,
        actor,
        action="consultation.read",
        subject_type="consultation",
        subject_id=consultation.id,
        patient_id=consultation.patient_id,
    )


async def list_consultations(session: AsyncSession, actor: Actor) -> Sequence[Consultation]:
    """The consultations of the account's 就诊人, newest first (the listing is audited)."""
    consultations = (
        await session.scalars(
            select(Consultation)
            .where(Consultation.account_id == actor.account_id)
            .order_by(Consultation.created_at.desc(), Consultation.id.desc())
        )
    ).all()
    await record(
        session,
        actor,
        action="consultation.list",
        subject_type="account",
        subject_id=actor.account_id,
        details={"consultation_ids": [consultation.id for consultation in consultations]},
    )
    return consultations


async def confirm_guardian(
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_id: int,
    guardian_name: str,
    relationship: str,
    id_number: str,
    cipher: FieldCipher,
) -> Consultation:
    """Confirm that the guardian of a child under 6 is present for the consultation, with
    their identity: name, relationship and ID number (stored encrypted, R11)."""
    consultation = await own_consultation(session, actor, consultation_id, for_update=True)
    guardian = checked_guardian(
        guardian_name, relationship, id_number, today=actor.clock.today_local()
    )
    if not consultation.guardian_required:
        raise Conflict(
            "consultation.guardian_not_required",
            "Only a consultation for a child under 6 needs a guardian's confirmation.",
        )
    if consultation.status not in ("awaiting_payment", "waiting", "in_progress"):
        raise wrong_status(consultation)
    keep_guardian(consultation, guardian, cipher)
    consultation.guardian_confirmed_at = actor.clock.now()
    await transition(
        session,
        actor,
        consultation,
        topic=GUARDIAN_CONFIRMED,
        guardian_id_number=guardian.id_number_masked,
    )
    return consultation


async def cancel_consultation(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> Consultation:
    """The patient cancels a consultation no doctor has begun; a paid fee is refunded."""
    consultation = await own_consultation(session, actor, consultation_id, for_update=True)
    if consultation.status not in ("awaiting_payment", "waiting"):
        raise Conflict(
            "consultation.not_cancellable",
            "Only a consultation that has not begun can be cancelled.",
        )
    await cancel(session, actor, consultation, reason="patient")
    return consultation
