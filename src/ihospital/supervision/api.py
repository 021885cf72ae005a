"""JSON routes of supervision: alerts for institution admins and regulators, the rule catalogue
with an institution's switches, and a region's thresholds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ihospital.core.context import Actor
from ihospital.core.i18n import current_language
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission
from ihospital.supervision.alerts import acknowledge_alert, get_alert, list_alerts, resolve_alert
from ihospital.supervision.incidents import list_incidents, record_incident, report_incident
from ihospital.supervision.rule_settings import (
    institution_rules,
    regional_rules,
    set_thresholds,
    switch_rule,
)
from ihospital.supervision.schemas import (
    RULE_ID_PATTERN,
    AlertRead,
    AlertResolve,
    AlertStatus,
    DataIncidentCreate,
    DataIncidentRead,
    DataIncidentReport,
    RuleRead,
    RuleSwitchUpdate,
    ThresholdsUpdate,
)

router = APIRouter(prefix="/api", tags=["supervision"])

AlertHandler = Annotated[Actor, Depends(require(Permission.SUPERVISION_ALERTS))]
Manager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
Regulator = Annotated[Actor, Depends(require(Permission.REGION_SUPERVISE))]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RuleId = Annotated[str, Path(pattern=RULE_ID_PATTERN, max_length=8)]


@router.get("/supervision/alerts")
async def alerts(
    session: DbSession,
    actor: AlertHandler,
    status: Annotated[AlertStatus | None, Query()] = None,
    institution_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[AlertRead]:
    """Alerts the caller handles, latest first: an institution admin's institution, a
    regulator's region (``institution_id`` narrows it to one institution)."""
    found = await list_alerts(session, actor, institution_id=institution_id, status=status)
    return [AlertRead.model_validate(alert) for alert in found]


@router.get("/supervision/alerts/{alert_id}")
async def alert(alert_id: AlertId, session: DbSession, actor: AlertHandler) -> AlertRead:
    """One alert (404 outside the caller's institution or region)."""
    return AlertRead.model_validate(await get_alert(session, actor, alert_id=alert_id))


@router.post("/supervision/alerts/{alert_id}/acknowledge")
async def acknowledge(alert_id: AlertId, session: DbSession, actor: AlertHandler) -> AlertRead:
    """Acknowledge an open alert."""
    return AlertRead.model_validate(await acknowledge_alert(session, actor, alert_id=alert_id))


@router.post("/supervision/alerts/{alert_id}/resolve")
async def resolve(
    alert_id: AlertId, body: AlertResolve, session: DbSession, actor: AlertHandler
) -> AlertRead:
    """Resolve an alert with a note of what was done (422 without one)."""
    resolved = await resolve_alert(session, actor, alert_id=alert_id, note=body.note)
    return AlertRead.model_validate(resolved)


@router.get("/institutions/{institution_id}/supervision/rules")
async def rules_of_institution(
    institution_id: InstitutionId, session: DbSession, actor: Manager
) -> list[RuleRead]:
    """The rule catalogue as it runs at the institution: switches and thresholds."""
    views = await institution_rules(session, actor, institution_id=institution_id)
    return [RuleRead.of(view, current_language.get()) for view in views]


@router.put("/institutions/{institution_id}/supervision/rules/{rule_id}")
async def switch(
    institution_id: InstitutionId,
    rule_id: RuleId,
    body: RuleSwitchUpdate,
    session: DbSession,
    actor: Manager,
) -> RuleRead:
    """Switch a non-mandatory alert rule on or off (409 for a mandatory or blocking rule)."""
    view = await switch_rule(
        session, actor, institution_id=institution_id, rule_id=rule_id, enabled=body.enabled
    )
    return RuleRead.of(view, current_language.get())


@router.get("/supervision/rules")
async def rules_of_region(session: DbSession, actor: Regulator) -> list[RuleRead]:
    """The rule catalogue with the thresholds in force in the regulator's region."""
    views = await regional_rules(session, actor)
    return [RuleRead.of(view, current_language.get()) for view in views]


@router.put("/supervision/rules/{rule_id}/thresholds")
async def thresholds(
    rule_id: RuleId, body: ThresholdsUpdate, session: DbSession, actor: Regulator
) -> RuleRead:
    """Set thresholds of a rule for the regulator's region (each within its range)."""
    view = await set_thresholds(session, actor, rule_id=rule_id, values=body.values)
    return RuleRead.of(view, current_language.get())


@router.get("/supervision/data-incidents")
async def data_incidents(session: DbSession, actor: AlertHandler) -> list[DataIncidentRead]:
    """Data leaks and their reports (R15): a regulator's region, an admin's institution."""
    return [DataIncidentRead.model_validate(i) for i in await list_incidents(session, actor)]


@router.post("/institutions/{institution_id}/supervision/data-incidents", status_code=201)
async def new_data_incident(
    institution_id: InstitutionId, body: DataIncidentCreate, session: DbSession, actor: Manager
) -> DataIncidentRead:
    """Record a data leak discovered at the institution; its report to the health authority
    is due within the region's hours of rule R15."""
    incident = await record_incident(
        session,
        actor,
        institution_id=institution_id,
        summary=body.summary,
        affected_people=body.affected_people,
        discovered_at=body.discovered_at,
    )
    return DataIncidentRead.model_validate(incident)


@router.post("/supervision/data-incidents/{incident_id}/report")
async def data_incident_reported(
    incident_id: IncidentId, body: DataIncidentReport, session: DbSession, actor: Manager
) -> DataIncidentRead:
    """Record the report of the incident to the health authority, with its reference."""
    incident = await report_incident(
        session, actor, incident_id=incident_id, reference=body.reference
    )
    return DataIncidentRead.model_validate(incident)
