"""The patient's history with the doctor at the workstation: the same 就诊人's earlier
consultations with this doctor, newest first, with the latest version of each signed record;
never a consultation with another doctor, another patient's or a later one; the read is audited;
the queries do not grow with the history; only the assigned doctor reads it (others find
nothing, the patient may not call the doctor's route); the API and the page show it."""

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.history import patient_history
from ihospital.consultation.models import Consultation
from ihospital.consultation.records.models import MedicalRecord
from ihospital.consultation.records.service import RecordContent, sign_record
from ihospital.consultation.workstation import close_consultation
from ihospital.core.clock import Clock
from ihospital.errors import NotFound
from ihospital.identity.models import Account, Patient
from tests.consultation.builders import PRIOR, Practice, doctor_actor, in_progress, make_practice
from tests.consultation.test_records import CONTENT
from tests.directory.builders import bearer, doctor_account
from tests.directory.test_search import counted_queries
from tests.identity.builders import CIPHER, make_patient
from tests.web.builders import sign_in_as


@dataclass
class History:
    practice: Practice
    person: Patient
    signed: Consultation  # with the doctor, record amended to version 2
    health: Consultation  # with the doctor, a health consultation: advice, no record
    elsewhere: Consultation  # with the colleague, signed by the colleague
    stranger: Consultation  # another patient's with the doctor, signed
    current: Consultation
    latest: MedicalRecord


async def _signed_and_closed(
    session, clock: Clock, practice: Practice, person: Patient, content: RecordContent = CONTENT
) -> tuple[Consultation, MedicalRecord]:
    consultation = await in_progress(session, clock, practice, person, prior=PRIOR)
    doctor = doctor_actor(clock, practice.doctor)
    record, _ = await sign_record(
        session, doctor, consultation_id=consultation.id, content=content, cipher=CIPHER
    )
    await close_consultation(session, doctor, consultation_id=consultation.id, advice="按时服药")
    clock.advance(timedelta(days=1))
    return consultation, record


async def _history(session, clock: Clock) -> History:
    practice = await make_practice(session, clock=clock, fee_fen=0)
    person = await make_patient(session, clock=clock)
    doctor = doctor_actor(clock, practice.doctor)
    signed, first = await _signed_and_closed(session, clock, practice, person)
    amended = RecordContent(**{**CONTENT.__dict__, "advice": "继续服药，一月后复诊"})
    latest, _ = await sign_record(
        session,
        doctor,
        consultation_id=signed.id,
        content=amended,
        cipher=CIPHER,
        amends=first.id,
    )
    health = await in_progress(session, clock, practice, person)
    await close_consultation(session, doctor, consultation_id=health.id, advice="多喝水，早休息")
    clock.advance(timedelta(days=1))
    colleagues = replace(practice, doctor=practice.colleague)
    other_advice = RecordContent(**{**CONTENT.__dict__, "advice": "同事的医嘱：低盐饮食"})
    elsewhere, _ = await _signed_and_closed(session, clock, colleagues, person, other_advice)
    someone = await make_patient(session, clock=clock)
    stranger, _ = await _signed_and_closed(session, clock, practice, someone, other_advice)
    current = await in_progress(session, clock, practice, person, prior=PRIOR)
    return History(practice, person, signed, health, elsewhere, stranger, current, latest)


async def _details(session, action: str) -> list[str]:
    return list(
        await session.scalars(
            select(AuditEntry.details)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.occurred_at, AuditEntry.id)
        )
    )


async def test_the_doctor_reads_this_patients_earlier_consultations_with_them(session, clock):
    h = await _history(session, clock)
    doctor = doctor_actor(clock, h.practice.doctor)
    entries = await patient_history(session, doctor, consultation_id=h.current.id)

    assert [e.consultation.id for e in entries] == [h.health.id, h.signed.id]
    health, signed = entries
    assert health.record is None and health.consultation.advice == "多喝水，早休息"
    assert (signed.record.record.id, signed.record.record.version) == (h.latest.id, 2)
    assert signed.record.record.advice == "继续服药，一月后复诊"
    assert [d.code for d in signed.record.diagnoses] == ["I10", "R42"]
    assert await _details(session, "consultation.history_read") == [
        f'{{"consultation_ids": [{h.health.id}, {h.signed.id}]}}'
    ]
    assert await _details(session, "consultation.records_read") == [
        f'{{"record_ids": [{h.latest.id}]}}'
    ]
    # a consultation's history holds only what came before it
    assert await patient_history(session, doctor, consultation_id=h.signed.id) == []


async def test_only_the_assigned_doctor_reads_the_history(session, clock):
    h = await _history(session, clock)
    colleague = doctor_actor(clock, h.practice.colleague)
    with pytest.raises(NotFound):
        await patient_history(session, colleague, consultation_id=h.current.id)
    # the colleague's own consultation with the patient shows nothing of the doctor's
    assert await patient_history(session, colleague, consultation_id=h.elsewhere.id) == []


async def test_the_queries_do_not_grow_with_the_history(session, clock, engine):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    person = await make_patient(session, clock=clock)
    shorter = longer = None
    for _ in range(4):
        shorter, longer = longer, (await _signed_and_closed(session, clock, practice, person))[0]
    doctor = doctor_actor(clock, practice.doctor)
    counts = []
    for consultation, length in ((shorter, 2), (longer, 3)):
        with counted_queries(engine) as statements:
            entries = await patient_history(session, doctor, consultation_id=consultation.id)
        assert [e.record is not None for e in entries] == [True] * length
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8


async def test_the_api_gives_the_history_to_the_assigned_doctor_only(client, session, clock):
    h = await _history(session, clock)
    path = f"/api/doctor/consultations/{h.current.id}/history"
    doctor = await bearer(
        session, clock=clock, account=await doctor_account(session, view=h.practice.doctor)
    )
    response = await client.get(path, headers=doctor)
    assert response.status_code == 200, response.text
    health, signed = response.json()
    assert (health["consultation_id"], health["kind"], health["record"]) == (
        h.health.id,
        "health_consultation",
        None,
    )
    assert (health["advice"], health["record_link"]) == ("多喝水，早休息", None)
    assert (signed["consultation_id"], signed["kind"], signed["status"]) == (
        h.signed.id,
        "diagnostic",
        "closed",
    )
    assert signed["prior_diagnosis"] == "原发性高血压"
    assert (signed["record"]["id"], signed["record"]["version"]) == (h.latest.id, 2)
    assert [d["code"] for d in signed["record"]["diagnoses"]] == ["I10", "R42"]
    assert signed["record_link"] == f"/doctor/consultations/{h.signed.id}#record"

    colleague = await bearer(
        session, clock=clock, account=await doctor_account(session, view=h.practice.colleague)
    )
    hidden = await client.get(path, headers=colleague)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "consultation.not_found")
    patient = await bearer(
        session, clock=clock, account=await session.get(Account, h.person.account_id)
    )
    assert (await client.get(path, headers=patient)).status_code == 403
    missing = await client.get("/api/doctor/consultations/0/history", headers=doctor)
    assert missing.status_code == 422


async def test_the_consultation_page_shows_the_history(client, session, clock):
    h = await _history(session, clock)
    await sign_in_as(
        session, client, account=await doctor_account(session, view=h.practice.doctor), clock=clock
    )
    page = await client.get(f"/doctor/consultations/{h.current.id}")
    assert page.status_code == 200
    assert "该患者在您处的既往问诊" in page.text
    assert f'id="history-{h.signed.id}"' in page.text and f'id="history-{h.health.id}"' in page.text
    assert f'href="/doctor/consultations/{h.signed.id}#record"' in page.text
    assert "查看已签名病历（第 2 版）" in page.text and "继续服药，一月后复诊" in page.text
    assert "多喝水，早休息" in page.text
    for hidden in (h.elsewhere, h.stranger):
        assert f'id="history-{hidden.id}"' not in page.text
    assert "同事的医嘱：低盐饮食" not in page.text

    first = await client.get(f"/doctor/consultations/{h.signed.id}")
    assert "该患者此前没有在您处问诊。" in first.text
