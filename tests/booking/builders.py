"""Builders of booking for tests: an institution with an admin and a doctor, sessions, bookers,
bookable resources (vaccinations, check-ups) and their sessions."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date, time

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.models import BookingResource
from ihospital.booking.resource_schedules import WindowPlan, create_resource_sessions
from ihospital.booking.resources import ResourceInput, create_resource
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

# 九价HPV疫苗 for ages 9–45, free of charge, in the institution's 内科 (03)
VACCINATION = ResourceInput(
    kind="vaccination",
    name="HPV疫苗接种",
    department_code="03",
    vaccine="九价HPV疫苗 第1剂",
    min_age_years=9,
    max_age_years=45,
    preparation="请携带身份证，接种后留观30分钟",
)
CHECKUP = ResourceInput(
    kind="checkup",
    name="妇科体检套餐",
    department_code="03",
    package_items="妇科检查、宫颈TCT、乳腺彩超",
    fee_fen=38000,
    sex="female",
    preparation="体检需空腹",
)
# 08:00–11:30 in seven 30-minute windows of 20 people
WINDOWS = WindowPlan(
    half_day="morning",
    start_time=time(8, 0),
    end_time=time(11, 30),
    slot_minutes=30,
    places_per_slot=20,
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


async def make_resource(
    session: AsyncSession,
    clinic: Clinic,
    *,
    clock: Clock,
    values: ResourceInput = VACCINATION,
    **changes: object,
) -> BookingResource:
    return await create_resource(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        values=replace(values, **changes),
    )


async def make_resource_session(
    session: AsyncSession,
    clinic: Clinic,
    resource: BookingResource,
    *,
    clock: Clock,
    day: date,
    **changes: object,
) -> SessionView:
    [view] = await create_resource_sessions(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        resource_id=resource.id,
        window=replace(WINDOWS, **changes),
        days=[day],
    )
    return view
