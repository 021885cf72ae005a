"""Medical records and the ICD-10 search over HTTP: the doctor signs and amends, the patient
reads, either checks the signature; bad input is a problem naming the field and writes nothing;
others find nothing; no route changes or deletes a record."""

from sqlalchemy import func, select

from ihospital.consultation.records.models import MedicalRecord
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account
from tests.consultation.builders import PRIOR, in_progress, make_practice
from tests.directory.builders import bearer
from tests.identity.builders import make_patient
from tests.security.routes import served_routes

RECORD = {
    "chief_complaint": "血压控制不佳，头晕两天",
    "present_illness": "高血压五年，近两天晨起血压150/95mmHg",
    "past_history": "无",
    "allergies": "无已知药物过敏",
    "diagnoses": [{"code": "I10"}],
    "advice": "氨氯地平加量至10mg每日一次，两周后复诊",
}


async def _headers(session, clock, account_id):
    return await bearer(session, clock=clock, account=await session.get(Account, account_id))


async def _setup(session, clock, *, prior=PRIOR):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    person = await make_patient(session, clock=clock)
    consultation = await in_progress(session, clock, practice, person, prior=prior)
    patient = await _headers(session, clock, person.account_id)
    doctor = await _headers(session, clock, practice.doctor.account_id)
    return practice, consultation.id, patient, doctor


async def _records(session) -> int:
    return await session.scalar(select(func.count()).select_from(MedicalRecord))


async def test_sign_read_verify_amend_and_close(client, session, clock):
    _, cid, patient, doctor = await _setup(session, clock)
    signed = await client.post(
        f"/api/doctor/consultations/{cid}/record", json=RECORD, headers=doctor
    )
    assert signed.status_code == 201, signed.text
    first = signed.json()
    assert first["diagnoses"] == [{"code": "I10", "name": "原发性高血压"}]
    assert (first["version"], first["allergies"]) == (1, "无已知药物过敏")

    amended = await client.post(
        f"/api/doctor/consultations/{cid}/record",
        json={**RECORD, "diagnoses": [{"code": "i10"}, {"code": "E11.9"}], "amends": first["id"]},
        headers=doctor,
    )
    assert amended.status_code == 201, amended.text
    second = amended.json()
    assert (second["version"], second["previous_version_id"]) == (2, first["id"])

    mine = (await client.get(f"/api/consultations/{cid}/records", headers=patient)).json()
    assert [(r["id"], r["superseded_by_id"]) for r in mine] == [
        (first["id"], second["id"]),
        (second["id"], None),
    ]
    assert [d["name"] for d in mine[1]["diagnoses"]] == ["原发性高血压", "2型糖尿病不伴有并发症"]
    theirs = (await client.get(f"/api/doctor/consultations/{cid}/records", headers=doctor)).json()
    assert [r["id"] for r in theirs] == [second["id"], first["id"]]
    for headers in (patient, doctor):
        check = await client.get(f"/api/records/{first['id']}/verify", headers=headers)
        assert check.json()["valid"] is True, check.text

    closed = await client.post(
        f"/api/doctor/consultations/{cid}/close", json={"advice": "按时服药"}, headers=doctor
    )
    assert closed.json()["status"] == "closed", closed.text


async def test_editing_a_signed_record_is_refused(client, session, clock):
    _, cid, _, doctor = await _setup(session, clock)
    await client.post(f"/api/doctor/consultations/{cid}/record", json=RECORD, headers=doctor)
    again = await client.post(
        f"/api/doctor/consultations/{cid}/record", json=RECORD, headers=doctor
    )
    assert again.status_code == 409
    assert again.json()["code"] == "record.already_signed"
    assert again.json()["detail"] == "病历已签名，不能修改；请通过修订生成新版本。"
    assert await _records(session) == 1


async def test_a_record_without_diagnosis_is_refused_naming_the_field(client, session, clock):
    _, cid, _, doctor = await _setup(session, clock)
    path = f"/api/doctor/consultations/{cid}/record"
    for body in (
        {**RECORD, "diagnoses": []},
        {k: v for k, v in RECORD.items() if k != "diagnoses"},
    ):
        refused = await client.post(path, json=body, headers=doctor)
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        assert (refused.json()["code"], refused.json()["field"]) == (
            "record.diagnosis_required",
            "diagnoses",
        )
        assert refused.json()["detail"] == "病历须至少填写一个诊断（ICD-10 编码）。"
    english = await client.post(
        path, json={**RECORD, "diagnoses": []}, headers={**doctor, "Accept-Language": "en"}
    )
    assert english.json()["detail"] == "Give at least one diagnosis (an ICD-10 code) in the record."
    assert await _records(session) == 0


async def test_an_unknown_icd10_code_is_refused(client, session, clock):
    _, cid, _, doctor = await _setup(session, clock)
    refused = await client.post(
        f"/api/doctor/consultations/{cid}/record",
        json={**RECORD, "diagnoses": [{"code": "I10"}, {"code": "Q99.99"}]},
        headers=doctor,
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert (problem["code"], problem["field"], problem["diagnosis_code"]) == (
        "record.diagnosis_unknown",
        "diagnoses",
        "Q99.99",
    )
    assert problem["detail"] == "Q99.99 不是诊断目录中的 ICD-10 编码。"
    assert await _records(session) == 0


async def test_control_characters_in_the_record_are_refused(client, session, clock):
    _, cid, _, doctor = await _setup(session, clock)
    refused = await client.post(
        f"/api/doctor/consultations/{cid}/record",
        json={**RECORD, "advice": "按时服药\x00"},
        headers=doctor,
    )
    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["field"]) == ("record.text_invalid", "advice")
    assert await _records(session) == 0


async def test_a_health_consultation_gets_no_record(client, session, clock):
    _, cid, _, doctor = await _setup(session, clock, prior=None)
    refused = await client.post(
        f"/api/doctor/consultations/{cid}/record", json=RECORD, headers=doctor
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "record.not_diagnostic"
    assert refused.json()["detail"] == "健康咨询仅提供建议，不作诊断，也不书写病历。"


async def test_another_doctor_or_patient_finds_nothing(client, session, clock):
    practice, cid, _, doctor = await _setup(session, clock)
    record = await client.post(
        f"/api/doctor/consultations/{cid}/record", json=RECORD, headers=doctor
    )
    rid = record.json()["id"]
    colleague = await _headers(session, clock, practice.colleague.account_id)
    stranger = await _headers(session, clock, (await make_patient(session, clock=clock)).account_id)
    calls = [
        (colleague, "POST", f"/api/doctor/consultations/{cid}/record", "consultation.not_found"),
        (colleague, "GET", f"/api/doctor/consultations/{cid}/records", "consultation.not_found"),
        (colleague, "GET", f"/api/records/{rid}/verify", "record.not_found"),
        (stranger, "GET", f"/api/consultations/{cid}/records", "consultation.not_found"),
        (stranger, "GET", f"/api/records/{rid}/verify", "record.not_found"),
    ]
    for headers, method, path, code in calls:
        body = RECORD if method == "POST" else None
        response = await client.request(method, path, json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (404, code), path
    assert await _records(session) == 1


def test_no_route_changes_or_deletes_a_record(app):
    feed = ("/api/regulator/reporting-feed/", "/regulator/reporting-feed/")  # copies sent upward
    writes = {
        (method, path)
        for (method, path), _ in served_routes(app)
        if "record" in path and method not in ("GET", "WS") and not path.startswith(feed)
    }
    assert writes == {  # both sign a new version, the page's form as the API
        ("POST", "/api/doctor/consultations/{consultation_id}/record"),
        ("POST", "/doctor/consultations/{consultation_id}/record"),
    }


async def test_icd10_search_by_code_name_or_pinyin(client, session, clock):
    _, _, _, doctor = await _setup(session, clock)

    async def codes(q):
        response = await client.get("/api/icd10", params={"q": q}, headers=doctor)
        assert response.status_code == 200, response.text
        return [row["code"] for row in response.json()]

    assert await codes("i10") == ["I10"]
    assert await codes("J45") == ["J45.0", "J45.9"]
    assert "E11.9" in await codes("糖尿病")
    assert "E11.9" in await codes("tangniaobing")
    assert "I10" in await codes("yfxgxy")  # 原发性高血压
    assert "K21.9" in await codes("reflux")
    assert len(await codes("e")) == 20
    assert await codes("%") == []
    for bad in ("", "a\x00"):
        refused = await client.get("/api/icd10", params={"q": bad}, headers=doctor)
        assert refused.status_code == 422
