"""What several booking pages share: the doctors' public profiles and practice sites, who or
what a session is with, and the institution picker a platform admin sees on the admin pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.models import ScheduleSession
from ihospital.booking.resources import resources_by_id
from ihospital.core.context import Actor
from ihospital.directory import institutions
from ihospital.directory.search import get_doctor_profile
from ihospital.directory.views import PractitionerView
from ihospital.errors import NotFound
from ihospital.web.templating import render


def practice_sites(doctor: PractitionerView) -> dict[tuple[int, str], Any]:
    """The doctor's practice sites by (institution, department): where a session takes place."""
    return {(site.institution.id, site.department.code): site for site in doctor.sites}


async def public_doctors(
    session: AsyncSession, actor: Actor, practitioner_ids: Iterable[int]
) -> dict[int, PractitionerView]:
    """The public profiles of the doctors (a doctor no longer public is left out)."""
    found = {}
    for practitioner_id in set(practitioner_ids):
        try:
            found[practitioner_id] = await get_doctor_profile(
                session, actor, practitioner_id=practitioner_id
            )
        except NotFound:
            continue
    return found


async def session_provider(
    session: AsyncSession, actor: Actor, schedule: ScheduleSession
) -> dict[str, Any]:
    """Who or what ``schedule`` is with, for the facts of its slots: the doctor and the practice
    site (``doctor``, ``site``), or the vaccination or check-up and the name of its institution
    (``resource``, ``institution_name``)."""
    if schedule.resource_id is not None:
        resources = await resources_by_id(session, [schedule.resource_id])
        names = await institutions.institution_names(
            session, institution_ids=[schedule.institution_id]
        )
        return {
            "resource": resources[schedule.resource_id],
            "institution_name": names.get(schedule.institution_id, ""),
        }
    doctor = await get_doctor_profile(session, actor, practitioner_id=schedule.practitioner_id)
    site = practice_sites(doctor).get((schedule.institution_id, schedule.department_code))
    return {"doctor": doctor, "site": site}


async def institution_chooser(
    request: Request, session: AsyncSession, actor: Actor, *, target: str, heading: str
) -> Response:
    """The page on which a platform admin picks the institution whose ``target`` page to open."""
    listing = await institutions.list_institutions(session, actor, page=1, page_size=50)
    context = {"choose": listing, "target": target, "heading": heading}
    return render(request, "booking/admin_choose.html", context)
