"""medical records: the ICD-10 seed, practitioners' signing keys, signed record versions

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 12:00:00

The diagnoses of ICD-10 seeded from consultation/data/icd10.csv (with the pinyin of each Chinese
name for search), one Ed25519 key pair per practitioner (the private key encrypted), and the
signed versions of consultations' medical records with their diagnoses. The database refuses
UPDATE and DELETE of record versions and their diagnoses: an amendment is a new version (R12).
"""

import csv
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import ihospital.db
from ihospital.directory.pinyin import phrase_pinyin

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ICD10_CSV = Path(__file__).resolve().parents[2] / "consultation" / "data" / "icd10.csv"
APPEND_ONLY = ("medical_records", "medical_record_diagnoses")


def _icd10_rows() -> list[dict[str, str]]:
    with ICD10_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        pinyin = phrase_pinyin(row["name_zh"])
        row["name_pinyin"], row["name_initials"] = pinyin.full, pinyin.initials
    return rows


def _make_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION medical_records_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION medical_records_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def upgrade() -> None:
    icd10 = op.create_table(
        "icd10_codes",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name_zh", sa.String(length=128), nullable=False),
        sa.Column("name_en", sa.String(length=256), nullable=False),
        sa.Column("name_pinyin", sa.String(length=256), nullable=False),
        sa.Column("name_initials", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_icd10_codes")),
    )
    with op.batch_alter_table("icd10_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_icd10_codes_name_pinyin"), ["name_pinyin"])
        batch_op.create_index(batch_op.f("ix_icd10_codes_name_initials"), ["name_initials"])
    op.bulk_insert(icd10, _icd10_rows())

    op.create_table(
        "signing_keys",
        sa.Column("practitioner_id", BigId, nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_signing_keys_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("practitioner_id", name=op.f("uq_signing_keys_practitioner_id")),
    )

    op.create_table(
        "medical_records",
        sa.Column("consultation_id", BigId, nullable=False),
        sa.Column("patient_id", BigId, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous_version_id", BigId, nullable=True),
        sa.Column("chief_complaint", sa.Text(), nullable=False),
        sa.Column("present_illness", sa.Text(), nullable=False),
        sa.Column("past_history", sa.Text(), nullable=False),
        sa.Column("allergies", sa.Text(), nullable=False),
        sa.Column("advice", sa.Text(), nullable=False),
        sa.Column("signed_by", BigId, nullable=False),
        sa.Column("signed_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("signing_key_id", BigId, nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_medical_records_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_medical_records_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["previous_version_id"],
            ["medical_records.id"],
            name=op.f("fk_medical_records_previous_version_id_medical_records"),
        ),
        sa.ForeignKeyConstraint(
            ["signed_by"],
            ["practitioners.id"],
            name=op.f("fk_medical_records_signed_by_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["signing_key_id"],
            ["signing_keys.id"],
            name=op.f("fk_medical_records_signing_key_id_signing_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_records")),
        sa.UniqueConstraint(
            "consultation_id",
            "version",
            name=op.f("uq_medical_records_consultation_id_version"),
        ),
        sa.UniqueConstraint(
            "previous_version_id", name=op.f("uq_medical_records_previous_version_id")
        ),
    )
    with op.batch_alter_table("medical_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_medical_records_patient_signer", ["patient_id", "signed_by"], unique=False
        )

    op.create_table(
        "medical_record_diagnoses",
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["icd10_codes.code"],
            name=op.f("fk_medical_record_diagnoses_code_icd10_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["medical_records.id"],
            name=op.f("fk_medical_record_diagnoses_record_id_medical_records"),
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_medical_record_diagnoses")),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION medical_records_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
    for table in APPEND_ONLY:
        _make_append_only(table)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgresql:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_change ON {table}")
        else:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"DROP TRIGGER {table}_no_delete")
    if postgresql:
        op.execute("DROP FUNCTION medical_records_append_only()")
    op.drop_table("medical_record_diagnoses")
    with op.batch_alter_table("medical_records", schema=None) as batch_op:
        batch_op.drop_index("ix_medical_records_patient_signer")
    op.drop_table("medical_records")
    op.drop_table("signing_keys")
    with op.batch_alter_table("icd10_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_icd10_codes_name_initials"))
        batch_op.drop_index(batch_op.f("ix_icd10_codes_name_pinyin"))
    op.drop_table("icd10_codes")
