"""The doctor's working session (出诊会话, R04): the doctor verifies (password again, licence on
record verified) before accepting, replying, transferring, closing or signing; the session ends
after 8 hours or when the doctor ends it; verifications are audited and published."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.duty import end_work_session, start_work_session
from ihospital.consultation.workstation import accept_consultation
from ihospital.directory.models import Practitioner
from ihospital.errors import Forbidden, RuleViolation, Unprocessable
from ihospital.identity.policy import AuthPolicy
from ihospital.outbox.models import OutboxEvent
from tests.consultation.builders import doctor_actor, make_practice, start
from tests.consultation.chat_builders import headers_of
from tests.directory.builders import PASSWORD, doctor_account
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as

POLICY = AuthPolicy()


async def _off_duty(session, clock):
    """A practice whose doctor ended their working session, with a consultation waiting."""
    practice = await make_practice(session, clock=clock, fee_fen=0)
    consultation = await start(session, clock, practice, await make_patient(session, clock=clock))
    await end_work_session(session, doctor_actor(clock, practice.doctor))
    return practice, consultation


async def test_without_a_working_session_the_doctor_cannot_accept(session, clock):
    practice, consultation = await _off_duty(session, clock)
    doctor = doctor_actor(clock, practice.doctor)
    with pytest.raises(Forbidden) as refused:
        await accept_consultation(session, doctor, consultation_id=consultation.id)
    assert refused.value.code == "consultation.doctor_session_required"
    assert refused.value.fields["link"] == "/doctor/work-session"
    with pytest.raises(Unprocessable) as wrong:
        await start_work_session(session, doctor, password="not-my-password", policy=POLICY)
    assert (wrong.value.code, wrong.value.fields["field"]) == (
        "consultation.doctor_password_wrong",
        "password",
    )
    work = await start_work_session(session, doctor, password=PASSWORD, policy=POLICY)
    assert work.expires_at == clock.now() + timedelta(hours=8)
    doctor_row = await session.get(Practitioner, practice.doctor.id)
    assert work.licence_number == doctor_row.licence_number
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    assert consultation.status == "in_progress"
    actions = list(
        await session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.subject_type == "practitioner",
                AuditEntry.subject_id == str(practice.doctor.id),
            )
        )
    )
    assert "consultation.doctor_verification_failed" in actions
    assert "consultation.doctor_verified" in actions
    topics = await session.scalars(select(OutboxEvent.topic))
    assert "consultation.doctor_verified" in list(topics)


async def test_a_working_session_lasts_8_hours(session, clock):
    practice, consultation = await _off_duty(session, clock)
    doctor = doctor_actor(clock, practice.doctor)
    await start_work_session(session, doctor, password=PASSWORD, policy=POLICY)
    clock.advance(timedelta(hours=8))
    with pytest.raises(Forbidden):
        await accept_consultation(session, doctor, consultation_id=consultation.id)


async def test_a_doctor_whose_licence_is_no_longer_verified_cannot_work(session, clock):
    practice, consultation = await _off_duty(session, clock)
    doctor = doctor_actor(clock, practice.doctor)
    await start_work_session(session, doctor, password=PASSWORD, policy=POLICY)
    row = await session.get(Practitioner, practice.doctor.id)
    row.verification_status = "suspended"
    await session.flush()
    with pytest.raises(Forbidden):
        await accept_consultation(session, doctor, consultation_id=consultation.id)
    with pytest.raises(RuleViolation) as refused:
        await start_work_session(session, doctor, password=PASSWORD, policy=POLICY)
    assert refused.value.fields["rule_id"] == "R04"


async def test_the_api_refuses_with_a_link_and_verifies(client, session, clock):
    practice, consultation = await _off_duty(session, clock)
    headers = await headers_of(session, clock, practice.doctor.account_id)
    accept = f"/api/doctor/consultations/{consultation.id}/accept"
    refused = await client.post(accept, headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (refused.json()["code"], refused.json()["link"]) == (
        "consultation.doctor_session_required",
        "/doctor/work-session",
    )
    none = await client.get("/api/doctor/work-session", headers=headers)
    assert none.status_code == 404
    wrong = await client.post("/api/doctor/work-session", json={"password": "x"}, headers=headers)
    assert (wrong.status_code, wrong.json()["field"]) == (422, "password")
    begun = await client.post(
        "/api/doctor/work-session", json={"password": PASSWORD}, headers=headers
    )
    assert begun.status_code == 201, begun.text
    assert (await client.get("/api/doctor/work-session", headers=headers)).status_code == 200
    assert (await client.post(accept, headers=headers)).status_code == 200
    ended = await client.delete("/api/doctor/work-session", headers=headers)
    assert ended.status_code == 204
    message = await client.post(
        f"/api/doctor/consultations/{consultation.id}/messages",
        json={"text": "您好"},
        headers=headers,
    )
    assert (message.status_code, message.json()["code"]) == (
        403,
        "consultation.doctor_session_required",
    )


async def test_the_workstation_shows_the_verify_form(client, session, clock):
    practice, consultation = await _off_duty(session, clock)
    account = await doctor_account(session, view=practice.doctor)
    await sign_in_as(session, client, account=account, clock=clock)
    token = {"csrf_token": await csrf_token(client)}
    queue = await client.get("/doctor/consultations")
    assert 'action="/doctor/work-session"' in queue.text
    refused = await client.post(f"/doctor/consultations/{consultation.id}/accept", data=token)
    assert refused.headers["location"] == "/doctor/consultations"
    wrong = await client.post("/doctor/work-session", data={**token, "password": "x"})
    assert wrong.status_code == 422 and 'id="error-password"' in wrong.text
    verified = await client.post("/doctor/work-session", data={**token, "password": PASSWORD})
    assert verified.headers["location"] == "/doctor/consultations"
    queue = await client.get("/doctor/consultations")
    assert 'action="/doctor/work-session/end"' in queue.text
    accepted = await client.post(f"/doctor/consultations/{consultation.id}/accept", data=token)
    assert accepted.headers["location"] == f"/doctor/consultations/{consultation.id}"
    ended = await client.post("/doctor/work-session/end", data=token)
    assert ended.headers["location"] == "/doctor/work-session"
    assert 'action="/doctor/work-session"' in (await client.get("/doctor/work-session")).text
