"""Booking fairness (防号贩子): too many attempts per account or IP get 429 with Retry-After and
write nothing; scalper flags are raised at their thresholds, once per day, and only the
institution's admins see and review them."""

from datetime import time, timedelta

import pytest
from sqlalchemy import delete, func, select

from ihospital.audit.models import AuditEntry
from ihospital.booking.appointments import book_slot
from ihospital.booking.fairness.flags import (
    BOOKINGS_PER_DEVICE_DAY,
    PATIENTS_PER_DOCTOR,
    flag_evidence,
    note_booking,
)
from ihospital.booking.fairness.models import BookingFlag, BookingOrigin
from ihospital.booking.models import Appointment, Slot
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.booking.test_schedules import DAY
from tests.conftest import make_settings
from tests.directory.builders import bearer
from tests.identity.builders import make_patient
from tests.web.builders import sign_in_as


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, booking_rate_per_account=2, booking_rate_per_ip=4)


async def _count(session, column) -> int:
    return await session.scalar(select(func.count(column))) or 0


async def test_third_attempt_in_the_window_gets_429_and_writes_nothing(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    headers = await bearer(
        session, clock=clock, account=await session.get(Account, patient.account_id)
    )
    first = {"slot_id": view.slots[0].id, "patient_id": patient.id, "idempotency_key": "a"}
    assert (await client.post("/api/appointments", json=first, headers=headers)).status_code == 201
    # a replay is an attempt too
    assert (await client.post("/api/appointments", json=first, headers=headers)).status_code == 201
    appointments, origins = (
        await _count(session, Appointment.id),
        await _count(session, BookingOrigin.id),
    )
    other = {"slot_id": view.slots[1].id, "patient_id": patient.id, "idempotency_key": "b"}
    refused = await client.post("/api/appointments", json=other, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused.headers["retry-after"] == "10"
    assert refused.json()["code"] == "booking.too_many_attempts"
    assert refused.json()["detail"] == "预约操作过于频繁，请 10 秒后再试。"
    assert await _count(session, Appointment.id) == appointments
    assert await _count(session, BookingOrigin.id) == origins
    assert (await session.get(Slot, view.slots[1].id)).booked == 0

    clock.advance(timedelta(seconds=10))
    again = await client.post("/api/appointments", json=other, headers=headers)
    assert again.status_code == 409  # past the limit: the booking rules answer again
    assert again.json()["code"] == "booking.doctor_day_limit"


async def test_one_ip_is_limited_across_accounts(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    answers = []
    for index in range(5):
        patient = await make_patient(session, clock=clock)
        headers = await bearer(
            session, clock=clock, account=await session.get(Account, patient.account_id)
        )
        body = {"slot_id": view.slots[index].id, "patient_id": patient.id, "idempotency_key": "k"}
        answers.append(await client.post("/api/appointments", json=body, headers=headers))
    assert [a.status_code for a in answers] == [201, 201, 201, 201, 429]
    assert answers[-1].headers["retry-after"] == "10"


async def test_many_patients_with_one_doctor_raise_one_flag_seen_by_the_admin(
    client, session, clock
):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    first = await make_patient(session, clock=clock)
    account = await session.get(Account, first.account_id)
    patients = [first] + [
        await make_patient(session, clock=clock, account=account, relationship="child")
        for _ in range(PATIENTS_PER_DOCTOR)
    ]
    for index, patient in enumerate(patients):
        booked = await book_slot(
            session,
            booker(clock, patient),
            slot_id=view.slots[index].id,
            patient_id=patient.id,
            idempotency_key=new_key(),
        )
        await note_booking(session, booker(clock, patient), view=booked, device_hash="d")
        flags = (await session.scalars(select(BookingFlag))).all()
        assert len(flags) == (1 if index + 1 >= PATIENTS_PER_DOCTOR else 0)
    [flag] = flags
    assert flag.reason == "many_patients_one_doctor" and flag.count == len(patients)
    assert flag.account_id == account.id and flag.practitioner_id == clinic.practitioner_id

    admin = await bearer(session, clock=clock, account=clinic.admin)
    url = f"/api/institutions/{clinic.institution.id}/booking-flags"
    listed = await client.get(url, headers=admin)
    assert listed.status_code == 200, listed.text
    assert [(f["id"], f["status"], f["count"]) for f in listed.json()] == [(flag.id, "open", 4)]
    review = {"outcome": "scalping", "note": "同一账号替多人挂号"}
    reviewed = await client.post(f"{url}/{flag.id}/review", json=review, headers=admin)
    assert reviewed.json()["status"] == "reviewed"
    assert reviewed.json()["reviewed_by_account_id"] == clinic.admin.id
    assert (reviewed.json()["outcome"], reviewed.json()["review_note"]) == (
        "scalping",
        "同一账号替多人挂号",
    )
    unknown = await client.post(f"{url}/{flag.id}/review", json={"outcome": "x"}, headers=admin)
    assert unknown.status_code == 422
    assert (await client.get(url, params={"status": "open"}, headers=admin)).json() == []
    actions = set(
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("booking.flag%"))
        )
    )
    assert actions == {
        "booking.flag.raise",
        "booking.flag.count",
        "booking.flags.list",
        "booking.flag.review",
    }

    elsewhere = await make_clinic(session, clock=clock)
    stranger = await bearer(session, clock=clock, account=elsewhere.admin)
    assert (await client.get(url, headers=stranger)).status_code == 403
    refused = await client.post(f"{url}/{flag.id}/review", json=review, headers=stranger)
    assert refused.status_code == 403
    own = f"/api/institutions/{elsewhere.institution.id}/booking-flags"
    assert (await client.get(own, headers=stranger)).json() == []
    missing = await client.post(f"{own}/{flag.id}/review", json=review, headers=stranger)
    assert missing.status_code == 404 and missing.json()["code"] == "booking.flag_not_found"


async def test_a_doctors_bookings_at_another_institution_are_not_counted_or_shown(session, clock):
    clinic = await make_clinic(session, clock=clock)
    elsewhere = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    first = await make_patient(session, clock=clock)
    account = await session.get(Account, first.account_id)
    patients = [first] + [
        await make_patient(session, clock=clock, account=account, relationship="child")
        for _ in range(PATIENTS_PER_DOCTOR + 1)
    ]
    appointments = []
    for index, patient in enumerate(patients):
        booked = await book_slot(
            session,
            booker(clock, patient),
            slot_id=view.slots[index].id,
            patient_id=patient.id,
            idempotency_key=new_key(),
        )
        appointment = booked.appointment
        if index < 2:  # as if booked at the doctor's other practice site
            appointment.institution_id = elsewhere.institution.id
            await session.flush()
        await note_booking(session, booker(clock, patient), view=booked, device_hash=f"d{index}")
        appointments.append(appointment)
        flags = (await session.scalars(select(BookingFlag))).all()
        assert len(flags) == (1 if index - 2 + 1 >= PATIENTS_PER_DOCTOR else 0)
    [flag] = flags
    assert flag.institution_id == clinic.institution.id and flag.count == PATIENTS_PER_DOCTOR
    evidence = await flag_evidence(
        session, clinic.admin_actor(clock), institution_id=clinic.institution.id, flags=[flag]
    )
    assert [booking.appointment.id for booking in evidence[flag.id]] == [
        appointment.id for appointment in appointments[2:]
    ]


async def test_busy_device_is_flagged_at_the_threshold_and_counted_at_its_multiples(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(
        session, clinic, clock=clock, day=DAY, end_time=time(11, 0), slot_minutes=5, capacity=24
    )
    slots = view.slots
    counts = []
    for index in range(2 * BOOKINGS_PER_DEVICE_DAY + 1):
        patient = await make_patient(session, clock=clock)
        actor = booker(clock, patient)
        key = new_key()
        booked = await book_slot(
            session, actor, slot_id=slots[index].id, patient_id=patient.id, idempotency_key=key
        )
        await note_booking(session, actor, view=booked, device_hash="phone")
        replayed = await book_slot(
            session, actor, slot_id=slots[index].id, patient_id=patient.id, idempotency_key=key
        )
        await note_booking(session, actor, view=replayed, device_hash="phone")
        flags = (await session.scalars(select(BookingFlag))).all()
        assert len(flags) == (1 if index + 1 >= BOOKINGS_PER_DEVICE_DAY else 0)
        counts.extend(flag.count for flag in flags)
    [flag] = flags
    assert flag.reason == "busy_device" and flag.subject == "device:phone"
    threshold = BOOKINGS_PER_DEVICE_DAY
    assert counts == [threshold] * threshold + [2 * threshold] * 2
    assert await _count(session, BookingOrigin.id) == 2 * threshold + 1


async def _book_from_device(session, clock, view, count: int, *, before_note=None) -> None:
    """``count`` bookings of different 就诊人 from the device ``phone``, noted as the API does;
    ``before_note(index)`` runs before each is noted."""
    for index in range(count):
        patient = await make_patient(session, clock=clock)
        actor = booker(clock, patient)
        booked = await book_slot(
            session,
            actor,
            slot_id=view.slots[index].id,
            patient_id=patient.id,
            idempotency_key=new_key(),
        )
        if before_note is not None:
            await before_note(index)
        await note_booking(session, actor, view=booked, device_hash="phone")


async def test_a_busy_device_whose_threshold_passed_unflagged_is_flagged_by_its_next_booking(
    session, clock
):
    """Simultaneous bookings may each count below the threshold and all commit: the next
    booking of the device raises the flag with its count."""
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(
        session, clinic, clock=clock, day=DAY, end_time=time(11, 0), slot_minutes=5, capacity=24
    )

    async def unnoticed(index: int) -> None:
        if index == BOOKINGS_PER_DEVICE_DAY + 1:  # as if the threshold had passed unnoticed
            await session.execute(delete(BookingFlag))

    await _book_from_device(
        session, clock, view, BOOKINGS_PER_DEVICE_DAY + 2, before_note=unnoticed
    )
    [flag] = (await session.scalars(select(BookingFlag))).all()
    assert flag.reason == "busy_device" and flag.count == BOOKINGS_PER_DEVICE_DAY + 2


async def test_the_admin_page_shows_all_of_a_busy_devices_bookings_of_the_day(
    client, session, clock
):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(
        session, clinic, clock=clock, day=DAY, end_time=time(11, 0), slot_minutes=5, capacity=24
    )
    await _book_from_device(session, clock, view, BOOKINGS_PER_DEVICE_DAY + 3)
    await sign_in_as(session, client, account=clinic.admin, clock=clock)
    page = await client.get("/admin/booking-flags")

    assert f'<dd class="flag-count">{BOOKINGS_PER_DEVICE_DAY + 3}</dd>' in page.text
    assert page.text.count("<tr><td>") == BOOKINGS_PER_DEVICE_DAY + 3
