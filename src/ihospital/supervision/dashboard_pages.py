"""Pages of the supervision dashboard: the figures with their charts and tables, and the cases
behind each figure. A regulator reads them at ``/regulator/dashboard`` (their region), an
institution admin at ``/admin/supervision/metrics`` (their institution); the same views, each
with its own links. The tables hold every number of the charts, so the page is complete without
JavaScript; the charts are drawn by ``static/js/dashboard-charts.js`` from the JSON in the page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BeforeValidator, Field
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.finance_schemas import OptionalDay, OptionalId, blank_is_none
from ihospital.consultation.models import TYPES
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.schemas import Schema
from ihospital.deps import DbSession, require
from ihospital.directory.pages import page_links
from ihospital.errors import Unprocessable
from ihospital.identity.forms import parse_form, refused
from ihospital.security.permissions import Permission
from ihospital.supervision.catalogue import SEVERITY_MESSAGES
from ihospital.supervision.dashboard import Dashboard, dashboard, dashboard_cases, severity_rank
from ihospital.supervision.dashboard_schemas import (
    DashboardConsultationType,
    DashboardMetric,
    DashboardSeverity,
)
from ihospital.supervision.metrics import readable_institutions
from ihospital.supervision.schemas import RULE_ID_PATTERN
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Actor, Depends(require(Permission.SUPERVISION_METRICS))]
QueryText = Annotated[str, Query(max_length=32)]
REGULATOR_PAGE = "/regulator/dashboard"
ADMIN_PAGE = "/admin/supervision/metrics"
FORM_FIELDS = ("from", "to", "institution_id", "region_code")
DASHBOARD_TYPE_MESSAGES = {"text": "Text", "voice": "Voice", "video": "Video"}
DASHBOARD_METRIC_MESSAGES = {
    "consultations": "Consultations",
    "consultations_accepted": "Consultations accepted",
    "prescriptions": "Prescriptions",
    "prescriptions_reviewed": "Prescriptions reviewed",
    "prescriptions_rejected": "Prescriptions rejected",
    "pharmacy_orders": "Pharmacy orders",
    "appointments": "Appointments",
    "appointments_marked": "Appointments with attendance marked",
    "appointments_no_show": "No-shows",
    "alerts": "Supervision alerts",
    "reviews": "Patient reviews",
    "complaints": "Complaints",
}
DASHBOARD_STATUS_MESSAGES = {
    "awaiting_payment": "Awaiting payment",
    "waiting": "Waiting for the doctor",
    "in_progress": "In progress",
    "closed": "Closed",
    "cancelled": "Cancelled",
    "pending_review": "Waiting for review",
    "approved": "Approved",
    "rejected": "Rejected",
    "filled": "Filled",
    "voided": "Voided",
    "created": "Created",
    "paid": "Paid",
    "dispensed": "Dispensed",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "picked_up": "Picked up",
    "refunded": "Refunded",
    "pending_payment": "Awaiting payment",
    "confirmed": "Confirmed",
    "attended": "Attended",
    "no_show": "No-show",
    "open": "Open",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
}
DASHBOARD_CHART_MESSAGES = {
    "volumes": "Volumes by institution",
    "times": "Median times by institution (minutes)",
    "rates": "Rates by institution (%)",
    "alerts": "Alerts by rule and severity",
    "response": "Median response time",
    "review": "Median review time",
    "rejection": "Prescription rejection rate",
    "no_show": "No-show rate",
    "complaint": "Complaint rate",
}


OptionalRegion = Annotated[
    Annotated[str, Field(pattern=r"^\d{6}$")] | None, BeforeValidator(blank_is_none)
]


class DashboardFilterForm(Schema):
    """The period and institution the dashboard is asked for (every field may be empty)."""

    from_day: OptionalDay = None
    to_day: OptionalDay = None
    institution_id: OptionalId = None
    region_code: OptionalRegion = None


def _form(values: dict[str, str]) -> tuple[DashboardFilterForm | None, Any]:
    form, state = parse_form(
        DashboardFilterForm,
        {
            "from_day": values["from"],
            "to_day": values["to"],
            "institution_id": values["institution_id"],
        },
    )
    renamed = {"from_day": "from", "to_day": "to"}
    state.errors = {renamed.get(name, name): message for name, message in state.errors.items()}
    return form, state


def _base(request: Request) -> str:
    return ADMIN_PAGE if request.url.path.startswith(ADMIN_PAGE) else REGULATOR_PAGE


def _chart(found: Dashboard, translate: Any) -> dict[str, Any]:
    """What the charts draw (the same numbers as the tables), with their translated names."""
    rows = found.rows
    minutes = lambda value: None if value is None else round(value / 60, 1)  # noqa: E731
    percent = lambda value: None if value is None else round(value * 100, 1)  # noqa: E731
    severities = sorted({severity for _, severity in found.total.alerts}, key=severity_rank)
    rules = sorted({rule for rule, _ in found.total.alerts})
    return {
        "titles": {key: translate(text) for key, text in DASHBOARD_CHART_MESSAGES.items()},
        "institutions": [row.name for row in rows],
        "volumes": [
            *(
                {
                    "name": translate(DASHBOARD_METRIC_MESSAGES["consultations"])
                    + " · "
                    + translate(DASHBOARD_TYPE_MESSAGES[kind]),
                    "stack": "consultations",
                    "data": [row.consultations_by_type[kind] for row in rows],
                }
                for kind in TYPES
            ),
            *(
                {
                    "name": translate(DASHBOARD_METRIC_MESSAGES[metric]),
                    "stack": metric,
                    "data": [row.counts[metric] for row in rows],
                }
                for metric in ("prescriptions", "pharmacy_orders", "appointments")
            ),
        ],
        "times": [
            {
                "name": translate(DASHBOARD_CHART_MESSAGES[key]),
                "data": [minutes(getattr(row, attribute)) for row in rows],
            }
            for key, attribute in (
                ("response", "response_median_seconds"),
                ("review", "review_median_seconds"),
            )
        ],
        "rates": [
            {
                "name": translate(DASHBOARD_CHART_MESSAGES[key]),
                "data": [percent(getattr(row, attribute)) for row in rows],
            }
            for key, attribute in (
                ("rejection", "rejection_rate"),
                ("no_show", "no_show_rate"),
                ("complaint", "complaint_rate"),
            )
        ],
        "rules": rules,
        "alerts": [
            {
                "name": translate(SEVERITY_MESSAGES[severity]),
                "stack": "alerts",
                "data": [found.total.alerts.get((rule, severity), 0) for rule in rules],
            }
            for severity in severities
        ],
    }


async def _choices(session: AsyncSession, actor: Actor) -> list[tuple[int, str]]:
    choices = await readable_institutions(session, actor)
    return choices if len(choices) > 1 else []


async def _dashboard_page(
    request: Request, session: AsyncSession, actor: Actor, values: dict[str, str]
) -> Response:
    form, state = _form(values)
    found = None
    if form is not None:
        try:
            found = await dashboard(
                session,
                actor,
                start=form.from_day,
                end=form.to_day,
                institution_id=form.institution_id,
                region_code=form.region_code,
            )
        except Unprocessable as error:
            state = refused(error, fields=FORM_FIELDS)
    base = _base(request)
    context: dict[str, Any] = {
        "values": values,
        "institutions": await _choices(session, actor),
        "base": base,
        "types": DASHBOARD_TYPE_MESSAGES,
        "severities": SEVERITY_MESSAGES,
        "metrics": DASHBOARD_METRIC_MESSAGES,
        **state.context(),
    }
    if found is not None:
        period = {"from": found.period.start.isoformat(), "to": found.period.end.isoformat()}
        context |= {
            "found": found,
            "period": period,
            "chart": _chart(found, translate),
            "alert_rows": sorted(
                (
                    (row, rule, severity, count)
                    for row in found.rows
                    for (rule, severity), count in row.alerts.items()
                ),
                key=lambda item: (item[0].name, item[1], severity_rank(item[2])),
            ),
        }
    return render(request, "supervision/dashboard.html", context, status_code=state.status_code)


@router.get(REGULATOR_PAGE)
@router.get(ADMIN_PAGE)
async def dashboard_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    from_day: Annotated[str, Query(alias="from", max_length=32)] = "",
    to_day: Annotated[str, Query(alias="to", max_length=32)] = "",
    institution_id: QueryText = "",
    region_code: QueryText = "",
) -> Response:
    """The figures of a period (by default the last 30 days), charts and tables; a date that
    cannot be read or a period refused is shown next to its field (422)."""
    values = {
        "from": from_day,
        "to": to_day,
        "institution_id": institution_id,
        "region_code": region_code,
    }
    return await _dashboard_page(request, session, actor, values)


@router.get(REGULATOR_PAGE + "/cases")
@router.get(ADMIN_PAGE + "/cases")
async def dashboard_cases_page(
    request: Request,
    session: DbSession,
    actor: Reader,
    metric: Annotated[DashboardMetric, Query()],
    from_day: Annotated[str, Query(alias="from", max_length=32)] = "",
    to_day: Annotated[str, Query(alias="to", max_length=32)] = "",
    institution_id: QueryText = "",
    region_code: QueryText = "",
    consultation_type: Annotated[DashboardConsultationType | None, Query()] = None,
    rule_id: Annotated[str | None, Query(pattern=RULE_ID_PATTERN, max_length=8)] = None,
    severity: Annotated[DashboardSeverity | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The cases behind one figure, 50 a page, each linked to its timeline (audited)."""
    values = {
        "from": from_day,
        "to": to_day,
        "institution_id": institution_id,
        "region_code": region_code,
    }
    form, state = _form(values)
    if form is None:
        name, message = next(iter(state.errors.items()))
        raise Unprocessable("supervision.metrics_filter_invalid", message, field=name)
    period, kind, result = await dashboard_cases(
        session,
        actor,
        metric=metric,
        start=form.from_day,
        end=form.to_day,
        institution_id=form.institution_id,
        region_code=form.region_code,
        consultation_type=consultation_type,
        rule_id=rule_id,
        severity=severity,
        page=page,
    )
    base = _base(request)
    query = {
        "metric": metric,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "institution_id": form.institution_id,
        "region_code": form.region_code,
        "consultation_type": consultation_type,
        "rule_id": rule_id,
        "severity": severity,
    }
    kept = {key: value for key, value in query.items() if value not in (None, "")}
    context = {
        "metric": metric,
        "kind": kind,
        "period": period,
        "result": result,
        "links": page_links(base + "/cases", kept, result),
        "back": base + "?" + urlencode({k: v for k, v in kept.items() if k in FORM_FIELDS}),
        "base": base,
        "filters": kept,
        "metrics": DASHBOARD_METRIC_MESSAGES,
        "types": DASHBOARD_TYPE_MESSAGES,
        "severities": SEVERITY_MESSAGES,
        "statuses": DASHBOARD_STATUS_MESSAGES,
    }
    return render(request, "supervision/dashboard_cases.html", context)
