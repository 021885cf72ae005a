"""The doctor's side of a consultation: the queue, accept, confirm the earlier diagnosis,
transfer to a colleague, close.

A doctor sees and acts on only the consultations assigned to them; any other is not found. A
doctor must be allowed to serve online at the consultation's institution when accepting (R05).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.chat import share_patient_files
from ihospital.consultation.chat_store import post_notice
from ihospital.consultation.duty import require_work_session
from ihospital.consultation.events import (
    ACCEPTED,
    DIAGNOSIS_CONFIRMED,
    TRANSFERRED,
    is_diagnostic,
    transition,
)
from ihospital.consultation.guardians import (
    accompany_if_paediatric,
    name_accompanying,
    require_accompanied,
)
from ihospital.consultation.lifecycle import audit_read
from ihospital.consultation.models import Consultation
from ihospital.consultation.prices import check_type
from ihospital.consultation.records.repository import latest_record
from ihospital.consultation.states import (
    arm_inactivity,
    begin_waiting,
    close,
    locked_consultation,
    not_found,
    wrong_status,
)
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner
from ihospital.directory.eligibility import require_online_service
from ihospital.directory.validation import is_long_text
from ihospital.errors import Conflict, RuleViolation, Unprocessable

ADVICE_MAX_LENGTH = 2000
ADVICE_MESSAGE = "Write the advice in 1 to {limit} characters."


async def assigned_consultation(
    session: AsyncSession, actor: Actor, consultation_id: int, *, for_update: bool = True
) -> Consultation:
    """A consultation assigned to the signed-in doctor; any other is not found. To change it
    (``for_update``) the doctor needs a valid working session (R04)."""
    doctor = await own_practitioner(session, actor)
    if for_update:
        consultation = await locked_consultation(session, consultation_id)
    else:
        consultation = await session.get(Consultation, consultation_id)
    if consultation is None or consultation.practitioner_id != doctor.id:
        raise not_found(consultation_id)
    if for_update:
        await require_work_session(session, actor, doctor)
    return consultation


async def doctor_queue(
    session: AsyncSession, actor: Actor, *, consultation_type: str | None = None
) -> Sequence[Consultation]:
    """The consultations waiting for the signed-in doctor, longest waiting first, of one type
    when asked (the read is audited)."""
    doctor = await own_practitioner(session, actor)
    query = select(Consultation).where(
        Consultation.practitioner_id == doctor.id, Consultation.status == "waiting"
    )
    if consultation_type is not None:
        check_type(consultation_type)
        query = query.where(Consultation.consultation_type == consultation_type)
    waiting = (
        await session.scalars(query.order_by(Consultation.waiting_since, Consultation.id))
    ).all()
    await record(
        session,
        actor,
        action="consultation.queue",
        subject_type="practitioner",
        subject_id=doctor.id,
        details={"consultation_ids": [consultation.id for consultation in waiting]},
    )
    return waiting


async def doctor_in_progress(session: AsyncSession, actor: Actor) -> Sequence[Consultation]:
    """The signed-in doctor's consultations in progress, accepted earliest first (the read is
    audited)."""
    doctor = await own_practitioner(session, actor)
    begun = (
        await session.scalars(
            select(Consultation)
            .where(
                Consultation.practitioner_id == doctor.id,
                Consultation.status == "in_progress",
            )
            .order_by(Consultation.accepted_at, Consultation.id)
        )
    ).all()
    await record(
        session,
        actor,
        action="consultation.in_progress_list",
        subject_type="practitioner",
        subject_id=doctor.id,
        details={"consultation_ids": [consultation.id for consultation in begun]},
    )
    return begun


async def read_assigned(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> Consultation:
    """One consultation assigned to the signed-in doctor (the read is audited)."""
    consultation = await assigned_consultation(session, actor, consultation_id, for_update=False)
    await audit_read(session, actor, consultation)
    return consultation


async def accept_consultation(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> Consultation:
    """Begin a waiting consultation assigned to the doctor. Refused unless the doctor may serve
    online at its institution today (R05) and, for a child under 6, the guardian's presence is
    confirmed (R11)."""
    consultation = await assigned_consultation(session, actor, consultation_id)
    if consultation.status != "waiting":
        raise wrong_status(consultation)
    if consultation.guardian_required and consultation.guardian_confirmed_at is None:
        raise RuleViolation(
            "R11",
            "A child under 6 is seen online only with a guardian present; the guardian's "
            "presence is not confirmed yet.",
        )
    await require_online_service(
        session,
        actor,
        practitioner_id=consultation.practitioner_id,
        institution_id=consultation.institution_id,
    )
    now = actor.clock.now()
    consultation.status = "in_progress"
    consultation.accepted_at = now
    consultation.accept_by = None
    # a video call booked for later is not inactive before its time
    consultation.last_activity_at = max(now, consultation.scheduled_at or now)
    await accompany_if_paediatric(session, consultation)
    await arm_inactivity(session, actor, consultation)
    await transition(
        session,
        actor,
        consultation,
        topic=ACCEPTED,
        waiting_since=consultation.waiting_since,
        scheduled_at=consultation.scheduled_at,
    )
    await post_notice(session, actor, consultation, notice="accepted")
    return consultation


async def confirm_prior_diagnosis(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> Consultation:
    """The doctor confirms the earlier offline diagnosis the patient gave: the consultation
    becomes diagnostic (R01). Needs a 就诊人 whose real name is verified (R03)."""
    consultation = await assigned_consultation(session, actor, consultation_id)
    if consultation.status != "in_progress":
        raise wrong_status(consultation)
    if consultation.prior_diagnosis is None:
        raise Conflict(
            "consultation.no_prior_diagnosis",
            "The patient gave no earlier diagnosis; this stays a health consultation.",
        )
    if not consultation.patient_verified:
        raise RuleViolation(
            "R03",
            "A diagnostic consultation needs a patient whose real name is verified.",
        )
    require_accompanied(consultation)
    if consultation.prior_confirmed_at is None:
        consultation.prior_confirmed_at = actor.clock.now()
        await transition(session, actor, consultation, topic=DIAGNOSIS_CONFIRMED)
    return consultation


async def transfer_consultation(
    session: AsyncSession, actor: Actor, *, consultation_id: int, practitioner_id: int
) -> Consultation:
    """Hand a waiting or begun consultation to a colleague allowed to serve online at the same
    institution (R05); they confirm the earlier diagnosis themselves. A waiting one waits for
    them with a new acceptance deadline; a begun one stays in progress with them (the patient
    was seen: it can no longer be cancelled), and they may read the files the patient sent."""
    consultation = await assigned_consultation(session, actor, consultation_id)
    if consultation.status not in ("waiting", "in_progress"):
        raise wrong_status(consultation)
    if practitioner_id == consultation.practitioner_id:
        raise Unprocessable(
            "consultation.transfer_to_self",
            "Choose a colleague to transfer the consultation to.",
            field="practitioner_id",
        )
    await require_online_service(
        session,
        actor,
        practitioner_id=practitioner_id,
        institution_id=consultation.institution_id,
    )
    previous = consultation.practitioner_id
    consultation.practitioner_id = practitioner_id
    consultation.prior_confirmed_at = None
    await accompany_if_paediatric(session, consultation)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "consultation.colleague_has_open",
            "This patient already has an open consultation with that doctor.",
            field="practitioner_id",
        ) from None
    if consultation.status == "waiting":
        await begin_waiting(session, actor, consultation)
    else:
        consultation.last_activity_at = max(actor.clock.now(), consultation.last_activity_at)
        await arm_inactivity(session, actor, consultation)
    await share_patient_files(session, actor, consultation)
    await transition(session, actor, consultation, topic=TRANSFERRED, from_practitioner_id=previous)
    await post_notice(session, actor, consultation, notice="transferred")
    return consultation


async def name_accompanying_doctor(
    session: AsyncSession, actor: Actor, *, consultation_id: int, practitioner_id: int
) -> Consultation:
    """Name the doctor of paediatrics who accompanies a child under 6 in a consultation in
    progress (R11): the consulting doctor themselves when paediatric, or a colleague."""
    consultation = await assigned_consultation(session, actor, consultation_id)
    if consultation.status != "in_progress":
        raise wrong_status(consultation)
    await name_accompanying(session, actor, consultation, practitioner_id=practitioner_id)
    return consultation


async def close_consultation(
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_id: int,
    advice: str,
    visit_in_person: bool = False,
) -> Consultation:
    """Close a consultation in progress with advice. A health consultation closes with its
    advice; a diagnostic one needs a signed medical record; ending with advice to visit in
    person (R02) needs none."""
    advice = advice.strip()
    if not 1 <= len(advice) <= ADVICE_MAX_LENGTH or not is_long_text(advice):
        raise Unprocessable(
            "consultation.advice_invalid", ADVICE_MESSAGE, field="advice", limit=ADVICE_MAX_LENGTH
        )
    consultation = await assigned_consultation(session, actor, consultation_id)
    if consultation.status != "in_progress":
        raise wrong_status(consultation)
    if (
        is_diagnostic(consultation)
        and not visit_in_person
        and await latest_record(session, consultation.id) is None
    ):
        raise Conflict(
            "consultation.record_required",
            "A diagnostic consultation is closed with a signed medical record.",
        )
    await close(
        session,
        actor,
        consultation,
        reason="in_person" if visit_in_person else "doctor",
        advice=advice,
    )
    return consultation
