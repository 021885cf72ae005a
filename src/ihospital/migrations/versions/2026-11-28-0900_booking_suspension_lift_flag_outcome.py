"""booking suspension lift and flag review outcome

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 09:00:00

An institution admin may lift a booking suspension (爽约) early, with the reason and who lifted
it; a scalper flag's review records its outcome (legitimate or scalping) and a note.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("booking_suspensions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lifted_at", ihospital.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("lifted_by_account_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("lift_reason", sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_booking_suspensions_lifted_by_account_id_accounts"),
            "accounts",
            ["lifted_by_account_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_booking_suspensions_lift_has_reason"),
            "(lifted_at IS NULL) = (lift_reason IS NULL)",
        )
    with op.batch_alter_table("booking_flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.String(length=500), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_booking_flags_outcome_known"),
            "outcome IS NULL OR outcome IN ('legitimate','scalping')",
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_flags", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_booking_flags_outcome_known"), type_="check")
        batch_op.drop_column("review_note")
        batch_op.drop_column("outcome")
    with op.batch_alter_table("booking_suspensions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_booking_suspensions_lift_has_reason"), type_="check"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_booking_suspensions_lifted_by_account_id_accounts"), type_="foreignkey"
        )
        batch_op.drop_column("lift_reason")
        batch_op.drop_column("lifted_by_account_id")
        batch_op.drop_column("lifted_at")
