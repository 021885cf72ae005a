"""JSON routes of booking: admins' sessions (出诊) and booking rules, doctors' own sessions
(where their institution allows), a doctor's public schedule, and patients' appointments."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from ihospital.booking.admission import admitted
from ihospital.booking.appointments import book_slot, list_appointments
from ihospital.booking.availability import doctor_schedule
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.fairness.flags import note_booking
from ihospital.booking.fairness.limits import admit_booking
from ihospital.booking.own_schedule import own_sessions, stop_own_session
from ihospital.booking.reschedule import reschedule_appointment
from ihospital.booking.rules import Rules, get_rules, set_rules
from ihospital.booking.schedules import (
    create_sessions,
    list_sessions,
    stop_session,
)
from ihospital.booking.schemas import (
    AppointmentCreate,
    AppointmentRead,
    OwnSessionCreate,
    RescheduleCreate,
    RulesRead,
    RulesSet,
    SessionCreate,
    SessionRead,
    WaitlistJoin,
    WaitlistRead,
)
from ihospital.booking.waitlist import join_waitlist, leave_waitlist, list_waitlist
from ihospital.core.context import Actor
from ihospital.deps import DbSession, optional_actor, require
from ihospital.directory.access import own_practitioner
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["booking"])

Scheduler = Annotated[Actor, Depends(require(Permission.SCHEDULES_MANAGE))]
SelfScheduler = Annotated[Actor, Depends(require(Permission.SCHEDULE_OWN))]
Booker = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_OWN))]
PublicActor = Annotated[Actor, Depends(optional_actor)]
Admitted = Depends(admitted, scope="function")
InstitutionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
SessionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PractitionerId = Annotated[int, Path(ge=1, le=2**63 - 1)]
AppointmentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/institutions/{institution_id}/booking-rules")
async def read_booking_rules(
    institution_id: InstitutionId, session: DbSession, actor: Scheduler
) -> RulesRead:
    """The institution's release (放号), cancellation and per-patient booking rules."""
    rules = await get_rules(session, actor, institution_id=institution_id)
    return RulesRead(institution_id=institution_id, **vars(rules))


@router.put("/institutions/{institution_id}/booking-rules")
async def replace_booking_rules(
    institution_id: InstitutionId, body: RulesSet, session: DbSession, actor: Scheduler
) -> RulesRead:
    """Set the institution's booking rules; fields left out take their defaults."""
    rules = await set_rules(
        session, actor, institution_id=institution_id, rules=Rules(**body.model_dump())
    )
    return RulesRead(institution_id=institution_id, **vars(rules))


@router.post("/institutions/{institution_id}/sessions", status_code=201)
async def schedule_sessions(
    institution_id: InstitutionId, body: SessionCreate, session: DbSession, actor: Scheduler
) -> list[SessionRead]:
    """Create a session on ``day``, or one on each chosen weekday of a ``recurrence``."""
    views = await create_sessions(
        session,
        actor,
        institution_id=institution_id,
        plan=body.plan(body.practitioner_id),
        days=body.days(),
    )
    return [SessionRead.of(view) for view in views]


@router.get("/institutions/{institution_id}/sessions")
async def institution_sessions(
    institution_id: InstitutionId,
    session: DbSession,
    actor: Scheduler,
    start: Annotated[date | None, Query(alias="from")] = None,
    until: Annotated[date | None, Query(alias="to")] = None,
    practitioner_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    resource_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[SessionRead]:
    """The institution's sessions between two days (by default the next 30 days); only one
    doctor's (``practitioner_id``) or one vaccination's or check-up's (``resource_id``) when
    asked."""
    start = start or actor.clock.today_local()
    views = await list_sessions(
        session,
        actor,
        institution_id=institution_id,
        start=start,
        until=until or start + timedelta(days=30),
        practitioner_id=practitioner_id,
        resource_id=resource_id,
    )
    return [SessionRead.of(view) for view in views]


@router.post("/institutions/{institution_id}/sessions/{session_id}/stop")
async def stop(
    institution_id: InstitutionId, session_id: SessionId, session: DbSession, actor: Scheduler
) -> SessionRead:
    """停诊: stop the session and cancel its appointments (each patient is told)."""
    view = await stop_session(session, actor, institution_id=institution_id, session_id=session_id)
    return SessionRead.of(view)


@router.get("/doctor/sessions")
async def my_sessions(
    session: DbSession,
    actor: SelfScheduler,
    start: Annotated[date | None, Query(alias="from")] = None,
    until: Annotated[date | None, Query(alias="to")] = None,
) -> list[SessionRead]:
    """The signed-in doctor's sessions at every institution between two days (by default the
    next 30 days)."""
    start = start or actor.clock.today_local()
    views = await own_sessions(
        session, actor, start=start, until=until or start + timedelta(days=30)
    )
    return [SessionRead.of(view) for view in views]


@router.post("/doctor/sessions", status_code=201)
async def schedule_myself(
    body: OwnSessionCreate, session: DbSession, actor: SelfScheduler
) -> list[SessionRead]:
    """A doctor schedules themselves at an institution they practise at, if its booking rules
    let doctors schedule themselves (else 403): a session on ``day`` or weekly."""
    doctor = await own_practitioner(session, actor)
    views = await create_sessions(
        session,
        actor,
        institution_id=body.institution_id,
        plan=body.plan(doctor.id),
        days=body.days(),
    )
    return [SessionRead.of(view) for view in views]


@router.post("/doctor/sessions/{session_id}/stop")
async def stop_mine(session_id: SessionId, session: DbSession, actor: SelfScheduler) -> SessionRead:
    """停诊 of one of one's own sessions, where the institution allows doctors to schedule
    themselves; its patients are told."""
    return SessionRead.of(await stop_own_session(session, actor, session_id=session_id))


@router.get("/doctors/{practitioner_id}/schedule")
async def public_schedule(
    practitioner_id: PractitionerId, session: DbSession, actor: PublicActor
) -> list[SessionRead]:
    """The doctor's released sessions with their free places per slot."""
    sessions = await doctor_schedule(session, actor, practitioner_id=practitioner_id)
    return [SessionRead.released(open_session) for open_session in sessions]


@router.post("/appointments", status_code=201, dependencies=[Admitted])
async def book(
    body: AppointmentCreate, request: Request, session: DbSession, actor: Booker
) -> AppointmentRead:
    """Book a slot for one of the account's 就诊人; the same idempotency key answers the same
    appointment. With a registration fee it is held ``pending_payment`` until ``order_id`` is
    paid. Too many attempts from the account or IP get 429 (防号贩子). In a flash crowd the
    bookings are let in a few at a time, in arrival order."""
    device_hash = await admit_booking(request, actor)
    view = await book_slot(
        session,
        actor,
        slot_id=body.slot_id,
        patient_id=body.patient_id,
        idempotency_key=body.idempotency_key,
    )
    await note_booking(session, actor, view=view, device_hash=device_hash)
    return AppointmentRead.of(view)


@router.get("/appointments")
async def my_appointments(session: DbSession, actor: Booker) -> list[AppointmentRead]:
    """The appointments of the account's 就诊人, latest visit first."""
    return [AppointmentRead.of(view) for view in await list_appointments(session, actor)]


@router.post("/appointments/{appointment_id}/cancel")
async def cancel(
    appointment_id: AppointmentId, session: DbSession, actor: Booker
) -> AppointmentRead:
    """Cancel an appointment (until the institution's cutoff, by default 18:00 the day
    before)."""
    return AppointmentRead.of(
        await cancel_appointment(session, actor, appointment_id=appointment_id)
    )


@router.post("/appointments/{appointment_id}/reschedule")
async def reschedule(
    appointment_id: AppointmentId,
    body: RescheduleCreate,
    request: Request,
    session: DbSession,
    actor: Booker,
) -> AppointmentRead:
    """改约: move the appointment to another free slot of the same doctor, department, kind of
    visit and fee, until the cutoff of its day; the payment carries over and the freed place goes
    to the waitlist. The same idempotency key answers the same move. Counts as a booking attempt
    against the rate limits (429)."""
    await admit_booking(request, actor)
    view = await reschedule_appointment(
        session,
        actor,
        appointment_id=appointment_id,
        slot_id=body.slot_id,
        idempotency_key=body.idempotency_key,
    )
    return AppointmentRead.of(view)


@router.post("/waitlist", status_code=201)
async def join(body: WaitlistJoin, session: DbSession, actor: Booker) -> WaitlistRead:
    """候补: wait for a place in a full session (or one full slot); joining again answers the
    same entry. A freed place is offered automatically and appears in the appointments."""
    entry = await join_waitlist(
        session, actor, session_id=body.session_id, patient_id=body.patient_id, slot_id=body.slot_id
    )
    return WaitlistRead.model_validate(entry)


@router.get("/waitlist")
async def my_waitlist(session: DbSession, actor: Booker) -> list[WaitlistRead]:
    """The waitlist entries of the account's 就诊人, newest first."""
    return [WaitlistRead.model_validate(entry) for entry in await list_waitlist(session, actor)]


@router.post("/waitlist/{entry_id}/leave")
async def leave(entry_id: EntryId, session: DbSession, actor: Booker) -> WaitlistRead:
    """Stop waiting."""
    return WaitlistRead.model_validate(await leave_waitlist(session, actor, entry_id=entry_id))
