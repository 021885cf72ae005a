"""Builders of consultation for tests: an internet hospital with an admin and verified doctors
with prices (on duty: their working sessions begun), patients' and doctors' actors, started
consultations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.duty import start_work_session
from ihospital.consultation.lifecycle import PriorDiagnosis, start_consultation
from ihospital.consultation.models import Consultation
from ihospital.consultation.prices import set_price
from ihospital.consultation.workstation import accept_consultation, confirm_prior_diagnosis
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.directory.models import Institution
from ihospital.directory.views import PractitionerView
from ihospital.identity.models import Account, Patient
from ihospital.identity.policy import AuthPolicy
from tests.booking.builders import booker
from tests.directory.builders import PASSWORD, make_doctor, make_institution, make_staff

PRIOR = PriorDiagnosis("北京协和医院", date(2026, 6, 1), "原发性高血压")


@dataclass
class Practice:
    institution: Institution
    admin: Account
    doctor: PractitionerView
    colleague: PractitionerView

    def admin_actor(self, clock: Clock) -> Actor:
        return Actor(
            role="institution_admin",
            clock=clock,
            account_id=self.admin.id,
            institution_id=self.institution.id,
        )


def doctor_actor(clock: Clock, doctor: PractitionerView) -> Actor:
    return Actor(
        role="doctor",
        clock=clock,
        account_id=doctor.account_id,
        institution_id=doctor.institution_id,
    )


async def price_all(
    session: AsyncSession, clock: Clock, doctor: PractitionerView, *, fee_fen: int
) -> None:
    """The doctor offers every type at their institution for ``fee_fen``."""
    for consultation_type in ("text", "voice", "video"):
        await set_price(
            session,
            doctor_actor(clock, doctor),
            institution_id=doctor.institution_id,
            consultation_type=consultation_type,
            fee_fen=fee_fen,
        )


async def on_duty(
    session: AsyncSession, clock: Clock, doctor: PractitionerView, *, days: int = 60
) -> None:
    """The doctor verifies their identity (R04); the working session is stretched to ``days``
    so that tests moving the clock on keep it."""
    work = await start_work_session(
        session, doctor_actor(clock, doctor), password=PASSWORD, policy=AuthPolicy()
    )
    work.expires_at = work.verified_at + timedelta(days=days)
    await session.flush()


async def make_practice(session: AsyncSession, *, clock: Clock, fee_fen: int = 3000) -> Practice:
    """A licensed internet hospital with an admin and two verified doctors offering every type
    for ``fee_fen``."""
    institution = await make_institution(session, clock=clock)
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    doctor = await make_doctor(session, clock=clock, institution=institution)
    colleague = await make_doctor(session, clock=clock, institution=institution, name="李时珍")
    for practitioner in (doctor, colleague):
        await price_all(session, clock, practitioner, fee_fen=fee_fen)
        await on_duty(session, clock, practitioner)
    return Practice(institution, admin, doctor, colleague)


async def start(
    session: AsyncSession,
    clock: Clock,
    practice: Practice,
    patient: Patient,
    *,
    consultation_type: str = "text",
    prior: PriorDiagnosis | None = None,
    **changes: object,
) -> Consultation:
    return await start_consultation(
        session,
        booker(clock, patient),
        patient_id=patient.id,
        practitioner_id=practice.doctor.id,
        institution_id=practice.institution.id,
        consultation_type=consultation_type,
        complaint="血压控制不佳，头晕两天",
        prior=prior,
        **changes,
    )


async def in_progress(
    session: AsyncSession, clock: Clock, practice: Practice, patient: Patient, **changes: object
) -> Consultation:
    """A consultation of ``patient`` with the practice's doctor, accepted (diagnostic when
    started with a ``prior`` diagnosis, which the doctor confirms)."""
    consultation = await start(session, clock, practice, patient, **changes)
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    if consultation.prior_diagnosis is not None:
        await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)
    return consultation
