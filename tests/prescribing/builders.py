"""Builders of prescribing for tests: catalogue drugs and curated interactions, a prescription
body as the doctor sends it, and signed prescriptions written straight into their tables (for
the review, pharmacy and verification tests, which start from a prescription that exists; the
writing rules are tested through the prescribing service)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.models import Consultation
from ihospital.core.clock import Clock, to_local
from ihospital.directory.views import PractitionerView
from ihospital.prescribing.documents import signed_content
from ihospital.prescribing.models import Drug, DrugInteraction, Prescription, PrescriptionItem
from ihospital.security.signing import canonical_json, sha256_hex, sign
from tests.consultation.builders import doctor_actor
from tests.identity.builders import CIPHER

_numbers = itertools.count(1)


def drug(
    *,
    id: int | None = None,
    generic_name_zh: str = "苯磺酸氨氯地平片",
    generic_name_en: str = "Amlodipine besylate tablets",
    brand_name_zh: str | None = "络活喜",
    name_pinyin: str = "benhuangsuananlvdipingpian",
    name_initials: str = "bhsalldpp",
    ingredient: str = "amlodipine",
    atc_code: str = "C08CA01",
    dosage_form: str = "tablet",
    strength_value: str = "5",
    strength_unit: str = "mg",
    unit: str = "tablet",
    package_size: int = 7,
    package_unit: str = "box",
    default_route: str = "oral",
    usual_dose: tuple[str, str] | None = ("2.5", "10"),
    max_daily_dose: str | None = "10",
    special_class: str | None = None,
    antimicrobial: bool = False,
    cold_chain: bool = False,
    prescription_only: bool = True,
    reference_price_fen: int = 2850,
    active: bool = True,
    updated_at: datetime | None = None,
) -> Drug:
    """A catalogue drug, by default amlodipine 5 mg, 7 tablets a box, with a fresh national
    code (not stored: :func:`make_drug` stores one)."""
    number = next(_numbers)
    return Drug(
        id=id,
        code=f"XTEST{number:07d}",
        generic_name_zh=generic_name_zh,
        generic_name_en=generic_name_en,
        brand_name_zh=brand_name_zh,
        name_pinyin=name_pinyin,
        name_initials=name_initials,
        ingredient=ingredient,
        atc_code=atc_code,
        dosage_form=dosage_form,
        strength_value=Decimal(strength_value),
        strength_unit=strength_unit,
        unit=unit,
        package_size=package_size,
        package_unit=package_unit,
        default_route=default_route,
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
        active=active,
        updated_at=updated_at,
    )


async def make_drug(session: AsyncSession, *, clock: Clock, **fields: Any) -> Drug:
    """A stored catalogue drug: :func:`drug` with ``fields``."""
    row = drug(updated_at=clock.now(), **fields)
    session.add(row)
    await session.flush()
    return row


# drugs other than amlodipine, as keyword arguments of drug() and make_drug()
AMOXICILLIN: dict[str, Any] = {
    "generic_name_zh": "阿莫西林胶囊",
    "generic_name_en": "Amoxicillin capsules",
    "brand_name_zh": None,
    "name_pinyin": "amoxilinjiaonang",
    "name_initials": "amxljn",
    "ingredient": "amoxicillin",
    "atc_code": "J01CA04",
    "dosage_form": "capsule",
    "strength_value": "250",
    "unit": "capsule",
    "package_size": 24,
    "usual_dose": ("250", "1000"),
    "max_daily_dose": "4000",
    "antimicrobial": True,
}
MORPHINE: dict[str, Any] = {
    "generic_name_zh": "盐酸吗啡片",
    "generic_name_en": "Morphine hydrochloride tablets",
    "brand_name_zh": None,
    "name_pinyin": "yansuanmafeipian",
    "name_initials": "ysmfp",
    "ingredient": "morphine",
    "atc_code": "N02AA01",
    "strength_value": "10",
    "usual_dose": ("5", "30"),
    "max_daily_dose": None,
    "special_class": "narcotic",
}
NIFEDIPINE: dict[str, Any] = {
    "generic_name_zh": "硝苯地平控释片",
    "generic_name_en": "Nifedipine controlled-release tablets",
    "brand_name_zh": "拜新同",
    "name_pinyin": "xiaobendipingkongshipian",
    "name_initials": "xbdpksp",
    "ingredient": "nifedipine",
    "atc_code": "C08CA05",
    "strength_value": "30",
    "usual_dose": ("30", "60"),
    "max_daily_dose": "120",
}
SIMVASTATIN: dict[str, Any] = {
    "generic_name_zh": "辛伐他汀片",
    "generic_name_en": "Simvastatin tablets",
    "brand_name_zh": None,
    "name_pinyin": "xinfatatingpian",
    "name_initials": "xfttp",
    "ingredient": "simvastatin",
    "atc_code": "C10AA01",
    "strength_value": "20",
    "usual_dose": ("10", "40"),
    "max_daily_dose": "80",
}
CLARITHROMYCIN: dict[str, Any] = {
    "generic_name_zh": "克拉霉素片",
    "generic_name_en": "Clarithromycin tablets",
    "brand_name_zh": None,
    "name_pinyin": "kelameisupian",
    "name_initials": "klmsp",
    "ingredient": "clarithromycin",
    "atc_code": "J01FA09",
    "strength_value": "250",
    "usual_dose": ("250", "500"),
    "max_daily_dose": "1000",
    "antimicrobial": True,
}


async def make_interaction(
    session: AsyncSession,
    *,
    first: tuple[str, str],
    second: tuple[str, str],
    severity: str,
) -> DrugInteraction:
    """A curated interaction between two ingredients or ATC classes."""
    row = DrugInteraction(
        first_kind=first[0],
        first_code=first[1],
        second_kind=second[0],
        second_code=second[1],
        severity=severity,
        effect_zh="升高血药浓度，增加横纹肌溶解风险",
        effect_en="raises blood levels, risk of rhabdomyolysis",
        source="说明书",
    )
    session.add(row)
    await session.flush()
    return row


def item(drug_row: Drug, **changes: Any) -> dict[str, Any]:
    """One item as the doctor sends it: one tablet a day for 7 days."""
    return {
        "drug_id": drug_row.id,
        "dose": str(drug_row.strength_value),
        "dose_unit": drug_row.strength_unit,
        "frequency": "qd",
        "route": "oral",
        "days": 7,
        **changes,
    }


def body(consultation_id: int, *items: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A prescription as the doctor sends it, for hypertension (I10) unless ``changes`` say."""
    data = {"consultation_id": consultation_id, "diagnoses": ["I10"], "items": list(items)}
    return data | changes


def form_row(drug_row: Drug, **changes: str) -> dict[str, str]:
    """The first row of the prescribing form as the doctor fills it: 5 mg once a day, 7 days."""
    values = {"drug_id": str(drug_row.id), "dose": "5", "dose_unit": "mg", "frequency": "qd"}
    values |= {"route": "oral", "days": "7"} | changes
    return {f"items-1-{name}": value for name, value in values.items()}


async def prescriptions_written(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Prescription)) or 0


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
