"""义诊 campaigns over HTTP: an institution admin creates, changes and ends them; bad input is a
problem naming the field; another institution's admin and patients cannot manage them; patients
see the running ones and start a free consultation, refused with 409 once the day is full."""

from datetime import timedelta

import pytest

from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from tests.consultation.builders import make_practice
from tests.consultation.campaigns.builders import iso
from tests.directory.builders import bearer
from tests.identity.builders import make_patient


async def _headers(session, clock, account_id):
    return await bearer(session, clock=clock, account=await session.get(Account, account_id))


def _body(clock, practice, **changes):
    today = clock.today_local()
    return {
        "title": "儿童健康义诊日",
        "description": "",
        "starts_on": iso(today),
        "ends_on": iso(today + timedelta(days=2)),
        "consultation_types": ["text"],
        "daily_quota": 1,
        "practitioner_ids": [practice.doctor.id],
        "department_codes": ["07"],
        **changes,
    }


async def test_an_admin_runs_a_campaign_and_patients_consult_for_free(client, session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=5000)
    admin = await _headers(session, clock, practice.admin.id)
    base = f"/api/institutions/{practice.institution.id}/campaigns"
    created = await client.post(base, json=_body(clock, practice), headers=admin)
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert (campaign["fee_fen"], campaign["running_today"]) == (0, True)
    assert campaign["doctors"] == [{"practitioner_id": practice.doctor.id, "remaining_today": 1}]

    listed = await client.get("/api/campaigns")
    assert [c["id"] for c in listed.json()] == [campaign["id"]]
    people = [await make_patient(session, clock=clock) for _ in range(2)]
    start = {
        "practitioner_id": practice.doctor.id,
        "institution_id": practice.institution.id,
        "consultation_type": "text",
        "complaint": "孩子咳嗽三天",
        "campaign_id": campaign["id"],
    }
    patient = await _headers(session, clock, people[0].account_id)
    started = await client.post(
        "/api/consultations", json={**start, "patient_id": people[0].id}, headers=patient
    )
    assert started.status_code == 201, started.text
    assert (started.json()["fee_fen"], started.json()["order_id"]) == (0, None)
    assert started.json()["campaign_id"] == campaign["id"]

    other = await _headers(session, clock, people[1].account_id)
    full = await client.post(
        "/api/consultations", json={**start, "patient_id": people[1].id}, headers=other
    )
    assert full.status_code == 409
    assert full.headers["content-type"].startswith(PROBLEM_JSON)
    assert full.json()["code"] == "campaign.quota_used_up"
    remaining = (await client.get("/api/campaigns")).json()[0]["doctors"][0]["remaining_today"]
    assert remaining == 0

    changed = await client.put(
        f"{base}/{campaign['id']}", json=_body(clock, practice, daily_quota=2), headers=admin
    )
    assert changed.json()["daily_quota"] == 2, changed.text
    ended = await client.post(f"{base}/{campaign['id']}/end", headers=admin)
    assert ended.json()["status"] == "ended"
    assert (await client.get("/api/campaigns")).json() == []
    mine = await client.get(base, headers=admin)
    assert [c["status"] for c in mine.json()] == ["ended"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_on": "2026-11-01"}, "ends_on"),
        ({"daily_quota": 0}, "daily_quota"),
        ({"consultation_types": ["fax"]}, "consultation_types"),
        ({"practitioner_ids": []}, "practitioner_ids"),
        ({"title": ""}, "title"),
    ],
    ids=["dates-reversed", "quota-zero", "type-unknown", "no-doctor", "title-empty"],
)
async def test_bad_campaigns_are_problems_naming_the_field(client, session, clock, changes, field):
    practice = await make_practice(session, clock=clock)
    admin = await _headers(session, clock, practice.admin.id)
    refused = await client.post(
        f"/api/institutions/{practice.institution.id}/campaigns",
        json=_body(clock, practice, **changes),
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    problem = refused.json()
    names = {problem.get("field")} | {e.get("field") for e in problem.get("errors", [])}
    assert any(name and name.split(".")[0] == field for name in names), problem


async def test_a_doctor_of_another_institution_is_refused(client, session, clock):
    practice = await make_practice(session, clock=clock)
    other = await make_practice(session, clock=clock)
    admin = await _headers(session, clock, practice.admin.id)
    refused = await client.post(
        f"/api/institutions/{practice.institution.id}/campaigns",
        json=_body(clock, practice, practitioner_ids=[other.doctor.id]),
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "campaign.doctor_not_eligible"


async def test_only_the_institution_s_admins_manage_its_campaigns(client, session, clock):
    practice = await make_practice(session, clock=clock)
    other = await make_practice(session, clock=clock)
    base = f"/api/institutions/{practice.institution.id}/campaigns"
    created = await client.post(
        base, json=_body(clock, practice), headers=await _headers(session, clock, practice.admin.id)
    )
    campaign_id = created.json()["id"]
    stranger = await _headers(session, clock, other.admin.id)
    assert (
        await client.post(base, json=_body(clock, practice), headers=stranger)
    ).status_code == 403
    assert (await client.post(f"{base}/{campaign_id}/end", headers=stranger)).status_code == 403
    assert (await client.get(base, headers=stranger)).status_code == 403
    own_base = f"/api/institutions/{other.institution.id}/campaigns/{campaign_id}"
    assert (await client.get(own_base, headers=stranger)).status_code == 404
    person = await make_patient(session, clock=clock)
    patient = await _headers(session, clock, person.account_id)
    assert (
        await client.post(base, json=_body(clock, practice), headers=patient)
    ).status_code == 403
