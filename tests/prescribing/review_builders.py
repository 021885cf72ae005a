"""Builders of the review tests: a practice with a pharmacist, a patient in a diagnostic
consultation and prescriptions written for it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.audit.models import AuditEntry
from ihospital.consultation.models import Consultation
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.identity.models import Account, Patient
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.runner import app_services
from ihospital.outbox.service import BatchResult, drain, load_handlers
from ihospital.prescribing.models import Drug, Prescription
from tests.consultation.builders import PRIOR, Practice, in_progress, make_practice
from tests.directory.builders import make_staff
from tests.identity.builders import make_patient
from tests.prescribing.builders import Line, make_drug, make_prescription


@dataclass
class Pharmacy:
    """A practice with a pharmacist, a patient of a diagnostic consultation and a drug."""

    practice: Practice
    pharmacist: Account
    patient: Patient
    consultation: Consultation
    drug: Drug

    def pharmacist_actor(self, clock: FrozenClock) -> Actor:
        return staff_actor(clock, self.pharmacist)


def staff_actor(clock: FrozenClock, account: Account) -> Actor:
    return Actor(
        role=account.role, clock=clock, account_id=account.id, institution_id=account.institution_id
    )


async def make_pharmacy(
    session: AsyncSession, clock: FrozenClock, *, patient: Patient | None = None
) -> Pharmacy:
    practice = await make_practice(session, clock=clock, fee_fen=0)
    pharmacist = await make_staff(
        session, clock=clock, institution=practice.institution, role="pharmacist"
    )
    patient = patient or await make_patient(session, clock=clock, name="王芳")
    consultation = await in_progress(session, clock, practice, patient, prior=PRIOR)
    drug = await make_drug(session, clock=clock)
    return Pharmacy(practice, pharmacist, patient, consultation, drug)


async def prescribe(
    session: AsyncSession, clock: FrozenClock, pharmacy: Pharmacy, **changes: object
) -> Prescription:
    """A prescription of the pharmacy's consultation, signed by its doctor (pending review)."""
    return await make_prescription(
        session,
        clock=clock,
        doctor=pharmacy.practice.doctor,
        consultation=pharmacy.consultation,
        lines=[Line(pharmacy.drug)],
        **changes,
    )


async def count(session: AsyncSession, model: type, *conditions: object) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*conditions))


async def events(session: AsyncSession, topic: str) -> list[OutboxEvent]:
    return list(await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)))


async def audit_actions(session: AsyncSession, subject_id: int) -> list[str]:
    return list(
        await session.scalars(
            select(AuditEntry.action)
            .where(
                AuditEntry.subject_type == "prescription", AuditEntry.subject_id == str(subject_id)
            )
            .order_by(AuditEntry.id)
        )
    )


async def run_worker(
    app: FastAPI, factory: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> BatchResult:
    """Handle every due outbox event with the app's services."""
    load_handlers()
    return await drain(factory, clock, limit=1000, services=app_services(app))
