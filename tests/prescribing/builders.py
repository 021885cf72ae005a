"""Builders of prescribing for tests: catalogue drugs and signed prescriptions written straight
into their tables (for the review, pharmacy and verification tests, which start from a
prescription that exists; the writing rules are tested through the prescribing service)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.models import Consultation
from ihospital.core.clock import Clock, to_local
from ihospital.directory.views import PractitionerView
from ihospital.prescribing.documents import signed_content
from ihospital.prescribing.models import Drug, Prescription, PrescriptionItem
from ihospital.security.signing import canonical_json, sha256_hex, sign
from tests.consultation.builders import doctor_actor
from tests.identity.builders import CIPHER

_numbers = itertools.count(1)


async def make_drug(
    session: AsyncSession,
    *,
    clock: Clock,
    generic_name_zh: str = "苯磺酸氨氯地平片",
    generic_name_en: str = "Amlodipine Besylate Tablets",
    ingredient: str = "amlodipine",
    atc_code: str = "C08CA01",
    strength_value: str = "5",
    strength_unit: str = "mg",
    unit: str = "tablet",
    package_size: int = 28,
    usual_dose: tuple[str, str] | None = ("2.5", "10"),
    max_daily_dose: str | None = "10",
    special_class: str | None = None,
    antimicrobial: bool = False,
    cold_chain: bool = False,
    prescription_only: bool = True,
    reference_price_fen: int = 2850,
) -> Drug:
    """A catalogue drug (by default amlodipine 5 mg × 28 tablets) with a fresh national code."""
    number = next(_numbers)
    drug = Drug(
        code=f"XTEST{number:07d}",
        generic_name_zh=generic_name_zh,
        generic_name_en=generic_name_en,
        brand_name_zh=None,
        name_pinyin=f"test{number}",
        name_initials=f"t{number}",
        ingredient=ingredient,
        atc_code=atc_code,
        dosage_form="tablet",
        strength_value=Decimal(strength_value),
        strength_unit=strength_unit,
        unit=unit,
        package_size=package_size,
        package_unit="box",
        default_route="oral",
        usual_dose_min=None if usual_dose is None else Decimal(usual_dose[0]),
        usual_dose_max=None if usual_dose is None else Decimal(usual_dose[1]),
        max_daily_dose=None if max_daily_dose is None else Decimal(max_daily_dose),
        insurance_class="A",
        prescription_only=prescription_only,
        special_class=special_class,
        antimicrobial=antimicrobial,
        special_storage=cold_chain,
        cold_chain=cold_chain,
        manufacturer="测试制药有限公司",
        approval_number=f"国药准字H{number:08d}",
        reference_price_fen=reference_price_fen,
        active=True,
        updated_at=clock.now(),
    )
    session.add(drug)
    await session.flush()
    return drug


@dataclass(frozen=True)
class Line:
    """One item to write: ``dose`` of the drug's strength unit, ``frequency`` for ``days``."""

    drug: Drug
    dose: str = "5"
    frequency: str = "qd"
    days: int = 7
    quantity: int = 1


async def make_prescription(
    session: AsyncSession,
    *,
    clock: Clock,
    doctor: PractitionerView,
    consultation: Consultation,
    lines: list[Line],
    status: str = "pending_review",
    validity_days: int = 1,
) -> Prescription:
    """A prescription of ``consultation`` signed by ``doctor``, in ``status``, written without
    the prescribing checks (which their own tests cover)."""
    issued_at = clock.now()
    prescription = Prescription(
        number=f"RXTEST{next(_numbers):08d}",
        version=1,
        previous_version_id=None,
        institution_id=consultation.institution_id,
        patient_id=consultation.patient_id,
        consultation_id=consultation.id,
        appointment_id=None,
        prescriber_id=doctor.id,
        status=status,
        patient_name=consultation.patient_name,
        patient_sex=consultation.patient_sex,
        patient_age=f"{consultation.patient_age}岁",
        diagnoses=[{"code": "I10", "name": "原发性高血压"}],
        emergency=False,
        long_term=False,
        supply_reason=None,
        validity_days=validity_days,
        validity_reason=None if validity_days == 1 else "患者居住偏远，取药不便",
        issued_at=issued_at,
        valid_until=to_local(issued_at).date() + timedelta(days=validity_days - 1),
    )
    items = [
        PrescriptionItem(
            position=position,
            drug_id=line.drug.id,
            drug_code=line.drug.code,
            drug_name=line.drug.generic_name_zh,
            dose=Decimal(line.dose),
            dose_unit=line.drug.strength_unit,
            frequency=line.frequency,
            route=line.drug.default_route,
            days=line.days,
            quantity=line.quantity,
            quantity_unit=line.drug.package_unit,
            note=None,
            override_reason=None,
            origin="entered",
        )
        for position, line in enumerate(lines, start=1)
    ]
    message = canonical_json(signed_content(prescription, items))
    signature = await sign(
        session,
        doctor_actor(clock, doctor),
        practitioner_id=doctor.id,
        message=message,
        cipher=CIPHER,
    )
    prescription.content_sha256 = sha256_hex(message)
    prescription.signing_key_id = signature.key_id
    prescription.signature = signature.value
    session.add(prescription)
    await session.flush()
    for item in items:
        item.prescription_id = prescription.id
    session.add_all(items)
    await session.flush()
    return prescription
