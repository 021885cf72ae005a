"""API shapes of billing. Amounts come in as yuan text (``"12.34"``) and go out both as fen
(``*_fen``, integers) and as yuan text."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, computed_field

from ihospital.billing.orders import OrderView
from ihospital.billing.receipts import Receipt
from ihospital.core.money import YuanText, fen_to_yuan
from ihospital.core.schemas import Page, Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=128)]
LineKind = Literal["registration", "consultation", "drug", "examination", "service", "delivery"]


class LineCreate(Schema):
    kind: LineKind
    subject_type: Annotated[str, Field(min_length=1, max_length=32)]
    subject_id: Annotated[str, Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(min_length=1, max_length=128)]
    unit_price: YuanText
    quantity: Annotated[int, Field(ge=1, le=9999)] = 1
    drug_class: Literal["A", "B", "C"] | None = None
    online_follow_up: bool = False


class OrderCreate(Schema):
    patient_id: Id
    institution_id: Id
    title: Annotated[str, Field(max_length=128)] = ""
    hold_minutes: Annotated[int, Field(ge=1, le=1440)] = 15
    idempotency_key: IdempotencyKey
    lines: Annotated[list[LineCreate], Field(min_length=1, max_length=50)]


class PaymentCreate(Schema):
    channel: Annotated[str, Field(min_length=1, max_length=16)] = "sandbox"
    idempotency_key: IdempotencyKey


class RefundCreate(Schema):
    amount: YuanText
    line_id: Id | None = None
    note: Annotated[str, Field(max_length=256)] = ""
    idempotency_key: IdempotencyKey


class LineRead(Schema):
    id: int
    position: int
    kind: str
    subject_type: str
    subject_id: str
    description: str
    unit_price_fen: int
    quantity: int
    amount_fen: int
    refunded_fen: int
    drug_class: str | None
    online_follow_up: bool


class PaymentRead(Schema):
    id: int
    order_id: int
    channel: str
    status: str
    amount_fen: int
    refunded_fen: int
    pay_url: str
    created_at: datetime
    succeeded_at: datetime | None


class RefundRead(Schema):
    id: int
    order_id: int
    payment_id: int | None
    line_id: int | None
    amount_fen: int
    insured_fen: int
    reason: str
    status: str
    note: str
    created_at: datetime
    completed_at: datetime | None


class ReceiptRead(Schema):
    number: str
    verification_code: str
    institution_id: int
    title: str
    paid_fen: int
    refunded_fen: int
    insured_fen: int
    paid_at: datetime


class OrderRead(Schema):
    id: int
    number: str
    patient_id: int
    institution_id: int
    title: str
    status: str
    total_fen: int
    paid_fen: int
    refunded_fen: int
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    insured_fen: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> str:
        return str(fen_to_yuan(self.total_fen))


class OrderDetail(OrderRead):
    lines: list[LineRead]
    payments: list[PaymentRead]
    refunds: list[RefundRead]
    receipt: ReceiptRead | None

    @classmethod
    def of(cls, view: OrderView, receipt: Receipt | None) -> OrderDetail:
        return cls.model_validate(
            {
                **OrderRead.model_validate(view.order).model_dump(exclude={"total"}),
                "lines": view.lines,
                "payments": view.payments,
                "refunds": view.refunds,
                "receipt": receipt,
            }
        )


class OrderPage(Page[OrderRead]):
    pass


class NotificationAck(Schema):
    code: Literal["SUCCESS"] = "SUCCESS"
    outcome: str


class CheckoutChoice(Schema):
    use_insurance: bool
    use_personal_account: bool = False
    self_pay_agreed: bool = False


class CheckoutConfirm(CheckoutChoice):
    channel: Annotated[str, Field(min_length=1, max_length=16)] = "sandbox"
    idempotency_key: IdempotencyKey


class SettlementParts(Schema):
    """The parts of the national settlement interface, in fen."""

    medfee_sumamt: int
    fulamt_ownpay_amt: int
    preselfpay_amt: int
    inscp_scp_amt: int
    act_pay_dedc: int
    hifp_pay: int
    fund_pay_sumamt: int
    acct_pay: int
    psn_cash_pay: int
    psn_part_amt: int


class CheckoutLineRead(Schema):
    line_id: int
    description: str
    parts: SettlementParts


class CheckoutPreviewRead(Schema):
    order_id: int
    lines: list[CheckoutLineRead]
    total: SettlementParts
    settlement_status: Literal["pending", "settled", "self_pay"] | None = Field(
        None,
        description="Set once the bill is settled with medical insurance: the split is then the "
        "settlement's own and the choice no longer applies.",
    )


class CheckoutRead(Schema):
    order: OrderRead
    payment: PaymentRead | None
