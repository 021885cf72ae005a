"""The doctor's working session (出诊会话, R04) belongs to the signed-in session it was opened in:
it ends when the doctor signs out (JSON or page) or when that session expires or is revoked,
another signed-in session of the same doctor cannot use it, and a wrong password entered to open
it counts toward the account's login lockout like a wrong login password."""

import json
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.duty import current_work_session, start_work_session
from ihospital.core.context import Actor
from ihospital.directory.models import Practitioner
from ihospital.identity.models import Account
from ihospital.identity.policy import AuthPolicy
from ihospital.identity.sessions import open_session, revoke_session
from tests.consultation.builders import doctor_actor
from tests.consultation.chat_builders import headers_of
from tests.consultation.test_duty import _off_duty
from tests.directory.builders import PASSWORD, doctor_account
from tests.identity.builders import csrf_token
from tests.web.builders import sign_in_as

WORK_SESSION = "/api/doctor/work-session"


def _accept(consultation) -> str:
    return f"/api/doctor/consultations/{consultation.id}/accept"


async def _verified(client, session, clock, practice) -> dict[str, str]:
    """API headers of the doctor with a working session begun in their token."""
    headers = await headers_of(session, clock, practice.doctor.account_id)
    begun = await client.post(WORK_SESSION, json={"password": PASSWORD}, headers=headers)
    assert begun.status_code == 201, begun.text
    return headers


async def test_signing_out_ends_the_working_session(client, session, clock):
    practice, consultation = await _off_duty(session, clock)
    headers = await _verified(client, session, clock, practice)
    assert (await client.get(WORK_SESSION, headers=headers)).status_code == 200
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204

    again = await headers_of(session, clock, practice.doctor.account_id)
    gone = await client.get(WORK_SESSION, headers=again)
    assert (gone.status_code, gone.json()["code"]) == (404, "consultation.no_work_session")
    refused = await client.post(_accept(consultation), headers=again)
    assert (refused.status_code, refused.json()["code"]) == (
        403,
        "consultation.doctor_session_required",
    )


async def test_signing_out_on_the_page_ends_the_working_session(client, session, clock):
    practice, _ = await _off_duty(session, clock)
    account = await doctor_account(session, view=practice.doctor)
    await sign_in_as(session, client, account=account, clock=clock)
    token = {"csrf_token": await csrf_token(client)}
    verified = await client.post("/doctor/work-session", data={**token, "password": PASSWORD})
    assert verified.headers["location"] == "/doctor/consultations"
    assert 'action="/doctor/work-session/end"' in (await client.get("/doctor/work-session")).text

    assert (await client.post("/logout", data=token)).status_code == 303
    await sign_in_as(session, client, account=account, clock=clock)
    page = await client.get("/doctor/work-session")
    assert 'action="/doctor/work-session"' in page.text
    assert 'action="/doctor/work-session/end"' not in page.text


async def test_another_signed_in_session_cannot_use_it(client, session, clock):
    practice, consultation = await _off_duty(session, clock)
    await _verified(client, session, clock, practice)
    other = await headers_of(session, clock, practice.doctor.account_id)
    assert (await client.get(WORK_SESSION, headers=other)).status_code == 404
    assert (await client.post(_accept(consultation), headers=other)).status_code == 403


async def test_it_ends_when_the_signed_in_session_expires_or_is_revoked(session, clock):
    """A socket's actor outlives its request: its working session ends with the signed-in
    session although the 8 hours are not over."""
    practice, _ = await _off_duty(session, clock)
    account = await doctor_account(session, view=practice.doctor)
    for end in ("expire", "revoke"):
        issued = await open_session(
            session, Actor.system(clock), account=account, kind="web", hours=1
        )
        doctor = replace(
            doctor_actor(clock, practice.doctor), auth_session_id=issued.auth_session.id
        )
        doctor_row = await session.get(Practitioner, practice.doctor.id)
        await start_work_session(session, doctor, password=PASSWORD, policy=AuthPolicy())
        assert await current_work_session(session, doctor, doctor_row) is not None
        if end == "expire":
            clock.advance(timedelta(hours=1))
        else:
            await revoke_session(session, doctor, auth_session_id=issued.auth_session.id)
        assert await current_work_session(session, doctor, doctor_row) is None


async def test_wrong_passwords_count_toward_the_login_lockout(client, session, clock):
    practice, _ = await _off_duty(session, clock)
    headers = await headers_of(session, clock, practice.doctor.account_id)
    wrong = [
        await client.post(WORK_SESSION, json={"password": "not-mine"}, headers=headers)
        for _ in range(5)
    ]
    assert [r.status_code for r in wrong] == [422, 422, 422, 422, 423]
    assert wrong[0].json()["code"] == "consultation.doctor_password_wrong"
    locked = wrong[-1]
    assert locked.headers["content-type"].startswith("application/problem+json")
    assert (locked.json()["code"], locked.json()["retry_after"]) == ("auth.locked", 15 * 60)

    right = await client.post(WORK_SESSION, json={"password": PASSWORD}, headers=headers)
    assert (right.status_code, right.json()["code"]) == (423, "auth.locked")
    account = await session.get(Account, practice.doctor.account_id)
    await session.refresh(account)
    login = await client.post(
        "/api/auth/token", json={"mobile": account.mobile, "password": PASSWORD}
    )
    assert (login.status_code, login.json()["code"]) == (423, "auth.locked")
    counted = await session.scalars(
        select(AuditEntry.details).where(
            AuditEntry.subject_type == "account",
            AuditEntry.subject_id == str(account.id),
            AuditEntry.action.in_(("auth.login_failed", "auth.locked")),
        )
    )
    assert [json.loads(d)["reason"] for d in counted] == ["work_session"] * 5

    clock.advance(timedelta(minutes=15))
    begun = await client.post(WORK_SESSION, json={"password": PASSWORD}, headers=headers)
    assert begun.status_code == 201, begun.text
    await session.refresh(account)
    assert (account.failed_logins, account.locked_until) == (0, None)


async def test_a_wrong_password_on_the_page_counts_and_the_lock_shows(client, session, clock):
    practice, _ = await _off_duty(session, clock)
    account = await doctor_account(session, view=practice.doctor)
    await sign_in_as(session, client, account=account, clock=clock)
    token = {"csrf_token": await csrf_token(client)}
    pages = [
        await client.post("/doctor/work-session", data={**token, "password": "not-mine"})
        for _ in range(5)
    ]
    assert [p.status_code for p in pages] == [422, 422, 422, 422, 423]
    await session.refresh(account)
    assert account.failed_logins == 5 and account.locked_until is not None
