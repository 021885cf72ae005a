"""Patients' pages of 义诊: the campaigns running today and coming, with their institution,
departments, doctors and each doctor's free places left today, linking to the doctor's consult
page where the free offer is chosen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.page_support import public_doctors
from ihospital.consultation.campaigns.service import CampaignView, open_campaigns
from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, optional_actor
from ihospital.directory.departments import list_department_codes
from ihospital.directory.institutions import institution_names
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

PublicActor = Annotated[Actor, Depends(optional_actor)]


async def campaign_context(
    session: AsyncSession, actor: Actor, views: Sequence[CampaignView]
) -> dict[str, Any]:
    """What a page needs to show campaigns: doctors, institution and department names."""
    doctors = await public_doctors(
        session, actor, (doctor for view in views for doctor in view.practitioner_ids)
    )
    institutions = await institution_names(
        session, institution_ids={view.campaign.institution_id for view in views}
    )
    departments = {
        department.code: department for department in await list_department_codes(session, actor)
    }
    return {
        "campaigns": views,
        "doctors": doctors,
        "institutions": institutions,
        "departments": departments,
        "yuan": format_yuan,
    }


@router.get("/campaigns")
async def campaigns_page(request: Request, session: DbSession, actor: PublicActor) -> Response:
    """义诊: free online consultations running today and coming."""
    views = await open_campaigns(session, actor)
    context = await campaign_context(session, actor, views)
    return render(request, "consultation/campaigns.html", context)


async def running_with_doctor(
    session: AsyncSession, actor: Actor, *, practitioner_id: int
) -> list[CampaignView]:
    """The campaigns running today in which the doctor consults for free (for the doctor's
    consult page: the 义诊 badge and the free offers, with the places left today)."""
    views = await open_campaigns(session, actor, practitioner_id=practitioner_id)
    return [view for view in views if practitioner_id in view.remaining_today]
