"""Data leak incidents (数据泄露事件) and their report to the health authority (R15).

An institution admin records an incident when it is discovered; it must be reported to the
health authority (卫生健康主管部门) within the region's ``hours`` of rule R15 after discovery. The
record sets a durable outbox timer for the deadline; when it comes and the incident was not
reported by then, rule R15 opens an alert (one per incident) and the institution's admins are
told. The admin records the report with the authority's reference (受理编号). Regulators read
the incidents of their region. Every change and every read is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution
from ihospital.directory.institutions import region_matches
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.outbox.service import emit
from ihospital.security.permissions import Role
from ihospital.supervision.models import DataIncident
from ihospital.supervision.rule_settings import regulator_region, rule_in_force

REPORT_DUE = "supervision.incident_report_due"
SUMMARY_MAX_LENGTH = 2000
REFERENCE_MAX_LENGTH = 64
INCIDENT_NOT_FOUND_MESSAGE = "Data incident {incident_id} was not found."
SUMMARY_MESSAGE = "Describe the incident in 1 to {limit} characters."
DISCOVERED_FUTURE_MESSAGE = "The incident cannot be discovered later than now."
REFERENCE_MESSAGE = "Give the health authority's reference of the report, 1 to {limit} characters."
ALREADY_REPORTED_MESSAGE = "This incident is already reported."


def incident_not_found(incident_id: int) -> NotFound:
    return NotFound(
        "supervision.incident_not_found", INCIDENT_NOT_FOUND_MESSAGE, incident_id=incident_id
    )


def _text(value: str, *, limit: int, code: str, message: str, field: str) -> str:
    text = value.strip()
    if not 0 < len(text) <= limit:
        raise Unprocessable(code, message, field=field, limit=limit)
    return text


async def record_incident(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    summary: str,
    affected_people: int,
    discovered_at: datetime,
) -> DataIncident:
    """Record a data leak at an institution the actor manages and set the deadline of its
    report (R15): discovery + the region's ``hours``."""
    await managed_institution(session, actor, institution_id)
    text = _text(
        summary,
        limit=SUMMARY_MAX_LENGTH,
        code="supervision.incident_summary_invalid",
        message=SUMMARY_MESSAGE,
        field="summary",
    )
    now = actor.clock.now()
    if discovered_at > now:
        raise Unprocessable(
            "supervision.incident_discovered_future",
            DISCOVERED_FUTURE_MESSAGE,
            field="discovered_at",
        )
    in_force = await rule_in_force(session, rule_id="R15", institution_id=institution_id)
    incident = DataIncident(
        institution_id=institution_id,
        region_code=in_force.region_code,
        summary=text,
        affected_people=affected_people,
        discovered_at=discovered_at,
        recorded_at=now,
        recorded_by_account_id=actor.account_id,
        report_due_at=discovered_at + timedelta(hours=in_force.thresholds["hours"]),
    )
    session.add(incident)
    await session.flush()
    await record(
        session,
        actor,
        action="supervision.incident_recorded",
        subject_type="data_incident",
        subject_id=incident.id,
        details={"affected_people": affected_people, "due": incident.report_due_at.isoformat()},
    )
    await emit(
        session,
        actor,
        topic=REPORT_DUE,
        payload={"incident_id": incident.id, "institution_id": institution_id},
        available_at=incident.report_due_at,
        dedupe_key=f"{REPORT_DUE}:{incident.id}",
    )
    return incident


async def _managed(session: AsyncSession, actor: Actor, incident_id: int) -> DataIncident:
    incident = await session.scalar(
        select(DataIncident).where(DataIncident.id == incident_id).with_for_update()
    )
    if incident is None:
        raise incident_not_found(incident_id)
    await managed_institution(session, actor, incident.institution_id)
    return incident


async def report_incident(
    session: AsyncSession, actor: Actor, *, incident_id: int, reference: str
) -> DataIncident:
    """Record that the incident was reported to the health authority, now, with its reference
    (R15). A report after the deadline does not close the alert already opened."""
    incident = await _managed(session, actor, incident_id)
    text = _text(
        reference,
        limit=REFERENCE_MAX_LENGTH,
        code="supervision.incident_reference_invalid",
        message=REFERENCE_MESSAGE,
        field="reference",
    )
    if incident.reported_at is not None:
        raise Conflict("supervision.incident_reported", ALREADY_REPORTED_MESSAGE)
    incident.reported_at = actor.clock.now()
    incident.reported_by_account_id = actor.account_id
    incident.report_reference = text
    await session.flush()
    await record(
        session,
        actor,
        action="supervision.incident_reported",
        subject_type="data_incident",
        subject_id=incident.id,
        details={"reference": text, "late": incident.reported_at > incident.report_due_at},
    )
    return incident


async def list_incidents(session: AsyncSession, actor: Actor) -> Sequence[DataIncident]:
    """The incidents of the regulator's region, of the admin's institution, or all (platform
    admin), latest discovered first (the listing is audited)."""
    statement = select(DataIncident)
    if actor.role == Role.REGULATOR:
        statement = statement.where(
            region_matches(DataIncident.region_code, regulator_region(actor))
        )
    elif actor.role != Role.PLATFORM_ADMIN:
        statement = statement.where(DataIncident.institution_id == actor.institution_id)
    incidents = (
        await session.scalars(
            statement.order_by(DataIncident.discovered_at.desc(), DataIncident.id.desc()).limit(200)
        )
    ).all()
    await record(
        session,
        actor,
        action="supervision.incidents_listed",
        subject_type="data_incident",
        subject_id="list",
        details={"count": len(incidents)},
    )
    return incidents


async def unreported_by_deadline(session: AsyncSession, incident_id: int) -> DataIncident | None:
    """The incident when it was not reported by its deadline (None when it was, or is gone)."""
    incident = await session.get(DataIncident, incident_id)
    if incident is None:
        return None
    if incident.reported_at is not None and incident.reported_at <= incident.report_due_at:
        return None
    return incident
