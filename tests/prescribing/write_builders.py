"""Builders of prescribing tests: drugs and curated interactions written straight into their
tables, a diagnostic consultation in progress, and a prescription body as the doctor sends it."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.clock import Clock
from ihospital.prescribing.models import Drug, DrugInteraction

_codes = itertools.count(1)


def drug(**changes: Any) -> Drug:
    """An amlodipine 5 mg tablet, 7 a box, unless ``changes`` say otherwise (not stored)."""
    values: dict[str, Any] = {
        "code": f"XC08CAA{next(_codes):05d}",
        "generic_name_zh": "苯磺酸氨氯地平片",
        "generic_name_en": "Amlodipine besylate tablets",
        "brand_name_zh": "络活喜",
        "name_pinyin": "benhuangsuananlvdipingpian",
        "name_initials": "bhsalldpp",
        "ingredient": "amlodipine",
        "atc_code": "C08CA01",
        "dosage_form": "片剂",
        "strength_value": Decimal("5"),
        "strength_unit": "mg",
        "unit": "片",
        "package_size": 7,
        "package_unit": "盒",
        "default_route": "口服",
        "usual_dose_min": Decimal("2.5"),
        "usual_dose_max": Decimal("10"),
        "max_daily_dose": Decimal("10"),
        "insurance_class": "A",
        "prescription_only": True,
        "special_class": None,
        "antimicrobial": False,
        "special_storage": False,
        "cold_chain": False,
        "manufacturer": "辉瑞制药有限公司",
        "approval_number": "国药准字H10950224",
        "reference_price_fen": 3500,
        "active": True,
    }
    values.update(changes)
    return Drug(**values)


AMOXICILLIN = {
    "generic_name_zh": "阿莫西林胶囊",
    "generic_name_en": "Amoxicillin capsules",
    "brand_name_zh": None,
    "name_pinyin": "amoxilinjiaonang",
    "name_initials": "amxljn",
    "ingredient": "amoxicillin",
    "atc_code": "J01CA04",
    "dosage_form": "胶囊剂",
    "strength_value": Decimal("250"),
    "unit": "粒",
    "package_size": 24,
    "usual_dose_min": Decimal("250"),
    "usual_dose_max": Decimal("1000"),
    "max_daily_dose": Decimal("4000"),
    "antimicrobial": True,
}
MORPHINE = {
    "generic_name_zh": "盐酸吗啡片",
    "generic_name_en": "Morphine hydrochloride tablets",
    "brand_name_zh": None,
    "name_pinyin": "yansuanmafeipian",
    "name_initials": "ysmfp",
    "ingredient": "morphine",
    "atc_code": "N02AA01",
    "strength_value": Decimal("10"),
    "usual_dose_min": Decimal("5"),
    "usual_dose_max": Decimal("30"),
    "max_daily_dose": None,
    "special_class": "narcotic",
}
NIFEDIPINE = {
    "generic_name_zh": "硝苯地平控释片",
    "generic_name_en": "Nifedipine controlled-release tablets",
    "brand_name_zh": "拜新同",
    "name_pinyin": "xiaobendipingkongshipian",
    "name_initials": "xbdpksp",
    "ingredient": "nifedipine",
    "atc_code": "C08CA05",
    "strength_value": Decimal("30"),
    "usual_dose_min": Decimal("30"),
    "usual_dose_max": Decimal("60"),
    "max_daily_dose": Decimal("120"),
}
SIMVASTATIN = {
    "generic_name_zh": "辛伐他汀片",
    "generic_name_en": "Simvastatin tablets",
    "brand_name_zh": None,
    "name_pinyin": "xinfatatingpian",
    "name_initials": "xfttp",
    "ingredient": "simvastatin",
    "atc_code": "C10AA01",
    "strength_value": Decimal("20"),
    "usual_dose_min": Decimal("10"),
    "usual_dose_max": Decimal("40"),
    "max_daily_dose": Decimal("80"),
}
CLARITHROMYCIN = {
    "generic_name_zh": "克拉霉素片",
    "generic_name_en": "Clarithromycin tablets",
    "brand_name_zh": None,
    "name_pinyin": "kelameisupian",
    "name_initials": "klmsp",
    "ingredient": "clarithromycin",
    "atc_code": "J01FA09",
    "strength_value": Decimal("250"),
    "usual_dose_min": Decimal("250"),
    "usual_dose_max": Decimal("500"),
    "max_daily_dose": Decimal("1000"),
    "antimicrobial": True,
}
METFORMIN = {
    "generic_name_zh": "盐酸二甲双胍片",
    "generic_name_en": "Metformin hydrochloride tablets",
    "brand_name_zh": "格华止",
    "name_pinyin": "yansuanerjiashuanggupian",
    "name_initials": "yserjsgp",
    "ingredient": "metformin",
    "atc_code": "A10BA02",
    "strength_value": Decimal("500"),
    "package_size": 20,
    "usual_dose_min": Decimal("500"),
    "usual_dose_max": Decimal("1000"),
    "max_daily_dose": Decimal("2000"),
}


async def make_drug(session: AsyncSession, *, clock: Clock, **changes: Any) -> Drug:
    """A stored drug (see :func:`drug`)."""
    row = drug(updated_at=clock.now(), **changes)
    session.add(row)
    await session.flush()
    return row


async def make_interaction(
    session: AsyncSession,
    *,
    first: tuple[str, str],
    second: tuple[str, str],
    severity: str,
) -> DrugInteraction:
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
        "route": "口服",
        "days": 7,
        **changes,
    }


def body(consultation_id: int, *items: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = {"consultation_id": consultation_id, "diagnoses": ["I10"], "items": list(items)}
    return data | changes
