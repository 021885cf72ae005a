"""consultations: doctors' price lists and online consultations

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 09:00:00

A doctor's fee per consultation type (图文, 语音, 视频) at each institution where they give online
services, and consultations (在线问诊) with their lifecycle moments; one open consultation per
就诊人 and doctor.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = sa.text("status IN ('awaiting_payment','waiting','in_progress')")

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consultation_prices",
        sa.Column("practitioner_id", BigId, nullable=False),
        sa.Column("institution_id", BigId, nullable=False),
        sa.Column("consultation_type", sa.String(length=8), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_by_account_id", BigId, nullable=True),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "consultation_type IN ('text','voice','video')",
            name=op.f("ck_consultation_prices_type_known"),
        ),
        sa.CheckConstraint("fee_fen >= 0", name=op.f("ck_consultation_prices_fee_not_negative")),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_consultation_prices_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_consultation_prices_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_consultation_prices_updated_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_prices")),
    )
    with op.batch_alter_table("consultation_prices", schema=None) as batch_op:
        batch_op.create_index(
            "uq_consultation_prices_doctor_institution_type",
            ["practitioner_id", "institution_id", "consultation_type"],
            unique=True,
        )

    op.create_table(
        "consultations",
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("patient_id", BigId, nullable=False),
        sa.Column("practitioner_id", BigId, nullable=False),
        sa.Column("institution_id", BigId, nullable=False),
        sa.Column("consultation_type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("complaint", sa.Text(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("order_id", BigId, nullable=True),
        sa.Column("patient_name", sa.String(length=64), nullable=False),
        sa.Column("patient_sex", sa.String(length=8), nullable=False),
        sa.Column("patient_age", sa.Integer(), nullable=False),
        sa.Column("patient_verified", sa.Boolean(), nullable=False),
        sa.Column("prior_institution", sa.String(length=128), nullable=True),
        sa.Column("prior_diagnosed_on", sa.Date(), nullable=True),
        sa.Column("prior_diagnosis", sa.String(length=500), nullable=True),
        sa.Column("prior_confirmed_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("guardian_required", sa.Boolean(), nullable=False),
        sa.Column("guardian_name", sa.String(length=64), nullable=True),
        sa.Column("guardian_relationship", sa.String(length=16), nullable=True),
        sa.Column("guardian_confirmed_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scheduled_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("waiting_since", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accept_by", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=16), nullable=True),
        sa.Column("cancel_reason", sa.String(length=16), nullable=True),
        sa.Column("advice", sa.Text(), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "cancel_reason IS NULL OR cancel_reason IN ('patient','not_accepted','unpaid')",
            name=op.f("ck_consultations_cancel_reason_known"),
        ),
        sa.CheckConstraint(
            "close_reason IS NULL OR close_reason IN ('doctor','in_person','inactivity')",
            name=op.f("ck_consultations_close_reason_known"),
        ),
        sa.CheckConstraint(
            "consultation_type IN ('text','voice','video')",
            name=op.f("ck_consultations_type_known"),
        ),
        sa.CheckConstraint(
            "status IN ('awaiting_payment','waiting','in_progress','closed','cancelled')",
            name=op.f("ck_consultations_status_known"),
        ),
        sa.CheckConstraint("fee_fen >= 0", name=op.f("ck_consultations_fee_not_negative")),
        sa.CheckConstraint(
            "prior_confirmed_at IS NULL OR prior_diagnosis IS NOT NULL",
            name=op.f("ck_consultations_confirmed_prior_given"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_consultations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_consultations_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["billing_orders.id"],
            name=op.f("fk_consultations_order_id_billing_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_consultations_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_consultations_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.create_index("ix_consultations_account", ["account_id"], unique=False)
        batch_op.create_index(
            "ix_consultations_practitioner_status", ["practitioner_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_consultations_one_open_per_patient_doctor",
            ["patient_id", "practitioner_id"],
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )


def downgrade() -> None:
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_consultations_one_open_per_patient_doctor", sqlite_where=OPEN, postgresql_where=OPEN
        )
        batch_op.drop_index("ix_consultations_practitioner_status")
        batch_op.drop_index("ix_consultations_account")

    op.drop_table("consultations")
    with op.batch_alter_table("consultation_prices", schema=None) as batch_op:
        batch_op.drop_index("uq_consultation_prices_doctor_institution_type")

    op.drop_table("consultation_prices")
