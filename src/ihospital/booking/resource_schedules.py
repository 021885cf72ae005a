"""Sessions of a bookable resource (vaccination, check-up) in time windows of explicit capacity.

An admin gives the hours, the length of a window and how many people each window takes
("08:00–11:30, 30-minute windows of 20 people"); the session is cut like a doctor's
(:func:`ihospital.booking.schedules.cut_slots`) with ``capacity = windows × places``, so every
window takes exactly the places asked for. The resource gives the department and the fee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, time

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.availability import OpenSession, released_sessions
from ihospital.booking.models import BookingResource, ScheduleSession
from ihospital.booking.resources import get_offer, managed_resource
from ihospital.booking.schedules import SessionPlan, SessionView, create_sessions, window_count
from ihospital.core.context import Actor
from ihospital.errors import Unprocessable

MAX_PLACES_PER_WINDOW = 1000


@dataclass(frozen=True)
class WindowPlan:
    """The hours of a resource's session and its windows: ``slot_minutes`` long, each taking
    ``places_per_slot`` people."""

    half_day: str
    start_time: time
    end_time: time
    slot_minutes: int
    places_per_slot: int


def window_plan(resource: BookingResource, window: WindowPlan) -> SessionPlan:
    """The session plan of ``window`` for ``resource`` (422 naming the field when the places
    are out of range or the windows do not divide the hours)."""
    if not 1 <= window.places_per_slot <= MAX_PLACES_PER_WINDOW:
        raise Unprocessable(
            "booking.invalid_places_per_slot",
            "Each time window takes from 1 to {max} people.",
            max=MAX_PLACES_PER_WINDOW,
            field="places_per_slot",
        )
    plan = SessionPlan(
        practitioner_id=None,
        resource_id=resource.id,
        department_code=resource.department_code,
        half_day=window.half_day,
        start_time=window.start_time,
        end_time=window.end_time,
        visit_type="in_person",
        fee_class="general",
        fee_fen=resource.fee_fen,
        capacity=window.places_per_slot,
        slot_minutes=window.slot_minutes,
    )
    return replace(plan, capacity=window.places_per_slot * window_count(plan))


async def create_resource_sessions(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    resource_id: int,
    window: WindowPlan,
    days: Sequence[date],
) -> list[SessionView]:
    """Create a session of the resource on each of ``days`` (one-off or the days of a weekly
    schedule): all or none, as for a doctor (:func:`ihospital.booking.schedules.create_sessions`
    refuses a past day, an overlap with the resource's sessions and an inactive resource)."""
    resource = await managed_resource(
        session, actor, institution_id=institution_id, resource_id=resource_id
    )
    return await create_sessions(
        session,
        actor,
        institution_id=institution_id,
        plan=window_plan(resource, window),
        days=days,
    )


async def resource_calendar(
    session: AsyncSession, actor: Actor, *, resource_id: int
) -> tuple[BookingResource, list[OpenSession]]:
    """Public: an active resource and its released sessions from today with the free places of
    each window."""
    resource = await get_offer(session, actor, resource_id=resource_id)
    sessions = await released_sessions(session, actor, ScheduleSession.resource_id == resource.id)
    return resource, sessions
