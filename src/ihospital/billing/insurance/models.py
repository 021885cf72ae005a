"""Tables of medical insurance: coverage (FHIR Coverage), the year's totals per coverage, and
settlements with their lines (FHIR Claim and ClaimResponse).

Money is integer fen. Check constraints hold what the engine promises: no part negative,
funds + personal account + cash = total, the totals within policy and outside it add up, and a
personal account only on 职工医保. One coverage per 就诊人 is active at a time, and an order has
at most one live settlement (pending, settled or self-paid).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.billing.insurance.engine import PART_NAMES
from ihospital.db import Base, BigId, IdMixin

INSURANCE_TYPES = ("employee", "resident")
SETTLEMENT_STATUSES = ("pending", "settled", "rejected", "reversed", "self_pay")
LIVE_STATUSES = ("pending", "settled", "self_pay")
Fen = BigInteger


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(value) for value in values)})"


def _parts_constraints() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(
            " AND ".join(f"{name} >= 0" for name in PART_NAMES), name="parts_not_negative"
        ),
        CheckConstraint(
            "fund_pay_sumamt + acct_pay + psn_cash_pay = medfee_sumamt", name="parts_sum_to_total"
        ),
        CheckConstraint(
            "fulamt_ownpay_amt + preselfpay_amt + inscp_scp_amt = medfee_sumamt",
            name="scope_sums_to_total",
        ),
        CheckConstraint("psn_part_amt = medfee_sumamt - fund_pay_sumamt", name="patient_share"),
        CheckConstraint("act_pay_dedc + hifp_pay <= inscp_scp_amt", name="fund_within_policy"),
    )


class SettlementParts:
    """The parts of the national settlement interface, one column each (engine.Parts)."""

    medfee_sumamt: Mapped[int] = mapped_column(Fen)
    fulamt_ownpay_amt: Mapped[int] = mapped_column(Fen)
    preselfpay_amt: Mapped[int] = mapped_column(Fen)
    inscp_scp_amt: Mapped[int] = mapped_column(Fen)
    act_pay_dedc: Mapped[int] = mapped_column(Fen)
    hifp_pay: Mapped[int] = mapped_column(Fen)
    fund_pay_sumamt: Mapped[int] = mapped_column(Fen)
    acct_pay: Mapped[int] = mapped_column(Fen)
    psn_cash_pay: Mapped[int] = mapped_column(Fen)
    psn_part_amt: Mapped[int] = mapped_column(Fen)


class Coverage(IdMixin, Base):
    """A 就诊人's basic medical insurance (FHIR Coverage): 职工医保 (``employee``) or 城乡居民医保
    (``resident``) of the pool ``region_code``. The insurance number is personal data: stored
    encrypted, found by a blind index, shown masked. The personal account (个人账户) balance is
    the one the settlements draw on; only 职工医保 has one."""

    __tablename__ = "insurance_coverages"
    __table_args__ = (
        CheckConstraint(_one_of("insurance_type", INSURANCE_TYPES), name="type_known"),
        CheckConstraint("account_balance_fen >= 0", name="balance_not_negative"),
        CheckConstraint(
            "insurance_type = 'employee' OR account_balance_fen = 0", name="account_employee_only"
        ),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        Index(
            "uq_insurance_coverages_active_patient",
            "patient_id",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
        Index(
            "uq_insurance_coverages_active_number",
            "insurance_number_index",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )

    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"), index=True)
    insurance_type: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6))
    insurance_number_cipher: Mapped[str] = mapped_column(String(256))
    insurance_number_index: Mapped[str] = mapped_column(String(64))
    insurance_number_masked: Mapped[str] = mapped_column(String(32))
    account_balance_fen: Mapped[int] = mapped_column(Fen)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class YearTotal(IdMixin, Base):
    """What one coverage has used in one calendar year (Asia/Shanghai): the deductible met and
    what the pooled fund paid towards the annual ceiling. Changed only with a settlement or
    its reversal, in the same transaction."""

    __tablename__ = "insurance_year_totals"
    __table_args__ = (
        UniqueConstraint("coverage_id", "year"),
        CheckConstraint("deductible_met_fen >= 0", name="deductible_not_negative"),
        CheckConstraint("fund_paid_fen >= 0", name="fund_not_negative"),
    )

    coverage_id: Mapped[int] = mapped_column(BigId, ForeignKey("insurance_coverages.id"))
    year: Mapped[int]
    deductible_met_fen: Mapped[int] = mapped_column(Fen, default=0)
    fund_paid_fen: Mapped[int] = mapped_column(Fen, default=0)
    updated_at: Mapped[datetime]


class Settlement(SettlementParts, IdMixin, Base):
    """One outpatient settlement of an order (FHIR Claim + ClaimResponse), with its total parts.

    ``pending``: sent, the platform's answer not yet known (the year's totals and the personal
    account already hold its amounts); ``settled``: confirmed; ``rejected``: refused by the
    platform (nothing held); ``reversed``: refunded, its amounts given back; ``self_pay``: the
    patient agreed to pay everything (no policy for the region), nothing sent to the platform.
    ``order_id`` names the billing order."""

    __tablename__ = "insurance_settlements"
    __table_args__ = (
        CheckConstraint(_one_of("status", SETTLEMENT_STATUSES), name="status_known"),
        *_parts_constraints(),
        Index(
            "uq_insurance_settlements_live_order",
            "order_id",
            unique=True,
            sqlite_where=text(_one_of("status", LIVE_STATUSES)),
            postgresql_where=text(_one_of("status", LIVE_STATUSES)),
        ),
    )

    settlement_no: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("billing_orders.id"), index=True)
    coverage_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("insurance_coverages.id"), index=True
    )
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    policy_region_code: Mapped[str | None] = mapped_column(String(6))
    insurance_type: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16))
    year: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    use_account: Mapped[bool]
    platform_reference: Mapped[str] = mapped_column(String(64), default="")
    rejection_reason: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    reversed_at: Mapped[datetime | None]


class SettlementLine(SettlementParts, IdMixin, Base):
    """One claimed item of a settlement with its parts; ``order_line_id`` names the order line
    it pays for."""

    __tablename__ = "insurance_settlement_lines"
    __table_args__ = (UniqueConstraint("settlement_id", "position"), *_parts_constraints())

    settlement_id: Mapped[int] = mapped_column(BigId, ForeignKey("insurance_settlements.id"))
    position: Mapped[int]
    order_line_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("billing_order_lines.id"))
    kind: Mapped[str] = mapped_column(String(16))
    drug_class: Mapped[str | None] = mapped_column(String(1))
    online_follow_up: Mapped[bool]
