"""就诊人 as staff see them on their lists (a doctor's day list, an admin's no-show list): name,
sex and age, the name masked for staff who do not treat the patient. The domain that lists them
checks the staff member's relation to the patients; every read is audited here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.core.ids import age_on
from ihospital.identity.models import Patient


def mask_name(name: str) -> str:
    """A name as staff who do not treat the 就诊人 see it: the first and (from three letters on)
    the last character kept, the others starred (张三 → 张*, 欧阳小明 → 欧**明)."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


@dataclass(frozen=True)
class PatientCard:
    """What staff see of a 就诊人 on a list: the name (full or masked), sex and age."""

    id: int
    name: str
    sex: str
    age: int


async def patient_cards(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_ids: Iterable[int],
    purpose: str,
    masked: bool,
) -> dict[int, PatientCard]:
    """Name, sex and age of 就诊人 for staff, by id, for a domain that has already checked the
    staff member's relation to them (``purpose`` names it, e.g. a treating doctor's day list).
    ``masked`` names are for staff who do not treat the patient. The read is audited."""
    wanted = sorted(set(patient_ids))
    if not wanted:
        return {}
    today = actor.clock.today_local()
    rows = (
        await session.execute(
            select(Patient.id, Patient.name, Patient.sex, Patient.birth_date).where(
                Patient.id.in_(wanted)
            )
        )
    ).all()
    await record(
        session,
        actor,
        action="patient.cards.read",
        subject_type="account",
        subject_id=actor.account_id,
        details={"patient_ids": wanted, "purpose": purpose, "masked": masked},
    )
    return {
        row.id: PatientCard(
            id=row.id,
            name=mask_name(row.name) if masked else row.name,
            sex=row.sex,
            age=age_on(row.birth_date, today),
        )
        for row in rows
    }
