"""Prescribing over HTTP: the live check changes nothing; signing writes a verified prescription;
the issue's bad input gets a clear problem listing its findings and writes nothing; other
doctors, other institutions and patients find nothing; the signing key is made at credential
verification."""

from sqlalchemy import func, select

from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from ihospital.prescribing.allergy_models import PatientAllergy
from ihospital.prescribing.models import Prescription
from ihospital.security.models import SigningKey
from tests.consultation.builders import PRIOR, in_progress, make_practice
from tests.directory.builders import bearer, make_doctor, make_institution
from tests.identity.builders import make_patient
from tests.prescribing.builders import (
    AMOXICILLIN,
    CLARITHROMYCIN,
    MORPHINE,
    SIMVASTATIN,
    body,
    item,
    make_drug,
    make_interaction,
)

WRITE = "/api/doctor/prescriptions"


async def _headers(session, clock, account_id):
    return await bearer(session, clock=clock, account=await session.get(Account, account_id))


async def _setup(session, clock, *, prior=PRIOR):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    person = await make_patient(session, clock=clock)
    consultation = await in_progress(session, clock, practice, person, prior=prior)
    doctor = await _headers(session, clock, practice.doctor.account_id)
    return practice, consultation, person, doctor


async def _count(session, table=Prescription) -> int:
    return await session.scalar(select(func.count()).select_from(table))


async def test_check_then_sign_then_void(client, session, clock):
    _, consultation, _, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    draft = body(consultation.id, item(amlodipine, dose="20", days=7))
    checked = await client.post(f"{WRITE}/check", json=draft, headers=doctor)
    assert checked.status_code == 200, checked.text
    findings = checked.json()["findings"]
    assert {f["code"] for f in findings} == {"rx.dose_unusual", "rx.daily_dose_high"}
    assert "苯磺酸氨氯地平片" in findings[0]["message"] and checked.json()["refused"]
    assert checked.json()["items"][0]["quantity"] == 4
    english = await client.post(
        f"{WRITE}/check", json=draft, headers={**doctor, "Accept-Language": "en"}
    )
    assert "Amlodipine besylate tablets" in english.json()["findings"][0]["message"]
    assert await _count(session) == 0

    refused = await client.post(WRITE, json=draft, headers=doctor)
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM_JSON
    assert refused.json()["code"] == "prescribing.checks_failed"
    assert await _count(session) == 0

    draft["items"][0]["override_reason"] = "血压难以控制，短期加量"
    signed = await client.post(WRITE, json=draft, headers=doctor)
    assert signed.status_code == 201, signed.text
    written = signed.json()
    assert (written["status"], written["items"][0]["quantity"]) == ("pending_review", 4)
    voided = await client.post(f"{WRITE}/{written['id']}/void", headers=doctor)
    assert voided.json()["status"] == "voided", voided.text


async def _refusal(client, doctor, draft) -> set[str]:
    answer = await client.post(WRITE, json=draft, headers=doctor)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    return {f["code"] for f in answer.json().get("findings", [])} or {answer.json()["code"]}


async def test_the_issues_bad_input_is_refused_clearly_and_writes_nothing(client, session, clock):
    practice, consultation, person, doctor = await _setup(session, clock)
    morphine = await make_drug(session, clock=clock, **MORPHINE)
    assert await _refusal(client, doctor, body(consultation.id, item(morphine))) == {
        "rx.special_class"
    }
    six = [
        await make_drug(session, clock=clock, ingredient=f"drug{n}", atc_code=f"C0{n}AA01")
        for n in range(1, 7)
    ]
    six_drugs = body(consultation.id, *[item(d) for d in six])
    assert await _refusal(client, doctor, six_drugs) == {"rx.too_many_drugs"}
    amoxicillin = await make_drug(session, clock=clock, **AMOXICILLIN)
    ninety = body(consultation.id, item(amoxicillin, days=90), supply_reason="慢性感染")
    assert "rx.days_too_long" in await _refusal(client, doctor, ninety)
    allergy = await client.post(
        f"/api/doctor/consultations/{consultation.id}/allergies",
        json={"kind": "ingredient", "code": "Amoxicillin", "reaction": "过敏性休克"},
        headers=doctor,
    )
    assert allergy.status_code == 201, allergy.text
    assert await _refusal(client, doctor, body(consultation.id, item(amoxicillin))) == {
        "rx.allergy"
    }
    simvastatin = await make_drug(session, clock=clock, **SIMVASTATIN)
    clarithromycin = await make_drug(session, clock=clock, **CLARITHROMYCIN)
    await make_interaction(
        session,
        first=("ingredient", "clarithromycin"),
        second=("ingredient", "simvastatin"),
        severity="contraindicated",
    )
    pair = body(consultation.id, item(simvastatin), item(clarithromycin, frequency="bid"))
    assert await _refusal(client, doctor, pair) == {"rx.interaction_contraindicated"}
    assert await _count(session) == 0

    health = await in_progress(session, clock, practice, await make_patient(session, clock=clock))
    answer = await client.post(WRITE, json=body(health.id, item(simvastatin)), headers=doctor)
    assert (answer.status_code, answer.json()["code"]) == (422, "rule.R01")
    assert "健康咨询" in answer.json()["detail"]
    assert await _count(session) == 0


async def test_malformed_input_is_a_problem_naming_the_field(client, session, clock):
    _, consultation, _, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    for draft in (
        body(consultation.id, item(amlodipine, dose="-1")),
        body(consultation.id, item(amlodipine, days=0)),
        body(consultation.id, item(amlodipine, drug_id=2**63)),
        {**body(consultation.id, item(amlodipine)), "diagnoses": ["X" * 9]},
        {**body(consultation.id, item(amlodipine)), "unknown": 1},
    ):
        answer = await client.post(WRITE, json=draft, headers=doctor)
        assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM_JSON
    unknown_drug = body(consultation.id, item(amlodipine, drug_id=amlodipine.id + 999))
    answer = await client.post(WRITE, json=unknown_drug, headers=doctor)
    assert (answer.status_code, answer.json()["field"]) == (422, "items.1.drug_id")
    no_diagnosis = {**body(consultation.id, item(amlodipine)), "diagnoses": []}
    answer = await client.post(WRITE, json=no_diagnosis, headers=doctor)
    assert answer.json()["code"] == "record.diagnosis_required"
    bad_allergy = await client.post(
        f"/api/doctor/consultations/{consultation.id}/allergies",
        json={"kind": "atc", "code": "青霉素类", "reaction": "皮疹"},
        headers=doctor,
    )
    assert (bad_allergy.status_code, bad_allergy.json()["field"]) == (422, "code")
    assert await _count(session) + await _count(session, PatientAllergy) == 0


async def test_others_find_nothing(client, session, clock):
    practice, consultation, person, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    draft = body(consultation.id, item(amlodipine))
    signed = (await client.post(WRITE, json=draft, headers=doctor)).json()
    colleague = await _headers(session, clock, practice.colleague.account_id)
    other_institution = await make_institution(session, clock=clock, name="武汉协和医院")
    stranger = await make_doctor(session, clock=clock, institution=other_institution)
    elsewhere = await _headers(session, clock, stranger.account_id)
    for headers in (colleague, elsewhere):
        for method, path, json in (
            ("POST", f"{WRITE}/check", draft),
            ("POST", WRITE, draft),
            ("POST", f"{WRITE}/{signed['id']}/void", None),
            ("GET", f"/api/doctor/consultations/{consultation.id}/allergies", None),
        ):
            answer = await client.request(method, path, json=json, headers=headers)
            assert answer.status_code == 404, (path, answer.text)
    patient = await _headers(session, clock, person.account_id)
    answer = await client.post(WRITE, json=draft, headers=patient)
    assert (answer.status_code, answer.json()["code"]) == (403, "auth.forbidden")
    assert await _count(session) == 1


async def test_a_rejected_prescription_is_revised(client, session, clock):
    _, consultation, _, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    first = (
        await client.post(WRITE, json=body(consultation.id, item(amlodipine)), headers=doctor)
    ).json()
    revision = {"diagnoses": ["I10"], "items": [item(amlodipine, dose="10")]}
    early = await client.post(f"{WRITE}/{first['id']}/revisions", json=revision, headers=doctor)
    assert (early.status_code, early.json()["code"]) == (409, "prescribing.not_rejected")
    stored = await session.get(Prescription, first["id"])
    stored.status = "rejected"
    await session.flush()
    second = await client.post(f"{WRITE}/{first['id']}/revisions", json=revision, headers=doctor)
    assert second.status_code == 201, second.text
    assert (second.json()["version"], second.json()["previous_version_id"]) == (2, first["id"])


async def test_the_signing_key_is_made_at_credential_verification(client, session, clock):
    practice = await make_practice(session, clock=clock)
    pending = await make_doctor(
        session, clock=clock, institution=practice.institution, status="pending", name="孙思邈"
    )
    admin = await _headers(session, clock, practice.admin.id)
    verified = await client.post(
        f"/api/practitioners/{pending.id}/reviews",
        json={"decision": "verify", "note": "证照核验通过"},
        headers=admin,
    )
    assert verified.status_code == 200, verified.text
    key = await session.scalar(select(SigningKey).where(SigningKey.practitioner_id == pending.id))
    assert key is not None
