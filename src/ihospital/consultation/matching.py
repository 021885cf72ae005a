"""A department instead of a doctor: the first available doctor (R05 applies to each).

Among the verified doctors of the department (and its sub-specialties) at the institution who may
serve online there today and offer the type, the one with the fewest consultations waiting for
them is chosen (ties: the directory's order, senior titles first).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.models import Consultation, ConsultationPrice
from ihospital.core.context import Actor
from ihospital.directory.eligibility import online_service_eligibility
from ihospital.directory.search import MAX_PAGE_SIZE, search_doctors
from ihospital.directory.views import PractitionerView
from ihospital.errors import Conflict


async def doctors_online_at(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    department_code: str | None = None,
) -> list[PractitionerView]:
    """The verified doctors at the institution (of ``department_code`` and its sub-specialties
    when given) who may serve online there today (R05), in the directory's order."""
    found = await search_doctors(
        session,
        actor,
        department=department_code,
        institution_id=institution_id,
        page_size=MAX_PAGE_SIZE,
    )
    allowed = []
    for view in found.items:
        eligibility = await online_service_eligibility(
            session, actor, practitioner_id=view.id, institution_id=institution_id
        )
        if eligibility.allowed:
            allowed.append(view)
    return allowed


async def first_available_doctor(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    department_code: str,
    consultation_type: str,
) -> int:
    """The doctor of ``department_code`` at the institution to consult now (see module doc);
    refused when none is available."""
    online = await doctors_online_at(
        session, actor, institution_id=institution_id, department_code=department_code
    )
    offering = set(
        await session.scalars(
            select(ConsultationPrice.practitioner_id).where(
                ConsultationPrice.practitioner_id.in_([view.id for view in online]),
                ConsultationPrice.institution_id == institution_id,
                ConsultationPrice.consultation_type == consultation_type,
            )
        )
    )
    candidates = [view.id for view in online if view.id in offering]
    if not candidates:
        raise Conflict(
            "consultation.no_doctor_available",
            "No doctor of this department is available for this consultation now.",
            field="department_code",
        )
    waiting = dict(
        (
            await session.execute(
                select(Consultation.practitioner_id, func.count())
                .where(
                    Consultation.practitioner_id.in_(candidates),
                    Consultation.status == "waiting",
                )
                .group_by(Consultation.practitioner_id)
            )
        ).all()
    )
    return min(candidates, key=lambda doctor_id: waiting.get(doctor_id, 0))
