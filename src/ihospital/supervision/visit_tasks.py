"""Alert rules on how an online visit went, run on the consultation's and its prescriptions'
events:

- R05.1: the doctor served a consultation (signed a prescription for it, or closed it) at an
  institution where they have no registered practice today: no practice site there, no 多点执业
  filing or no consent of the registered institution. Accepting, transferring and starting a
  consultation are refused in that case (R05, :mod:`ihospital.directory.eligibility`); what
  cannot be refused is a visit already accepted when the doctor's practice sites change: it
  goes on to a prescription and a close, and this rule reports it (one alert per consultation).
- R02: the diagnosis changed during the visit (the record's latest version has other ICD-10
  codes than its first) and the consultation was closed otherwise than by ending it with advice
  to visit in person (``in_person``): the visit continued online instead of being referred
  offline. Checked when the consultation closes, and when a record is amended after closing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.events import CLOSED, RECORD_SIGNED
from ihospital.consultation.events import subscribe as on_consultation
from ihospital.consultation.records.repository import diagnosis_codes_by_version
from ihospital.consultation.states import close_reason_of
from ihospital.core.context import Actor
from ihospital.directory.eligibility import site_problems
from ihospital.prescribing.events import subscribe as on_prescription
from ihospital.prescribing.service import SIGNED
from ihospital.supervision.tasks import alert_event


async def _served_outside_sites(
    session: AsyncSession,
    actor: Actor,
    payload: dict[str, Any],
    *,
    practitioner_id: int,
    served_by: str,
) -> None:
    problems = await site_problems(
        session,
        actor,
        practitioner_id=practitioner_id,
        institution_id=payload["institution_id"],
    )
    if not problems:
        return
    await alert_event(
        session,
        actor,
        payload,
        rule_id="R05.1",
        subject=f"consultation:{payload['consultation_id']}",
        practitioner_id=practitioner_id,
        reasons=problems,
        served_by=served_by,
    )


@on_prescription(SIGNED)
async def prescribed_outside_practice_sites(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R05.1: a prescription of an online consultation signed where the doctor has no
    registered practice (a prescription of an in-person visit is not an online service)."""
    if payload.get("consultation_id") is None:
        return
    await _served_outside_sites(
        session,
        actor,
        payload,
        practitioner_id=payload["prescriber_id"],
        served_by="prescription_signed",
    )


@on_consultation(CLOSED)
async def closed_outside_practice_sites(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R05.1: a consultation closed by a doctor with no registered practice at its institution
    (a close after inactivity is no act of the doctor's)."""
    if payload.get("reason") == "inactivity":
        return
    await _served_outside_sites(
        session,
        actor,
        payload,
        practitioner_id=payload["practitioner_id"],
        served_by="closed",
    )


async def _continued_after_change(
    session: AsyncSession, actor: Actor, payload: dict[str, Any], *, close_reason: str | None
) -> None:
    if close_reason in (None, "in_person"):
        return
    versions = await diagnosis_codes_by_version(session, payload["consultation_id"])
    if len(versions) < 2 or versions[0] == versions[-1]:
        return
    await alert_event(
        session,
        actor,
        payload,
        rule_id="R02",
        subject=f"consultation:{payload['consultation_id']}",
        practitioner_id=payload["practitioner_id"],
        first_diagnoses=sorted(versions[0]),
        latest_diagnoses=sorted(versions[-1]),
        close_reason=close_reason,
    )


@on_consultation(CLOSED)
async def closed_after_diagnosis_changed(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R02: closed online although the diagnosis changed during the visit."""
    await _continued_after_change(session, actor, payload, close_reason=payload.get("reason"))


@on_consultation(RECORD_SIGNED)
async def amended_after_closing(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R02: an amendment after closing shows the diagnosis changed (one before closing is
    checked at the close)."""
    if payload["version"] < 2 or payload["status"] != "closed":
        return
    reason = await close_reason_of(session, payload["consultation_id"])
    await _continued_after_change(session, actor, payload, close_reason=reason)
