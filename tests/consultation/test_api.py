"""The consultation API over HTTP: a patient starts, reads and cancels; the doctor works the
queue; each sees only their own; bad input is a problem naming the field and changes nothing;
messages are in Chinese by default and in English when asked."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.models import Consultation
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from tests.consultation.builders import PRIOR, make_practice
from tests.directory.builders import bearer, make_doctor
from tests.identity.builders import make_id_number, make_patient


async def _headers(session, clock, account_id):
    return await bearer(session, clock=clock, account=await session.get(Account, account_id))


async def _setup(session, clock, *, fee_fen=0):
    practice = await make_practice(session, clock=clock, fee_fen=fee_fen)
    person = await make_patient(session, clock=clock)
    patient = await _headers(session, clock, person.account_id)
    doctor = await _headers(session, clock, practice.doctor.account_id)
    body = {
        "patient_id": person.id,
        "practitioner_id": practice.doctor.id,
        "institution_id": practice.institution.id,
        "consultation_type": "text",
        "complaint": "血压控制不佳，头晕两天",
    }
    return practice, person, patient, doctor, body


async def _count(session) -> int:
    return await session.scalar(select(func.count()).select_from(Consultation))


async def test_a_health_consultation_from_start_to_close(client, session, clock):
    practice, _, patient, doctor, body = await _setup(session, clock)
    started = await client.post("/api/consultations", json=body, headers=patient)
    assert started.status_code == 201, started.text
    consultation = started.json()
    assert (consultation["status"], consultation["kind"]) == ("waiting", "health_consultation")
    assert consultation["notice"].startswith("健康咨询")
    cid = consultation["id"]

    queue = await client.get("/api/doctor/consultations?type=text", headers=doctor)
    assert [c["id"] for c in queue.json()] == [cid]
    accepted = await client.post(f"/api/doctor/consultations/{cid}/accept", headers=doctor)
    assert accepted.json()["status"] == "in_progress", accepted.text
    closed = await client.post(
        f"/api/doctor/consultations/{cid}/close",
        json={"advice": "请到心内科门诊复查", "visit_in_person": True},
        headers=doctor,
    )
    assert closed.json()["status"] == "closed", closed.text
    assert closed.json()["booking_link"] == f"/doctors/{practice.doctor.id}/schedule"

    mine = await client.get("/api/consultations", headers=patient)
    assert [c["id"] for c in mine.json()] == [cid]
    read = await client.get(f"/api/consultations/{cid}", headers=patient)
    assert read.json()["advice"] == "请到心内科门诊复查"


async def test_a_diagnostic_consultation_closes_only_with_a_record(client, session, clock):
    _, _, patient, doctor, body = await _setup(session, clock)
    prior = {"institution": PRIOR.institution, "diagnosed_on": "2026-06-01", "diagnosis": "高血压"}
    started = await client.post(
        "/api/consultations", json={**body, "prior_diagnosis": prior}, headers=patient
    )
    cid = started.json()["id"]
    await client.post(f"/api/doctor/consultations/{cid}/accept", headers=doctor)
    confirmed = await client.post(
        f"/api/doctor/consultations/{cid}/prior-diagnosis/confirm", headers=doctor
    )
    assert (confirmed.json()["kind"], confirmed.json()["notice"]) == ("diagnostic", None)
    refused = await client.post(
        f"/api/doctor/consultations/{cid}/close", json={"advice": "按时服药"}, headers=doctor
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused.json()["code"] == "consultation.record_required"
    assert refused.json()["detail"] == "诊疗类问诊须有已签名的病历方可结束。"
    english = await client.post(
        f"/api/doctor/consultations/{cid}/close",
        json={"advice": "按时服药"},
        headers={**doctor, "Accept-Language": "en"},
    )
    assert english.json()["detail"] == (
        "A diagnostic consultation is closed with a signed medical record."
    )


async def test_reading_a_consultation_is_audited(client, session, clock):
    _, person, patient, doctor, body = await _setup(session, clock)
    cid = (await client.post("/api/consultations", json=body, headers=patient)).json()["id"]
    await client.get(f"/api/consultations/{cid}", headers=patient)
    await client.get(f"/api/doctor/consultations/{cid}", headers=doctor)
    readers = await session.scalars(
        select(AuditEntry.actor_role).where(
            AuditEntry.action == "consultation.read", AuditEntry.subject_id == str(cid)
        )
    )
    assert sorted(readers) == ["doctor", "patient"]


async def test_another_patient_neither_sees_nor_cancels(client, session, clock):
    _, _, patient, _, body = await _setup(session, clock)
    cid = (await client.post("/api/consultations", json=body, headers=patient)).json()["id"]
    stranger = await make_patient(session, clock=clock)
    other = await _headers(session, clock, stranger.account_id)
    for method, path in (("GET", ""), ("POST", "/cancel")):
        response = await client.request(method, f"/api/consultations/{cid}{path}", headers=other)
        assert response.status_code == 404
        assert response.json()["code"] == "consultation.not_found"
    assert (await client.get("/api/consultations", headers=other)).json() == []
    guardian = await client.post(
        f"/api/consultations/{cid}/guardian",
        json={"guardian_name": "王大明", "relationship": "parent", "id_number": make_id_number()},
        headers=other,
    )
    assert guardian.status_code == 404


async def test_another_doctor_neither_sees_nor_acts(client, session, clock):
    practice, _, patient, _, body = await _setup(session, clock)
    cid = (await client.post("/api/consultations", json=body, headers=patient)).json()["id"]
    colleague = await _headers(session, clock, practice.colleague.account_id)
    assert (await client.get("/api/doctor/consultations", headers=colleague)).json() == []
    for action, json in (
        ("", None),
        ("/accept", None),
        ("/prior-diagnosis/confirm", None),
        ("/transfer", {"practitioner_id": practice.colleague.id}),
        ("/close", {"advice": "多喝水"}),
    ):
        method = "GET" if not action else "POST"
        response = await client.request(
            method, f"/api/doctor/consultations/{cid}{action}", json=json, headers=colleague
        )
        assert response.status_code == 404, (action, response.text)
    assert (await session.get(Consultation, cid)).status == "waiting"


async def test_a_patient_cannot_start_for_another_accounts_patient(client, session, clock):
    _, _, patient, _, body = await _setup(session, clock)
    stranger = await make_patient(session, clock=clock)
    response = await client.post(
        "/api/consultations", json={**body, "patient_id": stranger.id}, headers=patient
    )
    assert (response.status_code, response.json()["code"]) == (404, "identity.patient_not_found")
    assert await _count(session) == 0


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"complaint": ""}, 422, "request.invalid", "complaint"),
        ({"complaint": "   "}, 422, "request.invalid", "complaint"),
        ({"complaint": "头" * 1001}, 422, "request.invalid", "complaint"),
        ({"complaint": "头痛\x00三天"}, 422, "consultation.complaint_invalid", "complaint"),
        ({"consultation_type": "letter"}, 422, "request.invalid", "consultation_type"),
        ({"practitioner_id": 999_999}, 404, "directory.practitioner_not_found", None),
        (
            {"scheduled_at": "2026-11-24T09:00:00+08:00"},
            422,
            "consultation.schedule_invalid",
            "scheduled_at",
        ),
        (
            {
                "prior_diagnosis": {
                    "institution": "协和",
                    "diagnosed_on": "2030-01-01",
                    "diagnosis": "高血压",
                }
            },
            422,
            "consultation.prior_in_future",
            "prior_diagnosis",
        ),
        (
            {
                "prior_diagnosis": {
                    "institution": "<b>协和</b>",
                    "diagnosed_on": "2025-01-01",
                    "diagnosis": "高血压",
                }
            },
            422,
            "consultation.prior_incomplete",
            "prior_diagnosis",
        ),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    client, session, clock, change, status, code, field
):
    _, _, patient, _, body = await _setup(session, clock)
    response = await client.post("/api/consultations", json={**body, **change}, headers=patient)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["code"] == code
    if code == "request.invalid":
        assert problem["errors"][0]["field"].endswith(field)
    elif field:
        assert problem["field"] == field
    assert await _count(session) == 0


async def test_an_unverified_doctor_is_refused_by_rule_r05(client, session, clock):
    practice, _, patient, _, body = await _setup(session, clock)
    pending = await make_doctor(
        session, clock=clock, institution=practice.institution, status="pending"
    )
    response = await client.post(
        "/api/consultations", json={**body, "practitioner_id": pending.id}, headers=patient
    )
    assert (response.status_code, response.json()["code"]) == (422, "rule.R05")
    assert response.json()["reasons"] == ["not_verified"]
    assert await _count(session) == 0


async def test_a_video_time_is_booked_only_for_video(client, session, clock):
    _, _, patient, _, body = await _setup(session, clock)
    later = (clock.now() + timedelta(days=2)).isoformat()
    text = await client.post(
        "/api/consultations", json={**body, "scheduled_at": later}, headers=patient
    )
    assert text.json()["code"] == "consultation.schedule_invalid"
    video = await client.post(
        "/api/consultations",
        json={**body, "consultation_type": "video", "scheduled_at": later},
        headers=patient,
    )
    assert video.status_code == 201, video.text
    assert video.json()["accept_by"] == video.json()["scheduled_at"]


async def test_a_fee_is_shown_with_the_bill_to_pay(client, session, clock):
    _, _, patient, _, body = await _setup(session, clock, fee_fen=2500)
    started = await client.post("/api/consultations", json=body, headers=patient)
    assert (started.json()["status"], started.json()["fee_fen"]) == ("awaiting_payment", 2500)
    bill = await client.get(f"/api/billing/orders/{started.json()['order_id']}", headers=patient)
    assert bill.status_code == 200, bill.text


async def test_a_department_gets_the_first_available_doctor(client, session, clock):
    practice, _, patient, _, body = await _setup(session, clock)
    by_department = {**body, "department_code": "03"}
    del by_department["practitioner_id"]
    first = await client.post("/api/consultations", json=by_department, headers=patient)
    assert first.status_code == 201, first.text
    other = await make_patient(session, clock=clock)
    second = await client.post(
        "/api/consultations",
        json={**by_department, "patient_id": other.id},
        headers=await _headers(session, clock, other.account_id),
    )
    # the doctor with nobody waiting is chosen next
    assert {first.json()["practitioner_id"], second.json()["practitioner_id"]} == {
        practice.doctor.id,
        practice.colleague.id,
    }


async def test_a_department_without_an_available_doctor_is_refused(client, session, clock):
    practice, _, patient, _, body = await _setup(session, clock)
    await make_doctor(session, clock=clock, institution=practice.institution, department="07")
    by_department = {**body, "department_code": "07"}  # its only doctor sets no prices
    del by_department["practitioner_id"]
    refused = await client.post("/api/consultations", json=by_department, headers=patient)
    assert (refused.status_code, refused.json()["code"]) == (
        409,
        "consultation.no_doctor_available",
    )
    both = await client.post(
        "/api/consultations", json={**body, "department_code": "03"}, headers=patient
    )
    assert (both.status_code, both.json()["field"]) == (422, "practitioner_id")
    assert await _count(session) == 0
