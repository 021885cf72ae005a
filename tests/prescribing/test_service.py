"""Writing prescriptions: only the doctor of a diagnostic consultation on duty writes; the
checks refuse and write nothing; a signed prescription verifies, is audited and published; a
rejected one is revised as a new version; one waiting for review may be voided."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.duty import end_work_session
from ihospital.consultation.lifecycle import confirm_guardian
from ihospital.consultation.records.service import RecordContent, sign_record
from ihospital.consultation.workstation import (
    accept_consultation,
    close_consultation,
    confirm_prior_diagnosis,
)
from ihospital.errors import Conflict, Forbidden, NotFound, RuleViolation, Unprocessable
from ihospital.outbox.models import OutboxEvent
from ihospital.prescribing.allergies import record_allergy
from ihospital.prescribing.check_errors import ChecksFailed
from ihospital.prescribing.documents import signed_content
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.repository import prescription_items
from ihospital.prescribing.schemas import PrescriptionCreate, PrescriptionDraft
from ihospital.prescribing.service import (
    check_prescription,
    revise_prescription,
    void_prescription,
    write_prescription,
)
from ihospital.security.models import SigningKey
from ihospital.security.signing import canonical_json, verify
from tests.booking.builders import booker
from tests.consultation.builders import PRIOR, doctor_actor, in_progress, make_practice, start
from tests.identity.builders import CIPHER, make_id_number, make_patient
from tests.prescribing.builders import (
    AMOXICILLIN,
    MORPHINE,
    NIFEDIPINE,
    body,
    item,
    make_drug,
)


async def _setup(session, clock, *, prior=PRIOR):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    person = await make_patient(session, clock=clock)
    consultation = await in_progress(session, clock, practice, person, prior=prior)
    return practice, consultation, doctor_actor(clock, practice.doctor)


async def _write(session, doctor, data):
    return await write_prescription(
        session, doctor, body=PrescriptionCreate.model_validate(data), cipher=CIPHER
    )


async def _sign_record(session, doctor, consultation, *, allergies: str) -> None:
    content = RecordContent("头晕", "血压高", "无", allergies, "按时服药", ("I10",))
    await sign_record(
        session, doctor, consultation_id=consultation.id, content=content, cipher=CIPHER
    )


async def _count(session) -> int:
    return await session.scalar(select(func.count()).select_from(Prescription))


async def test_a_signed_prescription_verifies_and_is_audited_and_published(session, clock):
    practice, consultation, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    prescription, items = await _write(
        session, doctor, body(consultation.id, item(amlodipine, days=7))
    )
    assert prescription.status == "pending_review"
    assert prescription.number == "RX20261123000001"
    assert prescription.prescriber_id == practice.doctor.id
    assert prescription.diagnoses == [{"code": "I10", "name": "原发性高血压"}]
    assert str(prescription.valid_until) == "2026-11-23"
    assert [(i.quantity, i.quantity_unit, i.origin) for i in items] == [(1, "box", "entered")]
    assert [i.drug_name for i in items] == ["苯磺酸氨氯地平片 5mg"]
    assert prescription.patient_age == f"{consultation.patient_age}岁"
    key = await session.get(SigningKey, prescription.signing_key_id)
    message = canonical_json(
        signed_content(prescription, await prescription_items(session, prescription.id))
    )
    assert verify(key.public_key, message=message, signature=prescription.signature)
    event = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.topic == "prescribing.prescription_signed")
    )
    assert event is not None
    audit = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "prescribing.prescription_signed")
    )
    assert audit.patient_id == consultation.patient_id
    second, _ = await _write(session, doctor, body(consultation.id, item(amlodipine)))
    assert second.number == "RX20261123000002"


async def test_a_health_consultation_cannot_prescribe(session, clock):
    _, consultation, doctor = await _setup(session, clock, prior=None)
    amlodipine = await make_drug(session, clock=clock)
    with pytest.raises(RuleViolation) as refused:
        await _write(session, doctor, body(consultation.id, item(amlodipine)))
    assert refused.value.code == "rule.R01"
    assert await _count(session) == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"drug": MORPHINE}, "rx.special_class"),
        ({"drug": AMOXICILLIN, "days": 90}, "rx.days_too_long"),
        ({"days": 30}, "rx.days_too_long"),
    ],
)
async def test_blocking_findings_refuse_and_write_nothing(session, clock, changes, code):
    _, consultation, doctor = await _setup(session, clock)
    drug_row = await make_drug(session, clock=clock, **changes.pop("drug", {}))
    with pytest.raises(ChecksFailed) as refused:
        await _write(session, doctor, body(consultation.id, item(drug_row, **changes)))
    assert code in {f.code for f in refused.value.findings}
    assert await _count(session) == 0


async def test_warnings_need_their_reasons(session, clock):
    _, consultation, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    nifedipine = await make_drug(session, clock=clock, **NIFEDIPINE)
    items = [item(amlodipine), item(nifedipine)]
    with pytest.raises(ChecksFailed) as refused:
        await _write(session, doctor, body(consultation.id, *items, validity_days=2))
    assert {f.code for f in refused.value.findings if f.refuses} == {
        "rx.duplicate_class",
        "rx.validity_reason",
    }
    items[1]["override_reason"] = "两种钙拮抗剂联用，血压控制不佳"
    prescription, written = await _write(
        session, doctor, body(consultation.id, *items, validity_days=2, validity_reason="出差")
    )
    assert prescription.valid_until == clock.today_local() + timedelta(days=1)
    assert written[1].override_reason == "两种钙拮抗剂联用，血压控制不佳"


async def test_the_check_reports_everything_and_writes_nothing(session, clock):
    _, consultation, doctor = await _setup(session, clock)
    morphine = await make_drug(session, clock=clock, **MORPHINE)
    checked = await check_prescription(
        session,
        doctor,
        body=PrescriptionCreate.model_validate(body(consultation.id, item(morphine))),
    )
    assert checked.refused and [f.code for f in checked.findings] == ["rx.special_class"]
    assert await _count(session) == 0


async def test_a_recorded_allergy_blocks_and_the_records_text_warns(session, clock):
    _, consultation, doctor = await _setup(session, clock)
    amoxicillin = await make_drug(session, clock=clock, **AMOXICILLIN)
    await _sign_record(session, doctor, consultation, allergies="阿莫西林胶囊过敏")
    with pytest.raises(ChecksFailed) as noted:
        await _write(session, doctor, body(consultation.id, item(amoxicillin, frequency="tid")))
    assert [f.code for f in noted.value.findings] == ["rx.allergy_noted"]
    await record_allergy(
        session, doctor, consultation_id=consultation.id, kind="atc", code="j01c", reaction="皮疹"
    )
    with pytest.raises(ChecksFailed) as refused:
        await _write(
            session,
            doctor,
            body(consultation.id, item(amoxicillin, frequency="tid", override_reason="x")),
        )
    assert [f.code for f in refused.value.findings] == ["rx.allergy"]
    with pytest.raises(Unprocessable):
        await record_allergy(
            session,
            doctor,
            consultation_id=consultation.id,
            kind="atc",
            code="青霉素",
            reaction="疹",
        )


async def test_only_the_consultations_doctor_on_duty_prescribes(session, clock):
    practice, consultation, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    colleague = doctor_actor(clock, practice.colleague)
    with pytest.raises(NotFound):
        await _write(session, colleague, body(consultation.id, item(amlodipine)))
    await end_work_session(session, doctor)
    with pytest.raises(Forbidden):
        await _write(session, doctor, body(consultation.id, item(amlodipine)))
    assert await _count(session) == 0


async def test_a_closed_consultation_prescribes_only_within_the_follow_up_window(session, clock):
    _, consultation, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    await _sign_record(session, doctor, consultation, allergies="无")
    await close_consultation(session, doctor, consultation_id=consultation.id, advice="按时服药")
    clock.advance(timedelta(hours=23))
    await _write(session, doctor, body(consultation.id, item(amlodipine)))
    clock.advance(timedelta(hours=2))
    with pytest.raises(Conflict) as refused:
        await _write(session, doctor, body(consultation.id, item(amlodipine)))
    assert refused.value.code == "prescribing.encounter_closed"


async def test_a_rejected_prescription_is_revised_once_as_a_new_version(session, clock):
    _, consultation, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    first, _ = await _write(session, doctor, body(consultation.id, item(amlodipine)))
    revision = PrescriptionDraft.model_validate(
        {"diagnoses": ["I10"], "items": [item(amlodipine, dose="10")]}
    )
    with pytest.raises(Conflict):  # still waiting for review
        await revise_prescription(
            session, doctor, prescription_id=first.id, body=revision, cipher=CIPHER
        )
    first.status = "rejected"  # as the pharmacist's review leaves it
    await session.flush()
    second, items = await revise_prescription(
        session, doctor, prescription_id=first.id, body=revision, cipher=CIPHER
    )
    assert (second.version, second.previous_version_id) == (2, first.id)
    assert (second.status, items[0].dose) == ("pending_review", 10)
    with pytest.raises(Conflict) as again:
        await revise_prescription(
            session, doctor, prescription_id=first.id, body=revision, cipher=CIPHER
        )
    assert again.value.code == "prescribing.already_revised"


async def test_a_prescription_waiting_for_review_can_be_voided_once(session, clock):
    practice, consultation, doctor = await _setup(session, clock)
    amlodipine = await make_drug(session, clock=clock)
    prescription, _ = await _write(session, doctor, body(consultation.id, item(amlodipine)))
    with pytest.raises(NotFound):
        await void_prescription(
            session, doctor_actor(clock, practice.colleague), prescription_id=prescription.id
        )
    voided = await void_prescription(session, doctor, prescription_id=prescription.id)
    assert voided.status == "voided"
    with pytest.raises(Conflict):
        await void_prescription(session, doctor, prescription_id=prescription.id)


async def test_an_infants_prescription_states_the_age_in_months(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    infant = await make_patient(
        session, clock=clock, birth_date=date(2026, 3, 10), relationship="child"
    )
    consultation = await start(session, clock, practice, infant, prior=PRIOR)
    await confirm_guardian(
        session,
        booker(clock, infant),
        consultation_id=consultation.id,
        guardian_name="王大明",
        relationship="parent",
        id_number=make_id_number(birth_date=date(1990, 3, 1)),
        cipher=CIPHER,
    )
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    # the accompanying paediatrician (R11, tested with the consultation) recorded directly
    consultation.accompanying_practitioner_id = practice.doctor.id
    await session.flush()
    await confirm_prior_diagnosis(session, doctor, consultation_id=consultation.id)
    amlodipine = await make_drug(session, clock=clock)

    prescription, _ = await _write(session, doctor, body(consultation.id, item(amlodipine)))

    assert str(clock.today_local()) == "2026-11-23"
    assert prescription.patient_age == "8月"  # R17: infants in months (under a month: days)
