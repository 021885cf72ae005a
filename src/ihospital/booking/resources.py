"""Bookable non-doctor resources: vaccinations (疫苗接种) and check-up packages (体检套餐).

They are booked on the same engine as doctors: a resource has sessions cut into time windows
(slots) that each take a number of people, and the release (放号), payment hold, cancellation,
waitlist, check-in and no-show rules are those of every appointment. What differs is who may
book: one active appointment per 就诊人, resource and day (instead of per doctor), and the
resource's own age and sex limits, read from the 就诊人's real-name identity. Institution admins
create and edit their resources; the public sees the active ones.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields, replace

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.models import (
    ACTIVE_STATUSES,
    RESOURCE_KINDS,
    RESOURCE_SEXES,
    Appointment,
    BookingResource,
    ScheduleSession,
)
from ihospital.core.context import Actor
from ihospital.directory.access import get_institution_row, managed_institution
from ihospital.directory.institutions import get_institution
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.models import Patient
from ihospital.identity.patients import patient_age

MAX_AGE_YEARS = 150
AGE_LIMIT_MESSAGES = {
    "range": "This service is for people aged {min_age} to {max_age}.",
    "min": "This service is for people aged {min_age} or older.",
    "max": "This service is for people aged {max_age} or younger.",
}
SEX_LIMIT_MESSAGES = {
    "female": "This service is for women only.",
    "male": "This service is for men only.",
}


@dataclass(frozen=True)
class ResourceInput:
    """What an admin gives for a resource (every field; an edit changes some of them)."""

    kind: str
    name: str
    department_code: str
    vaccine: str = ""
    package_items: str = ""
    fee_fen: int = 0
    min_age_years: int | None = None
    max_age_years: int | None = None
    sex: str | None = None
    preparation: str = ""
    is_active: bool = True


RESOURCE_FIELDS = tuple(field.name for field in fields(ResourceInput))


def _invalid(field: str, message: str, **values: object) -> Unprocessable:
    return Unprocessable(f"booking.invalid_{field}", message, field=field, **values)


def resource_not_found() -> NotFound:
    return NotFound("booking.resource_not_found", "This service does not exist.")


def resource_inactive() -> Conflict:
    return Conflict("booking.resource_inactive", "This service is no longer offered.")


async def _check(
    session: AsyncSession, actor: Actor, *, institution_id: int, resource: ResourceInput
) -> None:
    """The rules every stored resource keeps (the database backs the ones it can)."""
    if resource.kind not in RESOURCE_KINDS:
        raise _invalid("kind", "Choose vaccination or check-up.")
    if not resource.name.strip():
        raise _invalid("name", "Enter the name of the service.")
    if resource.kind == "vaccination" and not resource.vaccine.strip():
        raise _invalid("vaccine", "Name the vaccine and the dose, e.g. 九价HPV疫苗 第1剂.")
    if resource.kind == "checkup" and not resource.package_items.strip():
        raise _invalid("package_items", "List the items of the check-up package.")
    if resource.fee_fen < 0:
        raise _invalid("fee_fen", "The fee of the service cannot be negative.")
    for name in ("min_age_years", "max_age_years"):
        age = getattr(resource, name)
        if age is not None and not 0 <= age <= MAX_AGE_YEARS:
            raise _invalid(name, "Enter an age from 0 to {max} years.", max=MAX_AGE_YEARS)
    if (
        resource.min_age_years is not None
        and resource.max_age_years is not None
        and resource.min_age_years > resource.max_age_years
    ):
        raise _invalid("max_age_years", "The highest age must not be below the lowest age.")
    if resource.sex is not None and resource.sex not in RESOURCE_SEXES:
        raise _invalid("sex", "Choose women or men, or leave it open to everyone.")
    institution = await get_institution(session, actor, institution_id=institution_id)
    if resource.department_code not in {item.department.code for item in institution.departments}:
        raise _invalid(
            "department_code",
            "{institution} has no department {code}; add the department first.",
            institution=institution.name,
            code=resource.department_code,
        )


async def create_resource(
    session: AsyncSession, actor: Actor, *, institution_id: int, values: ResourceInput
) -> BookingResource:
    """Add a vaccination or check-up package to an institution the actor manages (audited)."""
    await managed_institution(session, actor, institution_id)
    await _check(session, actor, institution_id=institution_id, resource=values)
    now = actor.clock.now()
    resource = BookingResource(
        institution_id=institution_id, created_at=now, updated_at=now, **vars(values)
    )
    session.add(resource)
    await session.flush()
    await record(
        session,
        actor,
        action="booking.resource.create",
        subject_type="booking_resource",
        subject_id=resource.id,
        details={"institution_id": institution_id, "kind": resource.kind},
    )
    return resource


async def managed_resource(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    resource_id: int,
    for_update: bool = False,
) -> BookingResource:
    """A resource of an institution the actor manages (404 when it is another institution's)."""
    await managed_institution(session, actor, institution_id)
    statement = select(BookingResource).where(
        BookingResource.id == resource_id, BookingResource.institution_id == institution_id
    )
    if for_update:
        statement = statement.with_for_update()
    resource = await session.scalar(statement)
    if resource is None:
        raise resource_not_found()
    return resource


async def update_resource(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    resource_id: int,
    changes: dict[str, object],
) -> BookingResource:
    """Change a resource (its kind stays); ``is_active`` false withdraws it: no new sessions
    or bookings, appointments already made stay. Sessions keep the fee they were created with.
    All or nothing (audited)."""
    resource = await managed_resource(
        session, actor, institution_id=institution_id, resource_id=resource_id, for_update=True
    )
    current = ResourceInput(**{name: getattr(resource, name) for name in RESOURCE_FIELDS})
    changed = replace(current, **changes)
    await _check(session, actor, institution_id=institution_id, resource=changed)
    for name, value in changes.items():
        setattr(resource, name, value)
    resource.updated_at = actor.clock.now()
    await session.flush()
    await record(
        session,
        actor,
        action="booking.resource.update",
        subject_type="booking_resource",
        subject_id=resource.id,
        details={"changed": sorted(changes)},
    )
    return resource


async def list_resources(
    session: AsyncSession, actor: Actor, *, institution_id: int
) -> list[BookingResource]:
    """Every resource of an institution the actor manages, active first, then by kind, name."""
    await managed_institution(session, actor, institution_id)
    return list(
        (
            await session.scalars(
                select(BookingResource)
                .where(BookingResource.institution_id == institution_id)
                .order_by(
                    BookingResource.is_active.desc(), BookingResource.kind, BookingResource.name
                )
            )
        ).all()
    )


async def list_offers(
    session: AsyncSession, actor: Actor, *, institution_id: int, kind: str | None = None
) -> list[BookingResource]:
    """Public: an institution's active vaccinations and check-up packages (one ``kind`` or
    both), by kind and name."""
    await get_institution_row(session, institution_id)
    statement = select(BookingResource).where(
        BookingResource.institution_id == institution_id, BookingResource.is_active
    )
    if kind is not None:
        statement = statement.where(BookingResource.kind == kind)
    return list(
        (
            await session.scalars(statement.order_by(BookingResource.kind, BookingResource.name))
        ).all()
    )


async def get_offer(session: AsyncSession, actor: Actor, *, resource_id: int) -> BookingResource:
    """Public: one active resource (an inactive one is not found)."""
    resource = await session.get(BookingResource, resource_id)
    if resource is None or not resource.is_active:
        raise resource_not_found()
    return resource


async def resources_by_id(
    session: AsyncSession, resource_ids: Collection[int]
) -> dict[int, BookingResource]:
    """The resources of the given ids in one query (none asked: none read), for the views of
    sessions and appointments."""
    if not resource_ids:
        return {}
    rows = await session.scalars(
        select(BookingResource).where(BookingResource.id.in_(set(resource_ids)))
    )
    return {row.id: row for row in rows}


async def schedulable_resource(
    session: AsyncSession, *, institution_id: int, resource_id: int
) -> BookingResource:
    """The active resource of ``institution_id``, locked: one admin at a time schedules it, so
    two requests cannot both find no overlapping session."""
    resource = await session.scalar(
        select(BookingResource)
        .where(BookingResource.id == resource_id, BookingResource.institution_id == institution_id)
        .with_for_update()
    )
    if resource is None:
        raise resource_not_found()
    if not resource.is_active:
        raise resource_inactive()
    return resource


def age_refusal(resource: BookingResource, age: int) -> Unprocessable | None:
    """The refusal of a 就诊人 of ``age`` (years) by the resource's age limits, or None."""
    low, high = resource.min_age_years, resource.max_age_years
    if (low is None or age >= low) and (high is None or age <= high):
        return None
    which = "range" if low is not None and high is not None else "min" if low is not None else "max"
    return Unprocessable(
        "booking.age_not_eligible",
        AGE_LIMIT_MESSAGES[which],
        min_age=low,
        max_age=high,
        field="patient_id",
    )


async def check_resource_rules(
    session: AsyncSession,
    *,
    patient: Patient,
    schedule: ScheduleSession,
    others: tuple[ColumnElement[bool], ...] = (),
) -> None:
    """The rules of booking a resource's session for ``patient`` (locked by the caller): the
    resource is still offered, the 就诊人's age on the day and sex fit its limits (422 naming
    the limit), and the 就诊人 holds no other active appointment of it that day (``others``:
    conditions leaving out an appointment being moved)."""
    resource = await session.get_one(BookingResource, schedule.resource_id)
    if not resource.is_active:
        raise resource_inactive()
    if (refusal := age_refusal(resource, patient_age(patient, schedule.day))) is not None:
        raise refusal
    if resource.sex is not None and patient.sex != resource.sex:
        raise Unprocessable(
            "booking.sex_not_eligible",
            SEX_LIMIT_MESSAGES[resource.sex],
            sex=resource.sex,
            field="patient_id",
        )
    same_day = await session.scalar(
        select(func.count(Appointment.id)).where(
            Appointment.patient_id == patient.id,
            Appointment.resource_id == resource.id,
            Appointment.day == schedule.day,
            Appointment.status.in_(ACTIVE_STATUSES),
            *others,
        )
    )
    if same_day:
        raise Conflict(
            "booking.resource_day_limit",
            "This patient already has an appointment for this service on this day.",
        )
