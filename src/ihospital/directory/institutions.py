"""Institutions (医疗机构): registration, editing, public listing, licence expiry (R14)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory import validation
from ihospital.directory.access import SYSTEM_ROLE, get_institution_row, managed_institution
from ihospital.directory.departments import InstitutionDepartmentView
from ihospital.directory.eligibility import licence_valid
from ihospital.directory.models import (
    INSTITUTION_LEVELS,
    DepartmentCode,
    Institution,
    InstitutionDepartment,
)
from ihospital.directory.views import PageResult, rows_page
from ihospital.errors import Conflict, Forbidden, Unprocessable
from ihospital.security.permissions import Permission, has_permission

EDITABLE_FIELDS = (
    "name",
    "level",
    "region_code",
    "region_name",
    "address",
    "phone",
    "is_internet_hospital",
    "internet_licence_number",
    "internet_licence_expires_on",
    "upper_institution_id",
)
_TEXT_CHECKS: dict[str, Callable[[str], str]] = {
    "name": validation.proper_name,
    "region_code": validation.region_code,
    "region_name": validation.proper_name,
    "address": validation.plain_text,
    "phone": validation.phone,
    "internet_licence_number": validation.plain_text,
}


def region_matches(column: Any, region_code: str) -> ColumnElement[bool]:
    """A GB/T 2260 code selects its whole area: ``110000`` (a province) matches every code
    beginning ``11``, ``110100`` (a city) every code beginning ``1101``, others exactly."""
    if region_code.endswith("0000"):
        return column.startswith(region_code[:2], autoescape=True)
    if region_code.endswith("00"):
        return column.startswith(region_code[:4], autoescape=True)
    return column == region_code


def _checked(values: Mapping[str, Any]) -> None:
    validation.check_fields(values, _TEXT_CHECKS)
    if "level" in values and values["level"] not in INSTITUTION_LEVELS:
        raise Unprocessable(
            "directory.level_unknown", "Choose one of the institution levels.", field="level"
        )


def _check_licence(institution: Institution) -> None:
    if institution.is_internet_hospital:
        for field in ("internet_licence_number", "internet_licence_expires_on"):
            if not getattr(institution, field):
                raise Unprocessable(
                    "directory.licence_required",
                    "An internet hospital needs its licence number and expiry date.",
                    field=field,
                )
    elif institution.internet_licence_number or institution.internet_licence_expires_on:
        raise Unprocessable(
            "directory.licence_without_internet_hospital",
            "Only an internet hospital has an internet hospital licence.",
            field="is_internet_hospital",
        )


async def _check_upper(session: AsyncSession, institution: Institution) -> None:
    """The 医联体 upper institution exists and the chain of uppers has no loop."""
    upper_id = institution.upper_institution_id
    seen: set[int] = set()
    while upper_id is not None:
        if upper_id == institution.id or upper_id in seen:
            raise Unprocessable(
                "directory.upper_cycle",
                "An institution cannot be its own upper institution, even indirectly.",
                field="upper_institution_id",
            )
        seen.add(upper_id)
        upper = await session.get(Institution, upper_id)
        if upper is None:
            raise Unprocessable(
                "directory.upper_unknown",
                "The upper institution does not exist.",
                field="upper_institution_id",
            )
        upper_id = upper.upper_institution_id


def _name_taken(name: str) -> Conflict:
    return Conflict(
        "directory.institution_name_taken",
        "An institution named {name} already exists.",
        name=name,
        field="name",
    )


async def _check_state(session: AsyncSession, institution: Institution) -> None:
    """``institution`` as it would be saved: the licence, the 医联体 upper chain, a free name."""
    _check_licence(institution)
    await _check_upper(session, institution)
    others = select(Institution.id).where(Institution.name == institution.name)
    if institution.id is not None:
        others = others.where(Institution.id != institution.id)
    if await session.scalar(others) is not None:
        raise _name_taken(institution.name)


async def _flush_unique_name(session: AsyncSession, institution: Institution) -> None:
    """Flush, turning a name taken concurrently into a clear conflict."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise _name_taken(institution.name) from None


async def create_institution(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    level: str,
    region_code: str,
    region_name: str,
    address: str = "",
    phone: str = "",
    is_internet_hospital: bool = False,
    internet_licence_number: str = "",
    internet_licence_expires_on: date | None = None,
    upper_institution_id: int | None = None,
) -> Institution:
    """Register an institution (platform admins). An internet hospital needs its licence number
    and expiry date (R14); the upper institution (医联体) must exist."""
    if actor.role != SYSTEM_ROLE and not has_permission(actor.role, Permission.INSTITUTION_CREATE):
        raise Forbidden("auth.forbidden", "Your role may not do this.")
    values = {
        "name": name,
        "level": level,
        "region_code": region_code,
        "region_name": region_name,
        "address": address,
        "phone": phone,
        "is_internet_hospital": is_internet_hospital,
        "internet_licence_number": internet_licence_number,
        "internet_licence_expires_on": internet_licence_expires_on,
        "upper_institution_id": upper_institution_id,
    }
    _checked(values)
    institution = Institution(**values, created_at=actor.clock.now())
    await _check_state(session, institution)
    session.add(institution)
    await _flush_unique_name(session, institution)
    await record(
        session,
        actor,
        action="institution.create",
        subject_type="institution",
        subject_id=institution.id,
        details={key: value for key, value in values.items() if value not in ("", None)},
    )
    return institution


async def update_institution(
    session: AsyncSession, actor: Actor, *, institution_id: int, changes: Mapping[str, Any]
) -> Institution:
    """Change an institution's details: its own admin or a platform admin. Renewing the internet
    hospital licence is a change of ``internet_licence_expires_on`` (R14)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise Unprocessable(
            "directory.field_not_editable", "The field {field} cannot be changed.", field=field
        )
    institution = await managed_institution(session, actor, institution_id)
    _checked(changes)
    current = {field: getattr(institution, field) for field in EDITABLE_FIELDS}
    changed = {
        field: [current[field], value]
        for field, value in changes.items()
        if current[field] != value
    }
    if not changed:
        return institution
    # Checked on a detached copy, so a refused change never leaves the row modified.
    await _check_state(session, Institution(id=institution.id, **(current | dict(changes))))
    for field, value in changes.items():
        setattr(institution, field, value)
    await _flush_unique_name(session, institution)
    await record(
        session,
        actor,
        action="institution.update",
        subject_type="institution",
        subject_id=institution.id,
        details=changed,
    )
    return institution


async def list_institutions(
    session: AsyncSession,
    actor: Actor,
    *,
    region_code: str | None = None,
    level: str | None = None,
    is_internet_hospital: bool | None = None,
    page: int = 1,
    page_size: int = 20,
) -> PageResult[Institution]:
    """Public: institutions by region (a province or city code covers its area), level and
    whether they are internet hospitals, ordered by name."""
    conditions = []
    if region_code:
        conditions.append(region_matches(Institution.region_code, region_code))
    if level:
        conditions.append(Institution.level == level)
    if is_internet_hospital is not None:
        conditions.append(Institution.is_internet_hospital.is_(is_internet_hospital))
    items, total = await rows_page(
        session,
        Institution,
        conditions=conditions,
        order_by=(Institution.name, Institution.id),
        page=page,
        page_size=page_size,
    )
    return PageResult(items, total, page, page_size)


@dataclass(frozen=True)
class InstitutionDetailView:
    """An institution with its departments, its upper institution and its consortium members."""

    institution: Institution
    internet_licence_valid: bool
    upper_institution: Institution | None
    members: list[Institution]
    departments: list[InstitutionDepartmentView]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.institution, name)


async def get_institution(
    session: AsyncSession, actor: Actor, *, institution_id: int
) -> InstitutionDetailView:
    """Public: one institution with its departments and 医联体 links."""
    institution = await get_institution_row(session, institution_id)
    departments = (
        await session.execute(
            select(InstitutionDepartment, DepartmentCode)
            .join(DepartmentCode, DepartmentCode.code == InstitutionDepartment.department_code)
            .where(InstitutionDepartment.institution_id == institution_id)
            .order_by(DepartmentCode.code)
        )
    ).all()
    members = (
        await session.scalars(
            select(Institution)
            .where(Institution.upper_institution_id == institution_id)
            .order_by(Institution.name)
        )
    ).all()
    upper = (
        await session.get(Institution, institution.upper_institution_id)
        if institution.upper_institution_id
        else None
    )
    return InstitutionDetailView(
        institution=institution,
        internet_licence_valid=licence_valid(institution, actor.clock.today_local()),
        upper_institution=upper,
        members=list(members),
        departments=[
            InstitutionDepartmentView(code, row.local_name, row.offers_online)
            for row, code in departments
        ],
    )


async def get_managed_institution(
    session: AsyncSession, actor: Actor, *, institution_id: int
) -> InstitutionDetailView:
    """One institution the actor manages, with its departments (403 when it is not theirs):
    what the admin pages show."""
    await managed_institution(session, actor, institution_id)
    return await get_institution(session, actor, institution_id=institution_id)


@dataclass(frozen=True)
class ExpiringLicence:
    institution_id: int
    name: str
    region_code: str
    licence_number: str
    expires_on: date
    days_left: int  # negative once expired


async def licence_expiring(
    session: AsyncSession, actor: Actor, *, within_days: int
) -> list[ExpiringLicence]:
    """Internet hospitals whose licence expires within ``within_days`` of today (Asia/Shanghai)
    or has already expired, soonest first: the seam of supervision rule R14."""
    today = actor.clock.today_local()
    rows = (
        await session.scalars(
            select(Institution)
            .where(
                Institution.is_internet_hospital.is_(True),
                Institution.internet_licence_expires_on <= today + timedelta(days=within_days),
            )
            .order_by(Institution.internet_licence_expires_on, Institution.id)
        )
    ).all()
    return [
        ExpiringLicence(
            institution_id=row.id,
            name=row.name,
            region_code=row.region_code,
            licence_number=row.internet_licence_number,
            expires_on=row.internet_licence_expires_on,
            days_left=(row.internet_licence_expires_on - today).days,
        )
        for row in rows
        if row.internet_licence_expires_on is not None
    ]


async def institution_names(
    session: AsyncSession, *, institution_ids: Collection[int]
) -> dict[int, str]:
    """Public: the names of the given institutions by id, in one query, for the listings of
    other domains (billing's finance figures) that show which institution a row belongs to."""
    if not institution_ids:
        return {}
    rows = await session.execute(
        select(Institution.id, Institution.name).where(Institution.id.in_(set(institution_ids)))
    )
    return {institution_id: name for institution_id, name in rows.all()}
