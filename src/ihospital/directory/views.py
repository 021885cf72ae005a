"""What the directory hands out about practitioners, loaded in bulk.

A page of doctors is read with a fixed number of queries whatever its size: the practitioners,
then all their practice sites with institutions, department codes and local department names in
one statement. R05 is applied to the loaded rows (:func:`.eligibility.assess`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.directory.eligibility import assess, years_of_practice
from ihospital.directory.models import (
    DepartmentCode,
    Institution,
    InstitutionDepartment,
    PracticeSite,
    Practitioner,
)

T = TypeVar("T")
R = TypeVar("R", Institution, Practitioner)


@dataclass(frozen=True)
class PageResult(Generic[T]):
    """One page of a listing and the number of all matches."""

    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


async def rows_page(
    session: AsyncSession,
    model: type[R],
    *,
    conditions: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    page: int,
    page_size: int,
) -> tuple[list[R], int]:
    """One page of the ``model`` rows matching ``conditions`` in ``order_by`` order, and the
    number of all matches (a page past the end is empty)."""
    total = await session.scalar(select(func.count(model.id)).where(*conditions)) or 0
    rows = await session.scalars(
        select(model)
        .where(*conditions)
        .order_by(*order_by)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows.all()), total


@dataclass(frozen=True)
class SiteView:
    institution: Institution
    department: DepartmentCode
    local_name: str
    is_primary: bool
    filing_number: str
    consent_on_file: bool
    online_available: bool


@dataclass(frozen=True)
class PractitionerView:
    """A practitioner with the registered institution, practice sites, full years of practice
    and R05 applied; the practitioner's own columns read through (``view.name``)."""

    practitioner: Practitioner
    institution: Institution
    sites: list[SiteView]
    years_of_practice: int
    online_available: bool

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.practitioner, name)


def _site_view(
    practitioner: Practitioner,
    site: PracticeSite,
    institution: Institution,
    department: DepartmentCode,
    local_name: str | None,
    today: date,
) -> SiteView:
    return SiteView(
        institution=institution,
        department=department,
        local_name=local_name or "",
        is_primary=site.is_primary,
        filing_number=site.filing_number,
        consent_on_file=site.consent_on_file,
        online_available=assess(practitioner, institution, [site], today).allowed,
    )


async def practitioner_views(
    session: AsyncSession, actor: Actor, *, practitioners: Sequence[Practitioner]
) -> list[PractitionerView]:
    """Views of ``practitioners`` in their order, with one query for all their sites.

    Every practitioner has a primary site at the registered institution (kept so by
    :mod:`ihospital.directory.practitioners`), so that institution is among the loaded ones."""
    if not practitioners:
        return []
    today = actor.clock.today_local()
    by_id = {practitioner.id: practitioner for practitioner in practitioners}
    rows = (
        await session.execute(
            select(PracticeSite, Institution, DepartmentCode, InstitutionDepartment.local_name)
            .join(Institution, Institution.id == PracticeSite.institution_id)
            .join(DepartmentCode, DepartmentCode.code == PracticeSite.department_code)
            .outerjoin(
                InstitutionDepartment,
                and_(
                    InstitutionDepartment.institution_id == PracticeSite.institution_id,
                    InstitutionDepartment.department_code == PracticeSite.department_code,
                ),
            )
            .where(PracticeSite.practitioner_id.in_(by_id))
            .order_by(
                PracticeSite.practitioner_id,
                PracticeSite.is_primary.desc(),
                PracticeSite.institution_id,
                PracticeSite.department_code,
            )
        )
    ).all()
    sites: dict[int, list[SiteView]] = defaultdict(list)
    institutions: dict[int, Institution] = {}
    for site, institution, department, local_name in rows:
        practitioner = by_id[site.practitioner_id]
        sites[site.practitioner_id].append(
            _site_view(practitioner, site, institution, department, local_name, today)
        )
        institutions[institution.id] = institution
    return [
        PractitionerView(
            practitioner=practitioner,
            institution=institutions[practitioner.institution_id],
            sites=sites[practitioner.id],
            years_of_practice=years_of_practice(practitioner.practice_start_date, today),
            online_available=any(site.online_available for site in sites[practitioner.id]),
        )
        for practitioner in practitioners
    ]


async def practitioner_view(
    session: AsyncSession, actor: Actor, *, practitioner: Practitioner
) -> PractitionerView:
    return (await practitioner_views(session, actor, practitioners=[practitioner]))[0]
