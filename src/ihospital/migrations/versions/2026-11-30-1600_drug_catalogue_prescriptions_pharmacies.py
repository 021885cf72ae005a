"""drug catalogue, prescriptions, pharmacies and their stock

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-30 16:00:00

The national-code drug catalogue and the curated interaction table; prescriptions signed by the
doctor (R06) and their items; pharmacies (the institution's own or partner retail) and their
stock, where ``0 <= reserved <= on_hand`` keeps orders from overselling.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drug_interactions",
        sa.Column("first_kind", sa.String(length=16), nullable=False),
        sa.Column("first_code", sa.String(length=64), nullable=False),
        sa.Column("second_kind", sa.String(length=16), nullable=False),
        sa.Column("second_code", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("effect_zh", sa.Text(), nullable=False),
        sa.Column("effect_en", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "first_kind IN ('ingredient','atc')", name=op.f("ck_drug_interactions_first_kind_known")
        ),
        sa.CheckConstraint(
            "second_kind IN ('ingredient','atc')",
            name=op.f("ck_drug_interactions_second_kind_known"),
        ),
        sa.CheckConstraint(
            "severity IN ('contraindicated','major','moderate','minor')",
            name=op.f("ck_drug_interactions_severity_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_interactions")),
        sa.UniqueConstraint(
            "first_kind",
            "first_code",
            "second_kind",
            "second_code",
            name=op.f("uq_drug_interactions_first_kind_first_code_second_kind_second_code"),
        ),
    )
    with op.batch_alter_table("drug_interactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drug_interactions_first_code"), ["first_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_drug_interactions_second_code"), ["second_code"], unique=False
        )

    op.create_table(
        "drugs",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("generic_name_zh", sa.String(length=128), nullable=False),
        sa.Column("generic_name_en", sa.String(length=128), nullable=False),
        sa.Column("brand_name_zh", sa.String(length=128), nullable=True),
        sa.Column("name_pinyin", sa.String(length=256), nullable=False),
        sa.Column("name_initials", sa.String(length=64), nullable=False),
        sa.Column("ingredient", sa.String(length=64), nullable=False),
        sa.Column("atc_code", sa.String(length=8), nullable=False),
        sa.Column("dosage_form", sa.String(length=32), nullable=False),
        sa.Column("strength_value", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("strength_unit", sa.String(length=8), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("package_size", sa.Integer(), nullable=False),
        sa.Column("package_unit", sa.String(length=16), nullable=False),
        sa.Column("default_route", sa.String(length=16), nullable=False),
        sa.Column("usual_dose_min", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("usual_dose_max", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("max_daily_dose", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("insurance_class", sa.String(length=1), nullable=False),
        sa.Column("prescription_only", sa.Boolean(), nullable=False),
        sa.Column("special_class", sa.String(length=16), nullable=True),
        sa.Column("antimicrobial", sa.Boolean(), nullable=False),
        sa.Column("special_storage", sa.Boolean(), nullable=False),
        sa.Column("cold_chain", sa.Boolean(), nullable=False),
        sa.Column("manufacturer", sa.String(length=128), nullable=False),
        sa.Column("approval_number", sa.String(length=32), nullable=False),
        sa.Column("reference_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "insurance_class IN ('A','B','C')", name=op.f("ck_drugs_insurance_known")
        ),
        sa.CheckConstraint(
            "special_class IS NULL OR special_class IN ('narcotic','psychotropic_1','psychotropic_2','toxic','radioactive','precursor')",
            name=op.f("ck_drugs_special_class_known"),
        ),
        sa.CheckConstraint("package_size > 0", name=op.f("ck_drugs_package_positive")),
        sa.CheckConstraint("reference_price_fen >= 0", name=op.f("ck_drugs_price_not_negative")),
        sa.CheckConstraint("strength_value > 0", name=op.f("ck_drugs_strength_positive")),
        sa.CheckConstraint(
            "usual_dose_min IS NULL OR usual_dose_max IS NULL OR usual_dose_min <= usual_dose_max",
            name=op.f("ck_drugs_dose_range_ordered"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drugs")),
        sa.UniqueConstraint("code", name=op.f("uq_drugs_code")),
    )
    with op.batch_alter_table("drugs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drugs_atc_code"), ["atc_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_drugs_ingredient"), ["ingredient"], unique=False)
        batch_op.create_index(batch_op.f("ix_drugs_name_initials"), ["name_initials"], unique=False)
        batch_op.create_index(batch_op.f("ix_drugs_name_pinyin"), ["name_pinyin"], unique=False)

    op.create_table(
        "pharmacies",
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("licence_number", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("offers_delivery", sa.Boolean(), nullable=False),
        sa.Column("offers_pickup", sa.Boolean(), nullable=False),
        sa.Column("cold_chain", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('hospital','retail')", name=op.f("ck_pharmacies_kind_known")),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_pharmacies_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacies")),
    )
    with op.batch_alter_table("pharmacies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pharmacies_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "pharmacy_stock",
        sa.Column(
            "pharmacy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("drug_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint("price_fen >= 0", name=op.f("ck_pharmacy_stock_price_not_negative")),
        sa.CheckConstraint(
            "reserved <= on_hand", name=op.f("ck_pharmacy_stock_reserved_within_on_hand")
        ),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_pharmacy_stock_reserved_not_negative")),
        sa.ForeignKeyConstraint(
            ["drug_id"], ["drugs.id"], name=op.f("fk_pharmacy_stock_drug_id_drugs")
        ),
        sa.ForeignKeyConstraint(
            ["pharmacy_id"],
            ["pharmacies.id"],
            name=op.f("fk_pharmacy_stock_pharmacy_id_pharmacies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_stock")),
        sa.UniqueConstraint(
            "pharmacy_id", "drug_id", name=op.f("uq_pharmacy_stock_pharmacy_id_drug_id")
        ),
    )
    with op.batch_alter_table("pharmacy_stock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pharmacy_stock_drug_id"), ["drug_id"], unique=False)

    op.create_table(
        "prescriptions",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "previous_version_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "consultation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "appointment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "prescriber_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("patient_name", sa.String(length=64), nullable=False),
        sa.Column("patient_sex", sa.String(length=8), nullable=False),
        sa.Column("patient_age", sa.String(length=16), nullable=False),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("long_term", sa.Boolean(), nullable=False),
        sa.Column("supply_reason", sa.Text(), nullable=True),
        sa.Column("validity_days", sa.SmallInteger(), nullable=False),
        sa.Column("validity_reason", sa.Text(), nullable=True),
        sa.Column("issued_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "signing_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column(
            "reviewed_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("reviewed_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rejection_codes", sa.JSON(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("filled_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending_review','approved','rejected','filled','voided')",
            name=op.f("ck_prescriptions_status_known"),
        ),
        sa.CheckConstraint(
            "(consultation_id IS NULL) <> (appointment_id IS NULL)",
            name=op.f("ck_prescriptions_one_encounter"),
        ),
        sa.CheckConstraint(
            "validity_days BETWEEN 1 AND 3", name=op.f("ck_prescriptions_validity_within_r16")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["booking_appointments.id"],
            name=op.f("fk_prescriptions_appointment_id_booking_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_prescriptions_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_prescriptions_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_prescriptions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["prescriber_id"],
            ["practitioners.id"],
            name=op.f("fk_prescriptions_prescriber_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_version_id"],
            ["prescriptions.id"],
            name=op.f("fk_prescriptions_previous_version_id_prescriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_prescriptions_reviewed_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["signing_key_id"],
            ["signing_keys.id"],
            name=op.f("fk_prescriptions_signing_key_id_signing_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriptions")),
        sa.UniqueConstraint("number", name=op.f("uq_prescriptions_number")),
        sa.UniqueConstraint(
            "previous_version_id", name=op.f("uq_prescriptions_previous_version_id")
        ),
    )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_prescriptions_institution_status", ["institution_id", "status"], unique=False
        )
        batch_op.create_index("ix_prescriptions_patient", ["patient_id"], unique=False)
        batch_op.create_index("ix_prescriptions_prescriber", ["prescriber_id"], unique=False)

    op.create_table(
        "prescription_items",
        sa.Column(
            "prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("drug_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("drug_code", sa.String(length=32), nullable=False),
        sa.Column("drug_name", sa.String(length=256), nullable=False),
        sa.Column("dose", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("dose_unit", sa.String(length=8), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("days", sa.SmallInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("quantity_unit", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "origin IN ('entered','confirmed')", name=op.f("ck_prescription_items_origin_known")
        ),
        sa.CheckConstraint("days > 0", name=op.f("ck_prescription_items_days_positive")),
        sa.CheckConstraint("dose > 0", name=op.f("ck_prescription_items_dose_positive")),
        sa.CheckConstraint(
            "position BETWEEN 1 AND 5", name=op.f("ck_prescription_items_at_most_five_drugs")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_prescription_items_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["drug_id"], ["drugs.id"], name=op.f("fk_prescription_items_drug_id_drugs")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_prescription_items_prescription_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescription_items")),
        sa.UniqueConstraint(
            "prescription_id", "drug_id", name=op.f("uq_prescription_items_prescription_id_drug_id")
        ),
        sa.UniqueConstraint(
            "prescription_id",
            "position",
            name=op.f("uq_prescription_items_prescription_id_position"),
        ),
    )


def downgrade() -> None:
    op.drop_table("prescription_items")
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_prescriptions_prescriber")
        batch_op.drop_index("ix_prescriptions_patient")
        batch_op.drop_index("ix_prescriptions_institution_status")

    op.drop_table("prescriptions")
    with op.batch_alter_table("pharmacy_stock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pharmacy_stock_drug_id"))

    op.drop_table("pharmacy_stock")
    with op.batch_alter_table("pharmacies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pharmacies_institution_id"))

    op.drop_table("pharmacies")
    with op.batch_alter_table("drugs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drugs_name_pinyin"))
        batch_op.drop_index(batch_op.f("ix_drugs_name_initials"))
        batch_op.drop_index(batch_op.f("ix_drugs_ingredient"))
        batch_op.drop_index(batch_op.f("ix_drugs_atc_code"))

    op.drop_table("drugs")
    with op.batch_alter_table("drug_interactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drug_interactions_second_code"))
        batch_op.drop_index(batch_op.f("ix_drug_interactions_first_code"))

    op.drop_table("drug_interactions")
