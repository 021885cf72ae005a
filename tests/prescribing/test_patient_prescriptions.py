"""The patient's prescriptions (API and pages): drugs and the buy link only once approved (R06),
expired after the day of ``valid_until`` in Beijing (R16), a line without drugs while reviewed
or revised, nothing of a replaced or voided one, and another account's not found; 长辈模式 shows
the same page with the buy button emphasised."""

from datetime import timedelta
from html import escape as html_escape

from ihospital.audit.models import AuditEntry
from ihospital.identity.models import Account
from ihospital.prescribing.verification import verification_path
from tests.identity.builders import auth_headers, make_patient
from tests.prescribing.review_builders import count, make_pharmacy, prescribe
from tests.web.builders import sign_in_as


async def _world(session, clock):
    pharmacy = await make_pharmacy(session, clock)
    approved = await prescribe(session, clock, pharmacy, status="approved")
    pending = await prescribe(session, clock, pharmacy)
    rejected = await prescribe(session, clock, pharmacy, status="rejected")
    replaced = await prescribe(session, clock, pharmacy, status="rejected")
    revision = await prescribe(session, clock, pharmacy, status="voided")
    revision.previous_version_id = replaced.id
    await session.flush()
    account = await session.get(Account, pharmacy.patient.account_id)
    return pharmacy, account, approved, pending, rejected, replaced


async def test_the_list_shows_drugs_only_of_approved_prescriptions(client, session, clock):
    pharmacy, account, approved, pending, rejected, _ = await _world(session, clock)
    headers = await auth_headers(session, account=account, clock=clock)

    listed = (await client.get("/api/prescriptions", headers=headers)).json()

    by_id = {entry["id"]: entry for entry in listed}
    assert set(by_id) == {approved.id, pending.id, rejected.id}
    assert by_id[approved.id]["state"] == "valid" and by_id[approved.id]["buyable"]
    assert by_id[approved.id]["order_url"] == f"/prescriptions/{approved.id}/buy"
    assert by_id[approved.id]["items"][0]["drug_code"] == pharmacy.drug.code
    for entry, state in (
        (by_id[pending.id], "under_review"),
        (by_id[rejected.id], "being_revised"),
    ):
        assert (entry["state"], entry["items"], entry["buyable"]) == (state, [], False)
        assert entry["diagnoses"] == [] and entry["valid_until"] is None
    assert await count(session, AuditEntry, AuditEntry.action == "prescription.list") == 1


async def test_an_approved_prescription_expires_after_its_day_in_beijing(client, session, clock):
    pharmacy = await make_pharmacy(session, clock)
    approved = await prescribe(session, clock, pharmacy, status="approved", validity_days=2)
    account = await session.get(Account, pharmacy.patient.account_id)
    url = f"/api/prescriptions/{approved.id}"

    clock.advance(timedelta(days=1, hours=14))  # 23:00 of the second day in Beijing
    last_hour = (
        await client.get(url, headers=await auth_headers(session, account=account, clock=clock))
    ).json()
    clock.advance(timedelta(hours=1))
    expired = (
        await client.get(url, headers=await auth_headers(session, account=account, clock=clock))
    ).json()

    assert (last_hour["state"], last_hour["buyable"]) == ("valid", True)
    assert (expired["state"], expired["buyable"], expired["order_url"]) == ("expired", False, None)
    assert expired["items"]


async def test_another_accounts_prescription_is_not_found(client, session, clock):
    pharmacy = await make_pharmacy(session, clock)
    approved = await prescribe(session, clock, pharmacy, status="approved")
    stranger = await make_patient(session, clock=clock)
    headers = await auth_headers(
        session, account=await session.get(Account, stranger.account_id), clock=clock
    )

    response = await client.get(f"/api/prescriptions/{approved.id}", headers=headers)
    listed = await client.get("/api/prescriptions", headers=headers)

    assert response.status_code == 404
    assert response.json()["code"] == "prescribing.prescription_not_found"
    assert listed.json() == []
    assert await count(session, AuditEntry, AuditEntry.action == "prescription.read") == 0


async def test_a_replaced_prescription_is_not_found(client, session, clock):
    _, account, *_, replaced = await _world(session, clock)
    headers = await auth_headers(session, account=account, clock=clock)

    response = await client.get(f"/api/prescriptions/{replaced.id}", headers=headers)

    assert response.status_code == 404


async def test_the_pages_link_the_pharmacy_order_and_work_in_elder_mode(client, session, clock):
    pharmacy, account, approved, pending, *_ = await _world(session, clock)
    account.elder_mode = True
    await sign_in_as(session, client, account=account, clock=clock)

    listing = await client.get("/prescriptions")
    detail = await client.get(f"/prescriptions/{approved.id}")
    waiting = await client.get(f"/prescriptions/{pending.id}")

    assert listing.status_code == 200
    assert f'href="/prescriptions/{approved.id}/buy"' in listing.text
    assert listing.text.count("/buy") == 1
    assert '<body class="elder">' in detail.text
    assert 'class="btn btn-primary primary-action"' in detail.text
    assert pharmacy.drug.generic_name_zh in detail.text
    assert pharmacy.drug.generic_name_zh not in waiting.text
    assert "药师正在审核此处方。" in waiting.text
    # the approved one links its printable PDF and its public verification page
    assert f'href="/api/prescriptions/{approved.id}/pdf"' in detail.text
    assert html_escape(verification_path(approved)) in detail.text
    assert "/pdf" not in waiting.text
