"""JSON routes of bookable resources: institution admins manage their vaccinations and check-up
packages and schedule their sessions; the public lists an institution's offers and the free
places of each window. Booking, cancelling and checking in are those of every appointment
(``/api/appointments``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ihospital.booking.api import InstitutionId, PublicActor, Scheduler
from ihospital.booking.resource_schedules import create_resource_sessions, resource_calendar
from ihospital.booking.resource_schemas import (
    OfferRead,
    ResourceCreate,
    ResourceKind,
    ResourceRead,
    ResourceSessionCreate,
    ResourceUpdate,
)
from ihospital.booking.resources import (
    ResourceInput,
    create_resource,
    list_offers,
    list_resources,
    update_resource,
)
from ihospital.booking.schemas import SessionRead
from ihospital.deps import DbSession

router = APIRouter(prefix="/api", tags=["booking"])

ResourceId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/institutions/{institution_id}/booking-resources", status_code=201)
async def add_resource(
    institution_id: InstitutionId, body: ResourceCreate, session: DbSession, actor: Scheduler
) -> ResourceRead:
    """Add a vaccination (with its vaccine and dose) or a check-up package (with its items),
    its fee, age and sex limits and preparation notes."""
    resource = await create_resource(
        session, actor, institution_id=institution_id, values=ResourceInput(**body.model_dump())
    )
    return ResourceRead.model_validate(resource)


@router.get("/institutions/{institution_id}/booking-resources")
async def institution_resources(
    institution_id: InstitutionId, session: DbSession, actor: Scheduler
) -> list[ResourceRead]:
    """The institution's resources, inactive ones included."""
    resources = await list_resources(session, actor, institution_id=institution_id)
    return [ResourceRead.model_validate(resource) for resource in resources]


@router.patch("/institutions/{institution_id}/booking-resources/{resource_id}")
async def change_resource(
    institution_id: InstitutionId,
    resource_id: ResourceId,
    body: ResourceUpdate,
    session: DbSession,
    actor: Scheduler,
) -> ResourceRead:
    """Change a resource; ``is_active: false`` withdraws it (no new sessions or bookings)."""
    resource = await update_resource(
        session,
        actor,
        institution_id=institution_id,
        resource_id=resource_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return ResourceRead.model_validate(resource)


@router.post(
    "/institutions/{institution_id}/booking-resources/{resource_id}/sessions", status_code=201
)
async def schedule_resource_sessions(
    institution_id: InstitutionId,
    resource_id: ResourceId,
    body: ResourceSessionCreate,
    session: DbSession,
    actor: Scheduler,
) -> list[SessionRead]:
    """Create a session of the resource on ``day``, or one on each chosen weekday of a
    ``recurrence``, in windows of ``slot_minutes`` each taking ``places_per_slot`` people."""
    views = await create_resource_sessions(
        session,
        actor,
        institution_id=institution_id,
        resource_id=resource_id,
        window=body.window(),
        days=body.days(),
    )
    return [SessionRead.of(view) for view in views]


@router.get("/institutions/{institution_id}/services")
async def institution_offers(
    institution_id: InstitutionId,
    session: DbSession,
    actor: PublicActor,
    kind: Annotated[ResourceKind | None, Query()] = None,
) -> list[ResourceRead]:
    """The institution's vaccinations and check-up packages on offer (one ``kind`` or both)."""
    resources = await list_offers(session, actor, institution_id=institution_id, kind=kind)
    return [ResourceRead.model_validate(resource) for resource in resources]


@router.get("/services/{resource_id}/schedule")
async def offer_schedule(
    resource_id: ResourceId, session: DbSession, actor: PublicActor
) -> OfferRead:
    """A vaccination or check-up with its released sessions and the free places per window;
    book a window's ``slot_id`` through ``POST /api/appointments``."""
    resource, sessions = await resource_calendar(session, actor, resource_id=resource_id)
    return OfferRead.of(resource, sessions)
