"""A patient answers the published questionnaire for one of their 就诊人 and gets a risk level
with instructions and, where the level says so, the nearest fever clinics (发热门诊).

The answers are health data: stored with the submission, read back only by the patient's
account, the command centre of the region and doctors treating the 就诊人, each read audited.
A level with ``alert`` writes the outbox event :data:`ALERT_TOPIC` in the submission's
transaction, so the command centre's alert is never lost (:mod:`.alerts` handles it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.directory.models import Institution, Practitioner
from ihospital.errors import NotFound
from ihospital.identity.patients import get_patient
from ihospital.outbox.service import emit
from ihospital.security.permissions import Permission, Role, has_permission
from ihospital.triage.prescreening.definition import Level, score_answers
from ihospital.triage.prescreening.models import FeverClinic, ScreeningSubmission
from ihospital.triage.prescreening.questionnaires import answerable, definition_of
from ihospital.triage.prescreening.regions import in_scope

ALERT_TOPIC = "triage.prescreening_alert"
NEAREST_CLINICS = 5
SUBMISSION_NOT_FOUND_MESSAGE = "Pre-screening {submission_id} was not found."


@dataclass(frozen=True)
class Clinic:
    name: str
    institution_name: str
    address: str
    hours: str
    phone: str
    region_name: str


@dataclass(frozen=True)
class Outcome:
    submission: ScreeningSubmission
    level: Level
    clinics: list[Clinic]


def _shared_prefix(first: str, second: str) -> int:
    return next((n for n in (6, 4, 2) if first[:n] == second[:n]), 0)


async def nearest_clinics(session: AsyncSession, region_code: str) -> list[Clinic]:
    """Active fever clinics of the province, those of the same district first, then the same
    city, then the rest."""
    rows = (
        await session.execute(
            select(FeverClinic, Institution.name, Institution.region_code, Institution.region_name)
            .join(Institution, Institution.id == FeverClinic.institution_id)
            .where(
                FeverClinic.active.is_(True),
                Institution.region_code.startswith(region_code[:2]),
            )
            .order_by(FeverClinic.id)
        )
    ).all()
    rows.sort(key=lambda row: -_shared_prefix(row[2], region_code))
    return [
        Clinic(clinic.name, institution, clinic.address, clinic.hours, clinic.phone, region)
        for clinic, institution, _code, region in rows[:NEAREST_CLINICS]
    ]


async def submit(
    session: AsyncSession,
    actor: Actor,
    *,
    questionnaire_id: int,
    patient_id: int,
    region_code: str,
    answers: dict[str, Any],
) -> Outcome:
    questionnaire = await answerable(session, questionnaire_id)
    definition = definition_of(questionnaire)
    scored = score_answers(definition, answers)
    patient = await get_patient(session, actor, patient_id=patient_id)
    assert actor.account_id is not None  # a patient's account: a signed-in request
    submission = ScreeningSubmission(
        questionnaire_id=questionnaire.id,
        account_id=actor.account_id,
        patient_id=patient.id,
        region_code=region_code,
        answers=json.dumps(scored.answers, ensure_ascii=False, sort_keys=True),
        score=scored.score,
        level=scored.level.level,
        created_at=actor.clock.now(),
    )
    session.add(submission)
    await session.flush()
    await record(
        session,
        actor,
        action="prescreening.submit",
        subject_type="screening_submission",
        subject_id=submission.id,
        patient_id=patient.id,
        details={"questionnaire_id": questionnaire.id, "level": submission.level},
    )
    if scored.level.alert:
        await emit(session, actor, topic=ALERT_TOPIC, payload={"submission_id": submission.id})
    clinics = await nearest_clinics(session, region_code) if scored.level.fever_clinics else []
    return Outcome(submission, scored.level, clinics)


def _not_found(submission_id: int) -> NotFound:
    return NotFound(
        "prescreening.not_found", SUBMISSION_NOT_FOUND_MESSAGE, submission_id=submission_id
    )


async def _treats(session: AsyncSession, actor: Actor, patient_id: int) -> bool:
    """Whether the doctor has (had) a consultation with the 就诊人."""
    found = await session.scalar(
        select(Consultation.id)
        .join(Practitioner, Practitioner.id == Consultation.practitioner_id)
        .where(Consultation.patient_id == patient_id, Practitioner.account_id == actor.account_id)
        .limit(1)
    )
    return found is not None


async def may_read(session: AsyncSession, actor: Actor, submission: ScreeningSubmission) -> bool:
    if actor.role == Role.PATIENT:
        return submission.account_id == actor.account_id
    if has_permission(actor.role, Permission.EPIDEMIC_COMMAND):
        return in_scope(actor, submission.region_code)
    if actor.role == Role.DOCTOR:
        return await _treats(session, actor, submission.patient_id)
    return False


async def read_submission(
    session: AsyncSession, actor: Actor, *, submission_id: int
) -> ScreeningSubmission:
    """One submission for a reader allowed to see it (audited); anyone else gets not found."""
    submission = await session.get(ScreeningSubmission, submission_id)
    if submission is None or not await may_read(session, actor, submission):
        raise _not_found(submission_id)
    await record(
        session,
        actor,
        action="prescreening.read",
        subject_type="screening_submission",
        subject_id=submission.id,
        patient_id=submission.patient_id,
    )
    return submission


async def own_submissions(session: AsyncSession, actor: Actor) -> list[ScreeningSubmission]:
    """The account's submissions, newest first (the list names levels only: not audited)."""
    rows = await session.scalars(
        select(ScreeningSubmission)
        .where(ScreeningSubmission.account_id == actor.account_id)
        .order_by(ScreeningSubmission.id.desc())
        .limit(50)
    )
    return list(rows)
