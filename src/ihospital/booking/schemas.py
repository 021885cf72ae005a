"""API shapes of booking. Times go out as UTC instants and as Asia/Shanghai labels
("2026-12-01 09:20–09:30"); hours of a session come in as local times of day without a zone."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ihospital.booking.appointments import AppointmentView, local_label
from ihospital.booking.availability import OpenSession
from ihospital.booking.models import Slot
from ihospital.booking.schedules import SessionPlan, SessionView, recurring_days
from ihospital.core.clock import to_local
from ihospital.core.schemas import Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Count = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
HalfDay = Literal["morning", "afternoon", "evening"]
VisitType = Literal["in_person", "online"]
FeeClass = Literal["general", "expert", "special"]
ONE_DAY_OR_WEEKLY_MESSAGE = "Give either a day or a weekly recurrence, not both."


def slot_label(slot: Slot) -> str:
    return f"{local_label(slot.starts_at)}–{to_local(slot.ends_at):%H:%M}"


class Recurrence(Schema):
    start: date
    until: date
    weekdays: Annotated[list[int], Field(min_length=1, max_length=7)]


class SessionDays(Schema):
    """The days of new sessions: one ``day``, or each chosen weekday of a ``recurrence``."""

    day: date | None = None
    recurrence: Recurrence | None = None

    @model_validator(mode="after")
    def _one_day_or_weekly(self) -> SessionDays:
        if (self.day is None) == (self.recurrence is None):
            raise ValueError(ONE_DAY_OR_WEEKLY_MESSAGE)
        return self

    def days(self) -> list[date]:
        """The day of a one-off session, or the days of the weekly recurrence."""
        if self.day is not None:
            return [self.day]
        weekly = self.recurrence
        return recurring_days(weekly.start, weekly.until, weekly.weekdays)


class SessionFields(SessionDays):
    """A doctor's session: place, hours, visit, fee and capacity, on one day or weekly."""

    department_code: Annotated[str, Field(min_length=1, max_length=8)]
    half_day: HalfDay
    start_time: time
    end_time: time
    visit_type: VisitType = "in_person"
    fee_class: FeeClass = "general"
    fee_fen: Count
    capacity: Count
    slot_minutes: Count

    def plan(self, practitioner_id: int) -> SessionPlan:
        return SessionPlan(
            practitioner_id=practitioner_id,
            **self.model_dump(include=set(SessionPlan.__dataclass_fields__) - {"practitioner_id"}),
        )


class SessionCreate(SessionFields):
    """An institution's admin schedules one of its doctors."""

    practitioner_id: Id


class OwnSessionCreate(SessionFields):
    """A doctor schedules themselves at one of the institutions they practise at."""

    institution_id: Id


class SlotRead(Schema):
    id: int
    position: int
    starts_at: datetime
    ends_at: datetime
    label: str
    capacity: int
    booked: int
    free: int

    @classmethod
    def of(cls, slot: Slot, free: int) -> SlotRead:
        return cls(
            id=slot.id,
            position=slot.position,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            label=slot_label(slot),
            capacity=slot.capacity,
            booked=slot.booked,
            free=free,
        )


class SessionRead(Schema):
    id: int
    institution_id: int
    practitioner_id: int | None
    resource_id: int | None  # a vaccination or check-up session has a resource, not a doctor
    department_code: str
    day: date
    half_day: str
    starts_at: datetime
    ends_at: datetime
    visit_type: str
    fee_class: str
    fee_fen: int
    capacity: int
    slot_minutes: int
    status: str
    booked: int
    free: int
    released_at: datetime | None = None
    slots: list[SlotRead]

    @classmethod
    def of(cls, view: SessionView) -> SessionRead:
        row = view.session
        return cls(
            **{name: getattr(row, name) for name in _SESSION_COLUMNS},
            booked=view.booked,
            free=row.capacity - view.booked if row.status == "open" else 0,
            slots=[SlotRead.of(slot, slot.capacity - slot.booked) for slot in view.slots],
        )

    @classmethod
    def released(cls, open_session: OpenSession) -> SessionRead:
        view = open_session.view
        return cls(
            **{name: getattr(view.session, name) for name in _SESSION_COLUMNS},
            booked=view.booked,
            free=open_session.free_total,
            released_at=open_session.released_at,
            slots=[
                SlotRead.of(slot, open_session.free(index)) for index, slot in enumerate(view.slots)
            ],
        )


_SESSION_COLUMNS = (
    "id",
    "institution_id",
    "practitioner_id",
    "resource_id",
    "department_code",
    "day",
    "half_day",
    "starts_at",
    "ends_at",
    "visit_type",
    "fee_class",
    "fee_fen",
    "capacity",
    "slot_minutes",
    "status",
)


class RulesSet(Schema):
    release_days_ahead: Annotated[int, Field(ge=0, le=90)] = 7
    release_time: time = time(8, 0)
    cancel_cutoff_time: time = time(18, 0)
    max_per_doctor_per_day: Annotated[int, Field(ge=1, le=10)] = 1
    max_active_per_institution: Annotated[int, Field(ge=1, le=50)] = 3
    child_age_limit: Annotated[int, Field(ge=1, le=18)] = 14
    check_in_opens_minutes: Annotated[int, Field(ge=0, le=720)] = 60
    check_in_closes_minutes: Annotated[int, Field(ge=0, le=240)] = 15
    doctors_may_schedule: bool = False


class RulesRead(RulesSet):
    institution_id: int


# a client's key: letters, digits, '-' and '_' (a uuid, secrets.token_urlsafe), so it never
# takes the form of the keys the service gives its own appointments (``waitlist:<entry>``)
IdempotencyKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")]


class AppointmentCreate(Schema):
    slot_id: Id
    patient_id: Id
    idempotency_key: IdempotencyKey


class RescheduleCreate(Schema):
    slot_id: Id
    idempotency_key: IdempotencyKey


class AppointmentRead(Schema):
    id: int
    status: str
    patient_id: int
    institution_id: int
    practitioner_id: int | None
    resource_id: int | None
    resource_name: str | None  # the vaccination or check-up booked
    preparation: str | None  # what to do before it (体检需空腹)
    department_code: str
    visit_type: str
    session_id: int
    slot_id: int
    starts_at: datetime
    ends_at: datetime
    time_label: str
    queue_number: int | None
    fee_fen: int
    hold_expires_at: datetime | None
    order_id: int | None  # the billing order to pay while ``pending_payment``
    created_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None

    @classmethod
    def of(cls, view: AppointmentView) -> AppointmentRead:
        appointment, slot, schedule = view.appointment, view.slot, view.schedule
        return cls(
            id=appointment.id,
            status=appointment.status,
            patient_id=appointment.patient_id,
            institution_id=appointment.institution_id,
            practitioner_id=appointment.practitioner_id,
            resource_id=appointment.resource_id,
            resource_name=view.resource.name if view.resource else None,
            preparation=view.resource.preparation if view.resource else None,
            department_code=schedule.department_code,
            visit_type=schedule.visit_type,
            session_id=schedule.id,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            time_label=slot_label(slot),
            queue_number=view.queue_number,
            fee_fen=schedule.fee_fen,
            hold_expires_at=appointment.hold_expires_at,
            order_id=appointment.order_id,
            created_at=appointment.created_at,
            cancelled_at=appointment.cancelled_at,
            cancel_reason=appointment.cancel_reason,
        )


class WaitlistJoin(Schema):
    session_id: Id
    patient_id: Id
    slot_id: Id | None = None  # only this slot; none: any slot of the session


class WaitlistRead(Schema):
    id: int
    session_id: int
    slot_id: int | None
    patient_id: int
    status: str
    appointment_id: int | None
    created_at: datetime
    ended_at: datetime | None
