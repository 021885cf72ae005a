"""Builders of booking for tests: an institution with an admin and a doctor, sessions, bookers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date, time

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.schedules import SessionPlan, SessionView, create_sessions
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.directory.models import Institution
from ihospital.identity.models import Account, Patient
from tests.directory.builders import make_doctor, make_institution, make_staff

_keys = itertools.count(1)

PLAN = SessionPlan(
    practitioner_id=0,
    department_code="03.04",
    half_day="morning",
    start_time=time(9, 0),
    end_time=time(10, 0),
    visit_type="in_person",
    fee_class="expert",
    fee_fen=0,
    capacity=6,
    slot_minutes=10,
)


def new_key() -> str:
    return f"booking-{next(_keys)}"


@dataclass
class Clinic:
    institution: Institution
    admin: Account
    practitioner_id: int

    def admin_actor(self, clock: Clock) -> Actor:
        return Actor(
            role="institution_admin",
            clock=clock,
            account_id=self.admin.id,
            institution_id=self.institution.id,
        )

    def plan(self, **changes: object) -> SessionPlan:
        return replace(PLAN, practitioner_id=self.practitioner_id, **changes)


async def make_clinic(session: AsyncSession, *, clock: Clock, department: str = "03.04") -> Clinic:
    """An institution with an admin and a verified doctor of ``department``."""
    institution = await make_institution(session, clock=clock)
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    doctor = await make_doctor(session, clock=clock, institution=institution, department=department)
    return Clinic(institution, admin, doctor.id)


async def make_session(
    session: AsyncSession, clinic: Clinic, *, clock: Clock, day: date, **changes: object
) -> SessionView:
    views = await create_sessions(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        plan=clinic.plan(**changes),
        days=[day],
    )
    return views[0]


def booker(clock: Clock, patient: Patient) -> Actor:
    """The account managing ``patient``, acting as a patient."""
    return Actor(role="patient", clock=clock, account_id=patient.account_id)
