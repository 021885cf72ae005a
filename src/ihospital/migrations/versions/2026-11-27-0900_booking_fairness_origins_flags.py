"""booking fairness origins flags

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 09:00:00

Booking fairness (防号贩子): the device each appointment was booked from (a keyed hash, never the
IP), and scalper flags raised for an institution's review, one per institution, reason, subject
and day.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "booking_origins",
        sa.Column("appointment_id", BigId, nullable=False),
        sa.Column("institution_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("device_hash", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_booking_origins_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["booking_appointments.id"],
            name=op.f("fk_booking_origins_appointment_id_booking_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_booking_origins_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_origins")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_booking_origins_appointment_id")),
    )
    with op.batch_alter_table("booking_origins", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booking_origins_device_day",
            ["institution_id", "device_hash", "day"],
            unique=False,
        )

    op.create_table(
        "booking_flags",
        sa.Column("institution_id", BigId, nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("account_id", BigId, nullable=True),
        sa.Column("practitioner_id", BigId, nullable=True),
        sa.Column("device_hash", sa.String(length=64), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_account_id", BigId, nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint("count > 0", name=op.f("ck_booking_flags_count_positive")),
        sa.CheckConstraint(
            "reason IN ('many_patients_one_doctor','busy_device')",
            name=op.f("ck_booking_flags_reason_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open','reviewed')", name=op.f("ck_booking_flags_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_booking_flags_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_booking_flags_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_booking_flags_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_booking_flags_reviewed_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_flags")),
        sa.UniqueConstraint(
            "institution_id",
            "reason",
            "subject",
            "day",
            name=op.f("uq_booking_flags_institution_id_reason_subject_day"),
        ),
    )
    with op.batch_alter_table("booking_flags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booking_flags_institution_status", ["institution_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_flags_institution_status")

    op.drop_table("booking_flags")
    with op.batch_alter_table("booking_origins", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_origins_device_day")

    op.drop_table("booking_origins")
