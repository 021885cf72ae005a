"""Institution admins' pages of 义诊 campaigns: the list with the form of a new campaign, one
campaign's edit form, and ending it. Refusals show next to their fields; a platform admin (no
institution of their own) finds none."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.campaigns.places import campaign_not_found
from ihospital.consultation.campaigns.schemas import CampaignWrite
from ihospital.consultation.campaigns.service import (
    CampaignView,
    create_campaign,
    end_campaign,
    get_managed_campaign,
    institution_campaigns,
    update_campaign,
)
from ihospital.consultation.models import TYPES
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import form_text, redirect_after
from ihospital.directory.search import MAX_PAGE_SIZE, search_doctors
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Scheduler = Annotated[Actor, Depends(require(Permission.SCHEDULES_MANAGE))]
CampaignId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TEXT_FIELDS = ("title", "description", "starts_on", "ends_on", "daily_quota", "department_codes")
FIELDS = (*TEXT_FIELDS, "consultation_types", "practitioner_ids")


def _institution(actor: Actor, campaign_id: int = 0) -> int:
    if actor.institution_id is None:
        raise campaign_not_found(campaign_id)
    return actor.institution_id


def _view_values(view: CampaignView) -> dict[str, Any]:
    """A campaign's fields as its form shows them."""
    campaign = view.campaign
    return {
        "title": campaign.title,
        "description": campaign.description,
        "starts_on": campaign.starts_on.isoformat(),
        "ends_on": campaign.ends_on.isoformat(),
        "daily_quota": str(campaign.daily_quota),
        "department_codes": " ".join(view.department_codes),
        "consultation_types": campaign.types,
        "practitioner_ids": [str(doctor) for doctor in view.practitioner_ids],
    }


async def _posted(request: Request) -> tuple[dict[str, Any], CampaignWrite | None, FormState]:
    """The form as the page shows it again, and as the API schema validates it."""
    values: dict[str, Any] = await form_text(request, TEXT_FIELDS)
    form = await request.form()
    values["consultation_types"] = [str(v) for v in form.getlist("consultation_types")]
    values["practitioner_ids"] = [str(v) for v in form.getlist("practitioner_ids")]
    data = {
        **values,
        "department_codes": values["department_codes"].replace(",", " ").split(),
    }
    parsed, state = parse_form(CampaignWrite, data)
    return values, parsed, state


async def _page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    template: str,
    context: dict[str, Any],
    state: FormState,
) -> Response:
    doctors = await search_doctors(
        session, actor, institution_id=_institution(actor), page_size=MAX_PAGE_SIZE
    )
    context = {"doctors": doctors.items, "types": TYPES, **context, **state.context()}
    return render(request, template, context, status_code=state.status_code)


async def _list_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    state: FormState | None = None,
) -> Response:
    institution_id = _institution(actor)
    views = await institution_campaigns(session, actor, institution_id=institution_id)
    values = values or {"consultation_types": list(TYPES), "practitioner_ids": []}
    context = {"campaigns": views, "values": values}
    return await _page(
        request, session, actor, "consultation/admin_campaigns.html", context, state or FormState()
    )


@router.get("/admin/campaigns")
async def campaigns_page(request: Request, session: DbSession, actor: Scheduler) -> Response:
    """The institution's 义诊 campaigns and the form of a new one."""
    return await _list_page(request, session, actor)


@router.post("/admin/campaigns", dependencies=CSRF)
async def create_submit(request: Request, session: DbSession, actor: Scheduler) -> Response:
    values, parsed, state = await _posted(request)
    if parsed is not None:
        try:
            view = await create_campaign(
                session, actor, institution_id=_institution(actor), values=parsed.value()
            )
        except AppError as error:
            state = refused(error, fields=FIELDS)
        else:
            response = RedirectResponse(f"/admin/campaigns/{view.campaign.id}", status_code=303)
            flash(request, response, "The campaign is created.")
            return response
    return await _list_page(request, session, actor, values=values, state=state)


async def _edit_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    campaign_id: int,
    *,
    values: dict[str, Any] | None = None,
    state: FormState | None = None,
) -> Response:
    view = await get_managed_campaign(
        session, actor, institution_id=_institution(actor, campaign_id), campaign_id=campaign_id
    )
    context = {"view": view, "values": values or _view_values(view)}
    return await _page(
        request, session, actor, "consultation/admin_campaign.html", context, state or FormState()
    )


@router.get("/admin/campaigns/{campaign_id}")
async def campaign_page(
    campaign_id: CampaignId, request: Request, session: DbSession, actor: Scheduler
) -> Response:
    """One campaign: its places left today, the form to change it, and ending it."""
    return await _edit_page(request, session, actor, campaign_id)


@router.post("/admin/campaigns/{campaign_id}", dependencies=CSRF)
async def update_submit(
    campaign_id: CampaignId, request: Request, session: DbSession, actor: Scheduler
) -> Response:
    values, parsed, state = await _posted(request)
    institution_id = _institution(actor, campaign_id)
    if parsed is not None:
        try:
            await update_campaign(
                session,
                actor,
                institution_id=institution_id,
                campaign_id=campaign_id,
                values=parsed.value(),
            )
        except AppError as error:
            if error.status == 404:
                raise
            state = refused(error, fields=FIELDS)
        else:
            response = RedirectResponse(f"/admin/campaigns/{campaign_id}", status_code=303)
            flash(request, response, "The campaign is saved.")
            return response
    return await _edit_page(request, session, actor, campaign_id, values=values, state=state)


@router.post("/admin/campaigns/{campaign_id}/end", dependencies=CSRF)
async def end_submit(
    campaign_id: CampaignId, request: Request, session: DbSession, actor: Scheduler
) -> Response:
    """End the campaign now."""
    return await redirect_after(
        request,
        f"/admin/campaigns/{campaign_id}",
        end_campaign(
            session,
            actor,
            institution_id=_institution(actor, campaign_id),
            campaign_id=campaign_id,
        ),
        lambda _: Notice("The campaign has ended.", "success", {}),
    )
