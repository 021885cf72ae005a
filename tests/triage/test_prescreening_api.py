"""Epidemic pre-screening over HTTP: a patient answers for their own 就诊人 and gets the level,
what to do and the nearest fever clinics; a high risk reaches the command centre of the region
through the outbox, once; answers are read only by the patient, the command centre of the region
and doctors treating the 就诊人, each read audited (issue 8, item 5)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.errors import PROBLEM_JSON
from ihospital.outbox.models import OutboxEvent
from ihospital.triage.prescreening.models import EpidemicAlert, ScreeningSubmission
from ihospital.triage.prescreening.screening import ALERT_TOPIC
from tests.consultation.builders import make_practice, start
from tests.directory.builders import doctor_account, make_institution
from tests.identity.builders import auth_headers, make_account
from tests.triage.prescreening_builders import (
    HIGH,
    LOW,
    MEDIUM,
    make_commander,
    make_fever_clinics,
    make_screener,
    run_worker,
    submission_body,
)

EN = {"Accept-Language": "en"}


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code
    return body


async def _count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


async def test_anyone_reads_the_published_questionnaire(client):
    response = await client.get("/api/prescreening/questionnaire")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] >= 1 and body["status"] == "published"
    assert [q["id"] for q in body["definition"]["questions"]][:1] == ["temperature"]


async def test_a_low_risk_gets_advice_and_no_clinic_list(client, session, clock):
    me = await make_screener(session, clock)
    body = await submission_body(session, me, LOW)
    response = await client.post("/api/prescreening/submissions", json=body, headers=me.headers)
    assert response.status_code == 201, response.text
    outcome = response.json()
    assert (outcome["level"], outcome["alerted"], outcome["fever_clinics"]) == ("low", False, [])
    assert outcome["instruction"].startswith("目前风险较低")


async def test_a_medium_risk_lists_the_nearest_fever_clinics_first(client, session, clock):
    await make_fever_clinics(session, clock)
    me = await make_screener(session, clock)
    body = await submission_body(session, me, MEDIUM)
    response = await client.post(
        "/api/prescreening/submissions", json=body, headers={**me.headers, **EN}
    )
    outcome = response.json()
    assert outcome["level"] == "medium" and not outcome["alerted"]
    assert outcome["instruction"].startswith("Wear a mask")
    names = [clinic["name"] for clinic in outcome["fever_clinics"]]
    assert names[:2] == ["江岸发热门诊", "武昌发热门诊"]
    assert "朝阳发热门诊" not in names  # another province


async def test_a_high_risk_alerts_the_command_centre_once(
    app, client, session, session_factory, clock
):
    me = await make_screener(session, clock)
    body = await submission_body(session, me, HIGH)
    response = await client.post("/api/prescreening/submissions", json=body, headers=me.headers)
    outcome = response.json()
    assert (outcome["level"], outcome["alerted"]) == ("high", True)
    events = await session.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == ALERT_TOPIC)
    )
    assert events == 1
    await run_worker(app, session_factory, clock)
    await run_worker(app, session_factory, clock)
    alerts = (await session.scalars(select(EpidemicAlert))).all()
    assert [(a.submission_id, a.region_code, a.status) for a in alerts] == [
        (outcome["submission"]["id"], "420102", "new")
    ]

    wuhan = await make_commander(session, clock, region_code="420100")
    board = await client.get("/api/command-centre/alerts", headers=wuhan)
    [alert] = board.json()
    assert alert["patient_name"] == me.patient.name and alert["contact"] == me.account.mobile
    beijing = await make_commander(session, clock, region_code="110000")
    assert (await client.get("/api/command-centre/alerts", headers=beijing)).json() == []
    hubei = await make_commander(session, clock, region_code="420000")
    assert len((await client.get("/api/command-centre/alerts", headers=hubei)).json()) == 1


async def test_the_centre_contacts_then_closes_with_a_note(
    app, client, session, session_factory, clock
):
    me = await make_screener(session, clock)
    body = await submission_body(session, me, HIGH)
    await client.post("/api/prescreening/submissions", json=body, headers=me.headers)
    await run_worker(app, session_factory, clock)
    centre = await make_commander(session, clock)
    [alert] = (await client.get("/api/command-centre/alerts", headers=centre)).json()
    path = f"/api/command-centre/alerts/{alert['id']}"

    no_note = await client.post(path, json={"status": "closed"}, headers={**centre, **EN})
    assert _problem(no_note, 422, "epidemic.note_required")["field"] == "note"
    contacted = await client.post(path, json={"status": "contacted"}, headers=centre)
    assert contacted.json()["status"] == "contacted"
    again = await client.post(path, json={"status": "contacted"}, headers=centre)
    _problem(again, 409, "epidemic.alert_step")
    closed = await client.post(
        path, json={"status": "closed", "note": "已电话联系，指引至江岸发热门诊"}, headers=centre
    )
    assert closed.json()["status"] == "closed" and closed.json()["note"].startswith("已电话")
    other = await make_commander(session, clock, region_code="110000")
    hidden = await client.post(path, json={"status": "closed", "note": "x"}, headers=other)
    _problem(hidden, 404, "epidemic.alert_not_found")


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        (
            {"answers": {**LOW, "temperature": 60}},
            422,
            "prescreening.answer_invalid",
            "answers.temperature",
        ),
        (
            {"answers": {**LOW, "temperature": -5}},
            422,
            "prescreening.answer_invalid",
            "answers.temperature",
        ),
        ({"region_code": "999999"}, 422, "request.invalid", None),
        ({"questionnaire_id": 999999}, 404, "prescreening.questionnaire_not_found", None),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(
    client, session, clock, changes, status, code, field
):
    me = await make_screener(session, clock)
    body = {**await submission_body(session, me, LOW), **changes}
    before = await _count(session, ScreeningSubmission)
    response = await client.post(
        "/api/prescreening/submissions", json=body, headers={**me.headers, **EN}
    )
    problem = _problem(response, status, code)
    if field:
        assert problem["field"] == field
        assert "34" in problem["detail"] and "43" in problem["detail"]
        assert problem["detail"].startswith("What is your temperature")
    assert await _count(session, ScreeningSubmission) == before


async def test_a_retired_version_is_refused_with_the_current_one(client, session, clock):
    me = await make_screener(session, clock)
    admin = await auth_headers(
        session, account=await make_account(session, role="platform_admin", clock=clock)
    )
    old = await submission_body(session, me, LOW)
    current = (await client.get("/api/prescreening/questionnaire")).json()
    published = await client.post(
        "/api/admin/prescreening/questionnaires",
        json={"definition": current["definition"]},
        headers=admin,
    )
    assert published.status_code == 201 and published.json()["version"] == current["version"] + 1
    response = await client.post("/api/prescreening/submissions", json=old, headers=me.headers)
    problem = _problem(response, 409, "prescreening.version_retired")
    assert problem["current_id"] == published.json()["id"]


async def test_only_platform_admins_publish_and_a_bad_definition_is_refused(client, session, clock):
    me = await make_screener(session, clock)
    current = (await client.get("/api/prescreening/questionnaire")).json()
    forbidden = await client.post(
        "/api/admin/prescreening/questionnaires",
        json={"definition": current["definition"]},
        headers=me.headers,
    )
    _problem(forbidden, 403, "auth.forbidden")
    admin = await auth_headers(
        session, account=await make_account(session, role="platform_admin", clock=clock)
    )
    broken = {**current["definition"], "levels": []}
    response = await client.post(
        "/api/admin/prescreening/questionnaires", json={"definition": broken}, headers=admin
    )
    _problem(response, 422, "request.invalid")
    again = (await client.get("/api/prescreening/questionnaire")).json()
    assert again["id"] == current["id"]


async def test_answers_are_read_by_the_patient_the_centre_and_treating_doctors_only(
    client, session, clock
):
    me = await make_screener(session, clock)
    body = await submission_body(session, me, MEDIUM)
    created = await client.post("/api/prescreening/submissions", json=body, headers=me.headers)
    path = f"/api/prescreening/submissions/{created.json()['submission']['id']}"

    assert (await client.get(path, headers=me.headers)).json()["answers"]["temperature"] == "37.5"
    stranger = await make_screener(session, clock)
    _problem(await client.get(path, headers=stranger.headers), 404, "prescreening.not_found")
    centre = await make_commander(session, clock, region_code="420100")
    assert (await client.get(path, headers=centre)).status_code == 200
    elsewhere = await make_commander(session, clock, region_code="110000")
    _problem(await client.get(path, headers=elsewhere), 404, "prescreening.not_found")

    practice = await make_practice(session, clock=clock)
    await start(session, clock, practice, me.patient)
    treating = await doctor_account(session, view=practice.doctor)
    doctor = await auth_headers(session, account=treating, clock=clock)
    assert (await client.get(path, headers=doctor)).status_code == 200
    other = await doctor_account(session, view=practice.colleague)
    other_doctor = await auth_headers(session, account=other, clock=clock)
    _problem(await client.get(path, headers=other_doctor), 404, "prescreening.not_found")

    reads = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "prescreening.read", AuditEntry.patient_id == me.patient.id)
    )
    assert reads == 3


async def test_a_patient_cannot_use_the_command_centre(client, session, clock):
    me = await make_screener(session, clock)
    _problem(
        await client.get("/api/command-centre/alerts", headers=me.headers), 403, "auth.forbidden"
    )


async def test_an_institution_admin_lists_its_fever_clinics(client, session, clock):
    institution = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    admin = await auth_headers(
        session,
        account=await make_account(
            session, role="institution_admin", institution_id=institution.id, clock=clock
        ),
    )
    path = f"/api/institutions/{institution.id}/fever-clinics"
    clinic = {
        "name": "发热门诊",
        "address": "工体南路1号",
        "hours": "24小时",
        "phone": "010-85231000",
    }
    added = await client.post(path, json=clinic, headers=admin)
    assert added.status_code == 201, added.text
    closed = await client.post(f"{path}/{added.json()['id']}/close", headers=admin)
    assert closed.json()["active"] is False
    foreign = await client.post(
        f"/api/institutions/{other.id}/fever-clinics", json=clinic, headers=admin
    )
    _problem(foreign, 403, "directory.not_your_institution")
    bad = await client.post(path, json={**clinic, "phone": "abc"}, headers=admin)
    _problem(bad, 422, "request.invalid")
