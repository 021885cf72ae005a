"""Medical records through their services: the doctor signs, amends with a new version that
keeps the old, the database refuses any change or deletion, a tampered record fails
verification; only the consultation's doctor writes, only for a diagnostic consultation, with
valid ICD-10 diagnoses; closing a diagnostic consultation needs a signed record."""

import base64
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from ihospital.audit.models import AuditEntry
from ihospital.consultation.records.models import MedicalRecord, MedicalRecordDiagnosis
from ihospital.consultation.records.reading import (
    doctor_records,
    patient_records,
    verify_record,
)
from ihospital.consultation.records.service import RecordContent, sign_record
from ihospital.consultation.workstation import close_consultation
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.outbox.models import OutboxEvent
from ihospital.security.models import SigningKey
from tests.booking.builders import booker
from tests.conftest import BACKEND
from tests.consultation.builders import PRIOR, doctor_actor, in_progress, make_practice
from tests.identity.builders import CIPHER, make_patient

CONTENT = RecordContent(
    chief_complaint="血压控制不佳，头晕两天",
    present_illness="高血压五年，服用氨氯地平5mg每日一次，近两天晨起血压150/95mmHg",
    past_history="无糖尿病史",
    allergies="青霉素过敏",
    advice="氨氯地平加量至10mg每日一次，两周后复诊",
    diagnosis_codes=("I10", "R42"),
)


async def _diagnostic(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    person = await make_patient(session, clock=clock)
    consultation = await in_progress(session, clock, practice, person, prior=PRIOR)
    return practice, person, consultation, doctor_actor(clock, practice.doctor)


async def _sign(session, doctor, consultation, content=CONTENT, **changes):
    return await sign_record(
        session, doctor, consultation_id=consultation.id, content=content, cipher=CIPHER, **changes
    )


async def _count(session, model=MedicalRecord):
    return await session.scalar(select(func.count()).select_from(model))


async def test_the_doctor_signs_a_record_that_verifies(session, clock):
    practice, person, consultation, doctor = await _diagnostic(session, clock)
    record, diagnoses = await _sign(session, doctor, consultation)
    assert (record.version, record.previous_version_id) == (1, None)
    assert record.signed_by == practice.doctor.id
    assert [(d.code, d.name) for d in diagnoses] == [("I10", "原发性高血压"), ("R42", "头晕和眩晕")]
    assert record.allergies == "青霉素过敏"
    checked = await verify_record(session, doctor, record_id=record.id)
    assert (checked.valid, checked.algorithm) == (True, "Ed25519")
    patient_check = await verify_record(session, booker(clock, person), record_id=record.id)
    assert patient_check.valid

    key = (await session.scalars(select(SigningKey))).one()
    assert key.practitioner_id == practice.doctor.id
    assert checked.public_key == key.public_key
    assert key.private_key.startswith("v1.") and len(base64.b64decode(key.public_key)) == 32
    event = (
        await session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == "consultation.record_signed")
        )
    ).one()
    assert f'"record_id": {record.id}' in event.payload
    audited = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.patient_id == person.id)
    )
    assert "consultation.record_signed" in set(audited)


async def test_an_amendment_is_a_new_version_and_keeps_the_old(session, clock):
    _, person, consultation, doctor = await _diagnostic(session, clock)
    first, _ = await _sign(session, doctor, consultation)
    clock.advance(timedelta(minutes=5))
    amended = RecordContent(**{**CONTENT.__dict__, "diagnosis_codes": ("I10", "E78.5")})
    second, _ = await _sign(session, doctor, consultation, amended, amends=first.id)
    assert (second.version, second.previous_version_id) == (2, first.id)
    assert second.signing_key_id == first.signing_key_id  # the key is made once

    versions = await patient_records(
        session, booker(clock, person), consultation_id=consultation.id
    )
    assert [(v.record.id, v.superseded_by_id) for v in versions] == [
        (first.id, second.id),
        (second.id, None),
    ]
    assert [d.code for d in versions[0].diagnoses] == ["I10", "R42"]
    assert [d.code for d in versions[1].diagnoses] == ["I10", "E78.5"]
    for version in (first, second):
        assert (await verify_record(session, doctor, record_id=version.id)).valid


async def test_a_signed_record_is_changed_only_by_amending_the_latest_version(session, clock):
    _, _, consultation, doctor = await _diagnostic(session, clock)
    first, _ = await _sign(session, doctor, consultation)
    second, _ = await _sign(session, doctor, consultation, amends=first.id)
    with pytest.raises(Conflict) as again:
        await _sign(session, doctor, consultation)
    assert (again.value.code, again.value.fields["record_id"]) == (
        "record.already_signed",
        second.id,
    )
    with pytest.raises(Conflict) as stale:
        await _sign(session, doctor, consultation, amends=first.id)
    assert stale.value.code == "record.not_latest"
    assert await _count(session) == 2


async def test_a_tampered_record_fails_verification(session, clock):
    _, _, consultation, doctor = await _diagnostic(session, clock)
    record_id = (await _sign(session, doctor, consultation))[0].id
    # someone with direct database access gets the append-only trigger out of the way
    if BACKEND == "postgresql":
        await session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        await session.execute(text("DROP TRIGGER medical_records_no_update"))
    await session.execute(
        text("UPDATE medical_records SET advice = '停药' WHERE id = :id"), {"id": record_id}
    )
    session.expire_all()
    checked = await verify_record(session, doctor, record_id=record_id)
    assert (checked.valid, checked.content_intact, checked.signature_valid) == (False, False, False)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE medical_records SET advice = 'x'",
        "DELETE FROM medical_records",
        "UPDATE medical_record_diagnoses SET code = 'R51'",
        "DELETE FROM medical_record_diagnoses",
    ],
)
async def test_the_database_refuses_to_change_or_delete_a_record(session, clock, statement):
    _, _, consultation, doctor = await _diagnostic(session, clock)
    await _sign(session, doctor, consultation)
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(statement))
    assert (await _count(session), await _count(session, MedicalRecordDiagnosis)) == (1, 2)


async def test_a_health_consultation_has_no_record(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    consultation = await in_progress(
        session, clock, practice, await make_patient(session, clock=clock)
    )
    with pytest.raises(Conflict) as refused:
        await _sign(session, doctor_actor(clock, practice.doctor), consultation)
    assert refused.value.code == "record.not_diagnostic"
    assert await _count(session) == 0


@pytest.mark.parametrize(
    ("codes", "code", "named"),
    [
        ((), "record.diagnosis_required", None),
        (("I10", "X99.9"), "record.diagnosis_unknown", "X99.9"),
        (("I10\x00",), "record.diagnosis_unknown", "I10\x00"),
        (("I10", "i10"), "record.diagnosis_repeated", "I10"),
        (("I10",) * 11, "record.diagnoses_too_many", None),
    ],
)
async def test_diagnoses_must_be_known_icd10_codes(session, clock, codes, code, named):
    _, _, consultation, doctor = await _diagnostic(session, clock)
    content = RecordContent(**{**CONTENT.__dict__, "diagnosis_codes": codes})
    with pytest.raises(Unprocessable) as refused:
        await _sign(session, doctor, consultation, content)
    assert (refused.value.code, refused.value.fields["field"]) == (code, "diagnoses")
    assert refused.value.fields.get("diagnosis_code") == named
    assert (await _count(session), await _count(session, SigningKey)) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [("allergies", "  "), ("chief_complaint", ""), ("present_illness", "病" * 4001)],
)
async def test_every_part_of_the_record_is_filled_within_its_limit(session, clock, field, value):
    _, _, consultation, doctor = await _diagnostic(session, clock)
    content = RecordContent(**{**CONTENT.__dict__, field: value})
    with pytest.raises(Unprocessable) as refused:
        await _sign(session, doctor, consultation, content)
    assert (refused.value.code, refused.value.fields["field"]) == ("record.text_invalid", field)
    assert await _count(session) == 0


async def test_only_the_consultations_doctor_writes_and_reads(session, clock):
    practice, _, consultation, doctor = await _diagnostic(session, clock)
    record, _ = await _sign(session, doctor, consultation)
    colleague = doctor_actor(clock, practice.colleague)
    with pytest.raises(NotFound):
        await _sign(session, colleague, consultation)
    with pytest.raises(NotFound):
        await doctor_records(session, colleague, consultation_id=consultation.id)
    with pytest.raises(NotFound):
        await verify_record(session, colleague, record_id=record.id)
    stranger = await make_patient(session, clock=clock)
    with pytest.raises(NotFound):
        await patient_records(session, booker(clock, stranger), consultation_id=consultation.id)
    with pytest.raises(NotFound):
        await verify_record(session, booker(clock, stranger), record_id=record.id)


async def test_the_doctor_sees_this_patients_earlier_records_with_them_only(session, clock):
    practice, person, earlier, doctor = await _diagnostic(session, clock)
    old, _ = await _sign(session, doctor, earlier)
    await close_consultation(session, doctor, consultation_id=earlier.id, advice="按时服药")
    clock.advance(timedelta(days=30))
    current = await in_progress(session, clock, practice, person, prior=PRIOR)
    other = await in_progress(
        session, clock, practice, await make_patient(session, clock=clock), prior=PRIOR
    )
    other_record, _ = await _sign(session, doctor, other)
    views = await doctor_records(session, doctor, consultation_id=current.id)
    assert [v.record.id for v in views] == [old.id]
    assert other_record.id not in {v.record.id for v in views}
    reads = await session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "consultation.records_read")
    )
    assert [f'{{"record_ids": [{old.id}]}}'] == list(reads)


async def test_closing_a_diagnostic_consultation_needs_a_signed_record(session, clock):
    _, _, consultation, doctor = await _diagnostic(session, clock)
    with pytest.raises(Conflict) as refused:
        await close_consultation(
            session, doctor, consultation_id=consultation.id, advice="按时服药"
        )
    assert refused.value.code == "consultation.record_required"
    await _sign(session, doctor, consultation)
    await close_consultation(session, doctor, consultation_id=consultation.id, advice="按时服药")
    assert (consultation.status, consultation.close_reason) == ("closed", "doctor")
    # after closing the record may still be amended; a first record may no longer be written
    latest = (await session.scalars(select(MedicalRecord))).one()
    amended, _ = await _sign(session, doctor, consultation, amends=latest.id)
    assert amended.version == 2
