"""JSON routes of finance (``/api/billing/finance``): totals by day, institution and channel,
the reconciliation runs and their mismatches, and re-running a past day's reconciliation."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from ihospital.billing.finance import totals
from ihospital.billing.finance_reconciliation import get_run, list_runs, rerun_reconciliation
from ihospital.billing.finance_schemas import (
    ReconciliationRequest,
    RunDetailRead,
    RunListRead,
    RunRead,
    TotalsRead,
)
from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api/billing/finance", tags=["billing"])

Finance = Annotated[Actor, Depends(require(Permission.BILLING_MANAGE))]
Start = Annotated[date | None, Query(description="First Beijing day; default 29 days before end.")]
End = Annotated[date | None, Query(description="Last Beijing day (included); default today.")]
InstitutionScope = Annotated[
    int | None,
    Query(
        ge=1,
        le=2**63 - 1,
        description="One institution (platform admins); institution admins read their own.",
    ),
]
RunId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The reconciliation run's id.")]


@router.get("/totals")
async def finance_totals(
    session: DbSession,
    actor: Finance,
    start: Start = None,
    end: End = None,
    institution_id: InstitutionScope = None,
) -> TotalsRead:
    """Payments received, refunds paid out, net and the insured part by Beijing day,
    institution and channel (at most 366 days)."""
    found = await totals(session, actor, start=start, end=end, institution_id=institution_id)
    return TotalsRead.of(found)


@router.get("/reconciliations")
async def reconciliation_runs(
    session: DbSession,
    actor: Finance,
    start: Start = None,
    end: End = None,
    institution_id: InstitutionScope = None,
) -> RunListRead:
    """The reconciliation runs (对账) of the period's days, newest first."""
    listing = await list_runs(session, actor, start=start, end=end, institution_id=institution_id)
    return RunListRead.of(listing)


@router.get("/reconciliations/{run_id}")
async def reconciliation_run(
    run_id: RunId, session: DbSession, actor: Finance, institution_id: InstitutionScope = None
) -> RunDetailRead:
    """One run with the mismatches the reader may see."""
    detail = await get_run(session, actor, run_id=run_id, institution_id=institution_id)
    return RunDetailRead.of_detail(detail)


@router.post(
    "/reconciliations",
    responses={503: {"description": "The channel did not send its statement; try again."}},
)
async def rerun_reconciliation_of_day(
    body: ReconciliationRequest, request: Request, session: DbSession, actor: Finance
) -> RunRead:
    """Run the reconciliation of a past day and channel again: its run is replaced by a fresh
    comparison with the channel's statement (today and later days are refused)."""
    view = await rerun_reconciliation(
        session,
        actor,
        day=body.day,
        channel=body.channel,
        providers=request.app.state.payment_providers,
    )
    return RunRead.of(view)
