"""Doctors scheduling themselves: only where the institution's booking rules allow it, only for
themselves, only at an institution they practise at; through the admins' code paths (overlaps,
audit, 停诊), over the API and the pages."""

from dataclasses import replace
from datetime import date, time

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.booking.models import ScheduleSession
from ihospital.booking.own_schedule import stop_own_session
from ihospital.booking.rules import DEFAULTS, rules_of, set_rules
from ihospital.booking.schedules import create_sessions
from ihospital.core.context import Actor
from ihospital.directory.models import Practitioner
from ihospital.directory.sites import SiteInput
from ihospital.errors import Conflict, Forbidden
from ihospital.identity.models import Account
from tests.booking.builders import make_clinic, make_session
from tests.directory.builders import bearer, make_doctor
from tests.identity.builders import csrf_token
from tests.web.builders import sign_in_as

DAY = date(2026, 11, 30)


async def _allow(session, clock, clinic, *, allowed=True):
    await set_rules(
        session,
        clinic.admin_actor(clock),
        institution_id=clinic.institution.id,
        rules=replace(DEFAULTS, doctors_may_schedule=allowed),
    )


async def _as_doctor(session, clock, practitioner_id):
    practitioner = await session.get(Practitioner, practitioner_id)
    return Actor(
        role="doctor",
        clock=clock,
        account_id=practitioner.account_id,
        institution_id=practitioner.institution_id,
    )


async def _schedule(session, actor, clinic, *, practitioner_id=None, institution_id=None, **plan):
    return await create_sessions(
        session,
        actor,
        institution_id=institution_id or clinic.institution.id,
        plan=replace(
            clinic.plan(**plan), practitioner_id=practitioner_id or clinic.practitioner_id
        ),
        days=[DAY],
    )


async def test_a_doctor_schedules_themselves_only_where_the_rules_allow(session, clock):
    clinic = await make_clinic(session, clock=clock)
    doctor = await _as_doctor(session, clock, clinic.practitioner_id)
    assert (await rules_of(session, clinic.institution.id)).doctors_may_schedule is False
    with pytest.raises(Forbidden) as refused:
        await _schedule(session, doctor, clinic)
    assert refused.value.code == "booking.doctors_may_not_schedule"
    await _allow(session, clock, clinic)
    [view] = await _schedule(session, doctor, clinic)
    assert view.session.created_by_account_id == doctor.account_id
    audit = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "booking.sessions.create")
    )
    assert audit.actor_account_id == doctor.account_id
    with pytest.raises(Conflict) as overlap:  # the admins' rules hold for doctors too
        await _schedule(session, doctor, clinic, start_time=time(9, 30), end_time=time(10, 30))
    assert overlap.value.code == "booking.session_overlap"


async def test_a_doctor_never_schedules_another_doctor(session, clock):
    clinic = await make_clinic(session, clock=clock)
    await _allow(session, clock, clinic)
    colleague = await make_doctor(session, clock=clock, institution=clinic.institution)
    doctor = await _as_doctor(session, clock, clinic.practitioner_id)
    with pytest.raises(Forbidden) as refused:
        await _schedule(session, doctor, clinic, practitioner_id=colleague.id)
    assert refused.value.code == "booking.not_your_schedule"
    [theirs] = await _schedule(
        session, clinic.admin_actor(clock), clinic, practitioner_id=colleague.id
    )
    with pytest.raises(Forbidden) as refused:
        await stop_own_session(session, doctor, session_id=theirs.session.id)
    assert refused.value.code == "booking.not_your_schedule"


async def test_only_at_an_institution_the_doctor_practises_at(session, clock):
    home = await make_clinic(session, clock=clock)
    away = await make_clinic(session, clock=clock)
    await _allow(session, clock, away)
    doctor = await _as_doctor(session, clock, home.practitioner_id)
    with pytest.raises(Forbidden) as refused:
        await _schedule(session, doctor, home, institution_id=away.institution.id)
    assert refused.value.code == "booking.not_practising_here"
    # A second practice site (多点执业) there: the rules of that institution decide.
    travelling = await make_doctor(
        session,
        clock=clock,
        institution=home.institution,
        sites=[SiteInput(away.institution.id, "03.04", filing_number="DD-2026-001")],
    )
    doctor = await _as_doctor(session, clock, travelling.id)
    [view] = await _schedule(
        session, doctor, home, practitioner_id=travelling.id, institution_id=away.institution.id
    )
    assert view.session.institution_id == away.institution.id
    with pytest.raises(Forbidden):  # the registered institution has not allowed it
        await _schedule(session, doctor, home, practitioner_id=travelling.id)


async def test_a_doctor_stops_their_own_session_while_allowed(session, clock):
    clinic = await make_clinic(session, clock=clock)
    await _allow(session, clock, clinic)
    doctor = await _as_doctor(session, clock, clinic.practitioner_id)
    [mine] = await _schedule(session, doctor, clinic)
    later = await make_session(
        session,
        clinic,
        clock=clock,
        day=DAY,
        half_day="afternoon",
        start_time=time(14, 0),
        end_time=time(15, 0),
    )
    stopped = await stop_own_session(session, doctor, session_id=mine.session.id)
    assert stopped.session.status == "stopped"
    await _allow(session, clock, clinic, allowed=False)
    with pytest.raises(Forbidden) as refused:
        await stop_own_session(session, doctor, session_id=later.session.id)
    assert refused.value.code == "booking.doctors_may_not_schedule"


async def test_doctor_sessions_over_http(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    doctor = await _as_doctor(session, clock, clinic.practitioner_id)
    headers = await bearer(
        session, clock=clock, account=await session.get(Account, doctor.account_id)
    )
    body = {
        "institution_id": clinic.institution.id,
        "department_code": "03.04",
        "day": str(DAY),
        "half_day": "morning",
        "start_time": "09:00",
        "end_time": "10:00",
        "fee_fen": 0,
        "capacity": 6,
        "slot_minutes": 10,
    }
    refused = await client.post("/api/doctor/sessions", json=body, headers=headers)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "booking.doctors_may_not_schedule"
    await _allow(session, clock, clinic)
    created = await client.post("/api/doctor/sessions", json=body, headers=headers)
    assert created.status_code == 201, created.text
    [made] = created.json()
    mine = await client.get("/api/doctor/sessions", headers=headers)
    assert [row["id"] for row in mine.json()] == [made["id"]]
    stopped = await client.post(f"/api/doctor/sessions/{made['id']}/stop", headers=headers)
    assert stopped.json()["status"] == "stopped"
    admins_route = await client.post(
        f"/api/institutions/{clinic.institution.id}/sessions",
        json={**body, "practitioner_id": clinic.practitioner_id},
        headers=headers,
    )
    assert admins_route.status_code == 403
    rules = await client.get(
        f"/api/institutions/{clinic.institution.id}/booking-rules",
        headers=await bearer(session, clock=clock, account=clinic.admin),
    )
    assert rules.json()["doctors_may_schedule"] is True


async def test_a_doctor_schedules_and_stops_through_the_pages(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    doctor = await _as_doctor(session, clock, clinic.practitioner_id)
    await sign_in_as(
        session, client, account=await session.get(Account, doctor.account_id), clock=clock
    )
    closed = await client.get("/doctor/schedule")
    assert closed.status_code == 200 and 'action="/doctor/schedule/sessions"' not in closed.text
    await _allow(session, clock, clinic)
    page = await client.get("/doctor/schedule")
    site = f"{clinic.institution.id}/03.04"
    assert f'value="{site}"' in page.text
    form = {
        "csrf_token": await csrf_token(client),
        "site": site,
        "kind": "once",
        "day": str(DAY),
        "half_day": "morning",
        "start_time": "09:00",
        "end_time": "10:00",
        "visit_type": "in_person",
        "fee_class": "general",
        "fee_fen": "10",
        "capacity": "7",
        "slot_minutes": "10",
    }
    refused = await client.post("/doctor/schedule/sessions", data=form)
    assert refused.status_code == 422 and 'id="error-capacity"' in refused.text
    nowhere = await client.post("/doctor/schedule/sessions", data={**form, "site": "x/03.04"})
    assert nowhere.status_code == 422 and 'id="error-site"' in nowhere.text
    for odd in ("²/03.04", "١/03.04", "1234567890123456789/03.04"):
        strange = await client.post(
            "/doctor/schedule/sessions", data={**form, "capacity": "6", "site": odd}
        )
        assert strange.status_code == 422 and 'id="error-site"' in strange.text, odd
    created = await client.post("/doctor/schedule/sessions", data={**form, "capacity": "6"})
    assert created.status_code == 303
    row = await session.scalar(select(ScheduleSession))
    assert (row.practitioner_id, row.fee_fen) == (clinic.practitioner_id, 1000)
    listed = await client.get("/doctor/schedule")
    assert f"/doctor/schedule/sessions/{row.id}/stop" in listed.text
    confirm = await client.get(f"/doctor/schedule/sessions/{row.id}/stop")
    assert confirm.status_code == 200
    stopped = await client.post(
        f"/doctor/schedule/sessions/{row.id}/stop", data={"csrf_token": form["csrf_token"]}
    )
    assert stopped.status_code == 303
    await session.refresh(row)
    assert row.status == "stopped"


async def test_the_admin_rules_form_turns_self_scheduling_on_and_off(client, session, clock):
    clinic = await make_clinic(session, clock=clock)
    await sign_in_as(session, client, account=clinic.admin, clock=clock)
    rules = {
        "csrf_token": await csrf_token(client),
        "release_days_ahead": "7",
        "release_time": "08:00",
        "cancel_cutoff_time": "18:00",
        "max_per_doctor_per_day": "1",
        "max_active_per_institution": "3",
        "child_age_limit": "14",
        "check_in_opens_minutes": "60",
        "check_in_closes_minutes": "15",
    }
    on = await client.post("/admin/schedule/rules", data={**rules, "doctors_may_schedule": "1"})
    assert on.status_code == 303
    assert (await rules_of(session, clinic.institution.id)).doctors_may_schedule is True
    assert (
        'name="doctors_may_schedule" type="checkbox" value="1" checked'
        in (await client.get("/admin/schedule")).text
    )
    off = await client.post("/admin/schedule/rules", data=rules)
    assert off.status_code == 303
    assert (await rules_of(session, clinic.institution.id)).doctors_may_schedule is False
