"""API shapes of bookable resources (vaccinations, check-up packages) and their sessions."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ihospital.booking.availability import OpenSession
from ihospital.booking.models import BookingResource
from ihospital.booking.resource_schedules import WindowPlan
from ihospital.booking.schemas import Count, HalfDay, SessionDays, SessionRead
from ihospital.core.schemas import Schema
from ihospital.directory import validation

ResourceKind = Literal["vaccination", "checkup"]
Sex = Literal["male", "female"]
Name = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(validation.plain_text)]
DepartmentCode = Annotated[str, Field(min_length=1, max_length=8)]
Vaccine = Annotated[str, Field(max_length=128), AfterValidator(validation.plain_text)]
PackageItems = Annotated[str, Field(max_length=2000), AfterValidator(validation.long_text)]
Preparation = Annotated[str, Field(max_length=500), AfterValidator(validation.long_text)]


class ResourceCreate(Schema):
    kind: ResourceKind
    name: Name
    department_code: DepartmentCode
    vaccine: Vaccine = ""  # vaccination: product and dose, "九价HPV疫苗 第1剂"
    package_items: PackageItems = ""  # check-up: what the package includes
    fee_fen: Count = 0
    min_age_years: Count | None = None
    max_age_years: Count | None = None
    sex: Sex | None = None  # only women (妇科套餐) or only men; none: everyone
    preparation: Preparation = ""  # shown on the appointment: "体检需空腹"
    is_active: bool = True


class ResourceUpdate(Schema):
    """The fields to change (the kind stays); ``null`` clears an age limit or the sex."""

    name: Name = None  # type: ignore[assignment]
    department_code: DepartmentCode = None  # type: ignore[assignment]
    vaccine: Vaccine = None  # type: ignore[assignment]
    package_items: PackageItems = None  # type: ignore[assignment]
    fee_fen: Count = None  # type: ignore[assignment]
    min_age_years: Count | None = None
    max_age_years: Count | None = None
    sex: Sex | None = None
    preparation: Preparation = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]


class ResourceRead(Schema):
    id: int
    institution_id: int
    kind: str
    name: str
    department_code: str
    vaccine: str
    package_items: str
    fee_fen: int
    min_age_years: int | None
    max_age_years: int | None
    sex: str | None
    preparation: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ResourceSessionCreate(SessionDays):
    """Sessions of a resource: its hours cut into windows of ``slot_minutes``, each taking
    ``places_per_slot`` people (08:00–11:30 in 30-minute windows of 20)."""

    half_day: HalfDay
    start_time: time
    end_time: time
    slot_minutes: Count
    places_per_slot: Count

    def window(self) -> WindowPlan:
        return WindowPlan(**self.model_dump(exclude={"day", "recurrence"}))


class OfferRead(Schema):
    """A vaccination or check-up with its released sessions and the free places per window."""

    resource: ResourceRead
    sessions: list[SessionRead]

    @classmethod
    def of(cls, resource: BookingResource, sessions: list[OpenSession]) -> OfferRead:
        return cls(
            resource=ResourceRead.model_validate(resource),
            sessions=[SessionRead.released(open_session) for open_session in sessions],
        )
