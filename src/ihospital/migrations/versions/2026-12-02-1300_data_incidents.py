"""data leak incidents and their report to the health authority (R15)

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-01 16:00:00

Issue 7 item 3: an incident an institution admin records must be reported within the region's
hours of rule R15, or an alert opens.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0038"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "supervision_data_incidents",
        sa.Column("institution_id", BIG_ID, nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("affected_people", sa.Integer(), nullable=False),
        sa.Column("discovered_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_account_id", BIG_ID, nullable=False),
        sa.Column("report_due_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_by_account_id", BIG_ID, nullable=True),
        sa.Column("report_reference", sa.String(length=64), nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "affected_people >= 0",
            name=op.f("ck_supervision_data_incidents_affected_not_negative"),
        ),
        sa.CheckConstraint(
            "report_due_at > discovered_at",
            name=op.f("ck_supervision_data_incidents_due_after_discovery"),
        ),
        sa.CheckConstraint(
            "(reported_at IS NULL) = (report_reference IS NULL)",
            name=op.f("ck_supervision_data_incidents_reported_with_reference"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_supervision_data_incidents_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_supervision_data_incidents_recorded_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_supervision_data_incidents_reported_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_data_incidents")),
    )
    with op.batch_alter_table("supervision_data_incidents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supervision_data_incidents_institution", ["institution_id"], unique=False
        )
        batch_op.create_index("ix_supervision_data_incidents_region", ["region_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("supervision_data_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_data_incidents_region")
        batch_op.drop_index("ix_supervision_data_incidents_institution")
    op.drop_table("supervision_data_incidents")
