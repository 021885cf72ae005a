"""The day of a vaccination or check-up: the institution's nurses (full names) and admins (masked
names) see the day list of its services with check-in and queue numbers and mark attendance, by
the rules of a doctor's day list; a no-show counts towards the suspension like a doctor's; staff
of another institution are refused and its appointments are not found; the API and the pages."""

import json
import re
from datetime import date, time

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.booking.dayof import check_in
from ihospital.booking.dayof_models import Visit
from ihospital.booking.service_day import mark_service_attendance, service_day
from ihospital.core.context import Actor
from ihospital.errors import Conflict, Forbidden, NotFound
from tests.booking.builders import make_clinic, make_resource, make_resource_session, make_session
from tests.booking.test_dayof import _book, shanghai
from tests.directory.builders import bearer, make_staff
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as

# a Practitioner looked up by a service's missing doctor warns: fail on it
pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")

DAY = date(2026, 11, 24)
HTMX = {"HX-Request": "true"}


async def _staff(session, clock, clinic, role="nurse"):
    account = await make_staff(session, clock=clock, institution=clinic.institution, role=role)
    actor = Actor(
        role=role, clock=clock, account_id=account.id, institution_id=clinic.institution.id
    )
    return account, actor


async def _vaccination_day(session, clock):
    """A clinic with a vaccination session and a doctor's session on DAY, each booked."""
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    windows = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    doctor = await make_session(session, clinic, clock=clock, day=DAY)
    first = await make_patient(session, clock=clock, name="欧阳小明")
    second = await make_patient(session, clock=clock, name="张三")
    first_booker, first_appointment = await _book(session, clock, windows.slots[0], first)
    _, second_appointment = await _book(session, clock, windows.slots[1], second)
    _, doctors = await _book(session, clock, doctor.slots[0])
    return clinic, resource, windows, (first_booker, first_appointment), second_appointment, doctors


async def test_a_nurse_sees_the_vaccination_day_with_check_in_and_queue(session, clock):
    clinic, resource, windows, (first_booker, first), second, doctors = await _vaccination_day(
        session, clock
    )
    clock.set(shanghai(DAY, time(8, 10)))
    await check_in(session, first_booker, appointment_id=first.id)
    _, nurse = await _staff(session, clock, clinic)
    [listed] = await service_day(session, nurse, institution_id=clinic.institution.id, day=DAY)
    assert listed.schedule.id == windows.session.id  # the doctor's session is not listed
    assert [(v.appointment.id, v.status) for v in listed.visits] == [
        (first.id, "checked_in"),
        (second.id, "expected"),
    ]
    assert listed.visits[0].visit.queue_number == 1
    assert [v.patient.name for v in listed.visits] == ["欧阳小明", "张三"]
    assert listed.next_in_queue.appointment.id == first.id

    _, admin = await _staff(session, clock, clinic, role="institution_admin")
    [masked] = await service_day(session, admin, institution_id=clinic.institution.id, day=DAY)
    assert [v.patient.name for v in masked.visits] == ["欧**明", "张*"]
    other = await make_resource(session, clinic, clock=clock, name="流感疫苗接种")
    only_other = await service_day(
        session, nurse, institution_id=clinic.institution.id, day=DAY, resource_id=other.id
    )
    assert only_other == []
    reads = await session.scalars(
        select(AuditEntry.details)
        .where(AuditEntry.action == "patient.cards.read")
        .order_by(AuditEntry.id)
    )
    assert [json.loads(details)["masked"] for details in reads] == [False, True]


async def test_a_nurse_marks_attendance_by_the_day_list_rules(session, clock):
    clinic, _, _, (_, first), second, doctors = await _vaccination_day(session, clock)
    _, nurse = await _staff(session, clock, clinic)
    institution_id = clinic.institution.id
    with pytest.raises(Conflict) as early:
        async with session.begin_nested():  # as the routes do: a refusal leaves nothing behind
            await mark_service_attendance(
                session,
                nurse,
                institution_id=institution_id,
                appointment_id=first.id,
                outcome="no_show",
            )
    assert early.value.code == "booking.visit_not_due"
    clock.set(shanghai(DAY, time(8, 45)))
    attended = await mark_service_attendance(
        session, nurse, institution_id=institution_id, appointment_id=first.id, outcome="attended"
    )
    assert attended.visit.marked_by_account_id == nurse.account_id
    missed = await mark_service_attendance(
        session, nurse, institution_id=institution_id, appointment_id=second.id, outcome="no_show"
    )
    assert missed.visit.outcome == "no_show"
    with pytest.raises(NotFound):  # a doctor's appointment is the doctor's to mark
        await mark_service_attendance(
            session,
            nurse,
            institution_id=institution_id,
            appointment_id=doctors.id,
            outcome="attended",
        )
    assert await session.scalar(select(Visit).where(Visit.appointment_id == doctors.id)) is None


async def test_another_institutions_staff_are_refused(session, clock):
    clinic, _, _, (_, first), _, _ = await _vaccination_day(session, clock)
    elsewhere = await make_clinic(session, clock=clock)
    _, stranger = await _staff(session, clock, elsewhere)
    with pytest.raises(Forbidden):
        await service_day(session, stranger, institution_id=clinic.institution.id, day=DAY)
    clock.set(shanghai(DAY, time(8, 45)))
    with pytest.raises(NotFound):
        await mark_service_attendance(
            session,
            stranger,
            institution_id=elsewhere.institution.id,
            appointment_id=first.id,
            outcome="attended",
        )
    assert await session.scalar(select(Visit)) is None


async def test_three_vaccination_no_shows_suspend_booking_like_a_doctors(session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    patient = await make_patient(session, clock=clock)
    _, nurse = await _staff(session, clock, clinic)
    days = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    booked = []
    for day in days:
        view = await make_resource_session(session, clinic, resource, clock=clock, day=day)
        booked.append(await _book(session, clock, view.slots[0], patient))
    for day, (_, appointment) in zip(days, booked, strict=True):
        clock.set(shanghai(day, time(8, 30)))
        await mark_service_attendance(
            session,
            nurse,
            institution_id=clinic.institution.id,
            appointment_id=appointment.id,
            outcome="no_show",
        )
    doctor = await make_session(session, clinic, clock=clock, day=date(2026, 11, 28))
    with pytest.raises(Conflict) as refused:
        await _book(session, clock, doctor.slots[0], patient)
    assert (refused.value.code, refused.value.fields["count"]) == ("booking.suspended", 3)


async def test_the_service_day_over_http(client, session, clock):
    clinic, resource, windows, (first_booker, first), second, doctors = await _vaccination_day(
        session, clock
    )
    clock.set(shanghai(DAY, time(8, 10)))
    await check_in(session, first_booker, appointment_id=first.id)
    nurse, _ = await _staff(session, clock, clinic)
    url = f"/api/institutions/{clinic.institution.id}/service-day"
    listed = await client.get(
        url,
        params={"day": DAY.isoformat()},
        headers=await bearer(session, clock=clock, account=nurse),
    )
    assert listed.status_code == 200
    [day] = listed.json()
    assert (day["session_id"], day["resource_id"]) == (windows.session.id, resource.id)
    assert [(v["patient"]["name"], v["queue_number"]) for v in day["visits"]] == [
        ("欧阳小明", 1),
        ("张三", None),
    ]
    headers = await bearer(session, clock=clock, account=nurse)
    marked = await client.post(
        f"{url}/appointments/{first.id}/attendance", json={"outcome": "attended"}, headers=headers
    )
    assert marked.status_code == 200 and marked.json()["status"] == "attended"
    foreign = await client.post(
        f"{url}/appointments/{doctors.id}/attendance", json={"outcome": "attended"}, headers=headers
    )
    assert foreign.status_code == 404
    bad = await client.post(
        f"{url}/appointments/{second.id}/attendance", json={"outcome": "gone"}, headers=headers
    )
    assert bad.status_code == 422

    elsewhere = await make_clinic(session, clock=clock)
    stranger, _ = await _staff(session, clock, elsewhere)
    outsider = await bearer(session, clock=clock, account=stranger)
    refused = await client.get(url, headers=outsider)
    assert refused.status_code == 403
    other_url = f"/api/institutions/{elsewhere.institution.id}/service-day"
    not_theirs = await client.post(
        f"{other_url}/appointments/{second.id}/attendance",
        json={"outcome": "attended"},
        headers=outsider,
    )
    assert not_theirs.status_code == 404


async def test_a_nurse_marks_attendance_on_the_page(client, session, clock):
    clinic, resource, _, (_, first), second, doctors = await _vaccination_day(session, clock)
    clock.set(shanghai(DAY, time(8, 45)))
    nurse, _ = await _staff(session, clock, clinic)
    await sign_in_as(session, client, account=nurse, clock=clock)
    page = await client.get("/staff/service-day")
    assert page.status_code == 200
    assert resource.name in page.text and "欧阳小明" in page.text
    assert 'href="/staff/service-day"' in page.text  # in the navigation
    action = f"/staff/service-day/appointments/{first.id}/attendance"
    assert f'action="{action}"' in page.text
    token = await csrf_token(client)
    form = {"csrf_token": token, "outcome": "attended", "day": DAY.isoformat()}
    marked = await client.post(action, data=form, headers=HTMX)
    assert marked.status_code == 200 and 'id="day-list"' in marked.text
    assert re.search(rf'<tr id="visit-{first.id}".*?已就诊', marked.text, re.S)
    plain = await client.post(
        f"/staff/service-day/appointments/{second.id}/attendance",
        data={**form, "outcome": "no_show"},
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/staff/service-day?day={DAY.isoformat()}"
    foreign = await client.post(
        f"/staff/service-day/appointments/{doctors.id}/attendance", data=form
    )
    assert foreign.status_code == 404
    english = await client.get("/staff/service-day", headers={"Accept-Language": "en"})
    assert "Vaccinations and check-ups of the day" in english.text

    admin, _ = await _staff(session, clock, clinic, role="institution_admin")
    await sign_in_as(session, client, account=admin, clock=clock)
    masked = await client.get("/staff/service-day")
    assert "欧**明" in masked.text and "欧阳小明" not in masked.text
