"""The vaccination and check-up pages over HTTP: an admin adds a service, edits it and schedules
its windows; a patient finds it at the hospital, books a window and sees the appointment with
its preparation notes; refusals show next to their fields; 长辈模式 renders them."""

import re
from datetime import time

import pytest
from sqlalchemy import func, select

from ihospital.booking.models import Appointment, BookingResource, ScheduleSession
from ihospital.identity.models import Account
from tests.booking.builders import (
    CHECKUP,
    make_clinic,
    make_resource,
    make_resource_session,
    make_session,
)
from tests.booking.test_resources import DAY
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as

# a Practitioner looked up by a service's missing doctor warns: fail on it
pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")

SERVICE_FORM = {
    "kind": "vaccination",
    "name": "流感疫苗接种",
    "department_code": "03",
    "vaccine": "四价流感疫苗 第1剂",
    "package_items": "",
    "fee_fen": "128",
    "min_age_years": "3",
    "max_age_years": "",
    "sex": "",
    "preparation": "请携带身份证",
    "is_active": "1",
}
WINDOW_FORM = {
    "kind": "once",
    "day": DAY.isoformat(),
    "half_day": "morning",
    "start_time": "08:00",
    "end_time": "11:30",
    "slot_minutes": "30",
    "places_per_slot": "20",
}


async def _signed_in_patient(session, client, clock, **changes):
    patient = await make_patient(session, clock=clock, **changes)
    account = await session.get(Account, patient.account_id)
    await sign_in_as(session, client, account=account, clock=clock)
    return patient, account


async def test_an_admin_adds_edits_and_schedules_a_vaccination(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    await sign_in_as(session, client, account=clinic.admin, clock=clock)
    page = await client.get("/admin/services")
    assert page.status_code == 200 and "新增疫苗接种或体检项目" in page.text
    token = await csrf_token(client)
    refused = await client.post(
        "/admin/services", data={**SERVICE_FORM, "csrf_token": token, "vaccine": ""}
    )
    assert refused.status_code == 422 and 'id="error-vaccine"' in refused.text
    assert 'value="流感疫苗接种"' in refused.text
    assert await session.scalar(select(func.count(BookingResource.id))) == 0
    added = await client.post("/admin/services", data={**SERVICE_FORM, "csrf_token": token})
    assert added.status_code == 303, added.text
    resource = await session.scalar(select(BookingResource))
    assert added.headers["location"] == f"/admin/services/{resource.id}"
    assert (resource.fee_fen, resource.min_age_years, resource.max_age_years) == (12800, 3, None)

    edited = await client.post(
        f"/admin/services/{resource.id}",
        data={**SERVICE_FORM, "csrf_token": token, "max_age_years": "1"},
    )
    assert edited.status_code == 422 and 'id="error-max_age_years"' in edited.text
    await session.refresh(resource)
    assert resource.max_age_years is None

    wrong = await client.post(
        f"/admin/services/{resource.id}/sessions",
        data={**WINDOW_FORM, "csrf_token": token, "places_per_slot": "0"},
    )
    assert wrong.status_code == 422 and 'id="error-places_per_slot"' in wrong.text
    uneven = await client.post(
        f"/admin/services/{resource.id}/sessions",
        data={**WINDOW_FORM, "csrf_token": token, "slot_minutes": "45"},
    )
    assert uneven.status_code == 422 and 'id="error-slot_minutes"' in uneven.text
    scheduled = await client.post(
        f"/admin/services/{resource.id}/sessions", data={**WINDOW_FORM, "csrf_token": token}
    )
    assert scheduled.status_code == 303
    schedule = await session.scalar(select(ScheduleSession))
    assert (schedule.resource_id, schedule.capacity, schedule.fee_fen) == (resource.id, 140, 12800)
    detail = await client.get(f"/admin/services/{resource.id}")
    assert "7 个 30 分钟时段，每段 20 人" in detail.text
    assert f"/admin/schedule/sessions/{schedule.id}/stop" in detail.text
    editor = await client.get("/admin/schedule")
    assert f'href="/admin/services/{resource.id}?' in editor.text and "流感疫苗接种" in editor.text

    withdrawn = {**SERVICE_FORM, "csrf_token": token}
    del withdrawn["is_active"]
    assert (await client.post(f"/admin/services/{resource.id}", data=withdrawn)).status_code == 303
    await session.refresh(resource)
    assert resource.is_active is False


async def test_another_institutions_service_is_not_found_for_an_admin(client, session, clock):
    ours, theirs = await make_clinic(session, clock=clock), await make_clinic(session, clock=clock)
    resource = await make_resource(session, theirs, clock=clock)
    await sign_in_as(session, client, account=ours.admin, clock=clock)
    assert (await client.get(f"/admin/services/{resource.id}")).status_code == 404
    token = await csrf_token(client)
    posted = await client.post(
        f"/admin/services/{resource.id}/sessions", data={**WINDOW_FORM, "csrf_token": token}
    )
    assert posted.status_code == 404
    assert await session.scalar(select(func.count(ScheduleSession.id))) == 0


async def test_a_patient_books_a_check_up_and_sees_how_to_prepare(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    checkup = await make_resource(session, clinic, clock=clock, values=CHECKUP)
    view = await make_resource_session(session, clinic, checkup, clock=clock, day=DAY)
    hospital = await client.get(f"/institutions/{clinic.institution.id}")
    assert f'href="/institutions/{clinic.institution.id}/services"' in hospital.text
    offers = await client.get(f"/institutions/{clinic.institution.id}/services")
    assert "妇科体检套餐" in offers.text and "仅限女性" in offers.text and "¥380.00" in offers.text
    calendar = await client.get(f"/services/{checkup.id}")
    assert "08:30–09:00 余 20" in calendar.text and "体检需空腹" in calendar.text

    man, _ = await _signed_in_patient(session, client, clock, name="王五")
    slot = view.slots[1]
    confirm = await client.get(f"/services/windows/{slot.id}")
    assert confirm.status_code == 200 and "2026-11-30 08:30–09:00" in confirm.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', confirm.text).group(1)
    form = {
        "patient_id": str(man.id),
        "idempotency_key": key,
        "csrf_token": await csrf_token(client),
    }
    refused = await client.post(f"/services/windows/{slot.id}", data=form)
    assert refused.status_code == 422
    assert 'id="error-patient_id"' in refused.text and "该项目仅限女性预约。" in refused.text
    assert await session.scalar(select(func.count(Appointment.id))) == 0

    woman, _ = await _signed_in_patient(session, client, clock, name="李娟", sex="female")
    form = {**form, "patient_id": str(woman.id), "csrf_token": await csrf_token(client)}
    booked = await client.post(f"/services/windows/{slot.id}", data=form)
    appointment = await session.scalar(select(Appointment))
    assert booked.status_code == 303 and booked.headers["location"] == (
        f"/bills/{appointment.order_id}"
    )
    mine = await client.get("/appointments")
    assert "2026-11-30 08:30–09:00 · 妇科体检套餐" in mine.text
    assert "就诊须知" in mine.text and "体检需空腹" in mine.text
    assert clinic.institution.name in mine.text


async def test_doctors_slots_and_service_windows_each_have_their_own_page(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    resource = await make_resource(session, clinic, clock=clock)
    windows = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    await _signed_in_patient(session, client, clock)
    assert (await client.get(f"/services/windows/{view.slots[0].id}")).status_code == 404
    sent = await client.get(f"/appointments/new?slot_id={windows.slots[0].id}")
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/services/windows/{windows.slots[0].id}"


async def test_elder_mode_renders_the_service_pages_with_one_primary_action(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(session, clinic, resource, clock=clock, day=DAY)
    _, account = await _signed_in_patient(session, client, clock)
    account.elder_mode = True
    await session.flush()
    calendar = await client.get(f"/services/{resource.id}")
    assert '<body class="elder">' in calendar.text and "请携带身份证" in calendar.text
    confirm = await client.get(f"/services/windows/{view.slots[0].id}")
    assert '<body class="elder">' in confirm.text
    assert confirm.text.count("btn-primary") == 1
    offers = await client.get(f"/institutions/{clinic.institution.id}/services")
    assert '<body class="elder">' in offers.text and "HPV疫苗接种" in offers.text


async def test_a_patient_waits_for_a_full_vaccination_window_and_sees_the_service(
    client, session, clock
):

    clinic = await make_clinic(session, clock=clock)
    resource = await make_resource(session, clinic, clock=clock)
    view = await make_resource_session(
        session, clinic, resource, clock=clock, day=DAY, end_time=time(8, 30), places_per_slot=1
    )
    first, _ = await _signed_in_patient(session, client, clock)
    form = {"patient_id": str(first.id), "idempotency_key": "first"}
    form["csrf_token"] = await csrf_token(client)
    assert (await client.post(f"/services/windows/{view.slots[0].id}", data=form)).is_redirect

    patient, _ = await _signed_in_patient(session, client, clock, name="吴十")
    join_link = f"/waitlist/new?session_id={view.session.id}"
    assert join_link in (await client.get(f"/services/{resource.id}")).text
    page = await client.get(join_link)
    assert page.status_code == 200 and resource.name in page.text
    assert f'href="/services/{resource.id}"' in page.text and "<dt>医生</dt>" not in page.text
    form = {
        "csrf_token": await csrf_token(client),
        "session_id": str(view.session.id),
        "patient_id": str(patient.id),
    }
    joined = await client.post("/waitlist/new", data=form)
    assert joined.status_code == 303 and joined.headers["location"] == "/waitlist"
    mine = await client.get("/waitlist")
    assert f"上午 · {resource.name}" in mine.text and "吴十" in mine.text
