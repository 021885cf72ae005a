"""API shapes of the drug catalogue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ihospital.core.money import fen_to_yuan
from ihospital.core.schemas import Schema
from ihospital.prescribing.catalogue import ImportResult
from ihospital.prescribing.models import Drug


def plain_number(value: Decimal | None) -> str | None:
    """``Decimal("2.5000")`` → ``"2.5"``, ``Decimal("10.0000")`` → ``"10"``."""
    if value is None:
        return None
    return format(value.normalize(), "f")


class DrugRead(Schema):
    """One drug: amounts of ingredient are in ``strength_unit`` per ``unit``; doses in
    ``strength_unit``; the reference price in yuan per package."""

    id: int
    code: str
    generic_name_zh: str
    generic_name_en: str
    brand_name_zh: str | None
    ingredient: str
    atc_code: str
    dosage_form: str
    strength_value: str
    strength_unit: str
    unit: str
    package_size: int
    package_unit: str
    default_route: str
    usual_dose_min: str | None
    usual_dose_max: str | None
    max_daily_dose: str | None
    insurance_class: str
    prescription_only: bool
    special_class: str | None
    antimicrobial: bool
    special_storage: bool
    cold_chain: bool
    manufacturer: str
    approval_number: str
    reference_price: Decimal
    active: bool
    updated_at: datetime

    @classmethod
    def of(cls, drug: Drug) -> DrugRead:
        return cls(
            id=drug.id,
            code=drug.code,
            generic_name_zh=drug.generic_name_zh,
            generic_name_en=drug.generic_name_en,
            brand_name_zh=drug.brand_name_zh,
            ingredient=drug.ingredient,
            atc_code=drug.atc_code,
            dosage_form=drug.dosage_form,
            strength_value=plain_number(drug.strength_value) or "",
            strength_unit=drug.strength_unit,
            unit=drug.unit,
            package_size=drug.package_size,
            package_unit=drug.package_unit,
            default_route=drug.default_route,
            usual_dose_min=plain_number(drug.usual_dose_min),
            usual_dose_max=plain_number(drug.usual_dose_max),
            max_daily_dose=plain_number(drug.max_daily_dose),
            insurance_class=drug.insurance_class,
            prescription_only=drug.prescription_only,
            special_class=drug.special_class,
            antimicrobial=drug.antimicrobial,
            special_storage=drug.special_storage,
            cold_chain=drug.cold_chain,
            manufacturer=drug.manufacturer,
            approval_number=drug.approval_number,
            reference_price=fen_to_yuan(drug.reference_price_fen),
            active=drug.active,
            updated_at=drug.updated_at,
        )


class DrugPage(Schema):
    items: list[DrugRead]
    total: int
    page: int
    page_size: int


class DrugActiveUpdate(Schema):
    """Withdraw a drug from the catalogue (``false``) or bring it back (``true``)."""

    active: bool


class ImportResultRead(Schema):
    created: int
    updated: int
    unchanged: int
    total: int

    @classmethod
    def of(cls, result: ImportResult) -> ImportResultRead:
        return cls(
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            total=result.total,
        )
