"""booking reschedules and doctors scheduling themselves

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-28 09:00:00

改约: each move of an appointment to another slot, keyed by its account's idempotency key; and the
booking rule that lets the doctors practising at an institution schedule their own sessions
there (off unless the institution turns it on).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("booking_rules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "doctors_may_schedule", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "booking_reschedules",
        sa.Column("appointment_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("from_slot_id", BigId, nullable=False),
        sa.Column("to_slot_id", BigId, nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_booking_reschedules_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["booking_appointments.id"],
            name=op.f("fk_booking_reschedules_appointment_id_booking_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["from_slot_id"],
            ["booking_slots.id"],
            name=op.f("fk_booking_reschedules_from_slot_id_booking_slots"),
        ),
        sa.ForeignKeyConstraint(
            ["to_slot_id"],
            ["booking_slots.id"],
            name=op.f("fk_booking_reschedules_to_slot_id_booking_slots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_reschedules")),
        sa.UniqueConstraint(
            "account_id",
            "idempotency_key",
            name=op.f("uq_booking_reschedules_account_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("booking_reschedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booking_reschedules_appointment_id"), ["appointment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_reschedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_reschedules_appointment_id"))
    op.drop_table("booking_reschedules")
    with op.batch_alter_table("booking_rules", schema=None) as batch_op:
        batch_op.drop_column("doctors_may_schedule")
