"""The audit API: who may read the trail, its filters and paging, what each entry says, and that
reading the trail is itself recorded.

Entries carry no institution, so the trail cannot be cut to one hospital: institution admins do not
read it at all; regulators and platform admins read all of it (R13).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.audit.service import record
from ihospital.core.context import Actor
from tests.directory.builders import make_institution
from tests.identity.builders import auth_headers, make_account, make_id_number

REQUEST_ID = "audit-test-0001"


@pytest.fixture
async def regulator(session):
    account = await make_account(session, role="regulator")
    return account, await auth_headers(session, account=account)


async def _append(session, clock, *, actions, account_id=41, patient_id=None):
    actor = Actor(role="doctor", clock=clock, account_id=account_id, ip="10.0.0.9", request_id="r")
    for action in actions:
        await record(
            session,
            actor,
            action=action,
            subject_type="patient",
            subject_id=7,
            patient_id=patient_id,
        )


async def _entries(session):
    return (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()


# ---- who may read ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["regulator", "platform_admin"])
async def test_regulators_and_platform_admins_read_the_trail(client, session, role):
    account = await make_account(session, role=role)
    headers = await auth_headers(session, account=account)
    entries = await client.get("/api/audit/entries", headers=headers)
    verify = await client.get("/api/audit/verify", headers=headers)
    assert entries.status_code == verify.status_code == 200
    assert entries.json()["total"] >= 1  # at least the account's own creation
    assert verify.json()["ok"] is True


@pytest.mark.parametrize("role", ["patient", "doctor", "pharmacist", "nurse", "institution_admin"])
async def test_other_roles_cannot_read_the_trail(client, session, clock, role):
    institution = await make_institution(session, clock=clock, departments=())
    institution_id = institution.id if role != "patient" else None
    account = await make_account(session, role=role, institution_id=institution_id)
    headers = await auth_headers(session, account=account)
    before = await session.scalar(select(func.count()).select_from(AuditEntry))
    for path in ("/api/audit/entries", "/api/audit/verify"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 403
        assert response.json()["code"] == "auth.forbidden"
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == before


async def test_the_trail_needs_a_signed_in_reader(client):
    for path in ("/api/audit/entries", "/api/audit/verify"):
        assert (await client.get(path)).status_code == 401


# ---- filters and paging ------------------------------------------------------------------------


async def test_filters_by_patient_actor_and_action_combine(client, session, clock, regulator):
    _, headers = regulator
    await _append(session, clock, actions=["patient.read", "patient.update"], patient_id=5)
    await _append(session, clock, actions=["patient.read"], patient_id=6)
    await _append(session, clock, actions=["patient.read"], account_id=42, patient_id=5)

    async def actions(**params):
        body = (await client.get("/api/audit/entries", params=params, headers=headers)).json()
        return body["total"], [
            (e["actor_account_id"], e["action"], e["patient_id"]) for e in body["items"]
        ]

    assert await actions(patient_id=5, action="patient.read") == (
        2,
        [(42, "patient.read", 5), (41, "patient.read", 5)],
    )
    assert await actions(actor_account_id=41, patient_id=5) == (
        2,
        [(41, "patient.update", 5), (41, "patient.read", 5)],
    )
    assert await actions(actor_account_id=41, action="patient.update", patient_id=6) == (0, [])


async def test_pages_are_newest_first_and_cover_every_entry_once(client, session, clock, regulator):
    reader, headers = regulator
    await _append(session, clock, actions=[f"test.action{n}" for n in range(5)], account_id=77)
    seen = []
    for page in (1, 2, 3, 4):
        response = await client.get(
            "/api/audit/entries",
            params={"actor_account_id": 77, "page": page, "page_size": 2},
            headers=headers,
        )
        body = response.json()
        assert (body["total"], body["page"], body["page_size"]) == (5, page, 2)
        seen.extend(entry["action"] for entry in body["items"])
    assert seen == [f"test.action{n}" for n in (4, 3, 2, 1, 0)]


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page_size=0",
        "page_size=201",
        "patient_id=0",
        "actor_account_id=-1",
        f"patient_id={2**63}",
        "action=" + "a" * 65,
        "patient_id=abc",
    ],
)
async def test_bad_filters_are_refused_naming_the_parameter(client, regulator, query):
    _, headers = regulator
    response = await client.get(f"/api/audit/entries?{query}", headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == query.split("=")[0]


# ---- what an entry says, and reading is recorded -----------------------------------------------


async def test_an_entry_says_who_did_what_to_which_subject_when_and_from_where(
    client, session, clock, regulator
):
    _, reader_headers = regulator
    patient_account = await make_account(session)
    headers = {**await auth_headers(session, account=patient_account), "X-Request-ID": REQUEST_ID}
    body = {"name": "王小明", "relationship": "child", "id_number": make_id_number()}
    created = (await client.post("/api/patients", json=body, headers=headers)).json()

    response = await client.get(
        "/api/audit/entries",
        params={"patient_id": created["id"], "action": "patient.create"},
        headers=reader_headers,
    )
    (entry,) = response.json()["items"]
    assert entry["actor_account_id"] == patient_account.id
    assert entry["actor_role"] == "patient"
    assert entry["action"] == "patient.create"
    assert (entry["subject_type"], entry["subject_id"]) == ("patient", str(created["id"]))
    assert entry["patient_id"] == created["id"]
    assert entry["occurred_at"].startswith("2026-11-23T01:00:00")
    assert entry["ip"] == "127.0.0.1"
    assert entry["request_id"] == REQUEST_ID
    assert isinstance(entry["details"], dict)
    assert body["id_number"] not in response.text


async def test_reading_the_trail_is_itself_recorded(client, session, regulator):
    reader, headers = regulator
    response = await client.get(
        "/api/audit/entries",
        params={"patient_id": 5, "action": "patient.read", "page": 2},
        headers={**headers, "X-Request-ID": REQUEST_ID},
    )
    assert response.status_code == 200
    last = (await _entries(session))[-1]
    assert (last.action, last.actor_account_id, last.actor_role) == (
        "audit.read",
        reader.id,
        "regulator",
    )
    assert (last.patient_id, last.ip, last.request_id) == (5, "127.0.0.1", REQUEST_ID)
    assert json.loads(last.details) == {
        "action": "patient.read",
        "actor_account_id": None,
        "page": 2,
    }


async def test_verifying_the_chain_is_recorded_and_the_chain_still_verifies(
    client, session, regulator
):
    reader, headers = regulator
    first = (await client.get("/api/audit/verify", headers=headers)).json()
    last = (await _entries(session))[-1]
    assert (last.action, last.actor_account_id, last.actor_role) == (
        "audit.verify",
        reader.id,
        "regulator",
    )
    assert json.loads(last.details) == {"checked": first["checked"], "ok": True}
    second = (await client.get("/api/audit/verify", headers=headers)).json()
    assert second == {**first, "checked": first["checked"] + 1}


async def test_the_trail_is_sealed_before_it_is_listed(client, session, clock, regulator):
    _, headers = regulator
    await _append(session, clock, actions=["patient.read", "patient.update"], account_id=78)
    body = (
        await client.get("/api/audit/entries", params={"actor_account_id": 78}, headers=headers)
    ).json()
    assert [entry["action"] for entry in body["items"]] == ["patient.update", "patient.read"]
    newer, older = body["items"]
    assert newer["seq"] == older["seq"] + 1
    assert newer["id"] > older["id"]
    assert all(len(entry["entry_hash"]) == 64 for entry in body["items"])

    # The listing's own record is sealed by the next reading of the trail.
    latest = (await client.get("/api/audit/entries", headers=headers)).json()["items"][0]
    assert (latest["action"], latest["seq"]) == ("audit.read", newer["seq"] + 1)
    report = (await client.get("/api/audit/verify", headers=headers)).json()
    assert (report["ok"], report["checked"], report["unsealed"]) == (True, latest["seq"] + 1, 0)
