"""Finance (财务) for institution staff: money received and refunded by Beijing day,
institution and channel, and who may read which institution's figures.

The figures come from our own records, in integer fen:

- payments received: payments that succeeded, on the day they succeeded;
- refunds: cash refunds the channel paid out, on the day it paid them (as on its statement);
  what a refund gave back to insurance never passes through a channel;
- net: received less refunded;
- the insured part: what medical insurance pays of the bills paid that day, as they stand
  after their refunds (``insured_fen``, the live settlement's fund and account parts).
  A bill insurance paid in full has no payment, hence no channel (``channel`` is None).

An institution admin reads their own institution only; a platform admin reads every
institution, or one with ``institution_id``. Every read is audited. The reconciliation runs as
finance staff see them are in :mod:`ihospital.billing.finance_reconciliation`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.models import Order, Payment, Refund
from ihospital.billing.reconciliation import day_bounds
from ihospital.core.context import Actor
from ihospital.db import local_day
from ihospital.directory.access import managed_institution
from ihospital.directory.institutions import institution_names
from ihospital.errors import Forbidden, Unprocessable
from ihospital.security.permissions import Role

DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 366
EARLIEST_DAY = date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    """Beijing days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC moments the period starts and ends (exclusive)."""
        return day_bounds(self.start)[0], day_bounds(self.end)[1]


@dataclass
class Figures:
    """Counts and sums in fen of one day, institution and channel (or of a whole period)."""

    payments_count: int = 0
    payments_fen: int = 0
    refunds_count: int = 0
    refunds_fen: int = 0
    insured_count: int = 0
    insured_fen: int = 0

    @property
    def net_fen(self) -> int:
        return self.payments_fen - self.refunds_fen

    def add(self, other: Figures) -> None:
        for name in (column.name for column in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class TotalsRow:
    day: date
    institution_id: int
    institution_name: str
    channel: str | None  # None: bills medical insurance paid in full
    figures: Figures


@dataclass(frozen=True)
class Totals:
    period: Period
    institution_id: int | None  # None: every institution
    rows: list[TotalsRow]
    total: Figures


def period_of(
    today: date,
    start: date | None,
    end: date | None,
    *,
    names: tuple[str, str] = ("start", "end"),
) -> Period:
    """The days asked for: by default the last :data:`DEFAULT_PERIOD_DAYS` days up to today;
    refused (422 naming the field: ``names`` are the fields of the start and the end) when it
    ends after today, starts after it ends, starts before :data:`EARLIEST_DAY` or spans more
    than :data:`MAX_PERIOD_DAYS` days."""
    start_name, end_name = names
    end = end or today
    if end > today:
        raise Unprocessable(
            "billing.period_in_future", "Choose a day no later than today.", field=end_name
        )
    if end < EARLIEST_DAY:
        raise too_early(end_name)
    start = start or max(EARLIEST_DAY, end - timedelta(days=DEFAULT_PERIOD_DAYS - 1))
    if start < EARLIEST_DAY:
        raise too_early(start_name)
    if start > end:
        raise Unprocessable(
            "billing.period_reversed", "The end date is before the start date.", field=end_name
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise Unprocessable(
            "billing.period_too_long",
            "Choose a period of at most {limit} days.",
            field=start_name,
            limit=MAX_PERIOD_DAYS,
        )
    return Period(start, end)


def too_early(name: str) -> Unprocessable:
    return Unprocessable(
        "billing.period_too_early",
        "Choose a day from {earliest} on.",
        field=name,
        earliest=EARLIEST_DAY.isoformat(),
    )


async def reader_scope(
    session: AsyncSession, actor: Actor, institution_id: int | None
) -> int | None:
    """The institution whose figures ``actor`` reads, or None for all of them (a platform admin
    who names none). An institution admin reads their own (403 for another, 404 for none)."""
    if institution_id is None and actor.role == Role.PLATFORM_ADMIN:
        return None
    institution_id = institution_id or actor.institution_id
    if institution_id is None:
        raise Forbidden("billing.finance_no_institution", "Your account belongs to no institution.")
    await managed_institution(session, actor, institution_id)
    return institution_id


def _scoped(query: Select[Any], scope: int | None) -> Select[Any]:
    return query if scope is None else query.where(Order.institution_id == scope)


async def totals(
    session: AsyncSession,
    actor: Actor,
    *,
    start: date | None = None,
    end: date | None = None,
    institution_id: int | None = None,
    export: bool = False,
) -> Totals:
    """Payments received, refunds paid out, net and the insured part by Beijing day,
    institution and channel, as the reader may see them (the read, or export, is audited)."""
    period = period_of(actor.clock.today_local(), start, end)
    scope = await reader_scope(session, actor, institution_id)
    first, last = period.bounds()
    paid_day = local_day(Payment.succeeded_at)
    refund_day = local_day(Refund.completed_at)
    insured_day = local_day(Order.paid_at)
    queries = {
        "payments": select(
            paid_day,
            Order.institution_id,
            Payment.channel,
            func.count(),
            func.sum(Payment.amount_fen),
        )
        .select_from(Payment)
        .join(Order, Order.id == Payment.order_id)
        .where(
            Payment.status == "succeeded",
            Payment.succeeded_at >= first,
            Payment.succeeded_at < last,
        )
        .group_by(paid_day, Order.institution_id, Payment.channel),
        "refunds": select(
            refund_day,
            Order.institution_id,
            Payment.channel,
            func.count(),
            func.sum(Refund.amount_fen),
        )
        .select_from(Refund)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Order, Order.id == Refund.order_id)
        .where(
            Refund.status == "succeeded",
            Refund.completed_at >= first,
            Refund.completed_at < last,
        )
        .group_by(refund_day, Order.institution_id, Payment.channel),
        "insured": select(
            insured_day,
            Order.institution_id,
            Payment.channel,
            func.count(),
            func.sum(Order.insured_fen),
        )
        .select_from(Order)
        .outerjoin(Payment, Payment.id == Order.payment_id)
        .where(Order.insured_fen > 0, Order.paid_at >= first, Order.paid_at < last)
        .group_by(insured_day, Order.institution_id, Payment.channel),
    }
    grouped: dict[tuple[date, int, str | None], Figures] = defaultdict(Figures)
    for name, query in queries.items():
        for day, row_institution, channel, count, fen in await session.execute(
            _scoped(query, scope)
        ):
            figures = grouped[(day, row_institution, channel)]
            setattr(figures, f"{name}_count", int(count))
            setattr(figures, f"{name}_fen", int(fen))
    names = await institution_names(session, institution_ids={key[1] for key in grouped})
    rows = sorted(
        (
            TotalsRow(day, row_institution, names.get(row_institution, ""), channel, figures)
            for (day, row_institution, channel), figures in grouped.items()
        ),
        key=lambda row: (row.day, row.institution_name, row.institution_id, row.channel or ""),
    )
    total = Figures()
    for row in rows:
        total.add(row.figures)
    await record(
        session,
        actor,
        action="billing.finance.export" if export else "billing.finance.read",
        subject_type="institution" if scope else "platform",
        subject_id=scope or "all",
        details={"start": period.start.isoformat(), "end": period.end.isoformat()},
    )
    return Totals(period, scope, rows, total)
