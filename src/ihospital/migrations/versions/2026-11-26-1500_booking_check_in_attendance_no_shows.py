"""booking check-in attendance no-shows

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 15:00:00

The day of the visit: each institution's check-in (签到) window in its booking rules, a visit row
per appointment holding the check-in, its queue number (unique per session) and the attendance
outcome, and the suspensions of online booking after repeated no-shows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_suspensions",
        sa.Column(
            "patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "appointment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("no_show_count", sa.Integer(), nullable=False),
        sa.Column("starts_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_booking_suspensions_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["booking_appointments.id"],
            name=op.f("fk_booking_suspensions_appointment_id_booking_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_booking_suspensions_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_booking_suspensions_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_suspensions")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_booking_suspensions_appointment_id")),
    )
    with op.batch_alter_table("booking_suspensions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booking_suspensions_patient",
            ["patient_id", "institution_id", "ends_at"],
            unique=False,
        )

    op.create_table(
        "booking_visits",
        sa.Column(
            "appointment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("checked_in_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("queue_number", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "marked_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('attended','no_show')",
            name=op.f("ck_booking_visits_outcome_known"),
        ),
        sa.CheckConstraint(
            "(checked_in_at IS NULL) = (queue_number IS NULL)",
            name=op.f("ck_booking_visits_queue_on_check_in"),
        ),
        sa.CheckConstraint(
            "(outcome IS NULL) = (outcome_at IS NULL)",
            name=op.f("ck_booking_visits_outcome_has_time"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["booking_appointments.id"],
            name=op.f("fk_booking_visits_appointment_id_booking_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["marked_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_booking_visits_marked_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["booking_sessions.id"],
            name=op.f("fk_booking_visits_session_id_booking_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_visits")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_booking_visits_appointment_id")),
        sa.UniqueConstraint(
            "session_id", "queue_number", name=op.f("uq_booking_visits_session_id_queue_number")
        ),
    )
    with op.batch_alter_table("booking_rules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "check_in_opens_minutes", sa.Integer(), server_default=sa.text("60"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "check_in_closes_minutes",
                sa.Integer(),
                server_default=sa.text("15"),
                nullable=False,
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_booking_rules_check_in_opens_range"),
            "check_in_opens_minutes BETWEEN 0 AND 720",
        )
        batch_op.create_check_constraint(
            op.f("ck_booking_rules_check_in_closes_range"),
            "check_in_closes_minutes BETWEEN 0 AND 240",
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_rules", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_booking_rules_check_in_closes_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_booking_rules_check_in_opens_range"), type_="check")
        batch_op.drop_column("check_in_closes_minutes")
        batch_op.drop_column("check_in_opens_minutes")

    op.drop_table("booking_visits")
    with op.batch_alter_table("booking_suspensions", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_suspensions_patient")

    op.drop_table("booking_suspensions")
