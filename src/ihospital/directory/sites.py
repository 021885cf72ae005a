"""Practice sites (多点执业) of a doctor: the primary site in a department of the registered
institution, and sites at other institutions, each filed with a filing number; online service at
another site also needs the registered institution's consent (R05, see :mod:`.eligibility`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory import validation
from ihospital.directory.access import get_institution_row, managed_practitioner
from ihospital.directory.departments import known_department
from ihospital.directory.models import (
    Institution,
    InstitutionDepartment,
    PracticeSite,
    Practitioner,
)
from ihospital.directory.views import PractitionerView, practitioner_view
from ihospital.errors import Unprocessable


@dataclass(frozen=True)
class SiteInput:
    """A practice site other than the primary one."""

    institution_id: int
    department_code: str
    filing_number: str = ""
    consent_on_file: bool = False


async def _runs_department(
    session: AsyncSession, institution: Institution, department_code: str, field: str
) -> None:
    await known_department(session, department_code, field=field)
    runs = await session.scalar(
        select(func.count(InstitutionDepartment.id)).where(
            InstitutionDepartment.institution_id == institution.id,
            InstitutionDepartment.department_code == department_code,
        )
    )
    if not runs:
        raise Unprocessable(
            "directory.department_not_run",
            "{institution} has no department {code}; add the department first.",
            institution=institution.name,
            code=department_code,
            field=field,
        )


async def checked_sites(
    session: AsyncSession,
    registered: Institution,
    department_code: str,
    practice_sites: Sequence[SiteInput],
) -> list[PracticeSite]:
    """The primary site and the other sites, checked: institutions and departments exist, a site
    away from the registered institution is filed, no site is given twice."""
    await _runs_department(session, registered, department_code, "department_code")
    sites = [
        PracticeSite(
            institution_id=registered.id,
            department_code=department_code,
            is_primary=True,
            filing_number="",
            consent_on_file=False,
        )
    ]
    seen = {(registered.id, department_code)}
    for index, given in enumerate(practice_sites):
        prefix = f"practice_sites.{index}"
        institution = await session.get(Institution, given.institution_id)
        if institution is None:
            raise Unprocessable(
                "directory.site_institution_unknown",
                "The institution of this practice site does not exist.",
                field=f"{prefix}.institution_id",
            )
        await _runs_department(
            session, institution, given.department_code, f"{prefix}.department_code"
        )
        if (institution.id, given.department_code) in seen:
            raise Unprocessable(
                "directory.site_duplicate",
                "This practice site is given twice.",
                field=prefix,
            )
        seen.add((institution.id, given.department_code))
        try:
            validation.plain_text(given.filing_number)
        except ValueError as error:
            raise Unprocessable(
                "directory.filing_number_invalid", str(error), field=f"{prefix}.filing_number"
            ) from None
        away = institution.id != registered.id
        if away and not given.filing_number:
            raise Unprocessable(
                "directory.filing_required",
                "Practising at an institution other than the registered one needs the filing "
                "number of that practice site (multi-site practice).",
                field=f"{prefix}.filing_number",
            )
        sites.append(
            PracticeSite(
                institution_id=institution.id,
                department_code=given.department_code,
                is_primary=False,
                filing_number=given.filing_number if away else "",
                consent_on_file=given.consent_on_file and away,
            )
        )
    return sites


def sites_detail(sites: Sequence[PracticeSite]) -> list[dict[str, Any]]:
    return [
        {
            "institution_id": site.institution_id,
            "department_code": site.department_code,
            "primary": site.is_primary,
            "filing_number": site.filing_number,
            "consent_on_file": site.consent_on_file,
        }
        for site in sites
    ]


async def store_sites(
    session: AsyncSession, practitioner_id: int, sites: Sequence[PracticeSite]
) -> None:
    """Save checked sites (from :func:`checked_sites`) as the practitioner's."""
    for site in sites:
        site.practitioner_id = practitioner_id
    session.add_all(sites)
    await session.flush()


async def set_practice_sites(
    session: AsyncSession,
    actor: Actor,
    *,
    practitioner_id: int,
    department_code: str,
    practice_sites: Sequence[SiteInput],
) -> PractitionerView:
    """Replace a doctor's practice sites: the department of the primary site and the others,
    with their filing numbers and the registered institution's consent to online service (R05)."""
    practitioner = await managed_practitioner(session, actor, practitioner_id, for_update=True)
    registered = await get_institution_row(session, practitioner.institution_id)
    sites = await checked_sites(session, registered, department_code, practice_sites)
    await session.execute(
        delete(PracticeSite).where(PracticeSite.practitioner_id == practitioner.id)
    )
    await store_sites(session, practitioner.id, sites)
    await record(
        session,
        actor,
        action="practitioner.sites.set",
        subject_type="practitioner",
        subject_id=practitioner.id,
        details={"sites": sites_detail(sites)},
    )
    return await practitioner_view(session, actor, practitioner=practitioner)


@dataclass(frozen=True)
class ScheduledSite:
    """A verified doctor at one of their practice sites, as booking shows it."""

    practitioner_id: int
    practitioner_name: str
    title: str
    institution_id: int
    institution_name: str
    department_code: str


async def schedulable_site(
    session: AsyncSession, *, practitioner_id: int, institution_id: int, department_code: str
) -> ScheduledSite | None:
    """The doctor's practice site at ``institution_id`` in ``department_code`` if the doctor is
    verified (only verified doctors see patients, R04/R05); None otherwise."""
    row = (
        await session.execute(
            select(Practitioner.name, Practitioner.title, Institution.name)
            .join(PracticeSite, PracticeSite.practitioner_id == Practitioner.id)
            .join(Institution, Institution.id == PracticeSite.institution_id)
            .where(
                Practitioner.id == practitioner_id,
                Practitioner.verification_status == "verified",
                PracticeSite.institution_id == institution_id,
                PracticeSite.department_code == department_code,
            )
        )
    ).first()
    if row is None:
        return None
    return ScheduledSite(practitioner_id, row[0], row[1], institution_id, row[2], department_code)


async def practises_at(session: AsyncSession, *, practitioner_id: int, institution_id: int) -> bool:
    """Whether the doctor has a practice site (any department) at ``institution_id``."""
    found = await session.scalar(
        select(PracticeSite.id).where(
            PracticeSite.practitioner_id == practitioner_id,
            PracticeSite.institution_id == institution_id,
        )
    )
    return found is not None
