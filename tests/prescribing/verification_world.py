"""A written prescription with everyone around it, for the verification and printing tests: the
practice (institution, doctor, colleague), the patient's account, a pharmacist of the
institution and one of another institution; and the ways a stored prescription is tampered with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.clock import Clock
from ihospital.identity.models import Account, Patient
from ihospital.prescribing.documents import signed_content
from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.repository import prescription_items
from ihospital.security.signing import canonical_json, sign
from tests.consultation.builders import PRIOR, Practice, doctor_actor, in_progress, make_practice
from tests.directory.builders import make_institution
from tests.identity.builders import CIPHER, make_account, make_patient
from tests.prescribing.builders import Line, make_drug, make_prescription


async def _reread(session: AsyncSession, prescription: Prescription) -> None:
    """Forget what the session holds of the prescription and its items after a raw UPDATE."""
    for held in list(session.identity_map.values()):
        if isinstance(held, Prescription | PrescriptionItem):
            session.expire(held)
    await session.refresh(prescription)


@dataclass
class Written:
    practice: Practice
    patient: Patient
    patient_account: Account
    pharmacist: Account
    stranger_pharmacist: Account
    prescription: Prescription


async def written(
    session: AsyncSession,
    clock: Clock,
    *,
    status: str = "approved",
    validity_days: int = 1,
    patient_name: str = "欧阳小明",
) -> Written:
    """An approved prescription (reviewed by the institution's pharmacist) of two drugs."""
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock, name=patient_name)
    consultation = await in_progress(session, clock, practice, patient, prior=PRIOR)
    amlodipine = await make_drug(session, clock=clock)
    metformin = await make_drug(
        session,
        clock=clock,
        generic_name_zh="盐酸二甲双胍缓释片",
        generic_name_en="Metformin Hydrochloride Extended-release Tablets",
        ingredient="metformin",
        atc_code="A10BA02",
        strength_value="0.5",
        strength_unit="g",
        usual_dose=("0.5", "2"),
        max_daily_dose="2",
    )
    prescription = await make_prescription(
        session,
        clock=clock,
        doctor=practice.doctor,
        consultation=consultation,
        lines=[Line(amlodipine), Line(metformin, dose="0.5", frequency="bid", quantity=2)],
        status=status,
        validity_days=validity_days,
    )
    institution = practice.institution
    pharmacist = await make_account(
        session, role="pharmacist", institution_id=institution.id, display_name="王药师"
    )
    other = await make_institution(session, clock=clock)
    stranger = await make_account(session, role="pharmacist", institution_id=other.id)
    if status != "pending_review":
        prescription.reviewed_by_account_id = pharmacist.id
        prescription.reviewed_at = clock.now()
        await session.flush()
    patient_account = await session.get(Account, patient.account_id)
    return Written(practice, patient, patient_account, pharmacist, stranger, prescription)


async def edit_an_item(session: AsyncSession, prescription: Prescription) -> None:
    """Change the quantity of an item straight in the database, as an attacker would."""
    await session.execute(
        text("UPDATE prescription_items SET quantity = 9 WHERE prescription_id = :id"),
        {"id": prescription.id},
    )
    await _reread(session, prescription)


async def _colleague_signature(session: AsyncSession, clock: Clock, world: Written, message: bytes):
    colleague = world.practice.colleague
    actor = doctor_actor(clock, colleague)
    return await sign(session, actor, practitioner_id=colleague.id, message=message, cipher=CIPHER)


async def forge_signature(session: AsyncSession, clock: Clock, world: Written) -> None:
    """Replace the signature by one the colleague's key made over the same document."""
    prescription = world.prescription
    items = await prescription_items(session, prescription.id)
    forged = await _colleague_signature(
        session, clock, world, canonical_json(signed_content(prescription, items))
    )
    await session.execute(
        text("UPDATE prescriptions SET signature = :signature WHERE id = :id"),
        {"signature": forged.value, "id": prescription.id},
    )
    await _reread(session, prescription)


async def sign_with_another_key(session: AsyncSession, clock: Clock, world: Written) -> None:
    """Point the prescription at the colleague's key (which exists, but is not the prescriber's)."""
    key = await _colleague_signature(session, clock, world, b"x")
    await session.execute(
        text("UPDATE prescriptions SET signing_key_id = :key WHERE id = :id"),
        {"key": key.key_id, "id": world.prescription.id},
    )
    await _reread(session, world.prescription)
