"""Queries of billing shared by its services: rows by id, locked for update when they change.

Rows are always locked in the same order, order before payment before refund, so concurrent
payments, notifications, refunds and expiry cannot deadlock (PostgreSQL ``FOR UPDATE``; SQLite
serialises writers at ``BEGIN IMMEDIATE``)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.models import Order, OrderLine, Payment, Refund
from ihospital.errors import NotFound

T = TypeVar("T", Order, Payment, Refund)


def order_not_found(order_id: int) -> NotFound:
    return NotFound("billing.order_not_found", "Bill {order_id} was not found.", order_id=order_id)


async def _locked(session: AsyncSession, model: type[T], row_id: int) -> T | None:
    statement = select(model).where(model.id == row_id).with_for_update()  # type: ignore[attr-defined]
    return await session.scalar(statement.execution_options(populate_existing=True))


async def lock_order(session: AsyncSession, order_id: int) -> Order:
    order = await _locked(session, Order, order_id)
    if order is None:
        raise order_not_found(order_id)
    return order


async def lock_payment(session: AsyncSession, payment_id: int) -> Payment:
    payment = await _locked(session, Payment, payment_id)
    if payment is None:
        raise LookupError(f"payment {payment_id} does not exist")
    return payment


async def lock_refund(session: AsyncSession, refund_id: int) -> Refund | None:
    return await _locked(session, Refund, refund_id)


async def order_lines(session: AsyncSession, order_id: int) -> list[OrderLine]:
    rows = await session.scalars(
        select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.position)
    )
    return list(rows.all())


async def order_payments(session: AsyncSession, order_id: int) -> list[Payment]:
    rows = await session.scalars(
        select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)
    )
    return list(rows.all())


async def order_refunds(session: AsyncSession, order_id: int) -> list[Refund]:
    rows = await session.scalars(
        select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)
    )
    return list(rows.all())


async def payment_by_trade_no(session: AsyncSession, out_trade_no: str) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.out_trade_no == out_trade_no))
