"""Pages of data leak incidents (R15): the list for institution admins and regulators, the form
an institution admin records an incident with (discovered at a Beijing time), and the form that
records its report to the health authority. Bad input is shown next to its field (422) and
writes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.clock import SHANGHAI
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import redirect_after
from ihospital.errors import Unprocessable
from ihospital.security.permissions import Permission
from ihospital.supervision.incidents import list_incidents, record_incident, report_incident
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
AlertHandler = Annotated[Actor, Depends(require(Permission.SUPERVISION_ALERTS))]
Manager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PAGE = "/supervision/data-incidents"
RECORDED_MESSAGE = "The incident is recorded; report it to the health authority by {due}."
REPORTED_MESSAGE = "The report of the incident is recorded."
WHEN_MESSAGE = "Give the date and time the incident was discovered (Beijing time)."
COUNT_MESSAGE = "Give the number of people affected as a whole number, 0 or more."
OWN_INSTITUTION_MESSAGE = "Only an institution's admin records its data incidents."


async def _page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    context = {
        "incidents": await list_incidents(session, actor),
        "may_record": actor.institution_id is not None
        and actor.role in ("institution_admin", "platform_admin"),
        "values": values or {},
        "errors": errors or {},
    }
    status = 422 if errors else 200
    return render(request, "supervision/incidents.html", context, status_code=status)


@router.get(PAGE)
async def incidents_page(request: Request, session: DbSession, actor: AlertHandler) -> Response:
    """Data leaks and their reports: the admin's institution, the regulator's region."""
    return await _page(request, session, actor)


def _discovered_at(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Unprocessable(
            "supervision.incident_when_invalid", WHEN_MESSAGE, field="discovered_at"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _affected(text: str) -> int:
    if not text.strip().isdigit():
        raise Unprocessable(
            "supervision.incident_count_invalid", COUNT_MESSAGE, field="affected_people"
        )
    return int(text)


@router.post(PAGE, dependencies=CSRF)
async def record_submit(request: Request, session: DbSession, actor: Manager) -> Response:
    """Record a data leak at the admin's institution (R15)."""
    form = await request.form()
    values: dict[str, Any] = {
        name: str(form.get(name, "")) for name in ("summary", "affected_people", "discovered_at")
    }
    if actor.institution_id is None:  # a platform admin: no institution of their own
        response = RedirectResponse(PAGE, status_code=303)
        flash(request, response, OWN_INSTITUTION_MESSAGE, kind="error")
        return response
    try:
        incident = await record_incident(
            session,
            actor,
            institution_id=actor.institution_id,
            summary=values["summary"],
            affected_people=_affected(values["affected_people"]),
            discovered_at=_discovered_at(values["discovered_at"]),
        )
    except Unprocessable as error:
        message = translate(error.message, **error.fields)
        return await _page(
            request, session, actor, values=values, errors={error.fields["field"]: message}
        )
    response = RedirectResponse(PAGE, status_code=303)
    due = incident.report_due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    flash(request, response, RECORDED_MESSAGE, kind="success", due=due)
    return response


@router.post(PAGE + "/{incident_id}/report", dependencies=CSRF)
async def report_submit(
    incident_id: IncidentId, request: Request, session: DbSession, actor: Manager
) -> Response:
    """Record the report of the incident with the authority's reference."""
    reference = str((await request.form()).get("reference", ""))
    return await redirect_after(
        request,
        PAGE,
        report_incident(session, actor, incident_id=incident_id, reference=reference),
        lambda _incident: Notice(REPORTED_MESSAGE, "success"),
    )
