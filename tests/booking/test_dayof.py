"""The day of the visit: check-in window and queue numbers (also around midnight), the doctor's
own day list and attendance, automatic no-shows and the suspension after three of them."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.booking.appointments import book_slot
from ihospital.booking.dayof import check_in, doctor_day, mark_attendance, record_missed_visit
from ihospital.booking.dayof_models import Visit
from ihospital.core.context import Actor
from ihospital.directory.models import Practitioner
from ihospital.errors import Conflict
from ihospital.outbox.service import drain, load_handlers
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.directory.builders import bearer
from tests.identity.builders import make_patient

load_handlers()


def shanghai(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=UTC) - timedelta(hours=8)


async def _doctor(session, clinic, clock) -> Actor:
    practitioner = await session.get(Practitioner, clinic.practitioner_id)
    return Actor(role="doctor", clock=clock, account_id=practitioner.account_id)


async def _book(session, clock, slot, patient=None):
    patient = patient or await make_patient(session, clock=clock)
    view = await book_slot(
        session,
        booker(clock, patient),
        slot_id=slot.id,
        patient_id=patient.id,
        idempotency_key=new_key(),
    )
    return booker(clock, patient), view.appointment


async def test_check_in_window_edges_and_queue_in_order_of_check_in(session, clock):
    clinic = await make_clinic(session, clock=clock)
    day = date(2026, 11, 23)
    view = await make_session(
        session,
        clinic,
        clock=clock,
        day=day,
        half_day="afternoon",
        start_time=time(14, 0),
        end_time=time(15, 0),
        capacity=12,
    )
    first, first_appointment = await _book(session, clock, view.slots[0])
    second, second_appointment = await _book(session, clock, view.slots[1])
    clock.set(shanghai(day, time(12, 59, 59)))
    with pytest.raises(Conflict) as early:
        await check_in(session, first, appointment_id=first_appointment.id)
    assert early.value.fields == {"opens": "2026-11-23 13:00", "closes": "2026-11-23 14:15"}
    clock.set(shanghai(day, time(13, 10)))
    assert (
        await check_in(session, second, appointment_id=second_appointment.id)
    ).visit.queue_number == 1
    clock.set(shanghai(day, time(14, 15)))
    checked = await check_in(session, first, appointment_id=first_appointment.id)
    assert checked.visit.queue_number == 2
    again = await check_in(session, first, appointment_id=first_appointment.id)
    assert again.visit.queue_number == 2
    clock.set(shanghai(day, time(9, 0)))
    third, third_appointment = await _book(session, clock, view.slots[0])
    clock.set(shanghai(day, time(14, 15, 1)))
    with pytest.raises(Conflict):
        await check_in(session, third, appointment_id=third_appointment.id)


async def test_check_in_outside_the_window_is_a_clear_409_over_http(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=date(2026, 11, 24))
    patient = await make_patient(session, clock=clock)
    _, appointment = await _book(session, clock, view.slots[0], patient)
    account = await session.get(type(clinic.admin), patient.account_id)
    response = await client.post(
        f"/api/appointments/{appointment.id}/check-in",
        headers=await bearer(session, clock=clock, account=account),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "booking.check_in_closed"
    assert "2026-11-24 08:00 至 2026-11-24 09:15" in response.json()["detail"]


async def test_queue_numbers_stay_on_their_day_around_midnight(session, clock):
    clinic = await make_clinic(session, clock=clock)
    evening = await make_session(
        session,
        clinic,
        clock=clock,
        day=date(2026, 11, 24),
        half_day="evening",
        start_time=time(23, 0),
        end_time=time(23, 50),
        capacity=5,
    )
    midnight = await make_session(
        session,
        clinic,
        clock=clock,
        day=date(2026, 11, 25),
        start_time=time(0, 0),
        end_time=time(1, 0),
    )
    late, late_appointment = await _book(session, clock, evening.slots[0])
    early, early_appointment = await _book(session, clock, midnight.slots[0])
    clock.set(shanghai(date(2026, 11, 24), time(23, 5)))
    assert (
        await check_in(session, late, appointment_id=late_appointment.id)
    ).visit.queue_number == 1
    checked = await check_in(session, early, appointment_id=early_appointment.id)
    assert (checked.visit.queue_number, checked.visit.session_id) == (1, midnight.session.id)
    doctor = await _doctor(session, clinic, clock)
    [today] = await doctor_day(session, doctor)
    assert today.schedule.id == evening.session.id
    assert [v.status for v in today.visits] == ["checked_in"]
    clock.set(shanghai(date(2026, 11, 25), time(0, 10)))
    [today] = await doctor_day(session, doctor)
    assert today.schedule.id == midnight.session.id
    assert [(v.status, v.visit.queue_number) for v in today.visits] == [("checked_in", 1)]


async def test_doctor_day_list_statuses_attendance_and_only_own_patients(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    other = await make_clinic(session, clock=clock)
    day = date(2026, 11, 24)
    view = await make_session(session, clinic, clock=clock, day=day)
    here, here_appointment = await _book(session, clock, view.slots[0])
    _, absent_appointment = await _book(session, clock, view.slots[1])
    _, late_appointment = await _book(session, clock, view.slots[2])
    _, expected_appointment = await _book(session, clock, view.slots[5])
    clock.set(shanghai(day, time(8, 30)))
    await check_in(session, here, appointment_id=here_appointment.id)
    clock.set(shanghai(day, time(9, 31)))
    doctor = await _doctor(session, clinic, clock)
    [today] = await doctor_day(session, doctor)
    assert [v.status for v in today.visits] == ["checked_in", "absent", "late", "expected"]
    assert [v.appointment.id for v in today.visits] == [
        here_appointment.id,
        absent_appointment.id,
        late_appointment.id,
        expected_appointment.id,
    ]

    headers = await bearer(
        session, clock=clock, account=await session.get(type(clinic.admin), doctor.account_id)
    )
    listed = await client.get("/api/doctor/day", headers=headers)
    assert [v["status"] for v in listed.json()[0]["visits"]][0] == "checked_in"
    url = f"/api/doctor/appointments/{here_appointment.id}/attendance"
    marked = await client.post(url, json={"outcome": "attended"}, headers=headers)
    assert marked.status_code == 200, marked.text
    assert marked.json()["status"] == "attended"
    refused = await client.post(url, json={"outcome": "no_show"}, headers=headers)
    assert refused.status_code == 409

    other_doctor = await _doctor(session, other, clock)
    other_headers = await bearer(
        session,
        clock=clock,
        account=await session.get(type(clinic.admin), other_doctor.account_id),
    )
    assert (await client.get("/api/doctor/day", headers=other_headers)).json() == []
    foreign = await client.post(
        f"/api/doctor/appointments/{late_appointment.id}/attendance",
        json={"outcome": "no_show"},
        headers=other_headers,
    )
    assert foreign.status_code == 404
    actions = set(
        (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("booking.%"))
            )
        ).all()
    )
    assert {
        "booking.appointment.check_in",
        "booking.day_list.read",
        "booking.appointment.attended",
    } <= actions


async def test_never_checked_in_becomes_a_no_show_after_the_session(
    session, session_factory, clock
):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=date(2026, 11, 24))
    here, here_appointment = await _book(session, clock, view.slots[0])
    _, missed = await _book(session, clock, view.slots[1])
    clock.set(shanghai(date(2026, 11, 24), time(8, 30)))
    await check_in(session, here, appointment_id=here_appointment.id)
    clock.set(shanghai(date(2026, 11, 24), time(10, 0)))
    await drain(session_factory, clock, limit=50, services={"sms_sender": None})
    outcomes = dict((await session.execute(select(Visit.appointment_id, Visit.outcome))).all())
    assert outcomes == {here_appointment.id: None, missed.id: "no_show"}
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "booking.appointment.no_show")
    )
    assert (entry.actor_role, entry.subject_id) == ("system", str(missed.id))


async def test_no_show_is_not_recorded_in_a_stopped_session(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=date(2026, 11, 24))
    _, appointment = await _book(session, clock, view.slots[0])
    # a confirmed appointment left in a stopped session (a booking that raced the 停诊)
    view.session.status = "stopped"
    await session.flush()
    clock.set(shanghai(date(2026, 11, 24), time(10, 0)))
    assert (
        await record_missed_visit(session, Actor.system(clock), appointment_id=appointment.id)
        is None
    )
    assert await session.scalar(select(Visit.outcome)) is None


async def test_three_no_shows_suspend_booking_for_ninety_days(session, clock):
    clinic = await make_clinic(session, clock=clock)
    patient = await make_patient(session, clock=clock)
    doctor = await _doctor(session, clinic, clock)
    days = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    booked = []
    for day in days:
        view = await make_session(session, clinic, clock=clock, day=day)
        booked.append(await _book(session, clock, view.slots[0], patient))
    for day, (_, appointment) in zip(days, booked, strict=True):
        clock.set(shanghai(day, time(9, 30)))
        await mark_attendance(session, doctor, appointment_id=appointment.id, outcome="no_show")
    view = await make_session(session, clinic, clock=clock, day=date(2026, 11, 28))
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, view.slots[0], patient)
    assert refused.value.code == "booking.suspended"
    assert refused.value.fields["until"] == "2027-02-24"
    clock.set(shanghai(date(2027, 2, 24), time(9, 31)))
    later = await make_session(session, clinic, clock=clock, day=date(2027, 2, 25))
    _, appointment = await _book(session, clock, later.slots[0], patient)
    assert appointment.status == "confirmed"
    actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions.count("booking.patient.suspend") == 1
