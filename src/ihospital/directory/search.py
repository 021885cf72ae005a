"""The public doctor directory: search and profiles of verified doctors only.

A page of results costs a fixed number of queries whatever its size (count, page, sites), so the
busiest public page cannot degrade into one query per doctor.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.directory import validation
from ihospital.directory.access import practitioner_not_found
from ihospital.directory.departments import department_and_subspecialties, known_department
from ihospital.directory.institutions import region_matches
from ihospital.directory.models import (
    TITLES,
    DepartmentCode,
    Institution,
    PracticeSite,
    Practitioner,
)
from ihospital.directory.views import (
    PageResult,
    PractitionerView,
    practitioner_view,
    practitioner_views,
    rows_page,
)
from ihospital.errors import Unprocessable

PUBLIC_STATUS = "verified"
MAX_PAGE_SIZE = 50
TITLE_RANK = case(
    {title: rank for rank, title in enumerate(TITLES)},
    value=Practitioner.title,
    else_=len(TITLES),
)
_PINYIN_QUERY = re.compile(r"^[a-z]+$")


def _query_matches(q: str) -> ColumnElement[bool]:
    """``q`` is in the doctor's name, or in its full pinyin or pinyin initials (``zsf``,
    ``sanfeng``), or in the name of an institution or department where the doctor practises;
    case and spaces do not matter."""
    text = q.strip().lower()
    compact = re.sub(r"[\s'·-]+", "", text)
    options = [
        func.lower(Practitioner.name).contains(text, autoescape=True),
        select(PracticeSite.id)
        .join(Institution, Institution.id == PracticeSite.institution_id)
        .join(DepartmentCode, DepartmentCode.code == PracticeSite.department_code)
        .where(
            PracticeSite.practitioner_id == Practitioner.id,
            or_(
                func.lower(Institution.name).contains(text, autoescape=True),
                DepartmentCode.name_zh.contains(text, autoescape=True),
                func.lower(DepartmentCode.name_en).contains(text, autoescape=True),
            ),
        )
        .exists(),
    ]
    if _PINYIN_QUERY.match(compact):
        options.append(Practitioner.name_pinyin.contains(compact, autoescape=True))
        options.append(Practitioner.name_initials.contains(compact, autoescape=True))
    return or_(*options)


async def search_doctors(
    session: AsyncSession,
    actor: Actor,
    *,
    department: str | None = None,
    institution_id: int | None = None,
    region_code: str | None = None,
    title: str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> PageResult[PractitionerView]:
    """Public: verified doctors by department (a department includes its sub-specialties),
    institution and region of a practice site, title, and ``q`` (name, pinyin, initials, or
    the name of an institution or department of a practice site); ordered by title (主任医师
    first), then name, then id."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Unprocessable(
            "directory.page_size_invalid",
            "Choose a page size from 1 to {max}.",
            max=MAX_PAGE_SIZE,
            field="page_size",
        )
    conditions = [Practitioner.verification_status == PUBLIC_STATUS]
    site_conditions = []
    if department:
        await known_department(session, department, field="department")
        site_conditions.append(
            department_and_subspecialties(PracticeSite.department_code, department)
        )
    if institution_id is not None:
        site_conditions.append(PracticeSite.institution_id == institution_id)
    if region_code:
        validation.check_fields(
            {"region_code": region_code}, {"region_code": validation.region_code}
        )
        site_conditions.append(region_matches(Institution.region_code, region_code))
    if site_conditions:
        conditions.append(
            select(PracticeSite.id)
            .join(Institution, Institution.id == PracticeSite.institution_id)
            .where(PracticeSite.practitioner_id == Practitioner.id, *site_conditions)
            .exists()
        )
    if title:
        if title not in TITLES:
            raise Unprocessable(
                "directory.title_unknown", "Choose one of the professional titles.", field="title"
            )
        conditions.append(Practitioner.title == title)
    if q and q.strip():
        conditions.append(_query_matches(q))
    page = max(page, 1)
    rows, total = await rows_page(
        session,
        Practitioner,
        conditions=conditions,
        order_by=(TITLE_RANK, Practitioner.name_pinyin, Practitioner.id),
        page=page,
        page_size=page_size,
    )
    views = await practitioner_views(session, actor, practitioners=rows)
    return PageResult(views, total, page, page_size)


async def get_doctor_profile(
    session: AsyncSession, actor: Actor, *, practitioner_id: int
) -> PractitionerView:
    """Public: a verified doctor's profile with practice sites, full years of practice and
    whether online consultation is available (R05)."""
    practitioner = await session.get(Practitioner, practitioner_id)
    if practitioner is None or practitioner.verification_status != PUBLIC_STATUS:
        raise practitioner_not_found()
    return await practitioner_view(session, actor, practitioner=practitioner)
