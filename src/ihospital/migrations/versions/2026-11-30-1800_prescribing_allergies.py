"""patients' recorded drug allergies

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-30 18:00:00

The structured allergy list of a 就诊人 (ingredient or ATC class, with the reaction), recorded by
a doctor; prescribing refuses a drug that matches one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "patient_allergies",
        sa.Column("patient_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("reaction", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", BigId, nullable=False),
        sa.Column("consultation_id", BigId, nullable=True),
        sa.Column("recorded_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "kind IN ('ingredient','atc')", name=op.f("ck_patient_allergies_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_patient_allergies_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_allergies_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["practitioners.id"],
            name=op.f("fk_patient_allergies_recorded_by_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_allergies")),
    )
    with op.batch_alter_table("patient_allergies", schema=None) as batch_op:
        batch_op.create_index("ix_patient_allergies_patient", ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patient_allergies", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_allergies_patient")
    op.drop_table("patient_allergies")
