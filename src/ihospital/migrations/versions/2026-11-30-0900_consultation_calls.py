"""consultation calls

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 09:00:00

The video calls of a consultation: start, end, who ended it and how long it lasted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN_CALL = sa.text("ended_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "consultation_calls",
        sa.Column("consultation_id", BigId, nullable=False),
        sa.Column("started_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=8), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "ended_by IS NULL OR ended_by IN ('patient','doctor','system')",
            name=op.f("ck_consultation_calls_ended_by_known"),
        ),
        sa.CheckConstraint(
            "(ended_at IS NULL) = (duration_seconds IS NULL)"
            " AND (ended_at IS NULL) = (ended_by IS NULL)",
            name=op.f("ck_consultation_calls_ended_together"),
        ),
        sa.CheckConstraint(
            "duration_seconds IS NULL OR duration_seconds >= 0",
            name=op.f("ck_consultation_calls_duration_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_calls_consultation_id_consultations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_calls")),
    )
    with op.batch_alter_table("consultation_calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consultation_calls_consultation_id", ["consultation_id", "id"], unique=False
        )
        batch_op.create_index(
            "uq_consultation_calls_one_open",
            ["consultation_id"],
            unique=True,
            sqlite_where=OPEN_CALL,
            postgresql_where=OPEN_CALL,
        )


def downgrade() -> None:
    with op.batch_alter_table("consultation_calls", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_consultation_calls_one_open", sqlite_where=OPEN_CALL, postgresql_where=OPEN_CALL
        )
        batch_op.drop_index("ix_consultation_calls_consultation_id")
    op.drop_table("consultation_calls")
