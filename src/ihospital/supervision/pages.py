"""Supervision pages: the alerts an institution admin or a regulator handles (acknowledge,
resolve with a note), the rule catalogue with an institution's switches, and the thresholds a
regulator sets for their region."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.page_support import institution_chooser
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import checkbox, redirect_after, scope_query
from ihospital.errors import Conflict, Unprocessable
from ihospital.security.permissions import Permission
from ihospital.supervision.alerts import (
    STATUS_MESSAGES,
    acknowledge_alert,
    alert_details,
    get_alert,
    list_alerts,
    resolve_alert,
)
from ihospital.supervision.catalogue import (
    ASPECT_MESSAGES,
    MODE_MESSAGES,
    SEVERITY_MESSAGES,
    STAGE_MESSAGES,
)
from ihospital.supervision.rule_settings import (
    institution_rules,
    regional_rules,
    set_thresholds,
    switch_rule,
)
from ihospital.supervision.schemas import RULE_ID_PATTERN, AlertStatus
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
AlertHandler = Annotated[Actor, Depends(require(Permission.SUPERVISION_ALERTS))]
Manager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
Regulator = Annotated[Actor, Depends(require(Permission.REGION_SUPERVISE))]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RuleId = Annotated[str, Path(pattern=RULE_ID_PATTERN, max_length=8)]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
ACKNOWLEDGED_MESSAGE = "The alert is acknowledged."
RESOLVED_MESSAGE = "The alert is resolved."
SWITCHED_MESSAGE = "Rule {rule_id} is saved."
THRESHOLD_NUMBER_MESSAGE = "Give {parameter} as a whole number."
LABELS = {
    "stages": STAGE_MESSAGES,
    "aspects": ASPECT_MESSAGES,
    "severities": SEVERITY_MESSAGES,
    "modes": MODE_MESSAGES,
    "statuses": STATUS_MESSAGES,
}


@router.get("/supervision/alerts")
async def alerts_page(
    request: Request,
    session: DbSession,
    actor: AlertHandler,
    status: Annotated[AlertStatus | None, Query()] = None,
) -> Response:
    """The alerts of the admin's institution or the regulator's region, latest first."""
    alerts = await list_alerts(session, actor, status=status)
    context = {"alerts": alerts, "status": status, **LABELS}
    return render(request, "supervision/alerts.html", context)


async def _alert_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    alert_id: int,
    *,
    note_error: str = "",
    note: str = "",
) -> Response:
    alert = await get_alert(session, actor, alert_id=alert_id)
    context = {
        "alert": alert,
        "details": alert_details(alert),
        "note_error": note_error,
        "note": note,
        **LABELS,
    }
    return render(
        request, "supervision/alert.html", context, status_code=422 if note_error else 200
    )


@router.get("/supervision/alerts/{alert_id}")
async def alert_page(
    alert_id: AlertId, request: Request, session: DbSession, actor: AlertHandler
) -> Response:
    """One alert with its figures and lifecycle, and the forms to acknowledge and resolve it."""
    return await _alert_page(request, session, actor, alert_id)


@router.post("/supervision/alerts/{alert_id}/acknowledge", dependencies=CSRF)
async def acknowledge_submit(
    alert_id: AlertId, request: Request, session: DbSession, actor: AlertHandler
) -> Response:
    """Acknowledge the alert."""
    return await redirect_after(
        request,
        f"/supervision/alerts/{alert_id}",
        acknowledge_alert(session, actor, alert_id=alert_id),
        lambda _alert: Notice(ACKNOWLEDGED_MESSAGE, "success"),
    )


@router.post("/supervision/alerts/{alert_id}/resolve", dependencies=CSRF)
async def resolve_submit(
    alert_id: AlertId, request: Request, session: DbSession, actor: AlertHandler
) -> Response:
    """Resolve the alert with a note; a missing note is shown next to its field (422)."""
    note = str((await request.form()).get("note", "")).strip()
    response = RedirectResponse(f"/supervision/alerts/{alert_id}", status_code=303)
    try:
        await resolve_alert(session, actor, alert_id=alert_id, note=note)
    except Unprocessable as error:
        return await _alert_page(
            request, session, actor, alert_id, note_error=error.message, note=note
        )
    except Conflict as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, RESOLVED_MESSAGE, kind="success")
    return response


@router.get("/admin/supervision/rules")
async def institution_rules_page(
    request: Request,
    session: DbSession,
    actor: Manager,
    institution_id: InstitutionScope = None,
) -> Response:
    """The rule catalogue as it runs at the institution, with the switches of the rules it may
    switch off."""
    scope = institution_id or actor.institution_id
    if scope is None:
        return await institution_chooser(
            request, session, actor, target="/admin/supervision/rules", heading="Supervision rules"
        )
    views = await institution_rules(session, actor, institution_id=scope)
    context = {"views": views, "scope": scope_query(institution_id), **LABELS}
    return render(request, "supervision/institution_rules.html", context)


@router.post("/admin/supervision/rules/{rule_id}", dependencies=CSRF)
async def switch_submit(
    rule_id: RuleId,
    request: Request,
    session: DbSession,
    actor: Manager,
    institution_id: InstitutionScope = None,
) -> Response:
    """Switch a rule on or off (a mandatory rule is refused with a notice)."""
    scope = institution_id or actor.institution_id or 0
    enabled = checkbox((await request.form()).get("enabled"))
    return await redirect_after(
        request,
        "/admin/supervision/rules" + scope_query(institution_id),
        switch_rule(session, actor, institution_id=scope, rule_id=rule_id, enabled=enabled),
        lambda view: Notice(SWITCHED_MESSAGE, "success", {"rule_id": view.rule.id}),
    )


@router.get("/supervision/rules")
async def regional_rules_page(request: Request, session: DbSession, actor: Regulator) -> Response:
    """The rule catalogue with the thresholds in force in the regulator's region."""
    views = await regional_rules(session, actor)
    return render(request, "supervision/regional_rules.html", {"views": views, **LABELS})


@router.post("/supervision/rules/{rule_id}", dependencies=CSRF)
async def thresholds_submit(
    rule_id: RuleId, request: Request, session: DbSession, actor: Regulator
) -> Response:
    """Set the rule's thresholds for the region; a value out of range is refused with a notice
    and nothing changes."""
    values = {}
    for name, value in (await request.form()).items():
        text = str(value).strip()
        if name == "csrf_token":
            continue
        if not text.isdigit() or len(text) > 9:
            response = RedirectResponse("/supervision/rules", status_code=303)
            flash(request, response, THRESHOLD_NUMBER_MESSAGE, kind="error", parameter=name)
            return response
        values[name] = int(text)
    return await redirect_after(
        request,
        "/supervision/rules",
        set_thresholds(session, actor, rule_id=rule_id, values=values),
        lambda view: Notice(SWITCHED_MESSAGE, "success", {"rule_id": view.rule.id}),
    )
