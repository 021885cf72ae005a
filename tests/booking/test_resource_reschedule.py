"""改约 of a vaccination or check-up: only to another window of the same service and fee, with its
age and sex limits checked on the new day, never into a doctor's session nor a doctor's
appointment into a service's window; through the pages from "my appointments" too."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from ihospital.booking.models import Appointment, Slot
from ihospital.booking.reschedule import reschedule_choices
from ihospital.errors import Unprocessable
from ihospital.identity.models import Account
from tests.billing.builders import reloaded
from tests.booking.builders import (
    CHECKUP,
    booker,
    make_clinic,
    make_resource,
    make_resource_session,
    make_session,
    new_key,
)
from tests.booking.test_reschedule import _move
from tests.booking.test_resources import _book
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as

# a Practitioner looked up by a service's missing doctor warns: fail on it
pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")

DAY = date(2026, 11, 30)
NEXT_DAY = date(2026, 12, 1)  # released at 2026-11-24 08:00 local


async def _vaccination(session, clock, **patient):
    """A vaccination with windows on DAY and NEXT_DAY and an appointment on DAY."""
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    today = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    later = await make_resource_session(session, clinic, resource, clock=clock, day=NEXT_DAY)
    person = await make_patient(session, clock=clock, **patient)
    booked = await _book(session, clock, person, today.slots[0])
    clock.advance(timedelta(days=1))  # NEXT_DAY released at 2026-11-24 08:00
    return clinic, resource, today, later, person, booked.appointment


async def test_a_vaccination_moves_to_another_window_of_the_same_service(session, clock):
    clinic, resource, today, later, patient, appointment = await _vaccination(session, clock)
    other = await make_resource(session, clinic, clock=clock, name="流感疫苗接种")
    await make_resource_session(session, clinic, other, clock=clock, day=NEXT_DAY)
    await make_session(session, clinic, clock=clock, day=NEXT_DAY)
    choices = await reschedule_choices(
        session, booker(clock, patient), appointment_id=appointment.id
    )
    assert choices.current.resource.id == resource.id
    assert [open.view.session.id for open in choices.sessions] == [
        today.session.id,
        later.session.id,
    ]

    moved = await _move(session, clock, patient, appointment, later.slots[2])
    assert (moved.appointment.id, moved.appointment.day) == (appointment.id, NEXT_DAY)
    assert (moved.appointment.resource_id, moved.appointment.practitioner_id) == (resource.id, None)
    freed, taken = today.slots[0], later.slots[2]
    assert [(await reloaded(session, Slot, slot.id)).booked for slot in (freed, taken)] == [0, 1]


async def test_a_vaccination_never_moves_to_another_service_or_a_doctor(session, clock):
    clinic, resource, _, _, patient, appointment = await _vaccination(session, clock)
    flu = await make_resource(session, clinic, clock=clock, name="流感疫苗接种")
    flu_windows = await make_resource_session(session, clinic, flu, clock=clock, day=NEXT_DAY)
    doctor = await make_session(session, clinic, clock=clock, day=NEXT_DAY)
    dearer = await make_resource_session(
        session,
        clinic,
        await make_resource(session, clinic, clock=clock, values=CHECKUP),
        clock=clock,
        day=NEXT_DAY,
    )
    for slot, code in (
        (flu_windows.slots[0], "booking.reschedule_other_service"),
        (dearer.slots[0], "booking.reschedule_other_service"),
        (doctor.slots[0], "booking.reschedule_other_kind"),
    ):
        with pytest.raises(Unprocessable) as refused:
            await _move(session, clock, patient, appointment, slot)
        assert (refused.value.code, refused.value.fields["field"]) == (code, "slot_id")
    await session.refresh(appointment)
    assert appointment.day == DAY


async def test_a_doctors_appointment_never_moves_into_a_service_window(session, clock):
    clinic = await make_clinic(session, clock=clock)
    doctor = await make_session(session, clinic, clock=clock, day=DAY)
    resource = await make_resource(session, clinic, clock=clock, department_code="03.04")
    windows = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    appointment = (await _book(session, clock, patient, doctor.slots[0])).appointment
    with pytest.raises(Unprocessable) as refused:
        await _move(session, clock, patient, appointment, windows.slots[0])
    assert refused.value.code == "booking.reschedule_other_kind"
    choices = await reschedule_choices(
        session, booker(clock, patient), appointment_id=appointment.id
    )
    assert {open.view.session.id for open in choices.sessions} == {doctor.session.id}


async def test_the_age_limit_is_checked_on_the_new_day(session, clock):
    # 45 on DAY, 46 from NEXT_DAY: the vaccination is for ages 9 to 45
    _, _, _, later, patient, appointment = await _vaccination(
        session, clock, birth_date=date(1980, 12, 1)
    )
    with pytest.raises(Unprocessable) as refused:
        await _move(session, clock, patient, appointment, later.slots[0])
    assert (refused.value.code, refused.value.fields["max_age"]) == ("booking.age_not_eligible", 45)
    await session.refresh(appointment)
    assert appointment.day == DAY


async def test_a_patient_moves_a_vaccination_through_the_pages(client, session, clock):
    _, resource, today, later, patient, appointment = await _vaccination(
        session, clock, name="周九"
    )
    await sign_in_as(
        session, client, account=await session.get(Account, patient.account_id), clock=clock
    )
    path = f"/appointments/{appointment.id}/reschedule"
    assert f'href="{path}"' in (await client.get("/appointments")).text
    calendar = await client.get(path)
    assert calendar.status_code == 200, calendar.text
    assert f"改约：{resource.name}" in calendar.text and "2026-11-30 08:00–08:30" in calendar.text
    assert f'href="{path}?slot_id={later.slots[1].id}"' in calendar.text
    english = await client.get(path, headers={"Accept-Language": "en"})
    assert f"Reschedule {resource.name}" in english.text

    confirm = await client.get(f"{path}?slot_id={later.slots[1].id}")
    assert confirm.status_code == 200
    assert "2026-12-01 08:30–09:00" in confirm.text and "九价HPV疫苗 第1剂" in confirm.text
    assert "周九" in confirm.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', confirm.text).group(1)
    form = {
        "slot_id": str(later.slots[1].id),
        "idempotency_key": key,
        "csrf_token": await csrf_token(client),
    }
    moved = await client.post(path, data=form)
    assert moved.status_code == 303 and moved.headers["location"] == "/appointments"
    row = await session.scalar(select(Appointment).where(Appointment.id == appointment.id))
    await session.refresh(row)
    assert row.slot_id == later.slots[1].id
    assert "2026-12-01 08:30–09:00" in (await client.get("/appointments")).text


async def test_a_move_into_a_doctors_slot_is_refused_on_the_confirm_step(client, session, clock):
    clinic, _, _, _, patient, appointment = await _vaccination(session, clock)
    doctor = await make_session(session, clinic, clock=clock, day=NEXT_DAY)
    await sign_in_as(
        session, client, account=await session.get(Account, patient.account_id), clock=clock
    )
    form = {
        "slot_id": str(doctor.slots[0].id),
        "idempotency_key": new_key(),
        "csrf_token": await csrf_token(client),
    }
    refused = await client.post(f"/appointments/{appointment.id}/reschedule", data=form)
    assert refused.status_code == 422 and "不能互相改约" in refused.text
    await session.refresh(appointment)
    assert appointment.slot_id != doctor.slots[0].id
