"""free-clinic campaigns (义诊): campaigns, their doctors, departments and daily places

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 11:00:00

An institution's campaigns of free online consultations, the doctors and departments of each,
one counter row per doctor and day of the places taken, and on each consultation the campaign
(and the doctor's day) it is free in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = ihospital.db.UTCDateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", BigId, autoincrement=True, nullable=False)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.{'code' if target == 'department_codes' else 'id'}"],
        name=op.f(f"fk_{table}_{column}_{target}"),
    )


def upgrade() -> None:
    op.create_table(
        "consultation_campaigns",
        sa.Column("institution_id", BigId, nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("consultation_types", sa.String(length=32), nullable=False),
        sa.Column("daily_quota", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_by_account_id", BigId, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        _id(),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_consultation_campaigns_dates_in_order")
        ),
        sa.CheckConstraint(
            "daily_quota >= 1", name=op.f("ck_consultation_campaigns_quota_positive")
        ),
        sa.CheckConstraint(
            "status IN ('active','ended')", name=op.f("ck_consultation_campaigns_status_known")
        ),
        _fk("consultation_campaigns", "institution_id", "institutions"),
        _fk("consultation_campaigns", "created_by_account_id", "accounts"),
        _pk("consultation_campaigns"),
    )
    op.create_index(
        "ix_consultation_campaigns_institution_ends_on",
        "consultation_campaigns",
        ["institution_id", "ends_on"],
    )
    op.create_table(
        "consultation_campaign_doctors",
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("practitioner_id", BigId, nullable=False),
        _id(),
        _fk("consultation_campaign_doctors", "campaign_id", "consultation_campaigns"),
        _fk("consultation_campaign_doctors", "practitioner_id", "practitioners"),
        _pk("consultation_campaign_doctors"),
    )
    op.create_index(
        "uq_consultation_campaign_doctors_campaign_practitioner",
        "consultation_campaign_doctors",
        ["campaign_id", "practitioner_id"],
        unique=True,
    )
    op.create_table(
        "consultation_campaign_departments",
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("department_code", sa.String(length=8), nullable=False),
        _id(),
        _fk("consultation_campaign_departments", "campaign_id", "consultation_campaigns"),
        _fk("consultation_campaign_departments", "department_code", "department_codes"),
        _pk("consultation_campaign_departments"),
    )
    op.create_index(
        "uq_consultation_campaign_departments_campaign_code",
        "consultation_campaign_departments",
        ["campaign_id", "department_code"],
        unique=True,
    )
    op.create_table(
        "consultation_campaign_days",
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("practitioner_id", BigId, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        _id(),
        sa.CheckConstraint(
            "taken >= 0", name=op.f("ck_consultation_campaign_days_taken_not_negative")
        ),
        _fk("consultation_campaign_days", "campaign_id", "consultation_campaigns"),
        _fk("consultation_campaign_days", "practitioner_id", "practitioners"),
        _pk("consultation_campaign_days"),
    )
    op.create_index(
        "uq_consultation_campaign_days_campaign_practitioner_day",
        "consultation_campaign_days",
        ["campaign_id", "practitioner_id", "day"],
        unique=True,
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("campaign_day_id", BigId, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_consultations_campaign_id_consultation_campaigns"),
            "consultation_campaigns",
            ["campaign_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consultations_campaign_day_id_consultation_campaign_days"),
            "consultation_campaign_days",
            ["campaign_day_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_consultations_campaign_id"), ["campaign_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultations_campaign_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_consultations_campaign_day_id_consultation_campaign_days"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_consultations_campaign_id_consultation_campaigns"), type_="foreignkey"
        )
        batch_op.drop_column("campaign_day_id")
        batch_op.drop_column("campaign_id")
    for table in (
        "consultation_campaign_days",
        "consultation_campaign_departments",
        "consultation_campaign_doctors",
        "consultation_campaigns",
    ):
        op.drop_table(table)
