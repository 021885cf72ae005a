"""A 就诊人's drug allergies: the structured list a doctor records, and what prescribing checks
against (that list and the allergy text of the patient's latest medical record).

Only the doctor of a consultation of the patient records or reads them, in their working
session (R04); every read and record is audited (R13). Entries are never changed or deleted.
What prescribing checks (:func:`patient_allergies`) is also what the reviewing pharmacist sees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.records.models import MedicalRecord
from ihospital.consultation.workstation import assigned_consultation
from ihospital.core.context import Actor
from ihospital.directory.validation import is_long_text
from ihospital.errors import Unprocessable
from ihospital.prescribing.allergy_models import PatientAllergy
from ihospital.prescribing.checks import Allergy
from ihospital.prescribing.models import SUBJECT_KINDS

_ATC_PREFIX = re.compile(r"[A-Z][0-9]{2}[A-Z]{0,2}[0-9]{0,2}")
_INGREDIENT = re.compile(r"[a-z][a-z0-9 -]{1,63}")
CODE_MESSAGE = (
    "Give an ingredient in English (amoxicillin) or an ATC class prefix (J01C) for the allergy."
)
REACTION_MESSAGE = "Describe the reaction in 1 to 200 characters."


def _checked(kind: str, code: str, reaction: str) -> tuple[str, str, str]:
    if kind not in SUBJECT_KINDS:
        raise Unprocessable("prescribing.allergy_kind_unknown", CODE_MESSAGE, field="kind")
    code = code.strip().upper() if kind == "atc" else code.strip().lower()
    pattern = _ATC_PREFIX if kind == "atc" else _INGREDIENT
    if not pattern.fullmatch(code):
        raise Unprocessable("prescribing.allergy_code_invalid", CODE_MESSAGE, field="code")
    reaction = reaction.strip()
    if not 1 <= len(reaction) <= 200 or not is_long_text(reaction):
        raise Unprocessable(
            "prescribing.allergy_reaction_invalid", REACTION_MESSAGE, field="reaction"
        )
    return kind, code, reaction


async def _list(session: AsyncSession, patient_id: int) -> Sequence[PatientAllergy]:
    return (
        await session.scalars(
            select(PatientAllergy)
            .where(PatientAllergy.patient_id == patient_id)
            .order_by(PatientAllergy.recorded_at, PatientAllergy.id)
        )
    ).all()


async def record_allergy(
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_id: int,
    kind: str,
    code: str,
    reaction: str,
) -> PatientAllergy:
    """The consultation's doctor records an allergy of its 就诊人 (audited)."""
    consultation = await assigned_consultation(session, actor, consultation_id)
    kind, code, reaction = _checked(kind, code, reaction)
    allergy = PatientAllergy(
        patient_id=consultation.patient_id,
        kind=kind,
        code=code,
        reaction=reaction,
        recorded_by=consultation.practitioner_id,
        consultation_id=consultation.id,
        recorded_at=actor.clock.now(),
    )
    session.add(allergy)
    await session.flush()
    await record(
        session,
        actor,
        action="prescribing.allergy_recorded",
        subject_type="patient_allergy",
        subject_id=allergy.id,
        patient_id=consultation.patient_id,
        details={"kind": kind, "code": code, "consultation_id": consultation.id},
    )
    return allergy


async def consultation_allergies(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> Sequence[PatientAllergy]:
    """The recorded allergies of the consultation's 就诊人, for its doctor (the read is
    audited)."""
    consultation = await assigned_consultation(session, actor, consultation_id, for_update=False)
    allergies = await _list(session, consultation.patient_id)
    await record(
        session,
        actor,
        action="prescribing.allergies_read",
        subject_type="consultation",
        subject_id=consultation.id,
        patient_id=consultation.patient_id,
    )
    return allergies


@dataclass(frozen=True)
class KnownAllergies:
    """The 就诊人's structured allergy list and the allergy text of the latest signed medical
    record (empty when none)."""

    recorded: list[Allergy]
    record_text: str


async def patient_allergies(session: AsyncSession, patient_id: int) -> KnownAllergies:
    """What prescribing checks (R06) and the pharmacist reviews: the structured list and the
    allergy text of the 就诊人's latest signed medical record. The caller audits the read."""
    recorded = [
        Allergy(row.kind, row.code, row.reaction) for row in await _list(session, patient_id)
    ]
    text = await session.scalar(
        select(MedicalRecord.allergies)
        .where(MedicalRecord.patient_id == patient_id)
        .order_by(MedicalRecord.signed_at.desc(), MedicalRecord.id.desc())
        .limit(1)
    )
    return KnownAllergies(recorded, text or "")
