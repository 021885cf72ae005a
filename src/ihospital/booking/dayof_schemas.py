"""API shapes of the day of the visit: a check-in, the day lists (a doctor's, an institution's
vaccinations and check-ups), attendance marks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from ihospital.booking.dayof import DaySession, VisitView
from ihospital.booking.schemas import slot_label
from ihospital.booking.suspensions import NoShowRow
from ihospital.core.schemas import Schema


class AttendanceSet(Schema):
    outcome: Literal["attended", "no_show"]


class PatientCardRead(Schema):
    """The patient as a day list shows them (the name masked for staff who do not treat them)."""

    name: str
    sex: Literal["male", "female"]
    age: int


class VisitRead(Schema):
    appointment_id: int
    patient_id: int
    patient: PatientCardRead | None  # on a day list only
    session_id: int
    slot_id: int
    starts_at: datetime
    time_label: str
    status: str
    checked_in_at: datetime | None
    queue_number: int | None
    outcome_at: datetime | None

    @classmethod
    def of(cls, view: VisitView) -> VisitRead:
        appointment, visit = view.appointment, view.visit
        return cls(
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            patient=PatientCardRead.model_validate(view.patient) if view.patient else None,
            session_id=appointment.session_id,
            slot_id=view.slot.id,
            starts_at=view.slot.starts_at,
            time_label=slot_label(view.slot),
            status=view.status,
            checked_in_at=visit.checked_in_at if visit else None,
            queue_number=visit.queue_number if visit else None,
            outcome_at=visit.outcome_at if visit else None,
        )


class DaySessionRead(Schema):
    session_id: int
    institution_id: int
    resource_id: int | None  # a vaccination's or check-up's session
    department_code: str
    day: date
    half_day: str
    starts_at: datetime
    ends_at: datetime
    status: str
    visits: list[VisitRead]

    @classmethod
    def of(cls, day: DaySession) -> DaySessionRead:
        row = day.schedule
        return cls(
            session_id=row.id,
            institution_id=row.institution_id,
            resource_id=row.resource_id,
            department_code=row.department_code,
            day=row.day,
            half_day=row.half_day,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=row.status,
            visits=[VisitRead.of(view) for view in day.visits],
        )


class SuspensionRead(Schema):
    id: int
    patient_id: int
    institution_id: int
    no_show_count: int
    starts_at: datetime
    ends_at: datetime
    lifted_at: datetime | None
    lifted_by_account_id: int | None
    lift_reason: str | None


class SuspensionLift(Schema):
    reason: str = Field(min_length=1, max_length=200)


class NoShowRead(Schema):
    """A 就诊人 on the institution's no-show list, the name masked."""

    patient_id: int
    patient: PatientCardRead | None
    no_shows: int
    last_no_show_at: datetime
    suspension: SuspensionRead | None

    @classmethod
    def of(cls, row: NoShowRow) -> NoShowRead:
        return cls(
            patient_id=row.patient_id,
            patient=PatientCardRead.model_validate(row.patient) if row.patient else None,
            no_shows=row.no_shows,
            last_no_show_at=row.last_no_show_at,
            suspension=SuspensionRead.model_validate(row.suspension) if row.suspension else None,
        )
