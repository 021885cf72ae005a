"""insurance coverage settlement

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:10:00

Medical insurance (医保): coverage of a 就诊人, the year's totals per coverage, settlements and
their lines.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insurance_coverages",
        sa.Column(
            "patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("insurance_type", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("insurance_number_cipher", sa.String(length=256), nullable=False),
        sa.Column("insurance_number_index", sa.String(length=64), nullable=False),
        sa.Column("insurance_number_masked", sa.String(length=32), nullable=False),
        sa.Column("account_balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "insurance_type = 'employee' OR account_balance_fen = 0",
            name=op.f("ck_insurance_coverages_account_employee_only"),
        ),
        sa.CheckConstraint(
            "insurance_type IN ('employee','resident')",
            name=op.f("ck_insurance_coverages_type_known"),
        ),
        sa.CheckConstraint(
            "account_balance_fen >= 0", name=op.f("ck_insurance_coverages_balance_not_negative")
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_insurance_coverages_valid_period"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_insurance_coverages_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurance_coverages")),
    )
    with op.batch_alter_table("insurance_coverages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_insurance_coverages_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            "uq_insurance_coverages_active_number",
            ["insurance_number_index"],
            unique=True,
            sqlite_where=sa.text("is_active"),
            postgresql_where=sa.text("is_active"),
        )
        batch_op.create_index(
            "uq_insurance_coverages_active_patient",
            ["patient_id"],
            unique=True,
            sqlite_where=sa.text("is_active"),
            postgresql_where=sa.text("is_active"),
        )

    op.create_table(
        "insurance_settlements",
        sa.Column("settlement_no", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "coverage_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("policy_region_code", sa.String(length=6), nullable=True),
        sa.Column("insurance_type", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("use_account", sa.Boolean(), nullable=False),
        sa.Column("platform_reference", sa.String(length=64), nullable=False),
        sa.Column("rejection_reason", sa.String(length=256), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("medfee_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("fulamt_ownpay_amt", sa.BigInteger(), nullable=False),
        sa.Column("preselfpay_amt", sa.BigInteger(), nullable=False),
        sa.Column("inscp_scp_amt", sa.BigInteger(), nullable=False),
        sa.Column("act_pay_dedc", sa.BigInteger(), nullable=False),
        sa.Column("hifp_pay", sa.BigInteger(), nullable=False),
        sa.Column("fund_pay_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("acct_pay", sa.BigInteger(), nullable=False),
        sa.Column("psn_cash_pay", sa.BigInteger(), nullable=False),
        sa.Column("psn_part_amt", sa.BigInteger(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending','settled','rejected','reversed','self_pay')",
            name=op.f("ck_insurance_settlements_status_known"),
        ),
        sa.CheckConstraint(
            "act_pay_dedc + hifp_pay <= inscp_scp_amt",
            name=op.f("ck_insurance_settlements_fund_within_policy"),
        ),
        sa.CheckConstraint(
            "fulamt_ownpay_amt + preselfpay_amt + inscp_scp_amt = medfee_sumamt",
            name=op.f("ck_insurance_settlements_scope_sums_to_total"),
        ),
        sa.CheckConstraint(
            "fund_pay_sumamt + acct_pay + psn_cash_pay = medfee_sumamt",
            name=op.f("ck_insurance_settlements_parts_sum_to_total"),
        ),
        sa.CheckConstraint(
            "medfee_sumamt >= 0 AND fulamt_ownpay_amt >= 0 AND preselfpay_amt >= 0 AND inscp_scp_amt >= 0 AND act_pay_dedc >= 0 AND hifp_pay >= 0 AND fund_pay_sumamt >= 0 AND acct_pay >= 0 AND psn_cash_pay >= 0 AND psn_part_amt >= 0",
            name=op.f("ck_insurance_settlements_parts_not_negative"),
        ),
        sa.CheckConstraint(
            "psn_part_amt = medfee_sumamt - fund_pay_sumamt",
            name=op.f("ck_insurance_settlements_patient_share"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_insurance_settlements_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            ["insurance_coverages.id"],
            name=op.f("fk_insurance_settlements_coverage_id_insurance_coverages"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_insurance_settlements_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_insurance_settlements_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurance_settlements")),
        sa.UniqueConstraint("settlement_no", name=op.f("uq_insurance_settlements_settlement_no")),
    )
    with op.batch_alter_table("insurance_settlements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_insurance_settlements_coverage_id"), ["coverage_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_insurance_settlements_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_insurance_settlements_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            "uq_insurance_settlements_live_order",
            ["order_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending','settled','self_pay')"),
            postgresql_where=sa.text("status IN ('pending','settled','self_pay')"),
        )

    op.create_table(
        "insurance_year_totals",
        sa.Column(
            "coverage_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("deductible_met_fen", sa.BigInteger(), nullable=False),
        sa.Column("fund_paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "deductible_met_fen >= 0", name=op.f("ck_insurance_year_totals_deductible_not_negative")
        ),
        sa.CheckConstraint(
            "fund_paid_fen >= 0", name=op.f("ck_insurance_year_totals_fund_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            ["insurance_coverages.id"],
            name=op.f("fk_insurance_year_totals_coverage_id_insurance_coverages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurance_year_totals")),
        sa.UniqueConstraint(
            "coverage_id", "year", name=op.f("uq_insurance_year_totals_coverage_id_year")
        ),
    )
    op.create_table(
        "insurance_settlement_lines",
        sa.Column(
            "settlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "order_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("drug_class", sa.String(length=1), nullable=True),
        sa.Column("online_follow_up", sa.Boolean(), nullable=False),
        sa.Column("medfee_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("fulamt_ownpay_amt", sa.BigInteger(), nullable=False),
        sa.Column("preselfpay_amt", sa.BigInteger(), nullable=False),
        sa.Column("inscp_scp_amt", sa.BigInteger(), nullable=False),
        sa.Column("act_pay_dedc", sa.BigInteger(), nullable=False),
        sa.Column("hifp_pay", sa.BigInteger(), nullable=False),
        sa.Column("fund_pay_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("acct_pay", sa.BigInteger(), nullable=False),
        sa.Column("psn_cash_pay", sa.BigInteger(), nullable=False),
        sa.Column("psn_part_amt", sa.BigInteger(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "act_pay_dedc + hifp_pay <= inscp_scp_amt",
            name=op.f("ck_insurance_settlement_lines_fund_within_policy"),
        ),
        sa.CheckConstraint(
            "fulamt_ownpay_amt + preselfpay_amt + inscp_scp_amt = medfee_sumamt",
            name=op.f("ck_insurance_settlement_lines_scope_sums_to_total"),
        ),
        sa.CheckConstraint(
            "fund_pay_sumamt + acct_pay + psn_cash_pay = medfee_sumamt",
            name=op.f("ck_insurance_settlement_lines_parts_sum_to_total"),
        ),
        sa.CheckConstraint(
            "medfee_sumamt >= 0 AND fulamt_ownpay_amt >= 0 AND preselfpay_amt >= 0 AND inscp_scp_amt >= 0 AND act_pay_dedc >= 0 AND hifp_pay >= 0 AND fund_pay_sumamt >= 0 AND acct_pay >= 0 AND psn_cash_pay >= 0 AND psn_part_amt >= 0",
            name=op.f("ck_insurance_settlement_lines_parts_not_negative"),
        ),
        sa.CheckConstraint(
            "psn_part_amt = medfee_sumamt - fund_pay_sumamt",
            name=op.f("ck_insurance_settlement_lines_patient_share"),
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["insurance_settlements.id"],
            name=op.f("fk_insurance_settlement_lines_settlement_id_insurance_settlements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurance_settlement_lines")),
        sa.UniqueConstraint(
            "settlement_id",
            "position",
            name=op.f("uq_insurance_settlement_lines_settlement_id_position"),
        ),
    )


def downgrade() -> None:
    op.drop_table("insurance_settlement_lines")
    op.drop_table("insurance_year_totals")
    with op.batch_alter_table("insurance_settlements", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_insurance_settlements_live_order",
            sqlite_where=sa.text("status IN ('pending','settled','self_pay')"),
            postgresql_where=sa.text("status IN ('pending','settled','self_pay')"),
        )
        batch_op.drop_index(batch_op.f("ix_insurance_settlements_patient_id"))
        batch_op.drop_index(batch_op.f("ix_insurance_settlements_order_id"))
        batch_op.drop_index(batch_op.f("ix_insurance_settlements_coverage_id"))

    op.drop_table("insurance_settlements")
    with op.batch_alter_table("insurance_coverages", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_insurance_coverages_active_patient",
            sqlite_where=sa.text("is_active"),
            postgresql_where=sa.text("is_active"),
        )
        batch_op.drop_index(
            "uq_insurance_coverages_active_number",
            sqlite_where=sa.text("is_active"),
            postgresql_where=sa.text("is_active"),
        )
        batch_op.drop_index(batch_op.f("ix_insurance_coverages_patient_id"))

    op.drop_table("insurance_coverages")
