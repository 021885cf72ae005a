"""Builders of reviews for tests: closed consultations and their reviews."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ihospital.consultation.models import Consultation
from ihospital.consultation.reviews.models import ConsultationReview
from ihospital.consultation.reviews.service import rate_consultation
from ihospital.consultation.workstation import close_consultation
from ihospital.core.clock import Clock
from ihospital.identity.models import Patient
from tests.booking.builders import booker
from tests.consultation.builders import Practice, doctor_actor, in_progress
from tests.directory.test_search import counted_queries
from tests.identity.builders import make_patient


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


async def rate_many(
    session: AsyncSession, clock: Clock, practice: Practice, *, count: int, stars: int
) -> None:
    """``count`` new patients each rate a consultation with the practice's doctor ``stars``."""
    for _ in range(count):
        await rated(session, clock, practice, await make_patient(session, clock=clock), stars=stars)


async def queries_of(client: httpx.AsyncClient, engine: AsyncEngine, url: str) -> int:
    """How many statements a successful GET of ``url`` runs."""
    with counted_queries(engine) as statements:
        response = await client.get(url)
    assert response.status_code == 200
    return len(statements)
