"""API shapes of the drug catalogue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, computed_field

from ihospital.core.money import fen_to_yuan
from ihospital.core.schemas import Schema


def plain_number(value: Decimal | None) -> str | None:
    """``Decimal("2.5000")`` → ``"2.5"``, ``Decimal("10.0000")`` → ``"10"``."""
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")


Number = Annotated[str, BeforeValidator(plain_number)]
OptionalNumber = Annotated[str | None, BeforeValidator(plain_number)]


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
    strength_value: Number
    strength_unit: str
    unit: str
    package_size: int
    package_unit: str
    default_route: str
    usual_dose_min: OptionalNumber
    usual_dose_max: OptionalNumber
    max_daily_dose: OptionalNumber
    insurance_class: str
    prescription_only: bool
    special_class: str | None
    antimicrobial: bool
    special_storage: bool
    cold_chain: bool
    manufacturer: str
    approval_number: str
    reference_price_fen: int = Field(exclude=True)
    active: bool
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reference_price(self) -> Decimal:
        return fen_to_yuan(self.reference_price_fen)


class DrugActiveUpdate(Schema):
    """Withdraw a drug from the catalogue (``false``) or bring it back (``true``)."""

    active: bool


class ImportResultRead(Schema):
    """What an import did: drugs added, changed and found unchanged."""

    created: int
    updated: int
    unchanged: int
    total: int
