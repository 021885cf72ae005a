"""A traced case: a follow-up consultation with messages, a record signed and amended, a
prescription rejected by the pharmacist, revised and approved, an alert about the first
version; a regulator of the institution's region (Beijing) and one of Wuhan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.chat_send import send_message
from ihospital.consultation.records.models import MedicalRecord
from ihospital.consultation.records.service import RecordContent, sign_record
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.identity.models import Account
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.review import decide_prescription
from ihospital.prescribing.schemas import PrescriptionCreate, PrescriptionDraft
from ihospital.prescribing.service import revise_prescription, write_prescription
from ihospital.supervision.alerts import raise_alert
from ihospital.supervision.models import SupervisionAlert
from tests.booking.builders import booker
from tests.consultation.builders import doctor_actor
from tests.identity.builders import CIPHER, make_account
from tests.prescribing.builders import body, item
from tests.prescribing.review_builders import Pharmacy, make_pharmacy

BEIJING, WUHAN = "110000", "420100"
CONTENT = RecordContent(
    chief_complaint="血压控制不佳，头晕两天",
    present_illness="高血压五年",
    past_history="无糖尿病史",
    allergies="青霉素过敏",
    advice="两周后复诊",
    diagnosis_codes=("I10",),
)


@dataclass
class Traced:
    pharmacy: Pharmacy
    records: list[MedicalRecord]
    first: Prescription  # rejected
    second: Prescription  # its revision, approved
    alert: SupervisionAlert
    regulator: Account  # of Beijing, where the institution is (110105)
    other_regulator: Account  # of Wuhan

    @property
    def consultation_id(self) -> int:
        return self.pharmacy.consultation.id


async def regulator_of(session: AsyncSession, clock: FrozenClock, region_code: str) -> Account:
    account = await make_account(session, role="regulator", clock=clock)
    account.region_code = region_code
    await session.flush()
    return account


def regulator_actor(clock: FrozenClock, account: Account) -> Actor:
    return Actor(
        role="regulator", clock=clock, account_id=account.id, region_code=account.region_code
    )


async def traced_case(session: AsyncSession, clock: FrozenClock) -> Traced:
    """Every step through the services, a minute apart, so each is audited as it happens."""
    pharmacy = await make_pharmacy(session, clock)
    consultation = pharmacy.consultation
    doctor = doctor_actor(clock, pharmacy.practice.doctor)
    patient = booker(clock, pharmacy.patient)
    clock.advance(timedelta(minutes=1))
    await send_message(session, patient, consultation_id=consultation.id, text="头晕", hub=None)
    await send_message(session, doctor, consultation_id=consultation.id, text="请测血压", hub=None)
    clock.advance(timedelta(minutes=1))
    first_record, _ = await sign_record(
        session, doctor, consultation_id=consultation.id, content=CONTENT, cipher=CIPHER
    )
    clock.advance(timedelta(minutes=1))
    amended, _ = await sign_record(
        session,
        doctor,
        consultation_id=consultation.id,
        content=CONTENT,
        cipher=CIPHER,
        amends=first_record.id,
    )
    clock.advance(timedelta(minutes=1))
    written = PrescriptionCreate.model_validate(body(consultation.id, item(pharmacy.drug)))
    first, _ = await write_prescription(session, doctor, body=written, cipher=CIPHER)
    clock.advance(timedelta(minutes=1))
    pharmacist = pharmacy.pharmacist_actor(clock)
    await decide_prescription(
        session,
        pharmacist,
        prescription_id=first.id,
        decision="reject",
        reasons=["N01"],
        note="剂量需调整",
    )
    clock.advance(timedelta(minutes=1))
    alert = await raise_alert(
        session,
        Actor.system(clock),
        rule_id="R13.3",
        subject=f"prescription:{first.id}",
        institution_id=consultation.institution_id,
        patient_id=consultation.patient_id,
        details={"waited_minutes": 90},
    )
    assert alert is not None
    clock.advance(timedelta(minutes=1))
    revision = PrescriptionDraft.model_validate(
        {"diagnoses": ["I10"], "items": [item(pharmacy.drug, dose="10")]}
    )
    second, _ = await revise_prescription(
        session, doctor, prescription_id=first.id, body=revision, cipher=CIPHER
    )
    clock.advance(timedelta(minutes=1))
    await decide_prescription(session, pharmacist, prescription_id=second.id, decision="approve")
    clock.advance(timedelta(minutes=1))
    return Traced(
        pharmacy=pharmacy,
        records=[first_record, amended],
        first=first,
        second=second,
        alert=alert,
        regulator=await regulator_of(session, clock, BEIJING),
        other_regulator=await regulator_of(session, clock, WUHAN),
    )
