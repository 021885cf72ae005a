"""consultation guardians and doctors' working sessions

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 12:00:00

R11: the guardian's ID number (encrypted, and masked for display) and the accompanying doctor of
a consultation for a child under 6. R04: the doctors' working sessions (出诊会话), one per
identity verification, tied to the licence.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("guardian_id_number_cipher", sa.String(length=128), nullable=True)
        )
        batch_op.add_column(
            sa.Column("guardian_id_number_masked", sa.String(length=18), nullable=True)
        )
        batch_op.add_column(sa.Column("accompanying_practitioner_id", BigId, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_consultations_accompanying_practitioner_id_practitioners"),
            "practitioners",
            ["accompanying_practitioner_id"],
            ["id"],
        )
    op.create_table(
        "doctor_work_sessions",
        sa.Column("practitioner_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("licence_number", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("verified_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_doctor_work_sessions_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_doctor_work_sessions_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doctor_work_sessions")),
    )
    with op.batch_alter_table("doctor_work_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_doctor_work_sessions_practitioner",
            ["practitioner_id", "expires_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("doctor_work_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_doctor_work_sessions_practitioner")
    op.drop_table("doctor_work_sessions")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consultations_accompanying_practitioner_id_practitioners"),
            type_="foreignkey",
        )
        batch_op.drop_column("accompanying_practitioner_id")
        batch_op.drop_column("guardian_id_number_masked")
        batch_op.drop_column("guardian_id_number_cipher")
