"""Reconciliation (对账): each day, a channel's statement compared with our payments and refunds.

The provider's statement of a day (Beijing time) lists the payments it took and the refunds it
paid out. Ours are the payments that succeeded and the refunds paid out that day, plus any
record the statement names, whatever its day or state. :func:`compare` lists every difference:

- ``missing_ours``: the provider has a payment or refund we never recorded;
- ``missing_provider``: we recorded one the provider's statement does not have;
- ``amount``: both have it, for different amounts;
- ``status``: both have it, but ours did not succeed (a payment still waiting for its
  notification, a refund still pending or refused).

:func:`reconcile` runs it for a day and channel and stores the run; running the same day again
replaces the run, so the result is always the latest comparison. A durable outbox timer runs
it every day at 10:00 Beijing time for the day before, and sets itself for the next day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.models import Order, Payment, Refund
from ihospital.billing.providers import Providers, provider_for
from ihospital.billing.providers.base import StatementLine
from ihospital.billing.reconciliation_models import ReconciliationMismatch, ReconciliationRun
from ihospital.core.clock import SHANGHAI
from ihospital.core.context import Actor
from ihospital.errors import Conflict
from ihospital.outbox.service import emit

RECONCILE_TOPIC = "billing.reconcile"
RUN_AT = time(10, 0)
"""When the daily run starts, Beijing time: providers publish the day's statement by 10:00."""


@dataclass(frozen=True)
class OurRecord:
    """A payment (numbered by ``out_trade_no``) or refund (by ``out_refund_no``) as we have it."""

    out_trade_no: str
    out_refund_no: str
    amount_fen: int
    status: str
    institution_id: int
    order_id: int

    @property
    def number(self) -> str:
        return self.out_refund_no or self.out_trade_no


@dataclass(frozen=True)
class Mismatch:
    kind: str
    record: str
    out_trade_no: str
    out_refund_no: str = ""
    provider_amount_fen: int | None = None
    our_amount_fen: int | None = None
    provider_status: str = ""
    our_status: str = ""
    institution_id: int | None = None
    order_id: int | None = None


def compare(
    statement: Sequence[StatementLine],
    payments: Iterable[OurRecord],
    refunds: Iterable[OurRecord],
) -> list[Mismatch]:
    """Every difference between a statement and our records of the same payments and refunds
    (records of ours that did not succeed count only when the statement names them)."""
    found: list[Mismatch] = []
    for kind, ours in (("payment", payments), ("refund", refunds)):
        theirs = {
            line.out_refund_no or line.out_trade_no: line for line in statement if line.kind == kind
        }
        mine = {record.number: record for record in ours}
        for number, line in theirs.items():
            record_ = mine.get(number)
            if record_ is None:
                found.append(_mismatch("missing_ours", kind, line, None))
            elif record_.amount_fen != line.amount_fen:
                found.append(_mismatch("amount", kind, line, record_))
            elif record_.status != "succeeded":
                found.append(_mismatch("status", kind, line, record_))
        found.extend(
            _mismatch("missing_provider", kind, None, record_)
            for number, record_ in mine.items()
            if number not in theirs and record_.status == "succeeded"
        )
    return sorted(found, key=lambda m: (m.record, m.out_trade_no, m.out_refund_no, m.kind))


def _mismatch(
    kind: str, record_kind: str, line: StatementLine | None, ours: OurRecord | None
) -> Mismatch:
    source: StatementLine | OurRecord = line or ours  # type: ignore[assignment]
    return Mismatch(
        kind=kind,
        record=record_kind,
        out_trade_no=source.out_trade_no,
        out_refund_no=source.out_refund_no,
        provider_amount_fen=line.amount_fen if line else None,
        our_amount_fen=ours.amount_fen if ours else None,
        provider_status=line.status if line else "",
        our_status=ours.status if ours else "",
        institution_id=ours.institution_id if ours else None,
        order_id=ours.order_id if ours else None,
    )


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC moments a Beijing day starts and ends (exclusive)."""
    start = datetime.combine(day, time(), SHANGHAI).astimezone(UTC)
    return start, start + timedelta(days=1)


async def our_records(
    session: AsyncSession, *, channel: str, day: date, statement: Sequence[StatementLine]
) -> tuple[list[OurRecord], list[OurRecord]]:
    """Our payments and refunds of a channel to compare with the statement of ``day``."""
    start, end = day_bounds(day)
    trade_nos = [line.out_trade_no for line in statement if line.kind == "payment"]
    refund_nos = [line.out_refund_no for line in statement if line.kind == "refund"]
    payment_rows = await session.execute(
        select(Payment, Order.institution_id)
        .join(Order, Order.id == Payment.order_id)
        .where(
            Payment.channel == channel,
            or_(
                Payment.out_trade_no.in_(trade_nos),
                (Payment.status == "succeeded")
                & (Payment.succeeded_at >= start)
                & (Payment.succeeded_at < end),
            ),
        )
    )
    payments = [
        OurRecord(p.out_trade_no, "", p.amount_fen, p.status, institution_id, p.order_id)
        for p, institution_id in payment_rows.all()
    ]
    refund_rows = await session.execute(
        select(Refund, Payment.out_trade_no, Order.institution_id)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Order, Order.id == Refund.order_id)
        .where(
            Payment.channel == channel,
            or_(
                Refund.out_refund_no.in_(refund_nos),
                (Refund.status == "succeeded")
                & (Refund.completed_at >= start)
                & (Refund.completed_at < end),
            ),
        )
    )
    refunds = [
        OurRecord(trade_no, r.out_refund_no, r.amount_fen, r.status, institution_id, r.order_id)
        for r, trade_no, institution_id in refund_rows.all()
    ]
    return payments, refunds


async def reconcile(
    session: AsyncSession, actor: Actor, *, day: date, channel: str, providers: Providers
) -> ReconciliationRun:
    """Download ``channel``'s statement of ``day``, compare it with our books and store the
    run, replacing an earlier run of the same day and channel. A provider that does not answer
    raises its :class:`~ihospital.billing.providers.base.ProviderError` and nothing changes."""
    provider = provider_for(providers, channel)
    statement = await provider.download_statement(day=day)
    payments, refunds = await our_records(session, channel=channel, day=day, statement=statement)
    mismatches = compare(statement, payments, refunds)
    run = await session.scalar(
        select(ReconciliationRun)
        .where(ReconciliationRun.channel == channel, ReconciliationRun.day == day)
        .with_for_update()
    )
    if run is None:
        run = await _new_run(session, actor, channel, day)
    else:
        await session.execute(
            delete(ReconciliationMismatch).where(ReconciliationMismatch.run_id == run.id)
        )
    paid = [line for line in statement if line.kind == "payment"]
    refunded = [line for line in statement if line.kind == "refund"]
    run.payments_count = len(paid)
    run.payments_fen = sum(line.amount_fen for line in paid)
    run.refunds_count = len(refunded)
    run.refunds_fen = sum(line.amount_fen for line in refunded)
    run.fees_fen = sum(line.fee_fen for line in statement)
    run.mismatch_count = len(mismatches)
    run.ran_at = actor.clock.now()
    run.ran_by_account_id = actor.account_id
    await session.flush()
    session.add_all(
        ReconciliationMismatch(run_id=run.id, **asdict(mismatch)) for mismatch in mismatches
    )
    await session.flush()
    await record(
        session,
        actor,
        action="billing.reconciliation.run",
        subject_type="billing_reconciliation_run",
        subject_id=run.id,
        details={"channel": channel, "day": day.isoformat(), "mismatches": len(mismatches)},
    )
    return run


async def _new_run(
    session: AsyncSession, actor: Actor, channel: str, day: date
) -> ReconciliationRun:
    """The first run of a day and channel, written at once: a concurrent first run (the daily
    job and a manual re-run) loses only its savepoint and is told to try again."""
    run = ReconciliationRun(
        channel=channel,
        day=day,
        payments_count=0,
        payments_fen=0,
        refunds_count=0,
        refunds_fen=0,
        fees_fen=0,
        mismatch_count=0,
        ran_at=actor.clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(run)
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "billing.reconciliation_running",
            "This day is being reconciled by another request. Try again in a moment.",
        ) from None
    return run


def next_day_to_reconcile(now: datetime) -> date:
    """The day the next daily run after ``now`` reconciles: yesterday until 10:00, then today."""
    local = now.astimezone(SHANGHAI)
    if local.time() < RUN_AT:
        return local.date() - timedelta(days=1)
    return local.date()


async def schedule_reconciliation(
    session: AsyncSession, actor: Actor, *, channel: str, day: date
) -> None:
    """Set the timer that reconciles ``day`` at 10:00 Beijing time the day after (once)."""
    starts = datetime.combine(day + timedelta(days=1), RUN_AT, SHANGHAI).astimezone(UTC)
    await emit(
        session,
        actor,
        topic=RECONCILE_TOPIC,
        payload={"channel": channel, "day": day.isoformat()},
        available_at=starts,
        dedupe_key=f"{RECONCILE_TOPIC}:{channel}:{day.isoformat()}",
    )


async def schedule_next_reconciliations(
    session: AsyncSession, actor: Actor, *, channels: Iterable[str]
) -> None:
    """Make sure each channel's next daily run is set (a worker does this when it starts)."""
    day = next_day_to_reconcile(actor.clock.now())
    for channel in channels:
        await schedule_reconciliation(session, actor, channel=channel, day=day)
