"""Tables of billing: orders and their lines, payments, refunds, notifications and the ledger.

Money is integer fen (分) in ``BigInteger`` columns; check constraints keep every amount
non-negative and every refunded amount within what was paid. Journal entries and their postings
are append-only (database triggers, migration 0003); on PostgreSQL a deferred constraint
trigger also refuses to commit an entry whose postings do not sum to zero.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

ORDER_STATUSES = ("pending", "paid", "partially_refunded", "refunded", "expired", "cancelled")
LINE_KINDS = ("registration", "consultation", "drug", "examination", "service", "delivery")
PAYMENT_STATUSES = ("created", "succeeded", "failed", "closed")
REFUND_STATUSES = ("pending", "succeeded", "failed")
REFUND_REASONS = ("requested", "late_payment", "duplicate_payment")
ACCOUNT_KINDS = (
    "patient",
    "clearing",
    "insurance_fund",
    "institution_revenue",
    "pharmacy_revenue",
    "refunds_payable",
)

Fen = BigInteger


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(value) for value in values)})"


class Order(IdMixin, Base):
    """One bill of a 就诊人 at an institution: a registration fee, a consultation, drugs …

    ``account_id`` is the account that manages the 就诊人 and pays. An unpaid order is held until
    ``expires_at``; ``payment_id`` is the payment that paid it (none when insurance paid all of
    it). ``insured_fen`` is what the live insurance settlement pays (fund and personal account):
    the patient pays ``total_fen - insured_fen`` online."""

    __tablename__ = "billing_orders"
    __table_args__ = (
        CheckConstraint(_one_of("status", ORDER_STATUSES), name="status_known"),
        CheckConstraint("total_fen > 0", name="total_positive"),
        CheckConstraint("paid_fen IN (0, total_fen)", name="paid_whole"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= paid_fen", name="refund_within"),
        CheckConstraint("insured_fen >= 0 AND insured_fen <= total_fen", name="insured_within"),
        Index("ix_billing_orders_account_created", "account_id", "created_at"),
        Index("ix_billing_orders_institution_created", "institution_id", "created_at"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"), index=True)
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    title: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(24), default="pending")
    total_fen: Mapped[int] = mapped_column(Fen)
    paid_fen: Mapped[int] = mapped_column(Fen, default=0)
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0)
    insured_fen: Mapped[int] = mapped_column(Fen, default=0)
    payment_id: Mapped[int | None] = mapped_column(BigId)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None] = mapped_column(index=True)  # finance: by day
    closed_at: Mapped[datetime | None]


class OrderLine(IdMixin, Base):
    """What one part of an order pays for: ``subject_type``/``subject_id`` name it in its own
    domain (an appointment, a prescription item, a delivery …). What medical insurance needs:
    a drug's class (``A`` 甲类, ``B`` 乙类, ``C`` 丙类; none when it is not in the insurance
    catalogue) and whether the line belongs to an online follow-up visit (复诊) or its
    prescription — only those are covered online."""

    __tablename__ = "billing_order_lines"
    __table_args__ = (
        CheckConstraint(_one_of("kind", LINE_KINDS), name="kind_known"),
        CheckConstraint("unit_price_fen > 0", name="unit_price_positive"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("amount_fen = unit_price_fen * quantity", name="amount_is_price_times_qty"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within"),
        CheckConstraint(
            "drug_class IS NULL OR (kind = 'drug' AND drug_class IN ('A','B','C'))",
            name="drug_class_known",
        ),
        UniqueConstraint("order_id", "position"),
        Index("ix_billing_order_lines_subject", "subject_type", "subject_id"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("billing_orders.id"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(128))
    unit_price_fen: Mapped[int] = mapped_column(Fen)
    quantity: Mapped[int]
    amount_fen: Mapped[int] = mapped_column(Fen)
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0)
    drug_class: Mapped[str | None] = mapped_column(String(1))
    online_follow_up: Mapped[bool] = mapped_column(default=False)


class Payment(IdMixin, Base):
    """One attempt to pay an order through a channel (WeChat Pay, Alipay, UnionPay, sandbox).

    ``out_trade_no`` is our number at the provider, ``provider_trade_no`` theirs. The same
    account and idempotency key always name the same payment."""

    __tablename__ = "billing_payments"
    __table_args__ = (
        CheckConstraint(_one_of("status", PAYMENT_STATUSES), name="status_known"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within"),
        UniqueConstraint("account_id", "idempotency_key"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("billing_orders.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    channel: Mapped[str] = mapped_column(String(16))
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    provider_trade_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0)
    status: Mapped[str] = mapped_column(String(16), default="created")
    idempotency_key: Mapped[str] = mapped_column(String(128))
    pay_url: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime]
    succeeded_at: Mapped[datetime | None] = mapped_column(index=True)  # finance: by day
    closed_at: Mapped[datetime | None]


class Refund(IdMixin, Base):
    """Money going back: part or all of a bill, never more than was paid.

    ``amount_fen`` goes back to the payer through the provider, out of ``payment_id``;
    ``insured_fen`` goes back to the insurance fund and personal account when a bill settled
    with medical insurance is refunded (its settlement is reversed, ``settlement_id``, and what
    is left settled again). A refund of an insured part only has no payment.

    ``requested`` refunds are asked for by the institution (a line, or the order's lines from
    the last); ``late_payment`` and ``duplicate_payment`` return a payment the order could not
    take. ``failed`` means the provider refused: the money stays owed (refunds payable)."""

    __tablename__ = "billing_refunds"
    __table_args__ = (
        CheckConstraint(_one_of("status", REFUND_STATUSES), name="status_known"),
        CheckConstraint(_one_of("reason", REFUND_REASONS), name="reason_known"),
        CheckConstraint(
            "amount_fen >= 0 AND insured_fen >= 0 AND amount_fen + insured_fen > 0",
            name="amounts_positive",
        ),
        CheckConstraint("payment_id IS NOT NULL OR amount_fen = 0", name="cash_has_payment"),
    )

    payment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("billing_payments.id"), index=True
    )
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("billing_orders.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("billing_order_lines.id"))
    amount_fen: Mapped[int] = mapped_column(Fen)
    insured_fen: Mapped[int] = mapped_column(Fen, default=0)
    settlement_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("insurance_settlements.id"))
    reason: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    out_refund_no: Mapped[str] = mapped_column(String(32), unique=True)
    provider_refund_no: Mapped[str | None] = mapped_column(String(64))
    failure: Mapped[str] = mapped_column(String(256), default="")
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    requested_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None] = mapped_column(index=True)  # finance: by day


class PaymentNotification(IdMixin, Base):
    """An asynchronous notification the provider sent and we accepted (duplicates are found by
    ``notification_id``)."""

    __tablename__ = "billing_payment_notifications"
    __table_args__ = (UniqueConstraint("channel", "notification_id"),)

    channel: Mapped[str] = mapped_column(String(16))
    notification_id: Mapped[str] = mapped_column(String(64))
    out_trade_no: Mapped[str] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[datetime]


class JournalEntry(IdMixin, Base):
    """One balanced movement of money: its postings sum to zero. Never changed or deleted."""

    __tablename__ = "billing_journal_entries"

    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("billing_orders.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("billing_payments.id"))
    refund_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("billing_refunds.id"))
    memo: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime]


class Posting(IdMixin, Base):
    """One side of a journal entry: a debit (positive) or a credit (negative) of an account.
    An account is a kind and a reference (a patient id, a channel, an institution id …)."""

    __tablename__ = "billing_postings"
    __table_args__ = (
        CheckConstraint(_one_of("account_kind", ACCOUNT_KINDS), name="account_kind_known"),
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        Index("ix_billing_postings_account", "account_kind", "account_ref"),
    )

    entry_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("billing_journal_entries.id"), index=True
    )
    account_kind: Mapped[str] = mapped_column(String(24))
    account_ref: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(Fen)
