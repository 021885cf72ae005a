"""A payment provider simulator that behaves like the real ones, for the demo and the tests.

It plays the provider's side, so it keeps its books apart from ours: its trades and refunds
live in its own database (:mod:`ihospital.billing.sandbox_books`; by default
``<data_dir>/payment-sandbox.db``), written in its own transactions. Like a real provider's,
they survive our rollbacks, and every process that opens the same database (``ihospital
serve``, ``ihospital worker``) sees the same trades.

The payer's side is played by a page (:mod:`ihospital.billing.pages`): paying returns the
notifications to deliver, each with a delay, following a delivery plan: at once, late, twice,
or never (then only a query finds the payment); they travel as durable outbox timers
(:mod:`ihospital.billing.sandbox_delivery`). Deliveries are signed when they are sent, with
HMAC-SHA256 (:mod:`ihospital.security.callback_signing`), keyed with
``IHOSPITAL_PAYMENT_SANDBOX_KEY``; a signature older than five minutes is
refused, so a captured notification cannot be replayed later. Like a provider whose own timer
lags, it takes a payment after the order's hold expired: the app refunds it. ``fail_next``
makes the next call of an operation (in this process) time out or be declined, and
``tamper`` changes its books, for reconciliation drills.

The daily statement (对账单) covers a day in Beijing time and is a CSV file, as the real ones
are: time, trade numbers, type, status, amount and fee (0.6%, returned pro rata on a refund) in
yuan; :func:`parse_statement` reads it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import BigInteger, Integer, MetaData, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.billing.providers.base import (
    InvalidNotification,
    Notification,
    Prepay,
    ProviderDeclined,
    ProviderTimeout,
    RefundResult,
    StatementLine,
    TradeResult,
)
from ihospital.billing.sandbox_books import SandboxBase, SandboxBooks
from ihospital.core.clock import SHANGHAI, Clock
from ihospital.core.money import fen_to_yuan, yuan_to_fen
from ihospital.db import NAMING_CONVENTION
from ihospital.security.callback_signing import CallbackSigner, SignatureRefused

CHANNEL = "sandbox"
PAY_PATH = "/billing/sandbox/pay/"
DELIVERY_PLANS: dict[str, tuple[int, ...]] = {
    "prompt": (1,),
    "late": (600,),
    "twice": (1, 30),
    "never": (),
}
FEE_PER_MILLE = 6
STATEMENT_COLUMNS = (
    "time",
    "trade_no",
    "out_trade_no",
    "refund_no",
    "out_refund_no",
    "type",
    "status",
    "amount",
    "fee",
)
Failure = Literal["timeout", "declined"]


class _SandboxBase(SandboxBase):
    """The provider's own schema, apart from ours (created by the sandbox on first use)."""

    __abstract__ = True
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SandboxTrade(_SandboxBase):
    """A trade at the provider: opened by ``create``, paid or declined by the payer."""

    __tablename__ = "sandbox_trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    prepay_id: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    provider_trade_no: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]


class SandboxRefund(_SandboxBase):
    """A refund the provider paid out."""

    __tablename__ = "sandbox_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), index=True)
    provider_refund_no: Mapped[str] = mapped_column(String(72))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_at: Mapped[datetime]


@dataclass(frozen=True)
class Delivery:
    """A notification to deliver ``delay_seconds`` after the payment (signed when sent)."""

    delay_seconds: int
    body: str


def fee_of(amount_fen: int) -> int:
    """The provider's fee on ``amount_fen``: 0.6%, half a fen rounded up."""
    return (amount_fen * FEE_PER_MILLE * 2 + 1000) // 2000


class SandboxProvider:
    channel = CHANNEL

    def __init__(self, key: str, clock: Clock, *, database_url: str) -> None:
        if not key:
            raise ValueError("the payment sandbox needs a key (IHOSPITAL_PAYMENT_SANDBOX_KEY)")
        self._signer = CallbackSigner(key.encode())
        self._clock = clock
        self._books = SandboxBooks(database_url, _SandboxBase.metadata)
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)

    def fail_next(self, operation: str, failure: Failure) -> None:
        """Make the next ``create``/``query``/``close``/``refund``/``statement`` call fail."""
        self._failures[operation].append(failure)

    def _maybe_fail(self, operation: str) -> None:
        if self._failures[operation]:
            failure = self._failures[operation].popleft()
            if failure == "timeout":
                raise ProviderTimeout(f"sandbox {operation} timed out")
            raise ProviderDeclined(f"sandbox declined the {operation}")

    async def create(
        self, *, out_trade_no: str, amount_fen: int, description: str, expires_at: datetime
    ) -> Prepay:
        self._maybe_fail("create")
        async with self._books.transaction() as books:
            trade = await _trade(books, out_trade_no)
            if trade is None:
                trade = SandboxTrade(
                    out_trade_no=out_trade_no,
                    prepay_id=secrets.token_urlsafe(18),
                    amount_fen=amount_fen,
                    description=description,
                    expires_at=expires_at,
                    state="NOTPAY",
                    provider_trade_no="",
                    created_at=self._clock.now(),
                )
                books.add(trade)
        return Prepay(trade.prepay_id, PAY_PATH + trade.prepay_id)

    async def query(self, *, out_trade_no: str) -> TradeResult:
        self._maybe_fail("query")
        async with self._books.transaction() as books:
            trade = await _trade(books, out_trade_no)
        if trade is None:
            return TradeResult(out_trade_no, "NOT_FOUND")
        return TradeResult(
            out_trade_no=trade.out_trade_no,
            state=trade.state,  # type: ignore[arg-type]
            amount_fen=trade.amount_fen,
            provider_trade_no=trade.provider_trade_no,
            paid_at=trade.paid_at,
        )

    async def close(self, *, out_trade_no: str) -> None:
        self._maybe_fail("close")
        async with self._books.transaction() as books:
            trade = await _trade(books, out_trade_no, lock=True)
            if trade is not None and trade.state == "NOTPAY":
                trade.state = "CLOSED"

    async def refund(
        self, *, out_trade_no: str, out_refund_no: str, amount_fen: int, total_fen: int
    ) -> RefundResult:
        self._maybe_fail("refund")
        async with self._books.transaction() as books:
            trade = await _trade(books, out_trade_no, lock=True)
            if trade is None or trade.state != "SUCCESS" or trade.amount_fen != total_fen:
                raise ProviderDeclined("the trade was not paid")
            refund = await books.scalar(
                select(SandboxRefund).where(SandboxRefund.out_refund_no == out_refund_no)
            )
            if refund is None:
                refunded = await books.scalars(
                    select(SandboxRefund.amount_fen).where(
                        SandboxRefund.out_trade_no == out_trade_no
                    )
                )
                if sum(refunded.all()) + amount_fen > trade.amount_fen:
                    raise ProviderDeclined("the refund exceeds the payment")
                refund = SandboxRefund(
                    out_refund_no=out_refund_no,
                    out_trade_no=out_trade_no,
                    provider_refund_no=f"SR{out_refund_no}",
                    amount_fen=amount_fen,
                    refunded_at=self._clock.now(),
                )
                books.add(refund)
        return RefundResult(out_refund_no, "SUCCESS", refund.provider_refund_no)

    async def refunded_fen(self, *, out_trade_no: str) -> int:
        """What the provider has paid back on a trade (its refund query, summed)."""
        async with self._books.transaction() as books:
            refunded = await books.scalars(
                select(SandboxRefund.amount_fen).where(SandboxRefund.out_trade_no == out_trade_no)
            )
            return sum(refunded.all())

    async def download_statement(self, *, day: date) -> list[StatementLine]:
        return parse_statement(await self.statement_csv(day=day))

    async def statement_csv(self, *, day: date) -> str:
        """The statement file of ``day`` (Beijing time): the payments taken and the refunds
        paid out that day, oldest first."""
        self._maybe_fail("statement")
        start = datetime.combine(day, time(), SHANGHAI).astimezone(UTC)
        end = start + timedelta(days=1)
        async with self._books.transaction() as books:
            trades = await books.scalars(
                select(SandboxTrade).where(
                    SandboxTrade.state == "SUCCESS",
                    SandboxTrade.paid_at >= start,
                    SandboxTrade.paid_at < end,
                )
            )
            refunds = await books.execute(
                select(SandboxRefund, SandboxTrade.provider_trade_no)
                .join(SandboxTrade, SandboxTrade.out_trade_no == SandboxRefund.out_trade_no)
                .where(SandboxRefund.refunded_at >= start, SandboxRefund.refunded_at < end)
            )
            rows = [
                (
                    trade.paid_at,
                    trade.provider_trade_no,
                    trade.out_trade_no,
                    "",
                    "",
                    "PAYMENT",
                    "SUCCESS",
                    trade.amount_fen,
                    fee_of(trade.amount_fen),
                )
                for trade in trades.all()
            ]
            rows += [
                (
                    refund.refunded_at,
                    trade_no,
                    refund.out_trade_no,
                    refund.provider_refund_no,
                    refund.out_refund_no,
                    "REFUND",
                    "REFUND",
                    refund.amount_fen,
                    -fee_of(refund.amount_fen),
                )
                for refund, trade_no in refunds.all()
            ]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STATEMENT_COLUMNS)
        for at, *numbers, amount, fee in sorted(rows, key=lambda row: (row[0], row[2], row[4])):
            writer.writerow(
                [at.astimezone(SHANGHAI).isoformat(), *numbers, _yuan(amount), _yuan(fee)]
            )
        return out.getvalue()

    # The payer's side (the sandbox page).

    async def trade_by_prepay(self, prepay_id: str) -> SandboxTrade | None:
        async with self._books.transaction() as books:
            return await books.scalar(
                select(SandboxTrade).where(SandboxTrade.prepay_id == prepay_id)
            )

    async def pay(self, prepay_id: str, *, plan: str = "prompt") -> list[Delivery]:
        """The payer pays: the trade succeeds (once) and its notifications are scheduled."""
        async with self._books.transaction() as books:
            trade = await self._payable(books, prepay_id)
            if trade.state == "NOTPAY":
                trade.state = "SUCCESS"
                trade.provider_trade_no = "ST" + secrets.token_hex(10)
                trade.paid_at = self._clock.now()
        body = self.notification_body(trade)
        return [Delivery(delay, body) for delay in DELIVERY_PLANS[plan]]

    async def decline(self, prepay_id: str) -> None:
        """The payer's bank declines: the trade fails; no notification is sent (as in WeChat
        Pay, only a query tells)."""
        async with self._books.transaction() as books:
            trade = await self._payable(books, prepay_id)
            if trade.state == "NOTPAY":
                trade.state = "PAYERROR"

    async def _payable(self, books: AsyncSession, prepay_id: str) -> SandboxTrade:
        trade = await books.scalar(
            select(SandboxTrade).where(SandboxTrade.prepay_id == prepay_id).with_for_update()
        )
        if trade is None:
            raise ProviderDeclined("unknown prepay id")
        if trade.state in ("CLOSED", "PAYERROR"):
            raise ProviderDeclined("this trade can no longer be paid")
        return trade

    async def tamper(self, number: str, *, amount_fen: int | None) -> None:
        """Fault injection for reconciliation drills: the provider's record of the trade or
        refund with our ``number`` now says ``amount_fen``, or, with None, is gone."""
        async with self._books.transaction() as books:
            for model, column in (
                (SandboxTrade, SandboxTrade.out_trade_no),
                (SandboxRefund, SandboxRefund.out_refund_no),
            ):
                if amount_fen is None:
                    await books.execute(delete(model).where(column == number))
                else:
                    row = await books.scalar(select(model).where(column == number))
                    if row is not None:
                        row.amount_fen = amount_fen

    def notification_body(self, trade: SandboxTrade) -> str:
        """The notification of a paid trade; every delivery of it carries the same id."""
        resource = {
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.provider_trade_no,
            "trade_state": trade.state,
            "amount": {"total": trade.amount_fen},
            "success_time": trade.paid_at.isoformat() if trade.paid_at else None,
        }
        notification_id = "SN" + hashlib.sha256(trade.provider_trade_no.encode()).hexdigest()[:30]
        return json.dumps(
            {"id": notification_id, "event_type": "TRANSACTION.SUCCESS", "resource": resource},
            separators=(",", ":"),
        )

    # Signatures.

    def sign(self, body: str, *, now: datetime) -> dict[str, str]:
        """The headers that go with ``body`` when it is delivered at ``now``."""
        return self._signer.sign(body, now=now)

    def verify_notification(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> Notification:
        try:
            self._signer.verify(headers=headers, body=body, now=now)
        except SignatureRefused as refused:
            raise InvalidNotification(refused.reason) from None
        return _parse(body)


async def _trade(
    books: AsyncSession, out_trade_no: str, *, lock: bool = False
) -> SandboxTrade | None:
    query = select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no)
    return await books.scalar(query.with_for_update() if lock else query)


def _yuan(fen: int) -> str:
    return f"-{fen_to_yuan(-fen)}" if fen < 0 else str(fen_to_yuan(fen))


def _fen(text: str) -> int:
    negative = text.startswith("-")
    fen = yuan_to_fen(Decimal(text.removeprefix("-")))
    return -fen if negative else fen


def parse_statement(text: str) -> list[StatementLine]:
    """The lines of a statement file; a file that is not one raises ``ValueError``."""
    reader = csv.reader(io.StringIO(text))
    if tuple(next(reader, ())) != STATEMENT_COLUMNS:
        raise ValueError("not a sandbox statement: the header differs")
    lines = []
    for row in reader:
        at, trade_no, out_trade_no, refund_no, out_refund_no, kind, status, amount, fee = row
        lines.append(
            StatementLine(
                kind="refund" if kind == "REFUND" else "payment",
                out_trade_no=out_trade_no,
                provider_trade_no=trade_no,
                out_refund_no=out_refund_no,
                provider_refund_no=refund_no,
                amount_fen=_fen(amount),
                fee_fen=_fen(fee),
                status=status,
                at=datetime.fromisoformat(at).astimezone(UTC),
            )
        )
    return lines


def _parse(body: bytes) -> Notification:
    """A signed body is trusted, but still checked for shape: a provider can have bugs."""
    try:
        data = json.loads(body)
        resource = data["resource"]
        state = resource["trade_state"]
        amount = resource["amount"]["total"]
        paid_at = datetime.fromisoformat(resource["success_time"])
        trade = TradeResult(
            out_trade_no=str(resource["out_trade_no"]),
            state=state,
            amount_fen=amount,
            provider_trade_no=str(resource["transaction_id"]),
            paid_at=paid_at,
        )
        notification_id = str(data["id"])
    except (ValueError, KeyError, TypeError):
        raise InvalidNotification("malformed") from None
    if (
        data.get("event_type") != "TRANSACTION.SUCCESS"
        or state != "SUCCESS"
        or isinstance(amount, bool)
        or not isinstance(amount, int)
        or amount <= 0
        or paid_at.tzinfo is None
        or not notification_id
    ):
        raise InvalidNotification("malformed")
    return Notification(notification_id, trade)
