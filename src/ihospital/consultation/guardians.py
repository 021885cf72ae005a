"""A child under 6 online (R11): the guardian present and a doctor of paediatrics accompany.

The patient's account confirms the guardian: name, relationship to the child and resident ID
number (check digit validated; an adult). The number is stored encrypted and shown only masked.
The accompanying doctor is the consulting doctor when they practise paediatrics at the
institution (set when they accept), otherwise a paediatric colleague there whom the consulting
doctor names. The doctor may not confirm a diagnosis (and so neither record nor prescribe)
before both are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.core.ids import InvalidResidentId, parse_resident_id
from ihospital.directory.eligibility import require_online_service
from ihospital.directory.models import PracticeSite
from ihospital.errors import RuleViolation, Unprocessable
from ihospital.identity.patients import validate_patient_name, validate_relationship
from ihospital.security.crypto import FieldCipher

GUARDIAN_ID_PURPOSE = "consultation.guardian_id_number"
ADULT_AGE = 18
# 《诊疗科目名录》: 儿科, 小儿外科, 儿童保健科 and their sub-specialties
PAEDIATRIC_DEPARTMENTS = ("07", "08", "09")
GUARDIAN_ADULT_MESSAGE = "The guardian must be an adult (18 or older)."
NOT_PAEDIATRIC_MESSAGE = (
    "The accompanying doctor must practise paediatrics online at this institution."
)


@dataclass(frozen=True)
class Guardian:
    name: str
    relationship: str
    id_number: str
    id_number_masked: str


def checked_guardian(name: str, relationship: str, id_number: str, *, today: date) -> Guardian:
    """The guardian's identity, validated field by field (422 naming the field)."""
    try:
        name = validate_patient_name(name)
    except ValueError as error:
        raise Unprocessable(
            "consultation.guardian_name_invalid", str(error), field="guardian_name"
        ) from None
    try:
        validate_relationship(relationship)
    except ValueError as error:
        raise Unprocessable(
            "consultation.guardian_relationship_invalid", str(error), field="relationship"
        ) from None
    try:
        resident = parse_resident_id(id_number, today=today)
    except InvalidResidentId as error:
        raise Unprocessable(
            "consultation.guardian_id_number_invalid",
            str(error),
            field="guardian_id_number",
            reason=error.reason,
        ) from None
    if resident.age_on(today) < ADULT_AGE:
        raise Unprocessable(
            "consultation.guardian_not_adult", GUARDIAN_ADULT_MESSAGE, field="guardian_id_number"
        )
    return Guardian(name, relationship, resident.number, resident.masked)


def keep_guardian(consultation: Consultation, guardian: Guardian, cipher: FieldCipher) -> None:
    consultation.guardian_name = guardian.name
    consultation.guardian_relationship = guardian.relationship
    consultation.guardian_id_number_cipher = cipher.encrypt(
        guardian.id_number, purpose=GUARDIAN_ID_PURPOSE
    )
    consultation.guardian_id_number_masked = guardian.id_number_masked


async def practises_paediatrics(
    session: AsyncSession, *, practitioner_id: int, institution_id: int
) -> bool:
    """Whether the doctor practises a paediatric specialty at the institution."""
    codes = [PracticeSite.department_code == code for code in PAEDIATRIC_DEPARTMENTS]
    codes += [PracticeSite.department_code.like(f"{code}.%") for code in PAEDIATRIC_DEPARTMENTS]
    found = await session.scalar(
        select(PracticeSite.id)
        .where(
            PracticeSite.practitioner_id == practitioner_id,
            PracticeSite.institution_id == institution_id,
            or_(*codes),
        )
        .limit(1)
    )
    return found is not None


async def accompany_if_paediatric(session: AsyncSession, consultation: Consultation) -> None:
    """The consulting doctor accompanies a child under 6 themselves when they practise
    paediatrics; otherwise nobody does until they name a colleague."""
    if not consultation.guardian_required:
        return
    own = await practises_paediatrics(
        session,
        practitioner_id=consultation.practitioner_id,
        institution_id=consultation.institution_id,
    )
    consultation.accompanying_practitioner_id = consultation.practitioner_id if own else None


async def name_accompanying(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, practitioner_id: int
) -> None:
    """The consulting doctor names the paediatric doctor who accompanies (audited)."""
    if not consultation.guardian_required:
        raise RuleViolation("R11", "Only a consultation for a child under 6 needs this.")
    await require_online_service(
        session, actor, practitioner_id=practitioner_id, institution_id=consultation.institution_id
    )
    if not await practises_paediatrics(
        session, practitioner_id=practitioner_id, institution_id=consultation.institution_id
    ):
        raise Unprocessable(
            "consultation.not_paediatric", NOT_PAEDIATRIC_MESSAGE, field="practitioner_id"
        )
    consultation.accompanying_practitioner_id = practitioner_id
    await session.flush()
    await record(
        session,
        actor,
        action="consultation.accompanying_doctor",
        subject_type="consultation",
        subject_id=consultation.id,
        patient_id=consultation.patient_id,
        details={"practitioner_id": practitioner_id},
    )


def require_accompanied(consultation: Consultation) -> None:
    """Refuse a diagnosis for a child under 6 without the guardian's identity and the
    accompanying doctor of paediatrics (R11)."""
    if consultation.guardian_required and (
        consultation.guardian_id_number_cipher is None
        or consultation.accompanying_practitioner_id is None
    ):
        raise RuleViolation(
            "R11",
            "A child under 6 is diagnosed online only with the guardian's identity recorded "
            "and a doctor of paediatrics accompanying.",
        )
