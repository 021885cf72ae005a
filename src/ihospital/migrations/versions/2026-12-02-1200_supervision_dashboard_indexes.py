"""supervision dashboard: indexes on each institution's cases by the moment they are counted by

Revision ID: 0039
Revises: 0037
Create Date: 2026-12-01 16:00:00

Issue 7 item 5. The dashboard counts an institution's (or a region's) consultations,
prescriptions, pharmacy orders, appointments, reviews and alerts of a period; these indexes let
it read only the period's rows of the institutions asked for.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0039"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("consultations", "ix_consultations_institution_created", ["institution_id", "created_at"]),
    ("prescriptions", "ix_prescriptions_institution_issued", ["institution_id", "issued_at"]),
    (
        "pharmacy_orders",
        "ix_pharmacy_orders_institution_created",
        ["institution_id", "created_at"],
    ),
    ("booking_appointments", "ix_booking_appointments_institution_day", ["institution_id", "day"]),
    (
        "consultation_reviews",
        "ix_consultation_reviews_institution_created",
        ["institution_id", "created_at"],
    ),
    (
        "supervision_alerts",
        "ix_supervision_alerts_institution_opened",
        ["institution_id", "opened_at"],
    ),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
