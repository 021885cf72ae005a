"""Pages of vaccinations (疫苗接种) and check-ups (体检) for the public and patients.

The public: an institution's offers, and one offer's released days with the free places of each
time window. Patients: the confirmation of one window (choose the 就诊人, see time, place, fee
and how to prepare, book); the appointment then shows in "my appointments". The admins' pages
are in :mod:`ihospital.booking.service_admin_pages`.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.appointments import book_slot
from ihospital.booking.availability import slot_offer
from ihospital.booking.fairness.flags import note_booking
from ihospital.booking.fairness.limits import admit_booking
from ihospital.booking.pages import booked_redirect
from ihospital.booking.resource_schedules import resource_calendar
from ihospital.booking.resource_schemas import ResourceKind
from ihospital.booking.resources import list_offers, resources_by_id
from ihospital.booking.schemas import AppointmentCreate, slot_label
from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, optional_actor, require
from ihospital.directory import institutions
from ihospital.directory.pages_support import form_text
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.identity.patients import list_patients
from ihospital.security.permissions import Permission
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Booker = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_OWN))]
PublicActor = Annotated[Actor, Depends(optional_actor)]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/institutions/{institution_id}/services")
async def offers_page(
    institution_id: RecordId,
    request: Request,
    session: DbSession,
    actor: PublicActor,
    kind: Annotated[ResourceKind | None, Query()] = None,
) -> Response:
    """Public: the institution's vaccinations and check-up packages (one kind or both)."""
    institution = await institutions.get_institution(session, actor, institution_id=institution_id)
    offers = await list_offers(session, actor, institution_id=institution_id, kind=kind)
    context = {"institution": institution, "offers": offers, "kind": kind, "yuan": format_yuan}
    return render(request, "booking/services.html", context)


@router.get("/services/{resource_id}")
async def offer_page(
    resource_id: RecordId, request: Request, session: DbSession, actor: PublicActor
) -> Response:
    """Public: a vaccination or check-up, its released days and the free places per window."""
    resource, sessions = await resource_calendar(session, actor, resource_id=resource_id)
    institution = await institutions.get_institution(
        session, actor, institution_id=resource.institution_id
    )
    days = [
        (day, list(group))
        for day, group in itertools.groupby(sessions, key=lambda s: s.view.session.day)
    ]
    context = {"resource": resource, "institution": institution, "days": days, "yuan": format_yuan}
    return render(request, "booking/service.html", context)


async def _confirm_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    slot_id: int,
    values: dict[str, str],
    state: FormState,
) -> Response:
    offer = await slot_offer(session, actor, slot_id=slot_id)
    if offer.schedule.resource_id is None:  # a doctor's slot is booked on /appointments/new
        raise NotFound("booking.slot_not_found", "This slot does not exist.")
    resource = (await resources_by_id(session, [offer.schedule.resource_id]))[
        offer.schedule.resource_id
    ]
    names = await institutions.institution_names(
        session, institution_ids=[offer.schedule.institution_id]
    )
    context = {
        "offer": offer,
        "resource": resource,
        "institution_name": names.get(offer.schedule.institution_id, ""),
        "time_label": slot_label(offer.slot),
        "released": offer.released_at <= actor.clock.now(),
        "patients": await list_patients(session, actor),
        "values": {"idempotency_key": secrets.token_urlsafe(16), **values},
        "yuan": format_yuan,
        **state.context(),
    }
    return render(request, "booking/service_confirm.html", context, status_code=state.status_code)


@router.get("/services/windows/{slot_id}")
async def confirm_window_page(
    slot_id: RecordId, request: Request, session: DbSession, actor: Booker
) -> Response:
    """The window to book: exact time, place, fee and preparation, and the 就诊人."""
    return await _confirm_page(
        request, session, actor, slot_id=slot_id, values={}, state=FormState()
    )


@router.post("/services/windows/{slot_id}", dependencies=CSRF)
async def book_window_submit(
    slot_id: RecordId, request: Request, session: DbSession, actor: Booker
) -> Response:
    """Book the window for a 就诊人 (the form's idempotency key makes a double submit one
    booking); a refusal (not released, full, age or sex, a booking rule) is shown on the page."""
    values = await form_text(request, ("patient_id", "idempotency_key"))
    form, state = parse_form(AppointmentCreate, {**values, "slot_id": slot_id})
    if form is None:
        return await _confirm_page(
            request, session, actor, slot_id=slot_id, values=values, state=state
        )
    device_hash = await admit_booking(request, actor)
    try:
        view = await book_slot(
            session,
            actor,
            slot_id=slot_id,
            patient_id=form.patient_id,
            idempotency_key=form.idempotency_key,
        )
    except NotFound:
        raise
    except AppError as error:
        values.pop("idempotency_key")  # booking again after a refusal is a new request
        state = refused(error, fields=("patient_id",))
        return await _confirm_page(
            request, session, actor, slot_id=slot_id, values=values, state=state
        )
    await note_booking(session, actor, view=view, device_hash=device_hash)
    return booked_redirect(request, view)
