"""What every payment provider offers: WeChat Pay, Alipay and UnionPay all fit this shape.

- ``create`` opens a prepay order (统一下单 / 预下单) for our ``out_trade_no`` and returns where the
  payer pays (a URL or QR code content). No money moves yet.
- ``query`` asks for the state of a trade: the fallback when a notification never arrives.
- ``close`` closes an unpaid trade so it can no longer be paid.
- ``refund`` returns part or all of a paid trade; ``out_refund_no`` makes it idempotent.
- ``verify_notification`` checks the signature of an asynchronous notification (支付结果通知)
  and parses it; anything unsigned, tampered or stale raises :class:`InvalidNotification`.
- ``download_statement`` fetches the statement (对账单) of a day in Beijing time, the providers'
  business day, for reconciliation.

Calls that cannot reach the provider in time raise :class:`ProviderTimeout` (the outcome is
unknown: query again later); a refusal raises :class:`ProviderDeclined`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

TradeState = Literal["NOTPAY", "SUCCESS", "PAYERROR", "CLOSED", "NOT_FOUND"]
RefundState = Literal["SUCCESS", "PROCESSING"]


class ProviderError(Exception):
    """Base of what a provider call can raise."""


class ProviderTimeout(ProviderError):
    """The provider did not answer in time; the outcome is unknown."""


class ProviderDeclined(ProviderError):
    """The provider refused the request (risk control, a closed account, insufficient balance)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidNotification(ProviderError):
    """A notification whose signature, timestamp or content cannot be trusted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Prepay:
    prepay_id: str
    pay_url: str


@dataclass(frozen=True)
class TradeResult:
    """The provider's view of one trade."""

    out_trade_no: str
    state: TradeState
    amount_fen: int = 0
    provider_trade_no: str = ""
    paid_at: datetime | None = None


@dataclass(frozen=True)
class RefundResult:
    out_refund_no: str
    state: RefundState
    provider_refund_no: str = ""


@dataclass(frozen=True)
class Notification:
    """A verified payment notification: ``notification_id`` is the provider's id of the
    notification (the same for every delivery of it)."""

    notification_id: str
    trade: TradeResult


@dataclass(frozen=True)
class StatementLine:
    """One line of a provider's daily statement (对账单): a payment it took or a refund it paid
    out, with its fee (手续费; a refund returns its share, so it is negative)."""

    kind: Literal["payment", "refund"]
    out_trade_no: str
    provider_trade_no: str
    out_refund_no: str
    provider_refund_no: str
    amount_fen: int
    fee_fen: int
    status: str
    at: datetime


class PaymentProvider(Protocol):
    channel: str

    async def create(
        self, *, out_trade_no: str, amount_fen: int, description: str, expires_at: datetime
    ) -> Prepay: ...

    async def query(self, *, out_trade_no: str) -> TradeResult: ...

    async def close(self, *, out_trade_no: str) -> None: ...

    async def refund(
        self, *, out_trade_no: str, out_refund_no: str, amount_fen: int, total_fen: int
    ) -> RefundResult: ...

    def verify_notification(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> Notification: ...

    async def download_statement(self, *, day: date) -> list[StatementLine]: ...
