"""Departments: the national 诊疗科目 codes and the departments each institution runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory import validation
from ihospital.directory.access import managed_institution
from ihospital.directory.models import DepartmentCode, InstitutionDepartment, PracticeSite
from ihospital.errors import Conflict, NotFound, Unprocessable


@dataclass(frozen=True)
class InstitutionDepartmentView:
    """A department an institution runs: the national entry and the local details."""

    department: DepartmentCode
    local_name: str
    offers_online: bool


def department_and_subspecialties(column: Any, code: str) -> ColumnElement[bool]:
    """``03`` selects 内科 and its sub-specialties 03.01 … 03.10."""
    return or_(column == code, column.startswith(f"{code}.", autoescape=True))


async def list_department_codes(session: AsyncSession, actor: Actor) -> list[DepartmentCode]:
    """Public: 《医疗机构诊疗科目名录》 in code order."""
    return list((await session.scalars(select(DepartmentCode).order_by(DepartmentCode.code))).all())


async def known_department(
    session: AsyncSession, code: str, *, field: str = "department_code"
) -> DepartmentCode:
    """The national department with this code, or a 422 naming ``field``."""
    try:
        validation.department_code(code)
    except ValueError as error:
        raise Unprocessable("directory.department_code_invalid", str(error), field=field) from None
    department = await session.get(DepartmentCode, code)
    if department is None:
        raise Unprocessable(
            "directory.department_unknown",
            "There is no department with the code {code} in the national list.",
            code=code,
            field=field,
        )
    return department


async def add_department(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    department_code: str,
    local_name: str = "",
    offers_online: bool = False,
) -> InstitutionDepartmentView:
    """Add a department to the actor's institution, or change its local name and whether it
    offers online services (only an internet hospital does)."""
    institution = await managed_institution(session, actor, institution_id)
    department = await known_department(session, department_code)
    try:
        validation.proper_name(local_name)
    except ValueError as error:
        raise Unprocessable(
            "directory.local_name_invalid", str(error), field="local_name"
        ) from None
    if offers_online and not institution.is_internet_hospital:
        raise Unprocessable(
            "directory.online_needs_internet_hospital",
            "Only an internet hospital can offer online services.",
            field="offers_online",
        )
    row = await session.scalar(
        select(InstitutionDepartment).where(
            InstitutionDepartment.institution_id == institution_id,
            InstitutionDepartment.department_code == department_code,
        )
    )
    if row is None:
        row = InstitutionDepartment(institution_id=institution_id, department_code=department_code)
        session.add(row)
        action = "institution.department.add"
    elif (row.local_name, row.offers_online) == (local_name, offers_online):
        return InstitutionDepartmentView(department, local_name, offers_online)
    else:
        action = "institution.department.update"
    row.local_name = local_name
    row.offers_online = offers_online
    await session.flush()
    await record(
        session,
        actor,
        action=action,
        subject_type="institution",
        subject_id=institution_id,
        details={
            "department_code": department_code,
            "local_name": local_name,
            "offers_online": offers_online,
        },
    )
    return InstitutionDepartmentView(department, local_name, offers_online)


async def remove_department(
    session: AsyncSession, actor: Actor, *, institution_id: int, department_code: str
) -> None:
    """Remove a department the actor's institution runs; refused while doctors practise in it."""
    await managed_institution(session, actor, institution_id)
    row = await session.scalar(
        select(InstitutionDepartment).where(
            InstitutionDepartment.institution_id == institution_id,
            InstitutionDepartment.department_code == department_code,
        )
    )
    if row is None:
        raise NotFound(
            "directory.department_not_run",
            "This institution has no department {code}.",
            code=department_code,
        )
    doctors = await session.scalar(
        select(func.count(PracticeSite.id)).where(
            PracticeSite.institution_id == institution_id,
            PracticeSite.department_code == department_code,
        )
    )
    if doctors:
        raise Conflict(
            "directory.department_in_use",
            "Doctors practise in this department ({count}); move them first.",
            count=doctors,
        )
    await session.delete(row)
    await session.flush()
    await record(
        session,
        actor,
        action="institution.department.remove",
        subject_type="institution",
        subject_id=institution_id,
        details={"department_code": department_code},
    )
