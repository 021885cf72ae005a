"""booking registration fee and waitlist

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 09:00:00

An appointment that needs its registration fee paid points at its billing order and may be
cancelled as ``unpaid`` when the order's hold lapses; 候补 (waitlist) entries wait for a place
in a full session or slot, one waiting entry per 就诊人 and session.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("booking_appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", BIG_ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_booking_appointments_order_id_billing_orders"),
            "billing_orders",
            ["order_id"],
            ["id"],
        )
        batch_op.drop_constraint(
            batch_op.f("ck_booking_appointments_cancel_reason_known"), type_="check"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_booking_appointments_cancel_reason_known"),
            "cancel_reason IS NULL OR cancel_reason IN ('patient','session_stopped','unpaid')",
        )
    op.create_table(
        "booking_waitlist_entries",
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("slot_id", BIG_ID, nullable=True),
        sa.Column("patient_id", BIG_ID, nullable=False),
        sa.Column("account_id", BIG_ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("appointment_id", BIG_ID, nullable=True),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "status <> 'offered' OR appointment_id IS NOT NULL",
            name=op.f("ck_booking_waitlist_entries_offer_has_appointment"),
        ),
        sa.CheckConstraint(
            "status IN ('waiting','offered','left','lapsed')",
            name=op.f("ck_booking_waitlist_entries_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_booking_waitlist_entries_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["booking_appointments.id"],
            name=op.f("fk_booking_waitlist_entries_appointment_id_booking_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_booking_waitlist_entries_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["booking_sessions.id"],
            name=op.f("fk_booking_waitlist_entries_session_id_booking_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["booking_slots.id"],
            name=op.f("fk_booking_waitlist_entries_slot_id_booking_slots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_waitlist_entries")),
    )
    with op.batch_alter_table("booking_waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booking_waitlist_entries_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_booking_waitlist_entries_session_status", ["session_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_booking_waitlist_entries_one_waiting",
            ["session_id", "patient_id"],
            unique=True,
            sqlite_where=sa.text("status = 'waiting'"),
            postgresql_where=sa.text("status = 'waiting'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_booking_waitlist_entries_one_waiting",
            sqlite_where=sa.text("status = 'waiting'"),
            postgresql_where=sa.text("status = 'waiting'"),
        )
        batch_op.drop_index("ix_booking_waitlist_entries_session_status")
        batch_op.drop_index(batch_op.f("ix_booking_waitlist_entries_account_id"))
    op.drop_table("booking_waitlist_entries")
    with op.batch_alter_table("booking_appointments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_booking_appointments_cancel_reason_known"), type_="check"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_booking_appointments_cancel_reason_known"),
            "cancel_reason IS NULL OR cancel_reason IN ('patient','session_stopped')",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_booking_appointments_order_id_billing_orders"), type_="foreignkey"
        )
        batch_op.drop_column("order_id")
