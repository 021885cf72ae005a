"""Orders: one bill for everything billable, with lines that point at what they pay for.

Other domains call :func:`create_order` (booking for a registration fee, consultation for its
fee, pharmacy for drugs and delivery). An order is held unpaid for ``hold_minutes``; a durable
outbox timer then expires it (:mod:`ihospital.billing.expiry`) and publishes
``billing.order_expired`` so the slot or the stock it held is released. Status machine::

    pending ──> paid ──> partially_refunded ──> refunded
       ├──> expired
       └──> cancelled

Only the account that manages the 就诊人 sees and pays its bills; institution staff see their
institution's. Every change and every read is audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.events import ORDER_CANCELLED, ORDER_EXPIRED, publish
from ihospital.billing.insurance.platform import InsurancePlatform
from ihospital.billing.insurance.settlement import give_back, live_settlement
from ihospital.billing.models import LINE_KINDS, Order, OrderLine, Payment, Refund
from ihospital.billing.repository import (
    lock_order,
    order_lines,
    order_not_found,
    order_payments,
    order_refunds,
)
from ihospital.core.context import Actor
from ihospital.core.money import MAX_FEN, InvalidAmount, check_fen
from ihospital.directory.access import SYSTEM_ROLE, get_institution_row, may_manage
from ihospital.errors import Conflict, Forbidden, NotFound, Unprocessable
from ihospital.identity.patients import account_of_patient
from ihospital.outbox.service import emit
from ihospital.security.crypto import FieldCipher
from ihospital.security.permissions import Role

EXPIRE_TOPIC = "billing.order_expire"
MAX_LINES = 50
MAX_QUANTITY = 9999
MAX_HOLD_MINUTES = 24 * 60
FINISHED = ("expired", "cancelled")

LINE_KIND_MESSAGE = (
    "Choose one of: registration, consultation, drug, examination, service, delivery."
)


@dataclass(frozen=True)
class LineItem:
    """One line to bill: ``subject_type``/``subject_id`` name what it pays for in its domain."""

    kind: str
    subject_type: str
    subject_id: str
    description: str
    unit_price_fen: int
    quantity: int = 1
    drug_class: str | None = None
    online_follow_up: bool = False


@dataclass(frozen=True)
class OrderView:
    """An order with its lines, payments and refunds, as a bill is shown."""

    order: Order
    lines: list[OrderLine]
    payments: list[Payment]
    refunds: list[Refund]


async def create_order(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_id: int,
    institution_id: int,
    lines: Sequence[LineItem],
    hold_minutes: int,
    idempotency_key: str,
    title: str = "",
) -> Order:
    """Bill a 就诊人 at an institution and hold the order unpaid for ``hold_minutes``.

    The same ``idempotency_key`` returns the order it created (a different bill under a used
    key is refused). A patient bills only their own 就诊人; staff only for their institution."""
    check_idempotency_key(idempotency_key)
    items = [_checked_line(index, line) for index, line in enumerate(lines)]
    if not 1 <= len(items) <= MAX_LINES:
        raise Unprocessable(
            "billing.lines_count",
            "A bill has 1 to {limit} lines.",
            field="lines",
            limit=MAX_LINES,
        )
    total = sum(line.unit_price_fen * line.quantity for line in items)
    if total > MAX_FEN:
        raise Unprocessable("billing.amount_invalid", "This amount is too large.", field="lines")
    if not 1 <= hold_minutes <= MAX_HOLD_MINUTES:
        raise Unprocessable(
            "billing.hold_invalid",
            "Hold an unpaid bill for 1 to {limit} minutes.",
            field="hold_minutes",
            limit=MAX_HOLD_MINUTES,
        )
    existing = await session.scalar(select(Order).where(Order.idempotency_key == idempotency_key))
    if existing is not None:
        return _same_order(existing, patient_id, institution_id, total)
    account_id = await account_of_patient(session, patient_id=patient_id)
    if account_id is None or (actor.role == Role.PATIENT and account_id != actor.account_id):
        raise NotFound(
            "billing.patient_not_found",
            "Patient {patient_id} was not found.",
            patient_id=patient_id,
        )
    await get_institution_row(session, institution_id)
    if actor.role != Role.PATIENT and not _may_bill(actor, institution_id):
        raise Forbidden(
            "billing.institution_not_billable",
            "You may only bill for your own institution.",
            institution_id=institution_id,
        )
    now = actor.clock.now()
    order = Order(
        number=f"{actor.clock.today_local():%Y%m%d}{secrets.randbelow(10**12):012d}",
        account_id=account_id,
        patient_id=patient_id,
        institution_id=institution_id,
        title=(title.strip() or items[0].description)[:128],
        status="pending",
        total_fen=total,
        paid_fen=0,
        refunded_fen=0,
        idempotency_key=idempotency_key,
        created_by_account_id=actor.account_id,
        created_at=now,
        expires_at=now + timedelta(minutes=hold_minutes),
    )
    try:
        async with session.begin_nested():
            session.add(order)
            await session.flush()
    except IntegrityError:
        # Another request created the order under the same key between the check and here.
        raced = await session.scalar(select(Order).where(Order.idempotency_key == idempotency_key))
        if raced is None:
            raise
        return _same_order(raced, patient_id, institution_id, total)
    session.add_all(
        OrderLine(
            order_id=order.id,
            position=position,
            kind=line.kind,
            subject_type=line.subject_type,
            subject_id=line.subject_id,
            description=line.description,
            unit_price_fen=line.unit_price_fen,
            quantity=line.quantity,
            amount_fen=line.unit_price_fen * line.quantity,
            refunded_fen=0,
            drug_class=line.drug_class,
            online_follow_up=line.online_follow_up,
        )
        for position, line in enumerate(items, start=1)
    )
    await session.flush()
    await emit(
        session,
        actor,
        topic=EXPIRE_TOPIC,
        payload={"order_id": order.id},
        available_at=order.expires_at,
        dedupe_key=f"{EXPIRE_TOPIC}:{order.id}",
    )
    await audit_order(
        session, actor, "billing.order.create", order, total_fen=total, lines=len(items)
    )
    return order


async def get_order(session: AsyncSession, actor: Actor, *, order_id: int) -> OrderView:
    """One bill with its lines, payments and refunds: for the paying account or the
    institution's staff; anyone else is told it does not exist (the read is audited)."""
    order = await session.get(Order, order_id)
    if order is None or not may_see(actor, order):
        raise order_not_found(order_id)
    await audit_order(session, actor, "billing.order.read", order)
    return await order_view(session, order)


async def order_view(session: AsyncSession, order: Order) -> OrderView:
    return OrderView(
        order=order,
        lines=await order_lines(session, order.id),
        payments=await order_payments(session, order.id),
        refunds=await order_refunds(session, order.id),
    )


async def list_orders(
    session: AsyncSession, actor: Actor, *, page: int = 1, page_size: int = 20
) -> tuple[list[Order], int]:
    """The bills of the actor's 就诊人, newest first (the listing is audited)."""
    query = select(Order).where(Order.account_id == actor.account_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    orders = (
        await session.scalars(
            query.order_by(Order.created_at.desc(), Order.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    ).all()
    await record(
        session,
        actor,
        action="billing.order.list",
        subject_type="account",
        subject_id=actor.account_id,
        details={"order_ids": [order.id for order in orders], "page": page},
    )
    return list(orders), total


async def cancel_order(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> Order:
    """The payer gives up an unpaid bill; what it held is released (``billing.order_cancelled``)
    and its insurance settlement given back. A payment that still arrives for it is refunded
    automatically."""
    order = await lock_order(session, order_id)
    if order.account_id != actor.account_id:
        raise order_not_found(order_id)
    if order.status != "pending":
        raise not_payable(order)
    await give_back_settlement(session, actor, order, platform=platform, cipher=cipher)
    await finish_order(session, actor, order, status="cancelled")
    return order


async def give_back_settlement(
    session: AsyncSession,
    actor: Actor,
    order: Order,
    *,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> None:
    """An unpaid (locked) order that is given up, settled with insurance but whose cash part
    never came, gives its settlement back. A platform that does not answer raises 503 (the
    outbox or the payer tries again)."""
    settlement = await live_settlement(session, order.id)
    if settlement is not None:
        await give_back(session, actor, settlement, platform=platform, cipher=cipher)
        order.insured_fen = 0
        await session.flush()


async def finish_order(session: AsyncSession, actor: Actor, order: Order, *, status: str) -> None:
    """Move a pending (locked) order to ``expired`` or ``cancelled`` and publish the release."""
    order.status = status
    order.closed_at = actor.clock.now()
    await session.flush()
    topic = ORDER_EXPIRED if status == "expired" else ORDER_CANCELLED
    await publish(
        session, actor, topic=topic, order=order, lines=await order_lines(session, order.id)
    )
    await audit_order(session, actor, f"billing.order.{status}", order)


def order_expired() -> Conflict:
    return Conflict(
        "billing.order_expired",
        "This bill has expired and can no longer be paid. Please place it again.",
        status="expired",
    )


def not_payable(order: Order) -> Conflict:
    """The clear refusal for paying or cancelling an order that is no longer pending."""
    if order.status == "expired":
        return order_expired()
    if order.status == "cancelled":
        return Conflict("billing.order_cancelled", "This bill was cancelled.", status=order.status)
    return Conflict("billing.order_paid", "This bill is already paid.", status=order.status)


def may_see(actor: Actor, order: Order) -> bool:
    if actor.account_id is not None and actor.account_id == order.account_id:
        return True
    return actor.role in (Role.INSTITUTION_ADMIN, Role.PLATFORM_ADMIN) and may_manage(
        actor, order.institution_id
    )


def _may_bill(actor: Actor, institution_id: int) -> bool:
    if actor.role in (SYSTEM_ROLE, Role.INSTITUTION_ADMIN, Role.PLATFORM_ADMIN):
        return may_manage(actor, institution_id)
    return actor.institution_id == institution_id


def check_idempotency_key(key: str) -> None:
    if not 1 <= len(key) <= 128:
        raise Unprocessable(
            "billing.idempotency_key_invalid",
            "An idempotency key has 1 to 128 characters.",
            field="idempotency_key",
        )


def _same_order(order: Order, patient_id: int, institution_id: int, total: int) -> Order:
    if (order.patient_id, order.institution_id, order.total_fen) != (
        patient_id,
        institution_id,
        total,
    ):
        raise Conflict(
            "billing.idempotency_key_reused",
            "This idempotency key was already used for a different request.",
            field="idempotency_key",
        )
    return order


def _checked_line(index: int, line: LineItem) -> LineItem:
    field = f"lines.{index}"
    if line.kind not in LINE_KINDS:
        raise Unprocessable("billing.line_kind_unknown", LINE_KIND_MESSAGE, field=f"{field}.kind")
    for name, limit in (("subject_type", 32), ("subject_id", 64), ("description", 128)):
        value = getattr(line, name).strip()
        if not 1 <= len(value) <= limit:
            raise Unprocessable(
                "billing.line_text_invalid",
                "Enter 1 to {limit} characters.",
                field=f"{field}.{name}",
                limit=limit,
            )
    try:
        price = check_fen(line.unit_price_fen)
    except InvalidAmount as error:
        raise Unprocessable(
            "billing.amount_invalid", str(error), field=f"{field}.unit_price"
        ) from None
    if price == 0:
        raise Unprocessable(
            "billing.amount_zero", "An amount must be more than zero.", field=f"{field}.unit_price"
        )
    if line.drug_class is not None and (line.kind != "drug" or line.drug_class not in "ABC"):
        raise Unprocessable(
            "billing.drug_class_invalid",
            "Only a drug has a class: A (甲类), B (乙类) or C (丙类).",
            field=f"{field}.drug_class",
        )
    if not 1 <= line.quantity <= MAX_QUANTITY:
        raise Unprocessable(
            "billing.quantity_invalid",
            "Enter a quantity from 1 to {limit}.",
            field=f"{field}.quantity",
            limit=MAX_QUANTITY,
        )
    return LineItem(
        kind=line.kind,
        subject_type=line.subject_type.strip(),
        subject_id=line.subject_id.strip(),
        description=line.description.strip(),
        unit_price_fen=price,
        quantity=line.quantity,
        drug_class=line.drug_class,
        online_follow_up=line.online_follow_up,
    )


async def audit_order(
    session: AsyncSession, actor: Actor, action: str, order: Order, **details: object
) -> None:
    await record(
        session,
        actor,
        action=action,
        subject_type="billing_order",
        subject_id=order.id,
        patient_id=order.patient_id,
        details=details,
    )
