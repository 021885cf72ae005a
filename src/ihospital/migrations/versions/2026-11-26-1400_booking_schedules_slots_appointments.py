"""booking schedules slots appointments

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 14:00:00

Appointment booking: per-institution booking rules, sessions (出诊) cut into slots, and
appointments. The database refuses overbooking by itself: a slot's ``booked`` stays within its
capacity, and one 就诊人 holds at most one active appointment per slot.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_rules",
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("release_days_ahead", sa.Integer(), nullable=False),
        sa.Column("release_time", sa.Time(), nullable=False),
        sa.Column("cancel_cutoff_time", sa.Time(), nullable=False),
        sa.Column("max_per_doctor_per_day", sa.Integer(), nullable=False),
        sa.Column("max_active_per_institution", sa.Integer(), nullable=False),
        sa.Column("child_age_limit", sa.Integer(), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "child_age_limit BETWEEN 1 AND 18", name=op.f("ck_booking_rules_child_age_range")
        ),
        sa.CheckConstraint(
            "max_active_per_institution >= 1",
            name=op.f("ck_booking_rules_per_institution_positive"),
        ),
        sa.CheckConstraint(
            "max_per_doctor_per_day >= 1", name=op.f("ck_booking_rules_per_doctor_positive")
        ),
        sa.CheckConstraint(
            "release_days_ahead BETWEEN 0 AND 90", name=op.f("ck_booking_rules_release_days_range")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_booking_rules_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_rules")),
        sa.UniqueConstraint("institution_id", name=op.f("uq_booking_rules_institution_id")),
    )
    op.create_table(
        "booking_sessions",
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "practitioner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("department_code", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("half_day", sa.String(length=16), nullable=False),
        sa.Column("starts_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("visit_type", sa.String(length=16), nullable=False),
        sa.Column("fee_class", sa.String(length=16), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "fee_class IN ('general','expert','special')",
            name=op.f("ck_booking_sessions_fee_class_known"),
        ),
        sa.CheckConstraint(
            "half_day IN ('morning','afternoon','evening')",
            name=op.f("ck_booking_sessions_half_day_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open','stopped')", name=op.f("ck_booking_sessions_status_known")
        ),
        sa.CheckConstraint(
            "visit_type IN ('in_person','online')",
            name=op.f("ck_booking_sessions_visit_type_known"),
        ),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_booking_sessions_capacity_positive")),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_booking_sessions_ends_after_start")
        ),
        sa.CheckConstraint("fee_fen >= 0", name=op.f("ck_booking_sessions_fee_not_negative")),
        sa.CheckConstraint(
            "slot_minutes > 0", name=op.f("ck_booking_sessions_slot_minutes_positive")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_booking_sessions_created_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["department_codes.code"],
            name=op.f("fk_booking_sessions_department_code_department_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_booking_sessions_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_booking_sessions_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_sessions")),
    )
    with op.batch_alter_table("booking_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booking_sessions_institution_day", ["institution_id", "day"], unique=False
        )
        batch_op.create_index(
            "ix_booking_sessions_practitioner_day", ["practitioner_id", "day"], unique=False
        )

    op.create_table(
        "booking_slots",
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("starts_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "booked >= 0 AND booked <= capacity",
            name=op.f("ck_booking_slots_booked_within_capacity"),
        ),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_booking_slots_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["booking_sessions.id"],
            name=op.f("fk_booking_slots_session_id_booking_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_slots")),
        sa.UniqueConstraint(
            "session_id", "position", name=op.f("uq_booking_slots_session_id_position")
        ),
    )
    op.create_table(
        "booking_appointments",
        sa.Column("slot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "practitioner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hold_expires_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=16), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "cancel_reason IS NULL OR cancel_reason IN ('patient','session_stopped')",
            name=op.f("ck_booking_appointments_cancel_reason_known"),
        ),
        sa.CheckConstraint(
            "status <> 'pending_payment' OR hold_expires_at IS NOT NULL",
            name=op.f("ck_booking_appointments_hold_has_expiry"),
        ),
        sa.CheckConstraint(
            "status IN ('pending_payment','confirmed','cancelled')",
            name=op.f("ck_booking_appointments_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_booking_appointments_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_booking_appointments_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_booking_appointments_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_booking_appointments_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["booking_sessions.id"],
            name=op.f("fk_booking_appointments_session_id_booking_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["booking_slots.id"],
            name=op.f("fk_booking_appointments_slot_id_booking_slots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_appointments")),
        sa.UniqueConstraint(
            "account_id",
            "idempotency_key",
            name=op.f("uq_booking_appointments_account_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("booking_appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booking_appointments_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_booking_appointments_patient_day", ["patient_id", "day"], unique=False
        )
        batch_op.create_index("ix_booking_appointments_session", ["session_id"], unique=False)
        batch_op.create_index(
            "uq_booking_appointments_one_active_per_slot",
            ["slot_id", "patient_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending_payment','confirmed')"),
            postgresql_where=sa.text("status IN ('pending_payment','confirmed')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_appointments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_booking_appointments_one_active_per_slot",
            sqlite_where=sa.text("status IN ('pending_payment','confirmed')"),
            postgresql_where=sa.text("status IN ('pending_payment','confirmed')"),
        )
        batch_op.drop_index("ix_booking_appointments_session")
        batch_op.drop_index("ix_booking_appointments_patient_day")
        batch_op.drop_index(batch_op.f("ix_booking_appointments_account_id"))

    op.drop_table("booking_appointments")
    op.drop_table("booking_slots")
    with op.batch_alter_table("booking_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_sessions_practitioner_day")
        batch_op.drop_index("ix_booking_sessions_institution_day")

    op.drop_table("booking_sessions")
    op.drop_table("booking_rules")
