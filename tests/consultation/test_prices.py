"""Doctors' price lists: a doctor sets their own fees, the institution's admins may set them for
its doctors, patients see what is offered; changes are audited; bad input changes nothing."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.models import ConsultationPrice
from tests.consultation.builders import make_practice
from tests.directory.builders import (
    bearer,
    doctor_account,
    make_doctor,
    make_institution,
    make_staff,
)


async def test_a_doctor_sets_and_changes_their_own_fee(client, session, clock):
    practice = await make_practice(session, clock=clock)
    headers = await bearer(
        session, clock=clock, account=await doctor_account(session, view=practice.doctor)
    )
    body = {"institution_id": practice.institution.id, "consultation_type": "video", "fee_fen": 0}
    changed = await client.put("/api/doctor/consultation-prices", json=body, headers=headers)
    assert changed.status_code == 200, changed.text
    prices = (await client.get("/api/doctor/consultation-prices", headers=headers)).json()
    assert {p["consultation_type"]: p["fee_fen"] for p in prices} == {
        "text": 3000,
        "video": 0,
        "voice": 3000,
    }
    [entry] = (
        await session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "consultation.price.set",
                AuditEntry.actor_account_id == practice.doctor.account_id,
                AuditEntry.details.contains('"fee_fen": 0'),
            )
        )
    ).all()
    assert '"previous_fee_fen": 3000' in entry.details


async def test_the_institutions_admin_sets_a_doctors_fee(client, session, clock):
    practice = await make_practice(session, clock=clock)
    headers = await bearer(session, clock=clock, account=practice.admin)
    url = (
        f"/api/institutions/{practice.institution.id}/practitioners/"
        f"{practice.doctor.id}/consultation-prices"
    )
    changed = await client.put(
        url, json={"consultation_type": "text", "fee_fen": 5000}, headers=headers
    )
    assert changed.json()["fee_fen"] == 5000, changed.text
    listed = await client.get(url, headers=headers)
    assert [p["fee_fen"] for p in listed.json() if p["consultation_type"] == "text"] == [5000]


async def test_another_institutions_admin_is_refused(client, session, clock):
    practice = await make_practice(session, clock=clock)
    elsewhere = await make_institution(session, clock=clock)
    stranger = await make_staff(
        session, clock=clock, institution=elsewhere, role="institution_admin"
    )
    headers = await bearer(session, clock=clock, account=stranger)
    url = (
        f"/api/institutions/{practice.institution.id}/practitioners/"
        f"{practice.doctor.id}/consultation-prices"
    )
    refused = await client.put(
        url, json={"consultation_type": "text", "fee_fen": 1}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "directory.not_your_institution")
    assert (await client.get(url, headers=headers)).status_code == 403


async def test_a_fee_is_refused_where_the_doctor_may_not_serve_online(client, session, clock):
    offline = await make_institution(session, clock=clock, internet=False)
    doctor = await make_doctor(session, clock=clock, institution=offline)
    headers = await bearer(session, clock=clock, account=await doctor_account(session, view=doctor))
    body = {"institution_id": offline.id, "consultation_type": "text", "fee_fen": 1000}
    refused = await client.put("/api/doctor/consultation-prices", json=body, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "rule.R05")
    assert refused.json()["reasons"] == ["not_internet_hospital"]


async def test_bad_fees_and_types_are_refused_naming_the_field(client, session, clock):
    practice = await make_practice(session, clock=clock)
    headers = await bearer(
        session, clock=clock, account=await doctor_account(session, view=practice.doctor)
    )
    before = await session.scalar(select(func.count()).select_from(ConsultationPrice))
    for change, field in (
        ({"fee_fen": -1}, "fee_fen"),
        ({"fee_fen": 10**7}, "fee_fen"),
        ({"fee_fen": "12.5"}, "fee_fen"),
        ({"consultation_type": "phone"}, "consultation_type"),
    ):
        body = {
            "institution_id": practice.institution.id,
            "consultation_type": "text",
            "fee_fen": 100,
            **change,
        }
        refused = await client.put("/api/doctor/consultation-prices", json=body, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"].endswith(field)
    assert await session.scalar(select(func.count()).select_from(ConsultationPrice)) == before


async def test_patients_see_only_what_an_eligible_doctor_offers(client, session, clock):
    practice = await make_practice(session, clock=clock)
    offered = await client.get(f"/api/doctors/{practice.doctor.id}/consultation-prices")
    assert sorted(p["consultation_type"] for p in offered.json()) == ["text", "video", "voice"]
    # the hospital's internet licence runs to the end of 2027: after it, nothing is offered
    clock.set(datetime(2028, 1, 2, tzinfo=UTC))
    lapsed = await client.get(f"/api/doctors/{practice.doctor.id}/consultation-prices")
    assert lapsed.json() == []
