"""Standardised records written from the domain events: a consultation accepted, a medical
record signed, a prescription signed and reviewed; minimised personal data; versions and keys."""

from __future__ import annotations

import json

from ihospital.consultation.records.service import RecordContent, sign_record
from ihospital.prescribing.review import decide_prescription
from ihospital.prescribing.schemas import PrescriptionCreate
from ihospital.prescribing.service import write_prescription
from ihospital.supervision.reporting.documents import KINDS
from ihospital.supervision.reporting.pages import KIND_MESSAGES
from tests.consultation.builders import doctor_actor
from tests.identity.builders import CIPHER
from tests.prescribing.builders import body, item
from tests.prescribing.review_builders import make_pharmacy, run_worker
from tests.supervision.reporting.builders import feed

CONTENT = RecordContent(
    chief_complaint="血压控制不佳，头晕两天",
    present_illness="高血压五年，近两天晨起血压150/95mmHg",
    past_history="无糖尿病史",
    allergies="青霉素过敏",
    advice="两周后复诊",
    diagnosis_codes=("I10",),
)


async def test_domain_events_become_versioned_records_without_names(
    app, session, session_factory, clock
):
    pharmacy = await make_pharmacy(session, clock)
    doctor = doctor_actor(clock, pharmacy.practice.doctor)
    await sign_record(
        session, doctor, consultation_id=pharmacy.consultation.id, content=CONTENT, cipher=CIPHER
    )
    written = PrescriptionCreate.model_validate(body(pharmacy.consultation.id, item(pharmacy.drug)))
    prescription, _ = await write_prescription(session, doctor, body=written, cipher=CIPHER)
    await decide_prescription(
        session,
        pharmacy.pharmacist_actor(clock),
        prescription_id=prescription.id,
        decision="approve",
    )
    name, masked, code = (
        pharmacy.patient.name,
        pharmacy.patient.id_number_masked,
        pharmacy.drug.code,
    )
    await session.commit()
    await run_worker(app, session_factory, clock)

    records = await feed(session)
    by_kind = {r.kind: r for r in records}
    assert set(by_kind) >= {"consultation", "medical_record", "prescription", "prescription_review"}
    assert [r.sequence for r in records] == sorted(r.sequence for r in records)
    assert len({r.sequence for r in records}) == len(records)
    for record in records:
        document = json.loads(record.document)
        assert document["idempotency_key"] == record.idempotency_key
        assert record.idempotency_key == f"{record.kind}:{record.subject_id}:v{record.version}"
        assert document["institution"]["region_code"] == record.region_code
        assert all(document["data"].get(name) is not None for name in KINDS[record.kind])
        for private in (name, CONTENT.chief_complaint, CONTENT.allergies):
            assert private not in record.document
    written = json.loads(by_kind["prescription"].document)["data"]
    assert written["patient"]["id_number_masked"] == masked
    assert "*" in masked
    assert written["items"][0]["drug_code"] == code
    review = json.loads(by_kind["prescription_review"].document)["data"]
    assert review["decision"] == "approved"
    assert review["number"] == written["number"]
    record = json.loads(by_kind["medical_record"].document)["data"]
    assert [d["code"] for d in record["diagnoses"]] == ["I10"]


async def test_each_report_of_a_subject_is_its_next_version(app, session, session_factory, clock):
    pharmacy = await make_pharmacy(session, clock)
    doctor = doctor_actor(clock, pharmacy.practice.doctor)
    first, _ = await sign_record(
        session, doctor, consultation_id=pharmacy.consultation.id, content=CONTENT, cipher=CIPHER
    )
    await sign_record(
        session,
        doctor,
        consultation_id=pharmacy.consultation.id,
        content=CONTENT,
        cipher=CIPHER,
        amends=first.id,
    )
    await session.commit()
    await run_worker(app, session_factory, clock)
    records = [r for r in await feed(session) if r.kind == "medical_record"]
    assert [r.version for r in records] == [1, 2]
    assert [json.loads(r.document)["data"]["record_version"] for r in records] == [1, 2]


def test_every_kind_has_a_name_on_the_page():
    assert set(KIND_MESSAGES) == set(KINDS)
