"""Pages of 改约: from "my appointments", the doctor's calendar of the times an appointment may
move to (a vaccination's or check-up's: the service's calendar of time windows), then the
confirm step — the booking pages' calendar and slot facts, with the move as the one action.
Refusals (full, not released, a booking rule, past the cutoff) show on the confirm step."""

from __future__ import annotations

import itertools
import secrets
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.availability import OpenSession, slot_offer
from ihospital.booking.fairness.limits import admit_booking
from ihospital.booking.page_support import practice_sites, session_provider
from ihospital.booking.reschedule import (
    RescheduleChoices,
    reschedule_appointment,
    reschedule_choices,
)
from ihospital.booking.schemas import RescheduleCreate, slot_label
from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory import institutions
from ihospital.directory.pages_support import form_text
from ihospital.directory.search import get_doctor_profile
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.identity.patients import get_patient
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Booker = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_OWN))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
SlotChoice = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
MOVE_FIELDS = ("slot_id", "idempotency_key")


def _days(choices: RescheduleChoices) -> list[tuple[date, list[OpenSession]]]:
    return [
        (day, list(group))
        for day, group in itertools.groupby(choices.sessions, key=lambda s: s.view.session.day)
    ]


async def _calendar(
    request: Request, session: AsyncSession, actor: Actor, *, appointment_id: int
) -> Response:
    choices = await reschedule_choices(session, actor, appointment_id=appointment_id)
    context = {
        "days": _days(choices),
        "moving": slot_label(choices.current.slot),
        "slot_href": f"/appointments/{appointment_id}/reschedule?slot_id=",
        "yuan": format_yuan,
    }
    if (resource := choices.current.resource) is not None:
        institution = await institutions.get_institution(
            session, actor, institution_id=resource.institution_id
        )
        context |= {"resource": resource, "institution": institution}
        return render(request, "booking/service.html", context)
    doctor = await get_doctor_profile(
        session, actor, practitioner_id=choices.current.schedule.practitioner_id
    )
    context |= {"doctor": doctor, "sites": practice_sites(doctor)}
    return render(request, "booking/schedule.html", context)


async def _confirm(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    appointment_id: int,
    slot_id: int,
    values: dict[str, str],
    state: FormState,
) -> Response:
    choices = await reschedule_choices(session, actor, appointment_id=appointment_id)
    offer = await slot_offer(session, actor, slot_id=slot_id)
    patient = await get_patient(session, actor, patient_id=choices.current.appointment.patient_id)
    context = {
        "appointment_id": appointment_id,
        "offer": offer,
        **await session_provider(session, actor, offer.schedule),
        "time_label": slot_label(offer.slot),
        "released": offer.released_at <= actor.clock.now(),
        "current_label": slot_label(choices.current.slot),
        "patient_name": patient.name,
        "values": {"idempotency_key": secrets.token_urlsafe(16), **values},
        "yuan": format_yuan,
        **state.context(),
    }
    return render(
        request, "booking/reschedule_confirm.html", context, status_code=state.status_code
    )


@router.get("/appointments/{appointment_id}/reschedule")
async def reschedule_page(
    appointment_id: RecordId,
    request: Request,
    session: DbSession,
    actor: Booker,
    slot_id: SlotChoice = None,
) -> Response:
    """改约: the free times of the doctor (or windows of the service) the appointment may move
    to; with ``slot_id``, the confirm step for that time."""
    if slot_id is None:
        return await _calendar(request, session, actor, appointment_id=appointment_id)
    return await _confirm(
        request,
        session,
        actor,
        appointment_id=appointment_id,
        slot_id=slot_id,
        values={},
        state=FormState(),
    )


@router.post("/appointments/{appointment_id}/reschedule", dependencies=CSRF)
async def reschedule_submit(
    appointment_id: RecordId, request: Request, session: DbSession, actor: Booker
) -> Response:
    """Move the appointment (the form's idempotency key makes a double submit one move); a
    refusal is shown on the confirm step."""
    values = await form_text(request, MOVE_FIELDS)
    form, state = parse_form(RescheduleCreate, values)
    if form is None:
        if "slot_id" in state.errors:
            raise NotFound("booking.slot_not_found", "This slot does not exist.")
        return await _confirm(
            request,
            session,
            actor,
            appointment_id=appointment_id,
            slot_id=int(values["slot_id"]),
            values=values,
            state=state,
        )
    await admit_booking(request, actor)
    try:
        view = await reschedule_appointment(
            session,
            actor,
            appointment_id=appointment_id,
            slot_id=form.slot_id,
            idempotency_key=form.idempotency_key,
        )
    except NotFound:
        raise
    except AppError as error:
        values.pop("idempotency_key")  # a new key: trying again after a refusal is a new move
        return await _confirm(
            request,
            session,
            actor,
            appointment_id=appointment_id,
            slot_id=form.slot_id,
            values=values,
            state=refused(error, fields=()),
        )
    response = RedirectResponse("/appointments", status_code=303)
    flash(request, response, "Your appointment is now at {time}.", time=slot_label(view.slot))
    return response
