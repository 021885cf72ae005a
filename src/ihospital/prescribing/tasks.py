"""Outbox handlers of the pharmacist's review: the patient's account is told when a prescription
is approved (it can now buy the drugs), the doctor when one is rejected (to write a new version);
the review sweep raises the overdue alerts and sets its next run. Every prescribing event is
handled by calling its subscribers (:mod:`ihospital.prescribing.events`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.directory.access import practitioner_account_id
from ihospital.identity.patients import account_of_patient
from ihospital.notifications.service import notify
from ihospital.outbox.service import handles, worker_service
from ihospital.prescribing.events import PUBLICATIONS, subscribe
from ihospital.prescribing.review import APPROVED, REJECTED
from ihospital.prescribing.review_statistics import SWEEP, raise_overdue_alerts, schedule_sweep

APPROVED_MESSAGES = {
    "title": "Your prescription is approved",
    "body": "A pharmacist approved prescription {number}; you can now buy its drugs.",
}
REJECTED_MESSAGES = {
    "title": "A prescription was rejected",
    "body": "A pharmacist rejected prescription {number} ({reasons}); please write a new version.",
}


@subscribe(APPROVED)
async def tell_patient(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A 站内信 to the account of the 就诊人 (none when the 就诊人 was removed)."""
    account_id = await account_of_patient(session, patient_id=payload["patient_id"])
    if account_id is None:
        return
    await notify(
        session,
        actor,
        account_id=account_id,
        kind="prescription",
        title=APPROVED_MESSAGES["title"],
        body=APPROVED_MESSAGES["body"],
        link=f"/prescriptions/{payload['prescription_id']}",
        fields={"number": payload["number"]},
    )


@subscribe(REJECTED)
async def tell_doctor(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A 站内信 to the doctor who wrote the prescription, with the reasons' codes, linking to
    its consultation, or to its revision for an in-person visit."""
    if payload.get("consultation_id"):
        link = f"/doctor/consultations/{payload['consultation_id']}"
    else:
        appointment, prescription = payload["appointment_id"], payload["prescription_id"]
        link = f"/doctor/appointments/{appointment}/prescription?revise={prescription}"
    await notify(
        session,
        actor,
        account_id=await practitioner_account_id(session, payload["prescriber_id"]),
        kind="prescription",
        title=REJECTED_MESSAGES["title"],
        body=REJECTED_MESSAGES["body"],
        link=link,
        fields={"number": payload["number"], "reasons": ", ".join(payload["reasons"])},
    )


@handles(SWEEP)
async def sweep(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """Raise the alerts of overdue prescriptions, then set the next sweep."""
    settings = worker_service("settings")
    await raise_overdue_alerts(
        session, actor, limit_minutes=settings.prescription_review_limit_minutes
    )
    await schedule_sweep(session, actor, every_minutes=settings.prescription_review_sweep_minutes)


PUBLICATIONS.register_handlers()
