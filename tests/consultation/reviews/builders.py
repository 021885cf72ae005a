"""Builders of reviews for tests: closed consultations and their reviews."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.models import Consultation
from ihospital.consultation.reviews.models import ConsultationReview
from ihospital.consultation.reviews.service import rate_consultation
from ihospital.consultation.workstation import close_consultation
from ihospital.core.clock import Clock
from ihospital.identity.models import Patient
from tests.booking.builders import booker
from tests.consultation.builders import Practice, doctor_actor, in_progress


async def closed(
    session: AsyncSession, clock: Clock, practice: Practice, patient: Patient
) -> Consultation:
    """A health consultation of ``patient`` with the practice's doctor, closed with advice."""
    consultation = await in_progress(session, clock, practice, patient)
    return await close_consultation(
        session,
        doctor_actor(clock, practice.doctor),
        consultation_id=consultation.id,
        advice="多喝水，注意休息",
    )


async def rated(
    session: AsyncSession,
    clock: Clock,
    practice: Practice,
    patient: Patient,
    *,
    stars: int = 5,
    text: str | None = None,
) -> ConsultationReview:
    """A closed consultation of ``patient`` rated by its account."""
    consultation = await closed(session, clock, practice, patient)
    return await rate_consultation(
        session,
        booker(clock, patient),
        consultation_id=consultation.id,
        stars=stars,
        tags=["clear"],
        text=text,
    )
