"""JSON routes of the supervision dashboard: the figures of a period (a regulator's region, an
institution admin's institution, every institution for a platform admin) and the cases behind
one figure."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission
from ihospital.supervision.dashboard import dashboard, dashboard_cases
from ihospital.supervision.dashboard_schemas import (
    DashboardCasePageRead,
    DashboardCaseRead,
    DashboardConsultationType,
    DashboardMetric,
    DashboardRead,
    DashboardSeverity,
)
from ihospital.supervision.schemas import RULE_ID_PATTERN

router = APIRouter(prefix="/api/regulator/dashboard", tags=["supervision"])

Reader = Annotated[Actor, Depends(require(Permission.SUPERVISION_METRICS))]
From = Annotated[
    date | None,
    Query(alias="from", description="First Beijing day; default 29 days before the last."),
]
To = Annotated[date | None, Query(alias="to", description="Last Beijing day; default today.")]
RegionScope = Annotated[
    str | None,
    Query(pattern=r"^\d{6}$", description="One area (GB/T 2260 code) of the reader's region."),
]
InstitutionScope = Annotated[
    int | None,
    Query(ge=1, le=2**63 - 1, description="One institution of the reader's region."),
]


@router.get("")
async def get_dashboard(
    session: DbSession,
    actor: Reader,
    start: From = None,
    end: To = None,
    institution_id: InstitutionScope = None,
    region_code: RegionScope = None,
) -> DashboardRead:
    """Volumes, median response and review times, rejection, no-show and complaint rates and
    alerts by rule and severity, per institution, per region and in total (at most 366
    days)."""
    found = await dashboard(
        session,
        actor,
        start=start,
        end=end,
        institution_id=institution_id,
        region_code=region_code,
    )
    return DashboardRead.of(found)


@router.get("/cases")
async def get_dashboard_cases(
    session: DbSession,
    actor: Reader,
    metric: Annotated[DashboardMetric, Query()],
    start: From = None,
    end: To = None,
    institution_id: InstitutionScope = None,
    region_code: RegionScope = None,
    consultation_type: Annotated[DashboardConsultationType | None, Query()] = None,
    rule_id: Annotated[str | None, Query(pattern=RULE_ID_PATTERN, max_length=8)] = None,
    severity: Annotated[DashboardSeverity | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> DashboardCasePageRead:
    """The cases behind one figure of the dashboard, latest first, 50 a page (audited)."""
    period, kind, result = await dashboard_cases(
        session,
        actor,
        metric=metric,
        start=start,
        end=end,
        institution_id=institution_id,
        region_code=region_code,
        consultation_type=consultation_type,
        rule_id=rule_id,
        severity=severity,
        page=page,
    )
    return DashboardCasePageRead(
        metric=metric,
        kind=kind,
        from_day=period.start,
        to_day=period.end,
        items=[DashboardCaseRead.of(row) for row in result.items],
        total=result.total,
        page=result.page,
        page_size=result.page_size,
    )
