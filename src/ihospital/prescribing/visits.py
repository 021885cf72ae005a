"""Prescribing from an in-person visit (门诊): which visits a doctor may prescribe for.

Only the appointment's own doctor (another doctor's appointment is not found), only for an
in-person appointment with a doctor (an online appointment is prescribed for from its
consultation; a vaccination or check-up has no doctor), only once the patient checked in or was
marked attended: on the day of the visit (Asia/Shanghai), or within :data:`ATTENDED_HOURS` after
the doctor marked it attended. Never for a cancelled appointment or a no-show. The doctor acts in
their verified working session (R04) as for a consultation, since they sign the same
e-prescription. For a child under 6 the doctor confirms that the guardian is present (R11).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.dayof import DaySession, DoctorVisit, doctor_visit
from ihospital.consultation.duty import require_work_session
from ihospital.core.clock import to_local
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner
from ihospital.errors import Conflict
from ihospital.identity.patient_cards import patient_cards
from ihospital.prescribing.checks import GUARDIAN_AGE
from ihospital.prescribing.encounters import VISIT, Encounter

ATTENDED_HOURS = 24
PURPOSE = "prescribing.visit"
REFUSAL_MESSAGES: dict[str, str] = {
    "prescribing.visit_online": (
        "This is an online appointment: prescribe from its consultation, not as an in-person visit."
    ),
    "prescribing.visit_cancelled": "This appointment was cancelled: no prescription can be "
    "written for it.",
    "prescribing.visit_no_show": "The patient did not come to this visit (no-show): no "
    "prescription can be written for it.",
    "prescribing.visit_not_checked_in": (
        "The patient has not checked in for this visit: prescribe once they have checked in "
        "or you marked them attended."
    ),
    "prescribing.visit_window_closed": (
        "A prescription for an in-person visit is written on the day of the visit, or within "
        "{hours} hours after you marked it attended."
    ),
}


def refusal_code(found: DoctorVisit, now: datetime) -> str | None:
    """Why no prescription can be written for the visit at ``now`` (a key of
    :data:`REFUSAL_MESSAGES`), or None when one can."""
    appointment, visit = found.appointment, found.visit
    if found.schedule.visit_type != "in_person":
        return "prescribing.visit_online"
    if appointment.status == "cancelled":
        return "prescribing.visit_cancelled"
    if visit is not None and visit.outcome == "no_show":
        return "prescribing.visit_no_show"
    if visit is None or (visit.checked_in_at is None and visit.outcome is None):
        return "prescribing.visit_not_checked_in"
    on_the_day = to_local(now).date() == appointment.day
    after_attended = (
        visit.outcome == "attended"
        and visit.outcome_at is not None
        and now - visit.outcome_at <= timedelta(hours=ATTENDED_HOURS)
    )
    if not (on_the_day or after_attended):
        return "prescribing.visit_window_closed"
    return None


def prescribable_appointments(sessions: Iterable[DaySession], now: datetime) -> set[int]:
    """The appointments of a doctor's day list they may prescribe for at ``now``."""
    return {
        view.appointment.id
        for listed in sessions
        for view in listed.visits
        if refusal_code(DoctorVisit(view.appointment, listed.schedule, view.visit), now) is None
    }


async def visit_encounter(
    session: AsyncSession,
    actor: Actor,
    *,
    appointment_id: int,
    guardian_present: bool,
    for_update: bool = True,
) -> Encounter:
    """The doctor's own in-person visit open for prescribing, by the rules above (409 naming
    the reason otherwise); ``for_update`` to write, in the doctor's working session (R04). The
    patient's name, sex and age are read for the prescription (audited)."""
    found = await doctor_visit(session, actor, appointment_id=appointment_id, for_update=for_update)
    if for_update:
        await require_work_session(session, actor, await own_practitioner(session, actor))
    code = refusal_code(found, actor.clock.now())
    if code is not None:
        fields = {"hours": ATTENDED_HOURS} if code == "prescribing.visit_window_closed" else {}
        raise Conflict(code, REFUSAL_MESSAGES[code], **fields)
    appointment = found.appointment
    cards = await patient_cards(
        session, actor, patient_ids=[appointment.patient_id], purpose=PURPOSE, masked=False
    )
    card = cards[appointment.patient_id]
    assert appointment.practitioner_id is not None  # a doctor's own appointment
    return Encounter(
        kind=VISIT,
        id=appointment.id,
        institution_id=appointment.institution_id,
        patient_id=appointment.patient_id,
        practitioner_id=appointment.practitioner_id,
        patient_name=card.name,
        patient_sex=card.sex,
        patient_age=card.age,
        guardian_required=card.age < GUARDIAN_AGE,
        guardian_confirmed=guardian_present,
    )
