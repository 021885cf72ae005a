"""Tables of reconciliation (对账): one run per channel and day, and the mismatches it found."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

MISMATCH_KINDS = ("missing_ours", "missing_provider", "amount", "status")
RECORD_KINDS = ("payment", "refund")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(value) for value in values)})"


class ReconciliationRun(IdMixin, Base):
    """The comparison of a channel's statement of one day (Beijing time) with our books.
    Running a day again replaces its run: one row per channel and day.

    The statement's totals are kept as the provider gave them: payments and refunds (count and
    fen) and the fees it charged (negative: returned on refunds)."""

    __tablename__ = "billing_reconciliation_runs"
    __table_args__ = (UniqueConstraint("channel", "day"),)

    channel: Mapped[str] = mapped_column(String(16))
    day: Mapped[date]
    payments_count: Mapped[int]
    payments_fen: Mapped[int] = mapped_column(BigInteger)
    refunds_count: Mapped[int]
    refunds_fen: Mapped[int] = mapped_column(BigInteger)
    fees_fen: Mapped[int] = mapped_column(BigInteger)
    mismatch_count: Mapped[int]
    ran_at: Mapped[datetime]
    ran_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class ReconciliationMismatch(IdMixin, Base):
    """One difference between the statement and our books: a payment or refund we do not
    have (``missing_ours``), one the provider does not list (``missing_provider``), or one both
    have with a different amount or status. ``institution_id`` and ``order_id`` are ours, so
    none when the record is missing on our side."""

    __tablename__ = "billing_reconciliation_mismatches"
    __table_args__ = (
        CheckConstraint(_one_of("kind", MISMATCH_KINDS), name="kind_known"),
        CheckConstraint(_one_of("record", RECORD_KINDS), name="record_known"),
    )

    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("billing_reconciliation_runs.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    record: Mapped[str] = mapped_column(String(16))
    out_trade_no: Mapped[str] = mapped_column(String(64))
    out_refund_no: Mapped[str] = mapped_column(String(64), default="")
    provider_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    our_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    provider_status: Mapped[str] = mapped_column(String(16), default="")
    our_status: Mapped[str] = mapped_column(String(16), default="")
    institution_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("institutions.id"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("billing_orders.id"))
