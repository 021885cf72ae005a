"""Where a prescription comes from (the encounter): a diagnostic follow-up consultation (线上复诊)
or an in-person visit (门诊), and who it is for.

Both kinds give the same :class:`Encounter`: the institution, the 就诊人 with their name, sex and
age, the treating doctor, and whether a guardian must be present and was confirmed (R11). The
consultation's rules are here (R01, R04); the visit's are in :mod:`ihospital.prescribing.visits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.events import is_diagnostic
from ihospital.consultation.models import Consultation
from ihospital.consultation.records.repository import latest_record
from ihospital.consultation.workstation import assigned_consultation
from ihospital.core.context import Actor
from ihospital.errors import Conflict, RuleViolation

FOLLOW_UP_HOURS = 24
CONSULTATION, VISIT = "consultation", "visit"
HEALTH_MESSAGE = (
    "A health consultation (no confirmed earlier diagnosis) gives advice only: no prescription "
    "can be written for it."
)
CLOSED_MESSAGE = (
    "A prescription is written while the consultation is in progress, or within {hours} hours "
    "after it closed with a signed record."
)


@dataclass(frozen=True)
class Encounter:
    """The consultation (``kind`` ``consultation``) or in-person visit (``visit``, ``id`` its
    appointment) a prescription is written for. ``patient_age`` is in whole years;
    ``guardian_required`` for a child under 6 (R11), ``guardian_confirmed`` once the guardian's
    presence is confirmed."""

    kind: str
    id: int
    institution_id: int
    patient_id: int
    practitioner_id: int
    patient_name: str
    patient_sex: str
    patient_age: int
    guardian_required: bool
    guardian_confirmed: bool

    @property
    def consultation_id(self) -> int | None:
        return self.id if self.kind == CONSULTATION else None

    @property
    def appointment_id(self) -> int | None:
        return self.id if self.kind == VISIT else None


def of_consultation(consultation: Consultation) -> Encounter:
    return Encounter(
        kind=CONSULTATION,
        id=consultation.id,
        institution_id=consultation.institution_id,
        patient_id=consultation.patient_id,
        practitioner_id=consultation.practitioner_id,
        patient_name=consultation.patient_name,
        patient_sex=consultation.patient_sex,
        patient_age=consultation.patient_age,
        guardian_required=consultation.guardian_required,
        guardian_confirmed=consultation.guardian_confirmed_at is not None,
    )


async def consultation_encounter(
    session: AsyncSession, actor: Actor, consultation_id: int
) -> Encounter:
    """The doctor's own diagnostic consultation open for prescribing (R01, R04): in progress, or
    closed with a signed record less than :data:`FOLLOW_UP_HOURS` ago."""
    consultation = await assigned_consultation(session, actor, consultation_id)
    if not is_diagnostic(consultation):
        raise RuleViolation("R01", HEALTH_MESSAGE, consultation_id=consultation.id)
    if consultation.status == "in_progress":
        return of_consultation(consultation)
    recent = (
        consultation.status == "closed"
        and consultation.ended_at is not None
        and actor.clock.now() - consultation.ended_at <= timedelta(hours=FOLLOW_UP_HOURS)
    )
    if not recent or await latest_record(session, consultation.id) is None:
        raise Conflict("prescribing.encounter_closed", CLOSED_MESSAGE, hours=FOLLOW_UP_HOURS)
    return of_consultation(consultation)
