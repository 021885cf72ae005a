"""The pages of the day of the visit over HTTP: the doctor's day list with the patients' names
(their own sessions only) and attendance marked in place; a patient's 签到 from "my
appointments"; the waitlist pages."""

import json
import re
from datetime import date, time

from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.booking.dayof import check_in
from ihospital.booking.dayof_models import Visit
from ihospital.booking.models import WaitlistEntry
from ihospital.directory.models import Practitioner
from ihospital.identity.models import Account
from tests.booking.builders import make_clinic, make_session
from tests.booking.test_dayof import _book, shanghai
from tests.directory.builders import bearer
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as

DAY = date(2026, 11, 24)
ENGLISH = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true"}


async def _doctor_account(session, clinic) -> Account:
    practitioner = await session.get(Practitioner, clinic.practitioner_id)
    return await session.get(Account, practitioner.account_id)


def _row(html: str, appointment_id: int) -> str:
    """The table row of one appointment on the day list."""
    return re.search(rf'<tr id="visit-{appointment_id}".*?</tr>', html, re.S).group(0)


async def test_the_doctor_sees_the_day_by_name_and_marks_attendance_in_place(
    client, session, clock
):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    first = await make_patient(session, clock=clock, name="李小明", age=40, sex="female")
    here, here_appointment = await _book(session, clock, view.slots[0], first)
    late_patient = await make_patient(session, clock=clock, name="王五")
    _, late_appointment = await _book(session, clock, view.slots[2], late_patient)
    clock.set(shanghai(DAY, time(8, 30)))
    await check_in(session, here, appointment_id=here_appointment.id)
    clock.set(shanghai(DAY, time(9, 25)))
    await sign_in_as(session, client, account=await _doctor_account(session, clinic), clock=clock)

    page = await client.get("/doctor/day")
    assert page.status_code == 200
    checked_in = _row(page.text, here_appointment.id)
    assert "李小明" in checked_in and "女 · 40 岁" in checked_in and "已签到" in checked_in
    assert 'class="queue-next"' in checked_in and '<td class="num">1</td>' in checked_in
    assert "王五" in _row(page.text, late_appointment.id)
    assert "迟到" in _row(page.text, late_appointment.id)
    assert "下一位：1 号 李小明" in page.text and 'hx-trigger="every 30s"' in page.text
    assert 'for="field-day"' in page.text  # the date picker is labelled
    english = await client.get("/doctor/day", headers=ENGLISH)
    assert "Next to call: No. 1, 李小明" in english.text and "Checked in" in english.text
    api = await client.get(
        "/api/doctor/day",
        headers=await bearer(session, clock=clock, account=await _doctor_account(session, clinic)),
    )
    visits = api.json()[0]["visits"]
    assert visits[0]["patient"] == {"name": "李小明", "sex": "female", "age": 40}

    token = await csrf_token(client)
    url = f"/doctor/day/appointments/{here_appointment.id}/attendance"
    form = {"csrf_token": token, "outcome": "attended", "day": str(DAY)}
    assert (await client.post(url, data={"outcome": "attended"})).status_code == 403
    marked = await client.post(url, data=form, headers=HTMX)
    assert marked.status_code == 200 and marked.text.startswith('<div id="day-list"')
    assert "已就诊" in _row(marked.text, here_appointment.id) and "<html" not in marked.text
    assert "目前没有已签到候诊的患者" in marked.text
    refused = await client.post(url, data={**form, "outcome": "no_show"}, headers=HTMX)
    assert "该次就诊已结束" in refused.text and "notice-error" in refused.text
    plain = await client.post(
        f"/doctor/day/appointments/{late_appointment.id}/attendance",
        data={**form, "outcome": "no_show"},
    )
    assert plain.status_code == 303 and plain.headers["location"] == f"/doctor/day?day={DAY}"
    outcomes = dict((await session.execute(select(Visit.appointment_id, Visit.outcome))).all())
    assert outcomes == {here_appointment.id: "attended", late_appointment.id: "no_show"}
    read = json.loads(
        await session.scalar(
            select(AuditEntry.details).where(AuditEntry.action == "patient.cards.read")
        )
    )
    assert read["patient_ids"] == sorted([first.id, late_patient.id])
    assert (read["purpose"], read["masked"]) == ("booking.day_list", False)


async def test_a_doctor_never_sees_or_marks_another_doctors_patients(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    other = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock, name="赵六")
    _, appointment = await _book(session, clock, view.slots[0], patient)
    clock.set(shanghai(DAY, time(9, 30)))
    await sign_in_as(session, client, account=await _doctor_account(session, other), clock=clock)
    page = await client.get(f"/doctor/day?day={DAY}")
    assert page.status_code == 200 and "赵六" not in page.text and "没有出诊" in page.text
    marked = await client.post(
        f"/doctor/day/appointments/{appointment.id}/attendance",
        data={"csrf_token": await csrf_token(client), "outcome": "no_show", "day": str(DAY)},
    )
    assert marked.status_code == 404
    assert await session.scalar(select(Visit)) is None
    patient_account = await session.get(Account, patient.account_id)
    await sign_in_as(session, client, account=patient_account, clock=clock)
    assert (await client.get("/doctor/day")).status_code == 403


async def test_the_doctor_picks_another_day_of_their_sessions(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    later = date(2026, 11, 30)
    view = await make_session(session, clinic, clock=clock, day=later)
    await _book(
        session, clock, view.slots[1], await make_patient(session, clock=clock, name="钱七")
    )
    await sign_in_as(session, client, account=await _doctor_account(session, clinic), clock=clock)
    assert "钱七" not in (await client.get("/doctor/day")).text
    picked = await client.get(f"/doctor/day?day={later}")
    assert "钱七" in picked.text and "未到时间" in picked.text and "回到今天" in picked.text
    assert (await client.get("/doctor/day?day=30-11-2026")).status_code == 422
    headers = await bearer(session, clock=clock, account=await _doctor_account(session, clinic))
    listed = await client.get(f"/api/doctor/day?day={later}", headers=headers)
    assert [v["patient"]["name"] for v in listed.json()[0]["visits"]] == ["钱七"]
    assert (await client.get("/api/doctor/day", headers=headers)).json() == []


async def test_a_patient_checks_in_inside_the_window_and_gets_the_queue_number(
    client, session, clock
):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    _, appointment = await _book(session, clock, view.slots[0], patient)
    await sign_in_as(
        session, client, account=await session.get(Account, patient.account_id), clock=clock
    )
    button = f'action="/appointments/{appointment.id}/check-in"'
    before = await client.get("/appointments")
    assert button not in before.text and "2026-11-24 08:00 起可签到" in before.text
    token = await csrf_token(client)
    early = await client.post(
        f"/appointments/{appointment.id}/check-in", data={"csrf_token": token}
    )
    assert early.status_code == 303
    assert "2026-11-24 08:00" in (await client.get("/appointments")).text
    assert await session.scalar(select(Visit)) is None

    clock.set(shanghai(DAY, time(8, 10)))
    await sign_in_as(
        session, client, account=await session.get(Account, patient.account_id), clock=clock
    )
    inside = await client.get("/appointments")
    assert button in inside.text and ">签到</button>" in inside.text
    assert "Check in" in (await client.get("/appointments", headers=ENGLISH)).text
    done = await client.post(f"/appointments/{appointment.id}/check-in", data={"csrf_token": token})
    assert done.status_code == 303
    after = await client.get("/appointments")
    assert (
        "签到成功：您排第 1 号" in after.text and "已签到：第 1 号。 请到以下地点候诊" in after.text
    )
    assert button not in after.text

    stranger = await make_patient(session, clock=clock)
    await sign_in_as(
        session, client, account=await session.get(Account, stranger.account_id), clock=clock
    )
    foreign = await client.post(
        f"/appointments/{appointment.id}/check-in", data={"csrf_token": token}
    )
    assert foreign.status_code == 404


async def test_a_patient_joins_a_full_sessions_waitlist_sees_it_and_leaves(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(
        session, clinic, clock=clock, day=DAY, capacity=1, end_time=time(9, 10)
    )
    await _book(session, clock, view.slots[0])
    patient = await make_patient(session, clock=clock, name="孙八")
    await sign_in_as(
        session, client, account=await session.get(Account, patient.account_id), clock=clock
    )
    schedule = await client.get(f"/doctors/{clinic.practitioner_id}/schedule")
    join_link = f"/waitlist/new?session_id={view.session.id}"
    assert join_link in schedule.text
    page = await client.get(join_link)
    assert page.status_code == 200 and 'for="field-patient_id"' in page.text
    token = await csrf_token(client)
    form = {"csrf_token": token, "session_id": str(view.session.id), "patient_id": str(patient.id)}
    joined = await client.post("/waitlist/new", data=form)
    assert joined.status_code == 303 and joined.headers["location"] == "/waitlist"
    entry = await session.scalar(select(WaitlistEntry))
    assert (entry.patient_id, entry.status) == (patient.id, "waiting")
    mine = await client.get("/waitlist")
    assert "候补中" in mine.text and "孙八" in mine.text and "已加入候补" in mine.text
    assert "Waiting" in (await client.get("/waitlist", headers=ENGLISH)).text
    missing = await client.post("/waitlist/new", data={**form, "patient_id": "x"})
    assert missing.status_code == 422 and 'id="error-patient_id"' in missing.text

    stranger = await make_patient(session, clock=clock)
    await sign_in_as(
        session, client, account=await session.get(Account, stranger.account_id), clock=clock
    )
    assert "孙八" not in (await client.get("/waitlist")).text
    foreign = await client.post(f"/waitlist/{entry.id}/leave", data={"csrf_token": token})
    assert foreign.status_code == 404
    someone_else = await client.post("/waitlist/new", data=form)
    assert someone_else.status_code == 404

    await sign_in_as(
        session, client, account=await session.get(Account, patient.account_id), clock=clock
    )
    left = await client.post(f"/waitlist/{entry.id}/leave", data={"csrf_token": token})
    assert left.status_code == 303
    await session.refresh(entry)
    assert entry.status == "left"
    assert "已取消候补" in (await client.get("/waitlist")).text


async def test_joining_a_waitlist_with_free_places_is_refused_on_the_page(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    patient = await make_patient(session, clock=clock)
    await sign_in_as(
        session, client, account=await session.get(Account, patient.account_id), clock=clock
    )
    form = {
        "csrf_token": await csrf_token(client),
        "session_id": str(view.session.id),
        "patient_id": str(patient.id),
    }
    refused = await client.post("/waitlist/new", data=form)
    assert refused.status_code == 409 and "尚有空余号源" in refused.text
    assert await session.scalar(select(WaitlistEntry)) is None
    assert (await client.get("/waitlist/new?session_id=999999")).status_code == 404


async def test_the_doctor_day_list_reads_well_in_elder_mode(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=date(2026, 11, 23))
    await _book(session, clock, view.slots[5])
    account = await _doctor_account(session, clinic)
    account.elder_mode = True
    await session.flush()
    await sign_in_as(session, client, account=account, clock=clock)
    page = await client.get("/doctor/day")
    assert '<body class="elder">' in page.text
    assert 'class="form form-inline day-picker secondary"' in page.text
