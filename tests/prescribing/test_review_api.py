"""The review API over HTTP: the pharmacist's queue, the read and the decision; bad input is a
translated problem+json naming the field and changes nothing; the doctor is told of a rejection
and the patient of an approval; review times for the pharmacist and the admin only of their own
institution."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from ihospital.core.i18n import translate
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from ihospital.notifications.models import InboxMessage
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.review_codes import REASONS_MESSAGE, REASONS_UNKNOWN_MESSAGE
from tests.directory.builders import bearer
from tests.prescribing.review_builders import (
    audit_actions,
    count,
    make_pharmacy,
    prescribe,
    run_worker,
)

EN = {"Accept-Language": "en"}


async def test_the_pharmacist_reads_the_queue_and_approves(
    app, client, session, session_factory, clock
):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    clock.advance(timedelta(minutes=40))
    headers = await bearer(session, clock=clock, account=pharmacy.pharmacist)
    url = f"/api/pharmacist/prescriptions/{prescription.id}"

    queue = await client.get("/api/pharmacist/prescriptions", headers=headers)
    read = await client.get(url, headers=headers)
    decided = await client.post(f"{url}/decision", json={"decision": "approve"}, headers=headers)
    again = await client.post(f"{url}/decision", json={"decision": "approve"}, headers=headers)

    assert [(e["id"], e["waited_seconds"]) for e in queue.json()] == [(prescription.id, 2400)]
    body = read.json()
    assert body["signature"] == {
        "valid": True,
        "content_intact": True,
        "signature_valid": True,
        "problem": None,
    }
    assert body["items"][0]["drug_code"] == pharmacy.drug.code
    assert (body["patient_name"], body["diagnoses"][0]["code"]) == ("王芳", "I10")
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
    assert again.json()["code"] == "prescribing.already_decided"
    await session.commit()
    await run_worker(app, session_factory, clock)
    told = await count(
        session,
        InboxMessage,
        InboxMessage.account_id == pharmacy.patient.account_id,
        InboxMessage.link == f"/prescriptions/{prescription.id}",
    )
    assert told == 1


async def test_a_rejection_tells_the_doctor(app, client, session, session_factory, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    headers = await bearer(session, clock=clock, account=pharmacy.pharmacist)

    response = await client.post(
        f"/api/pharmacist/prescriptions/{prescription.id}/decision",
        json={"decision": "reject", "reasons": ["I08"], "note": "禁忌配伍"},
        headers=headers,
    )
    await session.commit()
    await run_worker(app, session_factory, clock)

    assert response.json()["rejection_codes"] == ["I08"]
    [message] = await session.scalars(
        select(InboxMessage).where(
            InboxMessage.account_id == pharmacy.practice.doctor.account_id,
            InboxMessage.kind == "prescription",
        )
    )
    assert json.loads(message.fields) == {"number": prescription.number, "reasons": "I08"}
    assert message.link == f"/doctor/consultations/{pharmacy.consultation.id}"


BAD_INPUT = [
    ({"decision": "reject"}, 422, "prescribing.reasons_required", REASONS_MESSAGE),
    (
        {"decision": "reject", "reasons": ["Z42"]},
        422,
        "prescribing.reason_unknown",
        REASONS_UNKNOWN_MESSAGE,
    ),
]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize(("body", "status", "code", "message"), BAD_INPUT, ids=["none", "unknown"])
async def test_bad_reasons_are_explained_and_change_nothing(
    client, session, clock, language, body, status, code, message
):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    headers = await bearer(session, clock=clock, account=pharmacy.pharmacist)
    if language == "en":
        headers |= EN

    response = await client.post(
        f"/api/pharmacist/prescriptions/{prescription.id}/decision", json=body, headers=headers
    )

    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert (problem["code"], problem["field"]) == (code, "reasons")
    expected = translate(message, language, codes="Z42")
    assert problem["detail"] == expected
    assert language == "en" or expected != message.format(codes="Z42")
    assert (await session.get(Prescription, prescription.id)).status == "pending_review"
    assert await audit_actions(session, prescription.id) == []


async def test_own_and_other_institutions_prescriptions_are_refused(client, session, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    other = await make_pharmacy(session, clock)
    url = f"/api/pharmacist/prescriptions/{prescription.id}"
    doctor = await session.get(Account, pharmacy.practice.doctor.account_id)
    doctor.role = "pharmacist"
    await session.flush()

    stranger = await bearer(session, clock=clock, account=other.pharmacist)
    own = await bearer(session, clock=clock, account=doctor)
    for response in (
        await client.get(url, headers=stranger),
        await client.post(f"{url}/decision", json={"decision": "approve"}, headers=stranger),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "prescribing.prescription_not_found"
    mine = await client.post(f"{url}/decision", json={"decision": "approve"}, headers=own | EN)
    assert mine.status_code == 403
    assert (
        mine.json()["detail"] == "You wrote this prescription; another pharmacist must review it."
    )
    assert (await session.get(Prescription, prescription.id)).status == "pending_review"


async def test_review_times_for_the_pharmacist_and_the_admin(client, session, clock):
    pharmacy = await make_pharmacy(session, clock)
    actor_headers = await bearer(session, clock=clock, account=pharmacy.pharmacist)
    for minutes in (5, 10, 40):
        prescription = await prescribe(session, clock, pharmacy)
        clock.advance(timedelta(minutes=minutes))
        await client.post(
            f"/api/pharmacist/prescriptions/{prescription.id}/decision",
            json={"decision": "approve"},
            headers=actor_headers,
        )
    await prescribe(session, clock, pharmacy)
    clock.advance(timedelta(minutes=31))
    actor_headers = await bearer(session, clock=clock, account=pharmacy.pharmacist)
    admin = await bearer(session, clock=clock, account=pharmacy.practice.admin)
    other_admin = await bearer(
        session, clock=clock, account=(await make_pharmacy(session, clock)).practice.admin
    )
    institution_url = (
        f"/api/institutions/{pharmacy.practice.institution.id}/prescription-review-statistics"
    )

    own = await client.get("/api/pharmacist/review-statistics?days=7", headers=actor_headers)
    managed = await client.get(institution_url, headers=admin)
    foreign = await client.get(institution_url, headers=other_admin)

    assert own.json() == managed.json() | {"days": 7}
    figures = own.json()
    assert (figures["count"], figures["median_seconds"], figures["p90_seconds"]) == (3, 600, 2400)
    assert (figures["waiting"], figures["overdue"], figures["limit_minutes"]) == (1, 1, 30)
    assert foreign.status_code == 403
