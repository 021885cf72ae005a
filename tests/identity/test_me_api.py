import json

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.errors import Unprocessable
from ihospital.identity.accounts import update_preferences
from tests.identity.builders import auth_headers, make_account


async def test_me_shows_the_signed_in_account(client, session):
    account = await make_account(session, display_name="王芳")
    response = await client.get("/api/me", headers=await auth_headers(session, account=account))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == account.id
    assert body["display_name"] == "王芳"
    assert body["language"] is None
    assert body["elder_mode"] is False
    assert "password_hash" not in body


async def test_me_needs_a_signed_in_caller(client):
    response = await client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["code"] == "auth.required"


async def test_patch_me_changes_preferences_and_is_audited(client, session):
    account = await make_account(session)
    headers = await auth_headers(session, account=account)
    response = await client.patch(
        "/api/me",
        headers=headers,
        json={"language": "en", "elder_mode": True, "display_name": "Wang Fang"},
    )
    assert response.status_code == 200
    assert response.json()["language"] == "en"
    assert response.json()["elder_mode"] is True
    assert response.json()["display_name"] == "Wang Fang"
    entry = (
        await session.scalars(select(AuditEntry).where(AuditEntry.action == "account.update"))
    ).one()
    assert json.loads(entry.details) == {
        "display_name": "Wang Fang",
        "elder_mode": True,
        "language": "en",
    }


async def test_patch_me_with_only_one_field_keeps_the_others(client, session):
    account = await make_account(session, language="zh-CN")
    headers = await auth_headers(session, account=account)
    response = await client.patch("/api/me", headers=headers, json={"elder_mode": True})
    assert response.json()["language"] == "zh-CN"
    assert response.json()["elder_mode"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "fr"}, "language"),
        ({"elder_mode": "maybe"}, "elder_mode"),
        ({"display_name": "<b>x</b>"}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"role": "platform_admin"}, "role"),
    ],
)
async def test_bad_preferences_are_refused_naming_the_field(client, session, body, field):
    account = await make_account(session)
    headers = await auth_headers(session, account=account)
    response = await client.patch("/api/me", headers=headers, json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    await session.refresh(account)
    assert account.role == "patient"


async def test_update_preferences_refuses_an_unknown_language(session, clock):
    account = await make_account(session)
    actor = Actor(role="patient", clock=clock, account_id=account.id)
    with pytest.raises(Unprocessable) as caught:
        await update_preferences(session, actor, language="de")
    assert caught.value.fields["field"] == "language"


async def test_update_preferences_without_a_change_writes_nothing(session, clock):
    account = await make_account(session, language="en")
    actor = Actor(role="patient", clock=clock, account_id=account.id)
    await update_preferences(session, actor, language="en")
    actions = (await session.scalars(select(AuditEntry.action))).all()
    assert "account.update" not in actions
