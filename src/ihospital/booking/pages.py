"""Pages of booking (预约挂号).

Patients: a doctor's released schedule with free slots, the confirmation of one slot (choose the
就诊人, see time, place and fee, book), and "my appointments" with cancelling and 改约. Institution
admins: the schedule editor (sessions by day, a one-off or weekly session, 停诊 with a confirm
step) and the release rules. A platform admin picks the institution with ``?institution_id=``.
Doctors' own schedule is :mod:`.own_schedule_pages`.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.appointments import AppointmentView, book_slot, list_appointments
from ihospital.booking.availability import doctor_schedule, slot_offer
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.dayof import check_in_states
from ihospital.booking.fairness.flags import note_booking
from ihospital.booking.fairness.limits import admit_booking
from ihospital.booking.models import FEE_CLASSES, HALF_DAYS, VISIT_TYPES
from ihospital.booking.page_support import institution_chooser, practice_sites, public_doctors
from ihospital.booking.payment import HOLD_MINUTES
from ihospital.booking.resources import list_resources
from ihospital.booking.rules import Rules, cancel_deadline, get_rules, rules_of, set_rules
from ihospital.booking.schedules import (
    create_sessions,
    get_session,
    list_sessions,
    stop_session,
)
from ihospital.booking.schemas import AppointmentCreate, RulesSet, slot_label
from ihospital.booking.session_form import EDITOR_DAYS, SESSION_FORM_FIELDS, session_form
from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, optional_actor, require
from ihospital.directory import institutions, practitioners
from ihospital.directory.institutions import institution_names
from ihospital.directory.pages_support import checkbox, form_text, redirect_after, scope_query
from ihospital.directory.search import get_doctor_profile
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.identity.patients import list_patients
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Booker = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_OWN))]
Scheduler = Annotated[Actor, Depends(require(Permission.SCHEDULES_MANAGE))]
PublicActor = Annotated[Actor, Depends(optional_actor)]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
BOOKING_FIELDS = ("slot_id", "patient_id", "idempotency_key")
RULE_FIELDS = tuple(RulesSet.model_fields)


# --- patients -------------------------------------------------------------------------------


@router.get("/doctors/{practitioner_id}/schedule")
async def schedule_page(
    practitioner_id: RecordId, request: Request, session: DbSession, actor: PublicActor
) -> Response:
    """Public: the doctor's released days with their sessions and free slots."""
    doctor = await get_doctor_profile(session, actor, practitioner_id=practitioner_id)
    sessions = await doctor_schedule(session, actor, practitioner_id=practitioner_id)
    days = [
        (day, list(group))
        for day, group in itertools.groupby(sessions, key=lambda s: s.view.session.day)
    ]
    context = {"doctor": doctor, "days": days, "sites": practice_sites(doctor), "yuan": format_yuan}
    return render(request, "booking/schedule.html", context)


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
    if offer.schedule.resource_id is not None:  # a vaccination's or check-up's time window
        return RedirectResponse(f"/services/windows/{slot_id}", status_code=303)
    doctor = await get_doctor_profile(
        session, actor, practitioner_id=offer.schedule.practitioner_id
    )
    context = {
        "offer": offer,
        "doctor": doctor,
        "site": practice_sites(doctor).get(
            (offer.schedule.institution_id, offer.schedule.department_code)
        ),
        "time_label": slot_label(offer.slot),
        "released": offer.released_at <= actor.clock.now(),
        "patients": await list_patients(session, actor),
        "values": {"idempotency_key": secrets.token_urlsafe(16), **values},
        "yuan": format_yuan,
        **state.context(),
    }
    return render(request, "booking/confirm.html", context, status_code=state.status_code)


@router.get("/appointments/new")
async def confirm_page(
    request: Request,
    session: DbSession,
    actor: Booker,
    slot_id: Annotated[int, Query(ge=1, le=2**63 - 1)],
) -> Response:
    """The slot to book: exact time, place and fee, and the 就诊人 to book it for."""
    return await _confirm_page(
        request, session, actor, slot_id=slot_id, values={}, state=FormState()
    )


@router.post("/appointments/new", dependencies=CSRF)
async def confirm_submit(request: Request, session: DbSession, actor: Booker) -> Response:
    """Book the slot (the form's idempotency key makes a double submit one booking); a refusal
    (not released yet, full, a booking rule) is shown on the confirmation page."""
    values = await form_text(request, BOOKING_FIELDS)
    form, state = parse_form(AppointmentCreate, values)
    if form is None:
        if "slot_id" in state.errors:
            raise NotFound("booking.slot_not_found", "This slot does not exist.")
        return await _confirm_page(
            request, session, actor, slot_id=int(values["slot_id"]), values=values, state=state
        )
    device_hash = await admit_booking(request, actor)
    try:
        view = await book_slot(
            session,
            actor,
            slot_id=form.slot_id,
            patient_id=form.patient_id,
            idempotency_key=form.idempotency_key,
        )
    except NotFound:
        raise
    except AppError as error:
        # a new key, so that booking again after the refusal is a new request
        values.pop("idempotency_key")
        state = refused(error, fields=("patient_id",))
        return await _confirm_page(
            request, session, actor, slot_id=form.slot_id, values=values, state=state
        )
    await note_booking(session, actor, view=view, device_hash=device_hash)
    return booked_redirect(request, view)


def booked_redirect(request: Request, view: AppointmentView) -> RedirectResponse:
    """Where a booking made on a page leads: the bill while the place is held for its fee,
    else the appointments."""
    if view.appointment.status == "pending_payment" and view.appointment.order_id:
        # the place is held for the registration fee: pay it now, on the bill
        response = RedirectResponse(f"/bills/{view.appointment.order_id}", status_code=303)
        flash(
            request,
            response,
            "Booked for {time}. Pay the registration fee within {minutes} minutes to keep it.",
            time=slot_label(view.slot),
            minutes=HOLD_MINUTES,
        )
        return response
    response = RedirectResponse("/appointments", status_code=303)
    flash(request, response, "Booked for {time}.", time=slot_label(view.slot))
    return response


@router.get("/appointments")
async def my_appointments_page(request: Request, session: DbSession, actor: Booker) -> Response:
    """The account's appointments: time, place, queue order, status, and cancel until the
    institution's cutoff."""
    views = await list_appointments(session, actor)
    doctors = await public_doctors(
        session, actor, (view.schedule.practitioner_id for view in views if not view.resource)
    )
    # a vaccination's or check-up's place is its institution
    institutions = await institution_names(
        session, institution_ids={view.schedule.institution_id for view in views if view.resource}
    )
    rules = {
        institution_id: await rules_of(session, institution_id)
        for institution_id in {view.schedule.institution_id for view in views}
    }
    now = actor.clock.now()
    rows = [
        {
            "view": view,
            "doctor": doctors.get(view.schedule.practitioner_id),
            "site": practice_sites(doctors[view.schedule.practitioner_id]).get(
                (view.schedule.institution_id, view.schedule.department_code)
            )
            if view.schedule.practitioner_id in doctors
            else None,
            "institution_name": institutions.get(view.schedule.institution_id),
            "time_label": slot_label(view.slot),
            "cancellable": view.queue_number is not None
            and now < cancel_deadline(rules[view.schedule.institution_id], view.schedule.day),
        }
        for view in views
    ]
    patients = {patient.id: patient for patient in await list_patients(session, actor)}
    check_ins = await check_in_states(session, actor, views=views)
    context = {"rows": rows, "patients": patients, "check_ins": check_ins, "yuan": format_yuan}
    return render(request, "booking/appointments.html", context)


@router.post("/appointments/{appointment_id}/cancel", dependencies=CSRF)
async def cancel_submit(
    appointment_id: RecordId, request: Request, session: DbSession, actor: Booker
) -> Response:
    """Cancel one of the account's appointments (another account's is not found)."""
    response = RedirectResponse("/appointments", status_code=303)
    try:
        await cancel_appointment(session, actor, appointment_id=appointment_id)
    except NotFound:
        raise
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, "The appointment was cancelled.")
    return response


# --- institution admins ---------------------------------------------------------------------


def _to_editor(institution_id: int | None) -> RedirectResponse:
    return RedirectResponse("/admin/schedule" + scope_query(institution_id), status_code=303)


async def _editor_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int | None,
    values: dict[str, Any] | None = None,
    rule_values: dict[str, Any] | None = None,
    state: FormState | None = None,
    rule_state: FormState | None = None,
) -> Response:
    """The editor: the next days' sessions, the new-session form and the release rules form
    (``values``/``state`` of a refused submit of either form)."""
    state, rule_state = state or FormState(), rule_state or FormState()
    if institution_id is None:
        return await institution_chooser(
            request, session, actor, target="/admin/schedule", heading="Schedules"
        )
    institution = await institutions.get_managed_institution(
        session, actor, institution_id=institution_id
    )
    today = actor.clock.today_local()
    views = await list_sessions(
        session,
        actor,
        institution_id=institution_id,
        start=today,
        until=today + timedelta(days=EDITOR_DAYS),
    )
    doctors = await practitioners.list_practitioners(
        session, actor, institution_id=institution_id, status="verified", page_size=100
    )
    rules = await get_rules(session, actor, institution_id=institution_id)
    resources = await list_resources(session, actor, institution_id=institution_id)
    context = {
        "institution": institution,
        "resource_names": {resource.id: resource.name for resource in resources},
        "scope": scope_query(institution_id),
        "days": [
            (day, list(group))
            for day, group in itertools.groupby(views, key=lambda v: v.session.day)
        ],
        "doctors": doctors.items,
        "doctor_names": {doctor.id: doctor.name for doctor in doctors.items},
        "half_days": HALF_DAYS,
        "visit_types": VISIT_TYPES,
        "fee_classes": FEE_CLASSES,
        "values": values or {"kind": "once", "day": str(today), "weekdays": []},
        "rule_values": rule_values or vars(rules),
        "rule_errors": rule_state.errors,
        "yuan": format_yuan,
        **state.context(),
    }
    context["notices"] = state.notices + rule_state.notices
    status_code = max(state.status_code, rule_state.status_code)
    return render(request, "booking/admin_schedule.html", context, status_code=status_code)


@router.get("/admin/schedule")
async def editor_page(
    request: Request, session: DbSession, actor: Scheduler, institution_id: InstitutionScope = None
) -> Response:
    """The institution's sessions of the next 30 days, and the forms to add and to set rules."""
    scope = institution_id or actor.institution_id
    return await _editor_page(request, session, actor, institution_id=scope)


@router.post("/admin/schedule/sessions", dependencies=CSRF)
async def create_session_submit(
    request: Request, session: DbSession, actor: Scheduler, institution_id: InstitutionScope = None
) -> Response:
    """Create the one-off session, or the weekly sessions; refusals next to their fields."""
    scope = institution_id or actor.institution_id
    values, form, state = await session_form(request)
    if form is not None and scope is not None:
        try:
            async with session.begin_nested():  # a refusal leaves nothing behind
                created = await create_sessions(
                    session,
                    actor,
                    institution_id=scope,
                    plan=form.plan(form.practitioner_id),
                    days=form.days(),
                )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=SESSION_FORM_FIELDS)
        else:
            response = _to_editor(institution_id)
            flash(request, response, "{count} sessions were scheduled.", count=len(created))
            return response
    return await _editor_page(
        request, session, actor, institution_id=scope, values=values, state=state
    )


@router.post("/admin/schedule/rules", dependencies=CSRF)
async def rules_submit(
    request: Request, session: DbSession, actor: Scheduler, institution_id: InstitutionScope = None
) -> Response:
    """Store the release (放号), cancellation and per-patient rules."""
    scope = institution_id or actor.institution_id
    values: dict[str, Any] = await form_text(request, RULE_FIELDS)
    values["doctors_may_schedule"] = checkbox(values["doctors_may_schedule"])
    form, state = parse_form(RulesSet, values)
    if form is not None and scope is not None:
        try:
            await set_rules(session, actor, institution_id=scope, rules=Rules(**form.model_dump()))
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=RULE_FIELDS)
        else:
            response = _to_editor(institution_id)
            flash(request, response, "The booking rules were saved.")
            return response
    return await _editor_page(
        request, session, actor, institution_id=scope, rule_values=values, rule_state=state
    )


def _session_scope(actor: Actor, institution_id: int | None) -> int:
    """The institution whose session is asked for: the one chosen, else the admin's own."""
    scope = institution_id or actor.institution_id
    if scope is None:
        raise NotFound("booking.session_not_found", "This session does not exist.")
    return scope


@router.get("/admin/schedule/sessions/{session_id}/stop")
async def stop_page(
    session_id: RecordId,
    request: Request,
    session: DbSession,
    actor: Scheduler,
    institution_id: InstitutionScope = None,
) -> Response:
    """停诊, the confirm step: the session and how many booked patients will be told."""
    scope = _session_scope(actor, institution_id)
    view = await get_session(session, actor, institution_id=scope, session_id=session_id)
    context = {
        "view": view,
        "base": "/admin/schedule",
        "scope": scope_query(institution_id),
        "yuan": format_yuan,
    }
    return render(request, "booking/admin_stop.html", context)


@router.post("/admin/schedule/sessions/{session_id}/stop", dependencies=CSRF)
async def stop_submit(
    session_id: RecordId,
    request: Request,
    session: DbSession,
    actor: Scheduler,
    institution_id: InstitutionScope = None,
) -> Response:
    """停诊: stop the session; its patients are told and their appointments cancelled."""
    scope = _session_scope(actor, institution_id)
    return await redirect_after(
        request,
        "/admin/schedule" + scope_query(institution_id),
        stop_session(session, actor, institution_id=scope, session_id=session_id),
        lambda view: Notice(
            "The session of {day} was stopped; its patients are told.",
            "success",
            {"day": str(view.session.day)},
        ),
    )
