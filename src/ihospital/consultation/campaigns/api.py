"""JSON routes of 义诊 campaigns: institution admins create, edit and end them; anyone sees the
running and coming ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ihospital.consultation.campaigns.schemas import CampaignRead, CampaignWrite
from ihospital.consultation.campaigns.service import (
    create_campaign,
    end_campaign,
    get_managed_campaign,
    institution_campaigns,
    open_campaigns,
    update_campaign,
)
from ihospital.core.context import Actor
from ihospital.deps import DbSession, optional_actor, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["consultation"])

Scheduler = Annotated[Actor, Depends(require(Permission.SCHEDULES_MANAGE))]
PublicActor = Annotated[Actor, Depends(optional_actor)]
InstitutionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CampaignId = Annotated[int, Path(ge=1, le=2**63 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
BASE = "/institutions/{institution_id}/campaigns"


@router.get("/campaigns")
async def list_open(
    session: DbSession,
    actor: PublicActor,
    institution_id: OptionalId = None,
    practitioner_id: OptionalId = None,
) -> list[CampaignRead]:
    """The 义诊 campaigns running today or coming, with each doctor's free places left today."""
    views = await open_campaigns(
        session, actor, institution_id=institution_id, practitioner_id=practitioner_id
    )
    today = actor.clock.today_local()
    return [CampaignRead.of(view, today) for view in views]


@router.get(BASE)
async def list_managed(
    institution_id: InstitutionId, session: DbSession, actor: Scheduler
) -> list[CampaignRead]:
    """All campaigns of the admin's institution, the latest first."""
    views = await institution_campaigns(session, actor, institution_id=institution_id)
    return [CampaignRead.of(view, actor.clock.today_local()) for view in views]


@router.post(BASE, status_code=201)
async def create(
    institution_id: InstitutionId, body: CampaignWrite, session: DbSession, actor: Scheduler
) -> CampaignRead:
    view = await create_campaign(session, actor, institution_id=institution_id, values=body.value())
    return CampaignRead.of(view, actor.clock.today_local())


@router.get(BASE + "/{campaign_id}")
async def read(
    institution_id: InstitutionId, campaign_id: CampaignId, session: DbSession, actor: Scheduler
) -> CampaignRead:
    view = await get_managed_campaign(
        session, actor, institution_id=institution_id, campaign_id=campaign_id
    )
    return CampaignRead.of(view, actor.clock.today_local())


@router.put(BASE + "/{campaign_id}")
async def replace(
    institution_id: InstitutionId,
    campaign_id: CampaignId,
    body: CampaignWrite,
    session: DbSession,
    actor: Scheduler,
) -> CampaignRead:
    """Change a campaign that has not ended (the whole of it)."""
    view = await update_campaign(
        session,
        actor,
        institution_id=institution_id,
        campaign_id=campaign_id,
        values=body.value(),
    )
    return CampaignRead.of(view, actor.clock.today_local())


@router.post(BASE + "/{campaign_id}/end")
async def end(
    institution_id: InstitutionId, campaign_id: CampaignId, session: DbSession, actor: Scheduler
) -> CampaignRead:
    """End the campaign now; consultations already started go on."""
    view = await end_campaign(
        session, actor, institution_id=institution_id, campaign_id=campaign_id
    )
    return CampaignRead.of(view, actor.clock.today_local())
