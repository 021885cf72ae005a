"""Builders of prescribing from an in-person visit: a doctor's morning session on
:data:`DAY` (09:00–10:00, six 10-minute slots), patients booked into it, check-in, and the
doctor's API headers (verified in their working session, R04)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.appointments import book_slot
from ihospital.booking.dayof import check_in
from ihospital.booking.models import Appointment, Slot
from ihospital.booking.schedules import SessionView
from ihospital.consultation.duty import start_work_session
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.directory.models import Practitioner
from ihospital.identity.models import Account, Patient
from ihospital.identity.policy import AuthPolicy
from tests.booking.builders import Clinic, booker, make_clinic, make_session, new_key
from tests.directory.builders import PASSWORD, bearer
from tests.identity.builders import make_patient

DAY = date(2026, 11, 24)


def shanghai(day: date, at: time) -> datetime:
    """``at`` on ``day`` in Asia/Shanghai, as aware UTC."""
    return datetime.combine(day, at, tzinfo=UTC) - timedelta(hours=8)


@dataclass
class Booked:
    """A 就诊人 booked into a slot, and the account acting for them."""

    patient: Patient
    booker: Actor
    appointment: Appointment


async def visit_session(
    session: AsyncSession, clock: FrozenClock, *, clinic: Clinic | None = None, **changes: object
) -> tuple[Clinic, SessionView]:
    """A clinic (a new one by default) with its doctor's in-person session on :data:`DAY`."""
    clinic = clinic or await make_clinic(session, clock=clock)
    return clinic, await make_session(session, clinic, clock=clock, day=DAY, **changes)


async def book(
    session: AsyncSession, clock: FrozenClock, slot: Slot, *, age: int | None = None
) -> Booked:
    """A new 就诊人 (of ``age`` years when given) booked into ``slot``."""
    patient = await make_patient(session, clock=clock, age=age)
    actor = booker(clock, patient)
    view = await book_slot(
        session, actor, slot_id=slot.id, patient_id=patient.id, idempotency_key=new_key()
    )
    return Booked(patient, actor, view.appointment)


async def arrive(session: AsyncSession, clock: FrozenClock, booked: Booked) -> None:
    """签到 at 08:30 on :data:`DAY` (the clock stays there)."""
    clock.set(shanghai(DAY, time(8, 30)))
    await check_in(session, booked.booker, appointment_id=booked.appointment.id)


async def doctor_account(session: AsyncSession, clinic: Clinic) -> Account:
    practitioner = await session.get_one(Practitioner, clinic.practitioner_id)
    return await session.get_one(Account, practitioner.account_id)


def doctor_of(clinic: Clinic, account: Account, clock: FrozenClock) -> Actor:
    return Actor(
        role="doctor", clock=clock, account_id=account.id, institution_id=clinic.institution.id
    )


async def on_duty(session: AsyncSession, clock: FrozenClock, clinic: Clinic) -> Account:
    """The clinic's doctor verifies their identity (R04); the working session is stretched to
    60 days so that tests moving the clock on keep it."""
    account = await doctor_account(session, clinic)
    work = await start_work_session(
        session, doctor_of(clinic, account, clock), password=PASSWORD, policy=AuthPolicy()
    )
    work.expires_at = work.verified_at + timedelta(days=60)
    await session.flush()
    return account


async def doctor_headers(
    session: AsyncSession, clock: FrozenClock, clinic: Clinic
) -> dict[str, str]:
    """API headers of the clinic's doctor, on duty and verified in that API session (R04)."""
    return await bearer(session, clock=clock, account=await on_duty(session, clock, clinic))


def visit_body(appointment_id: int, *items: dict, **changes: object) -> dict:
    """A prescription for an in-person visit as the doctor sends it (hypertension, I10)."""
    return {"appointment_id": appointment_id, "diagnoses": ["I10"], "items": list(items)} | changes


async def token_again(session: AsyncSession, clock: FrozenClock, clinic: Clinic) -> dict[str, str]:
    """A fresh API token of the doctor already on duty (after the clock moved past the last)."""
    return await bearer(session, clock=clock, account=await doctor_account(session, clinic))
