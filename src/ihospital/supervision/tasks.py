"""The alert rules fed by other domains' events, and the scheduled record check.

Each subscriber reads the thresholds in force for the event's institution (its region's, else
the catalogue's defaults) and opens an alert, or counts another occurrence on the one already
open, through :func:`ihospital.supervision.alerts.raise_alert`:

- R13.1: a prescription waits for pharmacist review longer than ``max_wait_minutes``
  (``prescribing.review_overdue``, sent once when the wait passes the platform's review limit);
- R13.2: a cold-chain delivery left 2–8 °C (``pharmacy.cold_chain_excursion``);
- R13.3: a doctor accepted a consultation more than ``max_wait_minutes`` after it began waiting
  (or after its booked time) (``consultation.accepted``);
- R13.4: a consultation was cancelled because no doctor accepted it (``consultation.cancelled``);
- R13.5: a diagnostic consultation has no signed record ``hours`` after closing: closing sets a
  durable outbox timer (:data:`RECORD_CHECK`) that looks for the record then;
- R15: a data leak was not reported to the health authority by its deadline: recording the
  incident sets a durable outbox timer (:data:`~ihospital.supervision.incidents.REPORT_DUE`);
- P01: a scalper flag (号贩子嫌疑) counts at least ``min_count`` (``booking.flag_raised``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.fairness.flags import FLAG_RAISED
from ihospital.booking.fairness.flags import PUBLICATIONS as BOOKING_FAIRNESS
from ihospital.consultation.events import ACCEPTED, CANCELLED, CLOSED
from ihospital.consultation.events import subscribe as on_consultation
from ihospital.consultation.records.repository import latest_record
from ihospital.core.context import Actor
from ihospital.outbox.service import emit, handles
from ihospital.pharmacy.shipment_events import COLD_CHAIN_EXCURSION
from ihospital.pharmacy.shipment_events import subscribe as on_shipment
from ihospital.prescribing.events import PUBLICATIONS as PRESCRIPTION_REVIEW
from ihospital.prescribing.review_statistics import OVERDUE
from ihospital.supervision.alert_events import PUBLICATIONS as ALERT_EVENTS
from ihospital.supervision.alerts import raise_alert
from ihospital.supervision.incidents import REPORT_DUE, unreported_by_deadline
from ihospital.supervision.rule_settings import rule_in_force

RECORD_CHECK = "supervision.record_check"
ALERT_EVENTS.register_handlers()


async def thresholds_of(
    session: AsyncSession, rule_id: str, payload: dict[str, Any]
) -> dict[str, int]:
    """The rule's thresholds in force at the event's institution."""
    in_force = await rule_in_force(
        session, rule_id=rule_id, institution_id=payload["institution_id"]
    )
    return in_force.thresholds


async def _threshold(
    session: AsyncSession, rule_id: str, payload: dict[str, Any], name: str
) -> int:
    """The value of the rule's threshold ``name`` at the event's institution."""
    return (await thresholds_of(session, rule_id, payload))[name]


async def alert_event(
    session: AsyncSession,
    actor: Actor,
    payload: dict[str, Any],
    *,
    rule_id: str,
    subject: str,
    about_patient: bool = True,
    **details: Any,
) -> None:
    """Open the alert of ``rule_id`` about ``subject`` at the event's institution."""
    await raise_alert(
        session,
        actor,
        rule_id=rule_id,
        subject=subject,
        institution_id=payload["institution_id"],
        patient_id=payload["patient_id"] if about_patient else None,
        details=details,
    )


@PRESCRIPTION_REVIEW.subscribe(OVERDUE)
async def review_waited_too_long(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R13.1: the prescription waited at least the region's ``max_wait_minutes``."""
    limit = await _threshold(session, "R13.1", payload, "max_wait_minutes")
    if payload["waited_minutes"] < limit:
        return
    await alert_event(
        session,
        actor,
        payload,
        rule_id="R13.1",
        subject=f"prescription:{payload['prescription_id']}",
        number=payload["number"],
        waited_minutes=payload["waited_minutes"],
        max_wait_minutes=limit,
    )


@on_shipment(COLD_CHAIN_EXCURSION)
async def cold_chain_excursion(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R13.2: a reading of the shipment outside 2–8 °C (one alert per shipment)."""
    await alert_event(
        session,
        actor,
        payload,
        rule_id="R13.2",
        subject=f"shipment:{payload['shipment_id']}",
        about_patient=False,
        order_reference=payload["order_reference"],
        celsius=payload["celsius"],
        measured_at=payload["measured_at"],
    )


@on_consultation(ACCEPTED)
async def accepted_late(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R13.3: accepted more than ``max_wait_minutes`` after the consultation began waiting (a
    video consultation booked for later: after its booked time)."""
    since = datetime.fromisoformat(payload["waiting_since"])
    if payload.get("scheduled_at"):
        since = max(since, datetime.fromisoformat(payload["scheduled_at"]))
    waited = int((datetime.fromisoformat(payload["at"]) - since).total_seconds() // 60)
    limit = await _threshold(session, "R13.3", payload, "max_wait_minutes")
    if waited <= limit:
        return
    await alert_event(
        session,
        actor,
        payload,
        rule_id="R13.3",
        subject=f"consultation:{payload['consultation_id']}",
        practitioner_id=payload["practitioner_id"],
        waited_minutes=waited,
        max_wait_minutes=limit,
    )


@on_consultation(CANCELLED)
async def not_accepted(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R13.4: cancelled by the acceptance deadline (no doctor accepted in time)."""
    if payload.get("reason") != "not_accepted":
        return
    await alert_event(
        session,
        actor,
        payload,
        rule_id="R13.4",
        subject=f"consultation:{payload['consultation_id']}",
        practitioner_id=payload["practitioner_id"],
        cancelled_at=payload["at"],
    )


@on_consultation(CLOSED)
async def arm_record_check(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R13.5: a diagnostic consultation closed; look for its signed record ``hours`` later (a
    health consultation has no record)."""
    if not payload["diagnostic"]:
        return
    hours = await _threshold(session, "R13.5", payload, "hours")
    await emit(
        session,
        actor,
        topic=RECORD_CHECK,
        payload={
            "consultation_id": payload["consultation_id"],
            "institution_id": payload["institution_id"],
            "patient_id": payload["patient_id"],
            "practitioner_id": payload["practitioner_id"],
            "closed_at": payload["at"],
            "hours": hours,
        },
        available_at=datetime.fromisoformat(payload["at"]) + timedelta(hours=hours),
        dedupe_key=f"{RECORD_CHECK}:{payload['consultation_id']}",
    )


@handles(RECORD_CHECK)
async def check_record(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R13.5: the limit after closing has passed; alert when no record is signed yet."""
    if await latest_record(session, payload["consultation_id"]) is not None:
        return
    await alert_event(
        session,
        actor,
        payload,
        rule_id="R13.5",
        subject=f"consultation:{payload['consultation_id']}",
        practitioner_id=payload["practitioner_id"],
        closed_at=payload["closed_at"],
        hours=payload["hours"],
    )


@BOOKING_FAIRNESS.subscribe(FLAG_RAISED)
async def scalper_flag(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """P01: a scalper flag whose count reached the region's ``min_count``."""
    if payload["count"] < await _threshold(session, "P01", payload, "min_count"):
        return
    await alert_event(
        session,
        actor,
        payload,
        rule_id="P01",
        subject=f"booking_flag:{payload['flag_id']}",
        about_patient=False,
        reason=payload["reason"],
        flagged=payload["subject"],
        count=payload["count"],
        day=payload["day"],
    )


@handles(REPORT_DUE)
async def check_incident_report(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R15: the report's deadline came; alert unless the incident was reported by then."""
    incident = await unreported_by_deadline(session, payload["incident_id"])
    if incident is None:
        return
    await alert_event(
        session,
        actor,
        payload,
        rule_id="R15",
        subject=f"data_incident:{incident.id}",
        about_patient=False,
        discovered_at=incident.discovered_at,
        report_due_at=incident.report_due_at,
        affected_people=incident.affected_people,
    )
