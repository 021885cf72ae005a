"""The booking pages over HTTP: a patient books from the doctor's schedule, sees the appointment
and cancels it; an admin schedules a session and stops it; refusals show on the page."""

import re
from datetime import date

from sqlalchemy import select

from ihospital.booking.models import Appointment, ScheduleSession
from ihospital.identity.models import Account
from tests.booking.builders import make_clinic, make_session
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as

DAY = date(2026, 11, 30)  # released: the clock stands at 2026-11-23 09:00 in Shanghai


async def _signed_in_patient(session, client, clock, **changes):
    patient = await make_patient(session, clock=clock, **changes)
    account = await session.get(Account, patient.account_id)
    await sign_in_as(session, client, account=account, clock=clock)
    return patient


async def test_a_patient_books_sees_and_cancels_through_the_pages(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY, fee_fen=5000)
    patient = await _signed_in_patient(session, client, clock, name="李四")

    profile = await client.get(f"/doctors/{clinic.practitioner_id}")
    assert f'href="/doctors/{clinic.practitioner_id}/schedule"' in profile.text
    schedule = await client.get(f"/doctors/{clinic.practitioner_id}/schedule")
    assert schedule.status_code == 200
    assert "09:20–09:30 余 1" in schedule.text and "上午" in schedule.text
    assert "¥50.00" in schedule.text

    slot = view.slots[2]
    confirm = await client.get(f"/appointments/new?slot_id={slot.id}")
    assert confirm.status_code == 200
    assert "2026-11-30 09:20–09:30" in confirm.text and "李四" in confirm.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', confirm.text).group(1)
    form = {
        "slot_id": str(slot.id),
        "patient_id": str(patient.id),
        "idempotency_key": key,
        "csrf_token": await csrf_token(client),
    }
    booked = await client.post("/appointments/new", data=form)
    [appointment] = (await session.scalars(select(Appointment))).all()
    assert appointment.status == "pending_payment"
    bill = f"/bills/{appointment.order_id}"
    assert booked.status_code == 303 and booked.headers["location"] == bill
    assert "¥50.00" in (await client.get(bill)).text  # the registration fee, to pay now
    again = await client.post("/appointments/new", data=form)
    assert again.status_code == 303 and again.headers["location"] == bill

    mine = await client.get("/appointments")
    assert "2026-11-30 09:20–09:30" in mine.text and "排第 1 号" in mine.text
    assert f"/appointments/{appointment.id}/cancel" in mine.text
    cancelled = await client.post(
        f"/appointments/{appointment.id}/cancel", data={"csrf_token": form["csrf_token"]}
    )
    assert cancelled.status_code == 303
    await session.refresh(appointment)
    assert appointment.status == "cancelled"
    listing = await client.get("/appointments")
    assert "已取消" in listing.text and f"/appointments/{appointment.id}/cancel" not in listing.text


async def test_refusals_show_on_the_confirmation_page(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    later = await make_session(session, clinic, clock=clock, day=date(2026, 12, 1))
    today = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await _signed_in_patient(session, client, clock)
    early = await client.get(f"/appointments/new?slot_id={later.slots[0].id}")
    assert "尚未放出" in early.text and "2026-11-24 08:00" in early.text
    token = await csrf_token(client)
    refused = await client.post(
        "/appointments/new",
        data={
            "slot_id": str(later.slots[0].id),
            "patient_id": str(patient.id),
            "idempotency_key": "early",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 425 and "2026-11-24 08:00" in refused.text
    other = await make_patient(session, clock=clock)
    taken = await client.post(
        "/appointments/new",
        data={
            "slot_id": str(today.slots[0].id),
            "patient_id": str(other.id),
            "idempotency_key": "someone-else",
            "csrf_token": token,
        },
    )
    assert taken.status_code == 404


async def test_another_accounts_appointment_cannot_be_cancelled(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    owner = await _signed_in_patient(session, client, clock)
    token = await csrf_token(client)
    await client.post(
        "/appointments/new",
        data={
            "slot_id": str(view.slots[0].id),
            "patient_id": str(owner.id),
            "idempotency_key": "mine",
            "csrf_token": token,
        },
    )
    appointment = await session.scalar(select(Appointment))
    await _signed_in_patient(session, client, clock)
    response = await client.post(
        f"/appointments/{appointment.id}/cancel", data={"csrf_token": token}
    )
    assert response.status_code == 404
    assert f"appointment-{appointment.id}" not in (await client.get("/appointments")).text


async def test_signed_out_visitors_are_sent_to_login(client):
    for path in ("/appointments", "/appointments/new?slot_id=1", "/admin/schedule"):
        response = await client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_an_admin_schedules_a_session_and_stops_it(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    await sign_in_as(session, client, account=clinic.admin, clock=clock)
    editor = await client.get("/admin/schedule")
    assert editor.status_code == 200 and "放号" in editor.text
    form = {
        "csrf_token": await csrf_token(client),
        "practitioner_id": str(clinic.practitioner_id),
        "department_code": "03.04",
        "kind": "once",
        "day": "2026-11-30",
        "half_day": "morning",
        "start_time": "09:00",
        "end_time": "10:00",
        "visit_type": "in_person",
        "fee_class": "expert",
        "fee_fen": "50",
        "capacity": "7",
        "slot_minutes": "10",
    }
    refused = await client.post("/admin/schedule/sessions", data=form)
    assert refused.status_code == 422
    assert 'id="error-capacity"' in refused.text and 'value="7"' in refused.text
    created = await client.post("/admin/schedule/sessions", data={**form, "capacity": "6"})
    assert created.status_code == 303
    schedule = await session.scalar(select(ScheduleSession))
    assert schedule.fee_fen == 5000
    editor = await client.get("/admin/schedule")
    assert f"/admin/schedule/sessions/{schedule.id}/stop" in editor.text

    confirm = await client.get(f"/admin/schedule/sessions/{schedule.id}/stop")
    assert confirm.status_code == 200 and "停诊" in confirm.text
    stopped = await client.post(
        f"/admin/schedule/sessions/{schedule.id}/stop", data={"csrf_token": form["csrf_token"]}
    )
    assert stopped.status_code == 303
    await session.refresh(schedule)
    assert schedule.status == "stopped"


async def test_an_admin_sets_weekly_sessions_and_the_release_rules(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    await sign_in_as(session, client, account=clinic.admin, clock=clock)
    token = await csrf_token(client)
    weekly = await client.post(
        "/admin/schedule/sessions",
        data={
            "csrf_token": token,
            "practitioner_id": str(clinic.practitioner_id),
            "department_code": "03.04",
            "kind": "weekly",
            "start": "2026-11-30",
            "until": "2026-12-13",
            "weekdays": ["1", "3"],
            "half_day": "afternoon",
            "start_time": "14:00",
            "end_time": "15:00",
            "visit_type": "online",
            "fee_class": "general",
            "fee_fen": "12.5",
            "capacity": "6",
            "slot_minutes": "10",
        },
    )
    assert weekly.status_code == 303
    days = (await session.scalars(select(ScheduleSession.day))).all()
    assert sorted(days) == [
        date(2026, 11, 30),
        date(2026, 12, 2),
        date(2026, 12, 7),
        date(2026, 12, 9),
    ]
    rules = {
        "csrf_token": token,
        "release_days_ahead": "14",
        "release_time": "07:30",
        "cancel_cutoff_time": "17:00",
        "max_per_doctor_per_day": "1",
        "max_active_per_institution": "3",
        "child_age_limit": "14",
        "check_in_opens_minutes": "45",
        "check_in_closes_minutes": "10",
    }
    saved = await client.post("/admin/schedule/rules", data=rules)
    assert saved.status_code == 303
    assert 'value="14"' in (await client.get("/admin/schedule")).text
    wrong = await client.post("/admin/schedule/rules", data={**rules, "release_days_ahead": "400"})
    assert wrong.status_code == 422 and 'id="error-release_days_ahead"' in wrong.text


async def test_a_refused_weekly_schedule_leaves_no_sessions(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    taken = (await make_session(session, clinic, clock=clock, day=date(2026, 12, 9))).session.id
    await session.commit()
    await sign_in_as(session, client, account=clinic.admin, clock=clock)
    refused = await client.post(
        "/admin/schedule/sessions",
        data={
            "csrf_token": await csrf_token(client),
            "practitioner_id": str(clinic.practitioner_id),
            "department_code": "03.04",
            "kind": "weekly",
            "start": "2026-11-30",
            "until": "2026-12-09",
            "weekdays": ["1", "3"],
            "half_day": "morning",
            "start_time": "09:00",
            "end_time": "10:00",
            "visit_type": "in_person",
            "fee_class": "expert",
            "fee_fen": "50",
            "capacity": "6",
            "slot_minutes": "10",
        },
    )
    assert refused.status_code == 409  # the last day overlaps the session already there
    session.expire_all()
    assert (await session.scalars(select(ScheduleSession.id))).all() == [taken]


async def test_elder_mode_shows_the_schedule_with_one_primary_action(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await _signed_in_patient(session, client, clock)
    account = await session.get(Account, patient.account_id)
    account.elder_mode = True
    await session.flush()
    schedule = await client.get(f"/doctors/{clinic.practitioner_id}/schedule")
    assert '<body class="elder">' in schedule.text
    confirm = await client.get(f"/appointments/new?slot_id={view.slots[0].id}")
    assert '<body class="elder">' in confirm.text
    assert confirm.text.count("btn-primary") == 1
