"""Pages of finance (财务) for institution finance staff and platform admins: totals by day,
institution and channel; the reconciliation runs, one run's mismatches and re-running a past
day; and both as CSV files for Excel. Platform admins may pick one institution."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.finance import totals
from ihospital.billing.finance_export import (
    MISMATCH_KIND_MESSAGES,
    RECORD_KIND_MESSAGES,
    channel_label,
    mismatches_csv,
    totals_csv,
)
from ihospital.billing.finance_reconciliation import get_run, list_runs, rerun_reconciliation
from ihospital.billing.finance_schemas import PeriodForm, ReconciliationRequest
from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.institutions import list_institutions
from ihospital.errors import AppError, Forbidden, Unprocessable
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.security.permissions import Permission, Role
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(prefix="/finance", include_in_schema=False)

Finance = Annotated[Actor, Depends(require(Permission.BILLING_MANAGE))]
CSRF = [Depends(check_csrf)]
QueryText = Annotated[str, Query(max_length=32)]
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
Day = Annotated[date | None, Query()]
PERIOD_FIELDS = ("start", "end", "institution_id")
INSTITUTION_CHOICES = 200


def csv_response(name: str, text: str) -> Response:
    """A CSV file to download (UTF-8, its byte order mark already in ``text``)."""
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _query(**values: object) -> str:
    """A query string of the values that are set (keeps a platform admin's institution)."""
    pairs = [f"{key}={value}" for key, value in values.items() if value not in (None, "")]
    return "?" + "&".join(pairs) if pairs else ""


async def _period_page(
    session: AsyncSession,
    actor: Actor,
    service: Callable[..., Awaitable[Any]],
    values: dict[str, str],
) -> tuple[Any, dict[str, Any], FormState]:
    """Call a finance service for the period the form asks (``values``, its text): what it
    answered (None when the period is refused: the message goes next to its field), the page's
    context (the form shows the days read; a platform admin chooses among the institutions)
    and the form's state."""
    form, state = parse_form(PeriodForm, values)
    found = None
    if form is not None:
        try:
            found = await service(
                start=form.start, end=form.end, institution_id=form.institution_id
            )
        except Unprocessable as error:
            state = refused(error, fields=PERIOD_FIELDS)
    if found is not None:
        period = found.period
        values = {**values, "start": period.start.isoformat(), "end": period.end.isoformat()}
    choices = []
    if actor.role == Role.PLATFORM_ADMIN:
        listing = await list_institutions(session, actor, page=1, page_size=INSTITUTION_CHOICES)
        choices = [(item.id, item.name) for item in listing.items]
    context = {
        "values": values,
        "institutions": choices,
        "yuan": format_yuan,
        "channel_label": channel_label,
        **state.context(),
    }
    return found, context, state


@router.get("")
async def finance_page(
    request: Request,
    session: DbSession,
    actor: Finance,
    start: QueryText = "",
    end: QueryText = "",
    institution_id: QueryText = "",
) -> Response:
    """Totals by day, institution and channel over a period (by default the last 30 days)."""
    values = {"start": start, "end": end, "institution_id": institution_id}
    found, context, state = await _period_page(
        session, actor, partial(totals, session, actor), values
    )
    if found is not None:
        context["totals"] = found
        context["csv_query"] = _query(
            start=found.period.start, end=found.period.end, institution_id=found.institution_id
        )
    return render(request, "billing/finance.html", context, status_code=state.status_code)


@router.get("/totals.csv")
async def finance_totals_csv(
    session: DbSession,
    actor: Finance,
    start: Day = None,
    end: Day = None,
    institution_id: InstitutionScope = None,
) -> Response:
    """The totals as a CSV file for Excel (the export is audited)."""
    found = await totals(
        session, actor, start=start, end=end, institution_id=institution_id, export=True
    )
    return csv_response(*totals_csv(found))


async def _runs_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    values: dict[str, str],
    *,
    rerun: dict[str, str],
    rerun_state: FormState,
) -> Response:
    """The runs of the period asked, and the form to run a day again (``rerun``: its values,
    ``rerun_state``: how the last attempt was refused)."""
    found, context, state = await _period_page(
        session, actor, partial(list_runs, session, actor), values
    )
    yesterday = actor.clock.today_local() - timedelta(days=1)
    context |= {
        "listing": found,
        "scope": _query(institution_id=found.institution_id) if found else "",
        "channels": [(channel, channel) for channel in sorted(request.app.state.payment_providers)],
        "rerun": {"day": yesterday.isoformat(), "channel": "", **rerun},
        "rerun_errors": rerun_state.errors,
        "notices": state.notices + rerun_state.notices,
        "yesterday": yesterday,
    }
    status = rerun_state.status_code if rerun_state.status_code != 200 else state.status_code
    return render(request, "billing/finance_runs.html", context, status_code=status)


@router.get("/reconciliations")
async def reconciliations_page(
    request: Request,
    session: DbSession,
    actor: Finance,
    start: QueryText = "",
    end: QueryText = "",
    institution_id: QueryText = "",
) -> Response:
    """The reconciliation runs of a period, and the form to run a past day again."""
    values = {"start": start, "end": end, "institution_id": institution_id}
    return await _runs_page(request, session, actor, values, rerun={}, rerun_state=FormState())


@router.post("/reconciliations", dependencies=CSRF)
async def rerun_submit(
    request: Request,
    session: DbSession,
    actor: Finance,
    day: Annotated[str, Form(max_length=32)] = "",
    channel: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Run a past day's reconciliation again, then show its run (refusals next to the form)."""
    rerun = {"day": day, "channel": channel}
    body, state = parse_form(ReconciliationRequest, rerun)
    if body is not None:
        try:
            view = await rerun_reconciliation(
                session,
                actor,
                day=body.day,
                channel=body.channel,
                providers=request.app.state.payment_providers,
            )
        except Forbidden:
            raise
        except AppError as error:
            state = refused(error, fields=("day", "channel"))
        else:
            response = RedirectResponse(f"/finance/reconciliations/{view.run.id}", status_code=303)
            flash(
                request,
                response,
                "The reconciliation of {day} was run again: {count} mismatches.",
                day=body.day.isoformat(),
                count=view.mismatch_count,
            )
            return response
    return await _runs_page(request, session, actor, {}, rerun=rerun, rerun_state=state)


@router.get("/reconciliations/{run_id}")
async def reconciliation_page(
    run_id: RunId,
    request: Request,
    session: DbSession,
    actor: Finance,
    institution_id: InstitutionScope = None,
) -> Response:
    """One run with its mismatches and their details."""
    detail = await get_run(session, actor, run_id=run_id, institution_id=institution_id)
    context = {
        "detail": detail,
        "kinds": MISMATCH_KIND_MESSAGES,
        "records": RECORD_KIND_MESSAGES,
        "scope": _query(institution_id=institution_id),
        "yuan": format_yuan,
    }
    return render(request, "billing/finance_run.html", context)


@router.get("/reconciliations/{run_id}/mismatches.csv")
async def reconciliation_csv(
    run_id: RunId,
    session: DbSession,
    actor: Finance,
    institution_id: InstitutionScope = None,
) -> Response:
    """The run's mismatches the reader may see, as a CSV file for Excel (audited)."""
    detail = await get_run(
        session, actor, run_id=run_id, institution_id=institution_id, export=True
    )
    return csv_response(*mismatches_csv(detail))
