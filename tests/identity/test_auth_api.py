from datetime import timedelta

import pytest
from sqlalchemy import select

from ihospital.identity.models import Account, SmsChallenge
from tests.identity.builders import (
    DEFAULT_PASSWORD,
    auth_headers,
    last_sms_code,
    make_account,
    new_mobile,
)


def other_than(code):
    return "000000" if code != "000000" else "111111"


async def request_code(client, mobile, purpose="signup"):
    return await client.post("/api/auth/sms-codes", json={"mobile": mobile, "purpose": purpose})


async def sign_up(client, app, mobile, **overrides):
    assert (await request_code(client, mobile)).status_code == 202
    body = {
        "mobile": mobile,
        "password": "abc12345",
        "display_name": "张三",
        "sms_code": last_sms_code(app, mobile),
        **overrides,
    }
    return await client.post("/api/auth/signup", json=body)


async def token(client, mobile, password=DEFAULT_PASSWORD, **extra):
    return await client.post(
        "/api/auth/token", json={"mobile": mobile, "password": password, **extra}
    )


# SMS codes


async def test_code_request_is_accepted_and_texted(client, app, session):
    mobile = new_mobile()
    response = await request_code(client, mobile)
    assert response.status_code == 202
    assert response.json() == {"purpose": "signup", "expires_in": 300, "retry_after": 60}
    code = last_sms_code(app, mobile)
    stored = (await session.scalars(select(SmsChallenge))).one()
    assert code not in stored.code_hash


async def test_second_code_within_a_minute_is_too_many(client, clock):
    mobile = new_mobile()
    await request_code(client, mobile)
    clock.advance(timedelta(seconds=15))
    response = await request_code(client, mobile)
    assert response.status_code == 429
    assert response.json()["retry_after"] == 45
    assert response.headers["retry-after"] == "45"
    clock.advance(timedelta(seconds=45))
    assert (await request_code(client, mobile)).status_code == 202


async def test_more_than_ten_codes_a_day_are_refused(client, clock):
    mobile = new_mobile()
    for _ in range(10):
        assert (await request_code(client, mobile)).status_code == 202
        clock.advance(timedelta(minutes=1))
    response = await request_code(client, mobile)
    assert response.status_code == 429
    assert response.json()["code"] == "auth.sms_daily_limit"


async def test_signup_code_for_a_registered_mobile_is_refused_clearly(client, session):
    account = await make_account(session)
    response = await request_code(client, account.mobile)
    assert response.status_code == 409
    assert response.json()["code"] == "identity.mobile_taken"
    assert account.mobile in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mobile": "1380000", "purpose": "signup"}, "mobile"),
        ({"mobile": "23800000000", "purpose": "signup"}, "mobile"),
        ({"mobile": "13800000000", "purpose": "reset"}, "purpose"),
        ({"purpose": "signup"}, "mobile"),
    ],
)
async def test_bad_code_requests_name_the_field(client, body, field):
    response = await client.post("/api/auth/sms-codes", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


# Sign-up


async def test_signup_returns_a_working_bearer_token(client, app):
    mobile = new_mobile()
    response = await sign_up(client, app, mobile)
    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 24 * 3600
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["mobile"] == mobile
    assert me.json()["role"] == "patient"
    assert me.json()["mobile_verified"] is True


async def test_wrong_signup_code_is_refused_and_the_try_is_kept(client, app, session):
    mobile = new_mobile()
    await request_code(client, mobile)
    code = last_sms_code(app, mobile)
    body = {"mobile": mobile, "password": "abc12345", "display_name": "张三"}
    response = await client.post("/api/auth/signup", json={**body, "sms_code": other_than(code)})
    assert response.status_code == 422
    assert response.json()["code"] == "auth.sms_code_invalid"
    assert response.json()["field"] == "sms_code"
    challenge = (await session.scalars(select(SmsChallenge))).one()
    await session.refresh(challenge)
    assert challenge.attempts == 1
    assert await session.scalar(select(Account).where(Account.mobile == mobile)) is None
    assert (
        await client.post("/api/auth/signup", json={**body, "sms_code": code})
    ).status_code == 201


async def test_signup_twice_with_one_mobile_is_refused(client, app, clock):
    mobile = new_mobile()
    assert (await sign_up(client, app, mobile)).status_code == 201
    body = {"mobile": mobile, "password": "abc12345", "display_name": "张三", "sms_code": "123456"}
    response = await client.post("/api/auth/signup", json=body)
    assert response.status_code == 409
    assert response.json()["code"] == "identity.mobile_taken"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("password", "short1"),
        ("password", "onlyletters"),
        ("password", "12345678"),
        ("display_name", "<script>alert(1)</script>"),
        ("display_name", "a" * 1_000_000),
        ("sms_code", "12ab56"),
        ("mobile", "1380013800"),
    ],
)
async def test_bad_signup_fields_are_named(client, field, value):
    body = {"mobile": new_mobile(), "password": "abc12345", "display_name": "张三"}
    body["sms_code"] = "123456"
    response = await client.post("/api/auth/signup", json={**body, field: value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


# Login


async def test_token_for_the_right_password(client, session):
    account = await make_account(session)
    response = await token(client, account.mobile)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == account.id


async def test_wrong_password_and_unknown_mobile_look_the_same(client, session):
    account = await make_account(session)
    wrong = await token(client, account.mobile, password="wrong-pass-1")
    unknown = await token(client, new_mobile())
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "auth.bad_credentials"
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_failures_persist_across_refused_requests(client, session):
    account = await make_account(session)
    for expected in (1, 2):
        assert (await token(client, account.mobile, password="wrong-pass-1")).status_code == 401
        await session.refresh(account)
        assert account.failed_logins == expected


async def test_after_two_failures_the_sms_code_step_is_required(client, app, session):
    account = await make_account(session)
    for _ in range(2):
        response = await token(client, account.mobile, password="wrong-pass-1")
    assert response.json()["sms_code_required"] is True
    response = await token(client, account.mobile)
    assert response.status_code == 401
    assert response.json()["code"] == "auth.sms_code_required"
    assert (await request_code(client, account.mobile, purpose="login")).status_code == 202
    code = last_sms_code(app, account.mobile)
    response = await token(client, account.mobile, sms_code=code)
    assert response.status_code == 200
    await session.refresh(account)
    assert account.failed_logins == 0


async def test_lockout_past_the_limit_even_with_the_right_password(client, app, session, clock):
    account = await make_account(session)
    responses = [await token(client, account.mobile, password="wrong-pass-1") for _ in range(2)]
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        await request_code(client, account.mobile, purpose="login")
        code = last_sms_code(app, account.mobile)
        responses.append(
            await token(client, account.mobile, password="wrong-pass-1", sms_code=code)
        )
    assert [r.status_code for r in responses] == [401, 401, 401, 401, 423]
    locked = responses[-1].json()
    assert locked["code"] == "auth.locked"
    assert locked["retry_after"] == 15 * 60
    assert responses[-1].headers["retry-after"] == str(15 * 60)

    clock.advance(timedelta(minutes=1))
    await request_code(client, account.mobile, purpose="login")
    right = await token(client, account.mobile, sms_code=last_sms_code(app, account.mobile))
    assert right.status_code == 423
    assert right.json()["retry_after"] == 14 * 60

    clock.advance(timedelta(minutes=14))
    await request_code(client, account.mobile, purpose="login")
    right = await token(client, account.mobile, sms_code=last_sms_code(app, account.mobile))
    assert right.status_code == 200


async def test_login_code_for_an_unknown_mobile_is_refused(client):
    response = await request_code(client, new_mobile(), purpose="login")
    assert response.status_code == 404
    assert response.json()["code"] == "identity.mobile_unknown"


# Tokens


async def test_logout_revokes_the_token(client, session):
    account = await make_account(session)
    headers = await auth_headers(session, account=account)
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    response = await client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "auth.bad_token"


async def test_expired_token_is_refused(client, session, clock):
    account = await make_account(session)
    headers = await auth_headers(session, account=account, clock=clock, hours=1)
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    clock.advance(timedelta(hours=1))
    assert (await client.get("/api/me", headers=headers)).status_code == 401


@pytest.mark.parametrize(
    "authorization",
    ["Bearer forged-token-value", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b c"],
)
async def test_forged_or_malformed_tokens_are_refused(client, authorization):
    response = await client.get("/api/me", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_logout_needs_a_signed_in_caller(client):
    assert (await client.post("/api/auth/logout")).status_code == 401
