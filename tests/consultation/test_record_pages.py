"""The medical record on the consultation pages: the doctor searches ICD-10 without JavaScript,
a record without a diagnosis is refused in the form with the values kept and nothing written,
signing works and an amendment is version 2 with the history shown; the patient reads the
signed record (audited) with its signer and a link to verify it; other doctors and patients
neither see nor write it; a health consultation has no record."""

from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.records.models import MedicalRecord
from ihospital.identity.models import Account
from tests.consultation.builders import PRIOR, in_progress, make_practice
from tests.directory.builders import doctor_account, make_doctor
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in_as

FORM = {
    "chief_complaint": "血压控制不佳，头晕两天",
    "present_illness": "高血压五年，服用氨氯地平5mg每日一次",
    "past_history": "无糖尿病史",
    "allergies": "青霉素过敏",
    "advice": "氨氯地平加量至10mg每日一次，两周后复诊",
}


async def _as(session, client, clock, account) -> dict[str, str]:
    await sign_in_as(session, client, account=account, clock=clock)
    return {"csrf_token": await csrf_token(client)}


async def _diagnostic(session, clock, **changes):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    person = await make_patient(session, clock=clock)
    consultation = await in_progress(session, clock, practice, person, **changes)
    return practice, person, consultation


async def _records(session) -> list[MedicalRecord]:
    return list((await session.scalars(select(MedicalRecord).order_by(MedicalRecord.id))).all())


async def test_the_doctor_searches_signs_and_amends_the_record(client, session, clock):
    practice, person, consultation = await _diagnostic(session, clock, prior=PRIOR)
    url = f"/doctor/consultations/{consultation.id}"
    token = await _as(session, client, clock, await doctor_account(session, view=practice.doctor))
    page = await client.get(url)
    assert 'id="record"' in page.text and "签署病历" in page.text
    assert ">血压控制不佳，头晕两天</textarea>" in page.text  # the complaint to start from

    found = await client.post(
        f"{url}/record", data={**token, **FORM, "icd_q": "gaoxueya", "action": "search"}
    )
    assert found.status_code == 200 and 'value="I10"' in found.text
    assert ">无糖尿病史</textarea>" in found.text  # what was typed is kept

    refused = await client.post(f"{url}/record", data={**token, **FORM, "action": "sign"})
    assert refused.status_code == 422
    assert "病历须至少填写一个诊断" in refused.text and ">青霉素过敏</textarea>" in refused.text
    assert await _records(session) == []

    signed = await client.post(
        f"{url}/record", data={**token, **FORM, "diagnoses": ["I10", "R42"], "action": "sign"}
    )
    assert (signed.status_code, signed.headers["location"]) == (303, url)
    [first] = await _records(session)
    page = await client.get(url)
    assert "病历已签名" in page.text and "第 1 版" in page.text and "头晕和眩晕" in page.text
    assert f'name="amends" value="{first.id}"' in page.text
    assert f'href="/api/records/{first.id}/verify"' in page.text

    amended = await client.post(
        f"{url}/record",
        data={
            **token,
            **FORM,
            "advice": "继续氨氯地平5mg，一周后复诊",
            "diagnoses": "I10",
            "amends": str(first.id),
            "action": "sign",
        },
    )
    assert amended.status_code == 303
    first_version, second = await _records(session)
    assert (second.version, second.previous_version_id) == (2, first.id)
    assert first_version.advice == FORM["advice"]  # the signed version is kept as it was
    page = await client.get(url)
    assert "第 2 版" in page.text and "历史版本（1）" in page.text
    stale = await client.post(
        f"{url}/record",
        data={**token, **FORM, "diagnoses": "I10", "amends": str(first.id), "action": "sign"},
    )
    assert stale.status_code == 409 and len(await _records(session)) == 2

    await _as(session, client, clock, await session.get(Account, person.account_id))
    detail = await client.get(f"/consultations/{consultation.id}")
    assert "电子病历" in detail.text and "继续氨氯地平5mg，一周后复诊" in detail.text
    assert practice.doctor.name in detail.text and "第 2 版" in detail.text
    assert f'href="/api/records/{second.id}/verify"' in detail.text
    assert "签署病历" not in detail.text and 'name="amends"' not in detail.text
    reads = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "consultation.records_read",
            AuditEntry.patient_id == person.id,
            AuditEntry.actor_account_id == person.account_id,
        )
    )
    assert reads == 1


async def test_another_doctor_or_patient_neither_sees_nor_writes_the_record(client, session, clock):
    practice, _person, consultation = await _diagnostic(session, clock, prior=PRIOR)
    stranger = await make_doctor(session, clock=clock, institution=practice.institution)
    token = await _as(session, client, clock, await doctor_account(session, view=stranger))
    posted = await client.post(
        f"/doctor/consultations/{consultation.id}/record",
        data={**token, **FORM, "diagnoses": "I10", "action": "sign"},
    )
    assert posted.status_code == 404
    other = await make_patient(session, clock=clock)
    await _as(session, client, clock, await session.get(Account, other.account_id))
    assert (await client.get(f"/consultations/{consultation.id}")).status_code == 404
    assert await _records(session) == []


async def test_a_health_consultation_has_no_record_form(client, session, clock):
    practice, _person, consultation = await _diagnostic(session, clock)
    url = f"/doctor/consultations/{consultation.id}"
    token = await _as(session, client, clock, await doctor_account(session, view=practice.doctor))
    assert 'id="record"' not in (await client.get(url)).text
    refused = await client.post(
        f"{url}/record", data={**token, **FORM, "diagnoses": "I10", "action": "sign"}
    )
    assert refused.status_code == 409 and "不书写病历" in refused.text
    assert await _records(session) == []
