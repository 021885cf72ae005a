"""Events of the alerts' lifecycle (raised, acknowledged, resolved), for the reporting feed
(R13: the provincial platform receives alerts with consultations and prescriptions).

Each step writes one outbox event in the transaction that made it; the event's handler calls
each subscriber in turn (see :mod:`ihospital.outbox.publications`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.outbox.publications import Publications
from ihospital.outbox.service import emit
from ihospital.supervision.models import SupervisionAlert

RAISED = "supervision.alert_raised"
ACKNOWLEDGED = "supervision.alert_acknowledged"
RESOLVED = "supervision.alert_resolved"
TOPICS = (RAISED, ACKNOWLEDGED, RESOLVED)
PUBLICATIONS = Publications("supervision alerts", TOPICS)
subscribe = PUBLICATIONS.subscribe


async def publish(
    session: AsyncSession, actor: Actor, *, topic: str, alert: SupervisionAlert
) -> None:
    """Write the event ``topic`` of the alert (payload: its id, rule, institution, status)."""
    await emit(
        session,
        actor,
        topic=topic,
        payload={
            "topic": topic,
            "alert_id": alert.id,
            "rule_id": alert.rule_id,
            "institution_id": alert.institution_id,
            "patient_id": alert.patient_id,
            "status": alert.status,
        },
    )
