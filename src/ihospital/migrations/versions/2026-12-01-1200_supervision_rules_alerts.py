"""supervision rules alerts

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-01 12:00:00

Supervision (issue 7): regional thresholds of the rules, institutions' switches of non-mandatory
alert rules, and alerts with their lifecycle (open, acknowledged, resolved with a note). The rule
catalogue itself is data (supervision/data/rules.csv).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supervision_rule_switches",
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rule_id", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_supervision_rule_switches_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_supervision_rule_switches_updated_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_rule_switches")),
        sa.UniqueConstraint(
            "institution_id",
            "rule_id",
            name=op.f("uq_supervision_rule_switches_institution_id_rule_id"),
        ),
    )
    op.create_table(
        "supervision_thresholds",
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("rule_id", sa.String(length=8), nullable=False),
        sa.Column("parameter", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint("value >= 0", name=op.f("ck_supervision_thresholds_value_non_negative")),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_supervision_thresholds_updated_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_thresholds")),
        sa.UniqueConstraint(
            "region_code",
            "rule_id",
            "parameter",
            name=op.f("uq_supervision_thresholds_region_code_rule_id_parameter"),
        ),
    )
    op.create_table(
        "supervision_alerts",
        sa.Column("rule_id", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column(
            "patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("opened_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "acknowledged_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("resolved_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "resolved_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "status != 'resolved' OR (resolved_at IS NOT NULL AND resolution_note IS NOT NULL)",
            name=op.f("ck_supervision_alerts_resolved_with_note"),
        ),
        sa.CheckConstraint(
            "status IN ('open','acknowledged','resolved')",
            name=op.f("ck_supervision_alerts_status_known"),
        ),
        sa.CheckConstraint(
            "occurrences > 0", name=op.f("ck_supervision_alerts_occurrences_positive")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_supervision_alerts_acknowledged_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_supervision_alerts_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_supervision_alerts_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_supervision_alerts_resolved_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_alerts")),
        sa.UniqueConstraint(
            "rule_id", "subject", name=op.f("uq_supervision_alerts_rule_id_subject")
        ),
    )
    with op.batch_alter_table("supervision_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supervision_alerts_institution_status", ["institution_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_supervision_alerts_region_status", ["region_code", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("supervision_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_alerts_region_status")
        batch_op.drop_index("ix_supervision_alerts_institution_status")

    op.drop_table("supervision_alerts")
    op.drop_table("supervision_thresholds")
    op.drop_table("supervision_rule_switches")
