"""Who schedules a doctor's sessions (出诊排班) at an institution: its admins (a platform admin
any institution's), and — where the institution's booking rules let its doctors schedule
themselves (``doctors_may_schedule``) — the doctor, for themselves only, at an institution they
practise at. Every other caller is refused (403)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.rules import rules_of
from ihospital.core.context import Actor
from ihospital.directory.access import get_institution_row, managed_institution, own_practitioner
from ihospital.directory.sites import practises_at
from ihospital.errors import Forbidden
from ihospital.security.permissions import Role


async def authorise_scheduling(
    session: AsyncSession, actor: Actor, *, institution_id: int, practitioner_id: int
) -> None:
    """Refuse (403) an actor who may not create or stop sessions of ``practitioner_id`` at
    ``institution_id``; a missing institution is not found (404)."""
    if actor.role != Role.DOCTOR:
        await managed_institution(session, actor, institution_id)
        return
    await get_institution_row(session, institution_id)
    doctor = await own_practitioner(session, actor)
    if doctor.id != practitioner_id:
        raise Forbidden("booking.not_your_schedule", "A doctor schedules only their own sessions.")
    if not await practises_at(session, practitioner_id=doctor.id, institution_id=institution_id):
        raise Forbidden("booking.not_practising_here", "You do not practise at this institution.")
    if not (await rules_of(session, institution_id)).doctors_may_schedule:
        raise Forbidden(
            "booking.doctors_may_not_schedule",
            "This institution does not let its doctors schedule themselves.",
        )
