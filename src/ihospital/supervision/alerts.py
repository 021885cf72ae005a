"""Alerts of the supervision rules and their lifecycle: open → acknowledged → resolved.

An alert rule opens one alert per rule and subject (``prescription:7``): a repeated event about
the same subject counts another occurrence on it, whatever its status, so a retried or repeated
event never opens a second one. The admins of the institution get a 站内信 when an alert opens.

Institution admins handle their institution's alerts, regulators those of the institutions of
their region, platform admins all; an alert outside the reader's scope is not found (404).
Resolving needs a note. Each step of the lifecycle is an outbox event
(:mod:`ihospital.supervision.alert_events`) that the reporting feed reports. Every change is
audited, and so is every read of alerts, with the 就诊人
named when an alert concerns a patient's care.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution, may_manage
from ihospital.directory.institutions import region_matches
from ihospital.directory.regions import covers
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.accounts import staff_account_ids
from ihospital.notifications.service import notify
from ihospital.security.permissions import Role
from ihospital.supervision.alert_events import ACKNOWLEDGED, RAISED, RESOLVED, publish
from ihospital.supervision.catalogue import rules_by_id
from ihospital.supervision.models import SupervisionAlert
from ihospital.supervision.rule_settings import regulator_region, rule_in_force

NOTE_MAX_LENGTH = 2000
ALERT_NOT_FOUND_MESSAGE = "Alert {alert_id} was not found."
NOTE_REQUIRED_MESSAGE = "Write a note of 1 to {limit} characters on how the alert was resolved."
NOT_OPEN_MESSAGE = "Only an open alert can be acknowledged."
RESOLVED_MESSAGE = "This alert is already resolved."
STATUS_MESSAGES = {"open": "Open", "acknowledged": "Acknowledged", "resolved": "Resolved"}
OPENED_MESSAGES = {
    "title": "A supervision alert was raised",
    "body": "Rule {rule_id} raised an alert about {subject}; acknowledge it and resolve it "
    "with a note.",
}


def alert_not_found(alert_id: int) -> NotFound:
    return NotFound("supervision.alert_not_found", ALERT_NOT_FOUND_MESSAGE, alert_id=alert_id)


async def _by_subject(session: AsyncSession, rule_id: str, subject: str) -> SupervisionAlert | None:
    return await session.scalar(
        select(SupervisionAlert)
        .where(SupervisionAlert.rule_id == rule_id, SupervisionAlert.subject == subject)
        .with_for_update()
    )


async def raise_alert(
    session: AsyncSession,
    actor: Actor,
    *,
    rule_id: str,
    subject: str,
    institution_id: int,
    details: dict[str, Any],
    patient_id: int | None = None,
) -> SupervisionAlert | None:
    """Open the alert of ``rule_id`` about ``subject`` at the institution, or count another
    occurrence on the one already opened; None when the institution switched the rule off."""
    in_force = await rule_in_force(session, rule_id=rule_id, institution_id=institution_id)
    if not in_force.enabled:
        return None
    now = actor.clock.now()
    alert = await _by_subject(session, rule_id, subject)
    if alert is None:
        alert = SupervisionAlert(
            rule_id=rule_id,
            subject=subject,
            severity=rules_by_id()[rule_id].severity,
            institution_id=institution_id,
            region_code=in_force.region_code,
            patient_id=patient_id,
            details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
            status="open",
            occurrences=1,
            opened_at=now,
            last_seen_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(alert)
        except IntegrityError:  # opened by a simultaneous event about the same subject
            alert = await _by_subject(session, rule_id, subject)
        else:
            await _opened(session, actor, alert)
            return alert
    if alert is not None:
        alert.occurrences += 1
        alert.last_seen_at = now
        await session.flush()
    return alert


async def _opened(session: AsyncSession, actor: Actor, alert: SupervisionAlert) -> None:
    """Audit and publish the new alert and tell the institution's admins (站内信)."""
    await publish(session, actor, topic=RAISED, alert=alert)
    await record(
        session,
        actor,
        action="supervision.alert_opened",
        subject_type="supervision_alert",
        subject_id=alert.id,
        patient_id=alert.patient_id,
        details={"rule_id": alert.rule_id, "subject": alert.subject},
    )
    admins = await staff_account_ids(
        session, institution_id=alert.institution_id, role=Role.INSTITUTION_ADMIN
    )
    for account_id in admins:
        await notify(
            session,
            actor,
            account_id=account_id,
            kind="supervision",
            title=OPENED_MESSAGES["title"],
            body=OPENED_MESSAGES["body"],
            link=f"/supervision/alerts/{alert.id}",
            fields={"rule_id": alert.rule_id, "subject": alert.subject},
        )


def _in_scope(actor: Actor, alert: SupervisionAlert) -> bool:
    if actor.role == Role.REGULATOR:
        return covers(actor.region_code, alert.region_code)
    return may_manage(actor, alert.institution_id)


async def _visible(
    session: AsyncSession, actor: Actor, alert_id: int, *, for_update: bool = False
) -> SupervisionAlert:
    statement = select(SupervisionAlert).where(SupervisionAlert.id == alert_id)
    if for_update:
        statement = statement.with_for_update()
    alert = await session.scalar(statement)
    if alert is None or not _in_scope(actor, alert):
        raise alert_not_found(alert_id)
    return alert


async def list_alerts(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
) -> Sequence[SupervisionAlert]:
    """The alerts the actor handles, latest first: a regulator's region (optionally one
    institution of it), an institution admin's institution, any for a platform admin."""
    statement = select(SupervisionAlert)
    if actor.role == Role.REGULATOR:
        statement = statement.where(
            region_matches(SupervisionAlert.region_code, regulator_region(actor))
        )
    elif institution_id is None and actor.role != Role.PLATFORM_ADMIN:
        institution_id = actor.institution_id
    if institution_id is not None:
        if actor.role != Role.REGULATOR:
            await managed_institution(session, actor, institution_id)
        statement = statement.where(SupervisionAlert.institution_id == institution_id)
    if status is not None:
        statement = statement.where(SupervisionAlert.status == status)
    alerts = (
        await session.scalars(
            statement.order_by(
                SupervisionAlert.last_seen_at.desc(), SupervisionAlert.id.desc()
            ).limit(limit)
        )
    ).all()
    await record(
        session,
        actor,
        action="supervision.alerts_listed",
        subject_type="supervision_alert",
        subject_id="list",
        details={"institution_id": institution_id, "status": status, "count": len(alerts)},
    )
    return alerts


async def get_alert(session: AsyncSession, actor: Actor, *, alert_id: int) -> SupervisionAlert:
    """One alert with its details (the read is audited, naming the 就诊人 it concerns)."""
    alert = await _visible(session, actor, alert_id)
    await record(
        session,
        actor,
        action="supervision.alert_read",
        subject_type="supervision_alert",
        subject_id=alert.id,
        patient_id=alert.patient_id,
    )
    return alert


def _wrong_status(alert: SupervisionAlert, message: str) -> Conflict:
    return Conflict("supervision.alert_wrong_status", message, status=alert.status)


async def acknowledge_alert(
    session: AsyncSession, actor: Actor, *, alert_id: int
) -> SupervisionAlert:
    """Acknowledge an open alert: someone is looking into it."""
    alert = await _visible(session, actor, alert_id, for_update=True)
    if alert.status != "open":
        raise _wrong_status(alert, NOT_OPEN_MESSAGE)
    alert.status = "acknowledged"
    alert.acknowledged_at = actor.clock.now()
    alert.acknowledged_by_account_id = actor.account_id
    await session.flush()
    await record(
        session,
        actor,
        action="supervision.alert_acknowledged",
        subject_type="supervision_alert",
        subject_id=alert.id,
        patient_id=alert.patient_id,
    )
    await publish(session, actor, topic=ACKNOWLEDGED, alert=alert)
    return alert


def checked_note(note: str | None) -> str:
    text = (note or "").strip()
    if not 0 < len(text) <= NOTE_MAX_LENGTH:
        raise Unprocessable(
            "supervision.note_required", NOTE_REQUIRED_MESSAGE, field="note", limit=NOTE_MAX_LENGTH
        )
    return text


async def resolve_alert(
    session: AsyncSession, actor: Actor, *, alert_id: int, note: str | None
) -> SupervisionAlert:
    """Resolve an open or acknowledged alert with a note of what was done (422 without)."""
    alert = await _visible(session, actor, alert_id, for_update=True)
    text = checked_note(note)
    if alert.status == "resolved":
        raise _wrong_status(alert, RESOLVED_MESSAGE)
    alert.status = "resolved"
    alert.resolved_at = actor.clock.now()
    alert.resolved_by_account_id = actor.account_id
    alert.resolution_note = text
    await session.flush()
    await record(
        session,
        actor,
        action="supervision.alert_resolved",
        subject_type="supervision_alert",
        subject_id=alert.id,
        patient_id=alert.patient_id,
        details={"note": text},
    )
    await publish(session, actor, topic=RESOLVED, alert=alert)
    return alert


def alert_details(alert: SupervisionAlert) -> dict[str, Any]:
    return json.loads(alert.details)
