"""The command centre's board: an alert for each high-risk pre-screening, made by the outbox
handler of :data:`~.screening.ALERT_TOPIC` (once per submission, however often the worker retries),
pushed live to the boards watching its region, and handled by the centre's staff: ``new`` →
``contacted`` → ``closed`` with a note. Each alert names the 就诊人 and how to reach them, so
reading the board is audited like any read of health data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.models import AuditEntry
from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.models import Account, Patient
from ihospital.realtime.after_commit import publish_after_commit
from ihospital.realtime.hub import Event, Hub
from ihospital.triage.prescreening.models import EpidemicAlert, ScreeningSubmission
from ihospital.triage.prescreening.regions import ALL_REGIONS, channels_of, in_scope, scope_of

RAISE, HANDLE = "epidemic_alert.raise", "epidemic_alert.handle"
STEPS = {"new": ("contacted", "closed"), "contacted": ("closed",), "closed": ()}
BOARD_LIMIT = 200
ALERT_NOT_FOUND_MESSAGE = "Alert {alert_id} was not found."
STEP_MESSAGE = "An alert that is {current} cannot become {wanted}."
ALERT_NOTE_MESSAGE = "Write what was done before closing the alert."


@dataclass(frozen=True)
class AlertView:
    alert: EpidemicAlert
    patient_name: str
    contact: str


def alert_event(view: AlertView, event_id: int) -> Event:
    """The live event of an alert's state; its id is the audit entry of the change, so a board
    resuming after an id gets every later change (a new alert or a handled one) in order."""
    alert = view.alert
    return {
        "id": event_id,
        "alert_id": alert.id,
        "status": alert.status,
        "level": alert.level,
        "score": alert.score,
        "region_code": alert.region_code,
        "submission_id": alert.submission_id,
        "patient_name": view.patient_name,
        "contact": view.contact,
        "note": alert.note,
        "created_at": alert.created_at.isoformat(),
        "handled_at": alert.handled_at.isoformat() if alert.handled_at else None,
    }


async def _views(session: AsyncSession, alerts: Sequence[EpidemicAlert]) -> list[AlertView]:
    """The alerts with the name and phone of their 就诊人, read in one query."""
    rows = await session.execute(
        select(Patient.id, Patient.name, Patient.mobile, Account.mobile)
        .join(Account, Account.id == Patient.account_id)
        .where(Patient.id.in_({alert.patient_id for alert in alerts}))
    )
    contacts = {pid: (name, own or account) for pid, name, own, account in rows}
    return [AlertView(alert, *contacts[alert.patient_id]) for alert in alerts]


async def _view(session: AsyncSession, alert: EpidemicAlert) -> AlertView:
    return (await _views(session, [alert]))[0]


def _publish(session: AsyncSession, hub: Hub | None, view: AlertView, event_id: int) -> None:
    if hub is None:
        return
    for channel in channels_of(view.alert.region_code):
        publish_after_commit(session, hub, channel, alert_event(view, event_id))


async def raise_alert(
    session: AsyncSession, actor: Actor, *, submission_id: int, hub: Hub | None
) -> EpidemicAlert:
    """The alert of a high-risk submission, made once; pushed to the boards after commit."""
    existing = await session.scalar(
        select(EpidemicAlert).where(EpidemicAlert.submission_id == submission_id)
    )
    if existing is not None:
        return existing
    submission = await session.get(ScreeningSubmission, submission_id)
    assert submission is not None  # the event was written with the submission
    alert = EpidemicAlert(
        submission_id=submission.id,
        patient_id=submission.patient_id,
        region_code=submission.region_code,
        level=submission.level,
        score=submission.score,
        status="new",
        note="",
        created_at=actor.clock.now(),
        handled_at=None,
        handled_by_account_id=None,
    )
    session.add(alert)
    await session.flush()
    entry = await record(
        session,
        actor,
        action=RAISE,
        subject_type="epidemic_alert",
        subject_id=alert.id,
        patient_id=alert.patient_id,
        details={"submission_id": submission.id, "region_code": alert.region_code},
    )
    _publish(session, hub, await _view(session, alert), entry.id)
    return alert


def _visible(actor: Actor) -> Any:
    scope = scope_of(actor)
    if scope == ALL_REGIONS:
        return EpidemicAlert.id.is_not(None)
    return EpidemicAlert.region_code.startswith(scope or "-")


async def board(
    session: AsyncSession, actor: Actor, *, status: str | None = None, region: str | None = None
) -> list[AlertView]:
    """The alerts the actor's command centre watches, open ones first, newest first (one audit
    entry names the 就诊人 shown)."""
    statement = select(EpidemicAlert).where(_visible(actor))
    if status is not None:
        statement = statement.where(EpidemicAlert.status == status)
    if region is not None:
        statement = statement.where(EpidemicAlert.region_code.startswith(region))
    rows = await session.scalars(
        statement.order_by((EpidemicAlert.status == "closed").asc(), EpidemicAlert.id.desc()).limit(
            BOARD_LIMIT
        )
    )
    views = await _views(session, list(rows))
    await record(
        session,
        actor,
        action="epidemic_alert.list",
        subject_type="epidemic_alert",
        subject_id="board",
        details={"alert_ids": [view.alert.id for view in views], "status": status},
    )
    return views


async def handle_alert(
    session: AsyncSession,
    actor: Actor,
    *,
    alert_id: int,
    status: str,
    note: str,
    hub: Hub | None,
) -> AlertView:
    """Move an alert of the actor's regions on: contacted, or closed with what was done."""
    alert = await session.get(EpidemicAlert, alert_id, with_for_update=True)
    if alert is None or not in_scope(actor, alert.region_code):
        raise NotFound("epidemic.alert_not_found", ALERT_NOT_FOUND_MESSAGE, alert_id=alert_id)
    if status not in STEPS[alert.status]:
        raise Conflict("epidemic.alert_step", STEP_MESSAGE, current=alert.status, wanted=status)
    if status == "closed" and not note:
        raise Unprocessable("epidemic.note_required", ALERT_NOTE_MESSAGE, field="note")
    previous = alert.status
    alert.status, alert.handled_at, alert.handled_by_account_id = (
        status,
        actor.clock.now(),
        actor.account_id,
    )
    alert.note = note or alert.note
    await session.flush()
    entry = await record(
        session,
        actor,
        action=HANDLE,
        subject_type="epidemic_alert",
        subject_id=alert.id,
        patient_id=alert.patient_id,
        details={"from": previous, "to": status, "note": note},
    )
    view = await _view(session, alert)
    _publish(session, hub, view, entry.id)
    return view


async def changes_after(
    session: AsyncSession, actor: Actor, *, after_id: int, limit: int
) -> list[Event]:
    """The changes of the actor's alerts after the audit entry ``after_id``, oldest first, each
    with the alert as it is now (what a board missed while it was away)."""
    rows = (
        await session.execute(
            select(AuditEntry.id, EpidemicAlert)
            .join(EpidemicAlert, AuditEntry.subject_id == cast(EpidemicAlert.id, String))
            .where(
                AuditEntry.subject_type == "epidemic_alert",
                AuditEntry.action.in_((RAISE, HANDLE)),
                AuditEntry.id > after_id,
                _visible(actor),
            )
            .order_by(AuditEntry.id)
            .limit(limit)
        )
    ).all()
    views = await _views(session, [alert for _, alert in rows])
    return [alert_event(view, entry_id) for (entry_id, _), view in zip(rows, views, strict=True)]


async def last_change(session: AsyncSession) -> int:
    """The id of the latest change of any alert: a board rendered now resumes after it."""
    latest = await session.scalar(
        select(func.max(AuditEntry.id)).where(
            AuditEntry.subject_type == "epidemic_alert", AuditEntry.action.in_((RAISE, HANDLE))
        )
    )
    return latest or 0
