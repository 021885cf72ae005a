"""Fever clinics (发热门诊) an institution runs: its admins list them with address, opening hours
and phone; a pre-screening that sends a patient to a fever clinic lists the nearest."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution
from ihospital.errors import NotFound, Unprocessable
from ihospital.triage.prescreening.models import FeverClinic

CLINIC_NOT_FOUND_MESSAGE = "Fever clinic {clinic_id} was not found."
INSTITUTION_MESSAGE = "Name the institution whose fever clinics these are (institution_id)."


def institution_required() -> Unprocessable:
    return Unprocessable(
        "prescreening.institution_required", INSTITUTION_MESSAGE, field="institution_id"
    )


async def institution_clinics(
    session: AsyncSession, actor: Actor, *, institution_id: int
) -> list[FeverClinic]:
    await managed_institution(session, actor, institution_id)
    rows = await session.scalars(
        select(FeverClinic)
        .where(FeverClinic.institution_id == institution_id)
        .order_by(FeverClinic.active.desc(), FeverClinic.id)
    )
    return list(rows)


async def add_clinic(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    name: str,
    address: str,
    hours: str,
    phone: str,
) -> FeverClinic:
    await managed_institution(session, actor, institution_id)
    clinic = FeverClinic(
        institution_id=institution_id,
        name=name,
        address=address,
        hours=hours,
        phone=phone,
        active=True,
        created_at=actor.clock.now(),
    )
    session.add(clinic)
    await session.flush()
    await record(
        session,
        actor,
        action="fever_clinic.add",
        subject_type="fever_clinic",
        subject_id=clinic.id,
        details={"institution_id": institution_id, "name": name},
    )
    return clinic


async def set_clinic_active(
    session: AsyncSession, actor: Actor, *, institution_id: int, clinic_id: int, active: bool
) -> FeverClinic:
    await managed_institution(session, actor, institution_id)
    clinic = await session.get(FeverClinic, clinic_id, with_for_update=True)
    if clinic is None or clinic.institution_id != institution_id:
        raise NotFound(
            "prescreening.clinic_not_found", CLINIC_NOT_FOUND_MESSAGE, clinic_id=clinic_id
        )
    if clinic.active != active:
        clinic.active = active
        await session.flush()
        await record(
            session,
            actor,
            action="fever_clinic.open" if active else "fever_clinic.close",
            subject_type="fever_clinic",
            subject_id=clinic.id,
            details={"institution_id": institution_id},
        )
    return clinic
