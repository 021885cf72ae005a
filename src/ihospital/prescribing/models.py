"""Tables of e-prescribing: the drug catalogue, the curated interaction table, prescriptions and
their items.

A drug is one product of the national insurance drug list (医保药品编码): its ingredient and ATC
class (for duplicate therapy, allergies and interactions), its strength per unit and package (to
compute quantities), its usual adult dose, and the flags the rules read: prescription-only,
special management (R10: never online), antimicrobial and special storage (R18: no long
prescriptions), cold chain (delivery by a cold-chain carrier).

A prescription is written and signed by the treating doctor (R06, R07) for one diagnostic
follow-up consultation or in-person visit. What the doctor signed is never changed: a revision
after the pharmacist's rejection is a new version pointing at the one it replaces. Only the
review, fill and status columns of a prescription ever change; its items never do.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

# 麻醉药品, 第一类/第二类精神药品, 医疗用毒性药品, 放射性药品, 药品类易制毒化学品 (R10)
SPECIAL_CLASSES = (
    "narcotic",
    "psychotropic_1",
    "psychotropic_2",
    "toxic",
    "radioactive",
    "precursor",
)
INSURANCE_CLASSES = ("A", "B", "C")  # 甲类 / 乙类 / 丙类
SEVERITIES = ("contraindicated", "major", "moderate", "minor")
SUBJECT_KINDS = ("ingredient", "atc")
STATUSES = ("pending_review", "approved", "rejected", "filled", "voided")
ORIGINS = ("entered", "confirmed")  # typed by the doctor / suggested, then confirmed (R07)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK expression: ``column`` holds one of ``values``."""
    return f"{column} IN ({','.join(repr(value) for value in values)})"


class Drug(IdMixin, Base):
    """One drug product. ``strength_value`` of ``strength_unit`` is the amount of ingredient in
    one dispensing ``unit`` (片, 粒, 支 …); a package holds ``package_size`` units. Doses are in
    ``strength_unit``; ``usual_dose_min``/``usual_dose_max`` bound one adult dose and
    ``max_daily_dose`` the day's total."""

    __tablename__ = "drugs"
    __table_args__ = (
        CheckConstraint(one_of("insurance_class", INSURANCE_CLASSES), name="insurance_known"),
        CheckConstraint(
            "special_class IS NULL OR " + one_of("special_class", SPECIAL_CLASSES),
            name="special_class_known",
        ),
        CheckConstraint("strength_value > 0", name="strength_positive"),
        CheckConstraint("package_size > 0", name="package_positive"),
        CheckConstraint(
            "usual_dose_min IS NULL OR usual_dose_max IS NULL OR usual_dose_min <= usual_dose_max",
            name="dose_range_ordered",
        ),
        CheckConstraint("reference_price_fen >= 0", name="price_not_negative"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    generic_name_zh: Mapped[str] = mapped_column(String(128))
    generic_name_en: Mapped[str] = mapped_column(String(128))
    brand_name_zh: Mapped[str | None] = mapped_column(String(128))
    name_pinyin: Mapped[str] = mapped_column(String(256), index=True)
    name_initials: Mapped[str] = mapped_column(String(64), index=True)
    ingredient: Mapped[str] = mapped_column(String(64), index=True)
    atc_code: Mapped[str] = mapped_column(String(8), index=True)
    dosage_form: Mapped[str] = mapped_column(String(32))
    strength_value: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    strength_unit: Mapped[str] = mapped_column(String(8))
    unit: Mapped[str] = mapped_column(String(16))
    package_size: Mapped[int]
    package_unit: Mapped[str] = mapped_column(String(16))
    default_route: Mapped[str] = mapped_column(String(16))
    usual_dose_min: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    usual_dose_max: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    max_daily_dose: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    insurance_class: Mapped[str] = mapped_column(String(1))
    prescription_only: Mapped[bool]
    special_class: Mapped[str | None] = mapped_column(String(16))
    antimicrobial: Mapped[bool]
    special_storage: Mapped[bool]
    cold_chain: Mapped[bool]
    manufacturer: Mapped[str] = mapped_column(String(128))
    approval_number: Mapped[str] = mapped_column(String(32))
    reference_price_fen: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool]
    updated_at: Mapped[datetime]


class DrugInteraction(IdMixin, Base):
    """A curated drug–drug interaction between two subjects, each an ingredient (``amlodipine``)
    or an ATC class prefix (``C09A``). ``contraindicated`` blocks a prescription; ``major``
    needs the doctor's written reason; the others inform."""

    __tablename__ = "drug_interactions"
    __table_args__ = (
        CheckConstraint(one_of("severity", SEVERITIES), name="severity_known"),
        CheckConstraint(one_of("first_kind", SUBJECT_KINDS), name="first_kind_known"),
        CheckConstraint(one_of("second_kind", SUBJECT_KINDS), name="second_kind_known"),
        UniqueConstraint("first_kind", "first_code", "second_kind", "second_code"),
    )

    first_kind: Mapped[str] = mapped_column(String(16))
    first_code: Mapped[str] = mapped_column(String(64), index=True)
    second_kind: Mapped[str] = mapped_column(String(16))
    second_code: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    effect_zh: Mapped[str] = mapped_column(Text)
    effect_en: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(256))


class Prescription(IdMixin, Base):
    """电子处方: one signed version, for a consultation or an in-person ``appointment_id``.

    ``pending_review`` → ``approved`` (by a pharmacist, R06) → ``filled`` (once, R19), or
    ``rejected`` (the doctor writes a new version, ``previous_version_id``) or ``voided``. Valid
    from ``issued_at`` through the Asia/Shanghai day ``valid_until`` (R16). ``diagnoses`` is the
    list of ``{"code", "name"}`` the doctor prescribed for; ``content_sha256`` is the SHA-256 of
    the canonical JSON that ``signature`` signs."""

    __tablename__ = "prescriptions"
    __table_args__ = (
        CheckConstraint(one_of("status", STATUSES), name="status_known"),
        CheckConstraint(
            "(consultation_id IS NULL) <> (appointment_id IS NULL)", name="one_encounter"
        ),
        CheckConstraint("validity_days BETWEEN 1 AND 3", name="validity_within_r16"),
        UniqueConstraint("previous_version_id"),
        Index("ix_prescriptions_institution_status", "institution_id", "status"),
        Index("ix_prescriptions_patient", "patient_id"),
        Index("ix_prescriptions_prescriber", "prescriber_id"),
        Index("ix_prescriptions_institution_issued", "institution_id", "issued_at"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    version: Mapped[int]
    previous_version_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("prescriptions.id"))
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    consultation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("consultations.id"))
    appointment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("booking_appointments.id"))
    prescriber_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"))
    status: Mapped[str] = mapped_column(String(16))
    patient_name: Mapped[str] = mapped_column(String(64))
    patient_sex: Mapped[str] = mapped_column(String(8))
    patient_age: Mapped[str] = mapped_column(String(16))  # "45岁", "8月", "20天" (R17)
    diagnoses: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    emergency: Mapped[bool]
    long_term: Mapped[bool]
    supply_reason: Mapped[str | None] = mapped_column(Text)
    validity_days: Mapped[int] = mapped_column(SmallInteger)
    validity_reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime]
    valid_until: Mapped[date]
    content_sha256: Mapped[str] = mapped_column(String(64))
    signing_key_id: Mapped[int] = mapped_column(BigId, ForeignKey("signing_keys.id"))
    signature: Mapped[str] = mapped_column(String(128))
    reviewed_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    reviewed_at: Mapped[datetime | None]
    rejection_codes: Mapped[list[str] | None] = mapped_column(JSON)
    review_note: Mapped[str | None] = mapped_column(Text)
    filled_at: Mapped[datetime | None]


class PrescriptionItem(IdMixin, Base):
    """One drug of a prescription as the doctor wrote it: a dose of ``dose`` ``dose_unit`` by
    ``route``, ``frequency`` (qd, bid, tid …) for ``days`` days, ``quantity`` packages. The
    drug's code and name are copied so the signed text never depends on a later catalogue
    edit. ``override_reason`` is the doctor's written reason for a warning they accepted
    (a major interaction, a dose outside the usual range)."""

    __tablename__ = "prescription_items"
    __table_args__ = (
        CheckConstraint("position BETWEEN 1 AND 5", name="at_most_five_drugs"),
        CheckConstraint("dose > 0", name="dose_positive"),
        CheckConstraint("days > 0", name="days_positive"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(one_of("origin", ORIGINS), name="origin_known"),
        UniqueConstraint("prescription_id", "position"),
        UniqueConstraint("prescription_id", "drug_id"),
    )

    prescription_id: Mapped[int] = mapped_column(BigId, ForeignKey("prescriptions.id"))
    position: Mapped[int] = mapped_column(SmallInteger)
    drug_id: Mapped[int] = mapped_column(BigId, ForeignKey("drugs.id"))
    drug_code: Mapped[str] = mapped_column(String(32))
    drug_name: Mapped[str] = mapped_column(String(256))
    dose: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    dose_unit: Mapped[str] = mapped_column(String(8))
    frequency: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(16))
    days: Mapped[int] = mapped_column(SmallInteger)
    quantity: Mapped[int]
    quantity_unit: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))
