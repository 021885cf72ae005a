"""Reconciliation (对账) as finance staff see it: the runs of a period, one run's mismatches,
and (re)running a past day by hand.

A run compares a channel's whole statement, which mixes institutions. A reader limited to one
institution (see :func:`~ihospital.billing.finance.reader_scope`) sees only the mismatches of
that institution's bills — a record missing on our side has no institution, so only platform
admins see it — and not the statement's totals, which are other institutions' money too.
Every read is audited; a run is audited by :func:`~ihospital.billing.reconciliation.reconcile`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.finance import EARLIEST_DAY, Period, period_of, reader_scope, too_early
from ihospital.billing.models import Order
from ihospital.billing.providers import Providers
from ihospital.billing.providers.base import ProviderError
from ihospital.billing.reconciliation import reconcile
from ihospital.billing.reconciliation_models import ReconciliationMismatch, ReconciliationRun
from ihospital.core.context import Actor
from ihospital.directory.institutions import institution_names
from ihospital.errors import NotFound, ServiceUnavailable, Unprocessable


@dataclass(frozen=True)
class RunView:
    """A reconciliation run as its reader sees it: ``mismatch_count`` counts the mismatches in
    the reader's scope; ``statement_shown`` says whether the statement's totals are theirs."""

    run: ReconciliationRun
    mismatch_count: int
    statement_shown: bool

    @property
    def status(self) -> str:
        return "matched" if self.mismatch_count == 0 else "mismatched"


@dataclass(frozen=True)
class MismatchView:
    mismatch: ReconciliationMismatch
    order_number: str | None
    institution_name: str | None


@dataclass(frozen=True)
class RunList:
    period: Period
    institution_id: int | None  # None: every institution
    runs: list[RunView]


@dataclass(frozen=True)
class RunDetail:
    view: RunView
    institution_id: int | None
    mismatches: list[MismatchView]


def _scoped_mismatches(scope: int | None) -> Any:
    """The number of a run's mismatches in ``scope`` (a subquery of the run)."""
    return (
        select(func.count())
        .where(
            ReconciliationMismatch.run_id == ReconciliationRun.id,
            ReconciliationMismatch.institution_id == scope,
        )
        .correlate(ReconciliationRun)
        .scalar_subquery()
    )


async def _run_views(session: AsyncSession, scope: int | None, *conditions: Any) -> list[RunView]:
    count = ReconciliationRun.mismatch_count if scope is None else _scoped_mismatches(scope)
    rows = await session.execute(
        select(ReconciliationRun, count)
        .where(*conditions)
        .order_by(ReconciliationRun.day.desc(), ReconciliationRun.channel)
    )
    return [RunView(run, int(found), scope is None) for run, found in rows.all()]


async def list_runs(
    session: AsyncSession,
    actor: Actor,
    *,
    start: date | None = None,
    end: date | None = None,
    institution_id: int | None = None,
) -> RunList:
    """The reconciliation runs of the period's days, newest first (the read is audited)."""
    period = period_of(actor.clock.today_local(), start, end)
    scope = await reader_scope(session, actor, institution_id)
    views = await _run_views(
        session,
        scope,
        ReconciliationRun.day >= period.start,
        ReconciliationRun.day <= period.end,
    )
    await record(
        session,
        actor,
        action="billing.reconciliation.list",
        subject_type="institution" if scope else "platform",
        subject_id=scope or "all",
        details={"start": period.start.isoformat(), "end": period.end.isoformat()},
    )
    return RunList(period, scope, views)


def run_not_found(run_id: int) -> NotFound:
    return NotFound(
        "billing.reconciliation_not_found",
        "Reconciliation run {run_id} was not found.",
        run_id=run_id,
    )


async def get_run(
    session: AsyncSession,
    actor: Actor,
    *,
    run_id: int,
    institution_id: int | None = None,
    export: bool = False,
) -> RunDetail:
    """One run with the mismatches the reader may see: missing on our side or the provider's,
    different amount or status, with the bill they concern (the read, or export, is audited)."""
    scope = await reader_scope(session, actor, institution_id)
    views = await _run_views(session, scope, ReconciliationRun.id == run_id)
    if not views:
        raise run_not_found(run_id)
    query = (
        select(ReconciliationMismatch, Order.number)
        .outerjoin(Order, Order.id == ReconciliationMismatch.order_id)
        .where(ReconciliationMismatch.run_id == run_id)
        .order_by(ReconciliationMismatch.id)
    )
    if scope is not None:
        query = query.where(ReconciliationMismatch.institution_id == scope)
    rows = (await session.execute(query)).all()
    names = await institution_names(
        session, institution_ids={m.institution_id for m, _ in rows if m.institution_id}
    )
    mismatches = [
        MismatchView(m, number, names.get(m.institution_id) if m.institution_id else None)
        for m, number in rows
    ]
    await record(
        session,
        actor,
        action="billing.reconciliation.export" if export else "billing.reconciliation.read",
        subject_type="billing_reconciliation_run",
        subject_id=run_id,
        details={"institution_id": scope, "mismatches": len(mismatches)},
    )
    return RunDetail(views[0], scope, mismatches)


async def rerun_reconciliation(
    session: AsyncSession,
    actor: Actor,
    *,
    day: date,
    channel: str,
    providers: Providers,
) -> RunView:
    """Finance staff (re)run the reconciliation of a past day and channel: the run of that day
        is replaced by a fresh comparison, so running it twice is harmless. Today and later are
        refused (the statement of a day is complete only the day after); a channel that does not
        send its statement is a 503 and nothing changes. Answers the run as the reader sees it
    (by default: an institution admin their institution's mismatches, a platform admin all)."""
    if day >= actor.clock.today_local():
        raise Unprocessable(
            "billing.reconciliation_day_not_past",
            "Only a past day can be reconciled: a day's statement is complete the day after.",
            field="day",
        )
    if day < EARLIEST_DAY:
        raise too_early("day")
    scope = await reader_scope(session, actor, None)
    try:
        run = await reconcile(session, actor, day=day, channel=channel, providers=providers)
    except ProviderError:
        raise ServiceUnavailable(
            "billing.statement_unavailable",
            "The payment channel did not send its statement. Please try again later.",
        ) from None
    [view] = await _run_views(session, scope, ReconciliationRun.id == run.id)
    return view
