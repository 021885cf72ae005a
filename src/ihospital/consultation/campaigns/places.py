"""The places of a 义诊 campaign: at most ``daily_quota`` free consultations per doctor and day.

A place is taken by one conditional UPDATE of the doctor's day row (``taken < quota``), the row
written first if it is the day's first place (a concurrent writer of the same row makes the
insert fail in its savepoint, and the UPDATE then waits for its commit), so simultaneous starts
never overbook on PostgreSQL or SQLite. A consultation cancelled before a doctor began it gives
its place back on the day it took; one that was held or closed keeps it. A place stays with the
doctor it was taken for when the consultation is transferred.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.campaigns.models import Campaign, CampaignDay, CampaignDoctor
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound

if TYPE_CHECKING:
    from ihospital.consultation.models import Consultation

QUOTA_MESSAGE = "Today's free places with this doctor in this campaign are all taken."


def campaign_not_found(campaign_id: int) -> NotFound:
    return NotFound(
        "campaign.not_found", "Campaign {campaign_id} was not found.", campaign_id=campaign_id
    )


def is_running(campaign: Campaign, today: date) -> bool:
    return campaign.status == "active" and campaign.starts_on <= today <= campaign.ends_on


async def take_place(
    session: AsyncSession,
    actor: Actor,
    *,
    campaign_id: int,
    practitioner_id: int,
    institution_id: int,
    consultation_type: str,
) -> CampaignDay:
    """Take today's place with the doctor in the running campaign of the institution, or refuse
    with 409 ``campaign.quota_used_up`` when the day's quota is taken."""
    campaign = await session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None or campaign.institution_id != institution_id:
        raise campaign_not_found(campaign_id)
    today = actor.clock.today_local()
    if not is_running(campaign, today):
        raise Conflict(
            "campaign.not_running", "This campaign is not running today.", field="campaign_id"
        )
    taking_part = await session.scalar(
        select(CampaignDoctor.id).where(
            CampaignDoctor.campaign_id == campaign_id,
            CampaignDoctor.practitioner_id == practitioner_id,
        )
    )
    if taking_part is None:
        raise Conflict(
            "campaign.doctor_not_in_campaign",
            "This doctor does not take part in this campaign.",
            field="practitioner_id",
        )
    if consultation_type not in campaign.types:
        raise Conflict(
            "campaign.type_not_offered",
            "This campaign does not offer this type of consultation.",
            field="consultation_type",
        )
    day = await _day_row(session, campaign_id, practitioner_id, today)
    taken = await session.execute(
        update(CampaignDay)
        .where(CampaignDay.id == day.id, CampaignDay.taken < campaign.daily_quota)
        .values(taken=CampaignDay.taken + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise Conflict(
            "campaign.quota_used_up",
            QUOTA_MESSAGE,
            field="campaign_id",
            quota=campaign.daily_quota,
        )
    return day


async def _day_row(
    session: AsyncSession, campaign_id: int, practitioner_id: int, day: date
) -> CampaignDay:
    """The doctor's row of the day in the campaign, written if it is not there yet."""
    query = select(CampaignDay).where(
        CampaignDay.campaign_id == campaign_id,
        CampaignDay.practitioner_id == practitioner_id,
        CampaignDay.day == day,
    )
    row = await session.scalar(query)
    if row is not None:
        return row
    try:
        async with session.begin_nested():
            row = CampaignDay(
                campaign_id=campaign_id, practitioner_id=practitioner_id, day=day, taken=0
            )
            session.add(row)
            await session.flush()
        return row
    except IntegrityError:
        # a concurrent start wrote it first (and has committed): use theirs
        return (await session.scalars(query)).one()


async def give_back_place(session: AsyncSession, consultation: Consultation) -> None:
    """The place of a cancelled campaign consultation is free again on the day it took."""
    if consultation.campaign_day_id is None:
        return
    await session.execute(
        update(CampaignDay)
        .where(CampaignDay.id == consultation.campaign_day_id, CampaignDay.taken > 0)
        .values(taken=CampaignDay.taken - 1)
        .execution_options(synchronize_session=False)
    )


async def taken_today(
    session: AsyncSession, campaign_ids: list[int], today: date
) -> dict[tuple[int, int], int]:
    """Places taken today, by (campaign, doctor)."""
    if not campaign_ids:
        return {}
    rows = await session.execute(
        select(CampaignDay.campaign_id, CampaignDay.practitioner_id, CampaignDay.taken).where(
            CampaignDay.campaign_id.in_(campaign_ids), CampaignDay.day == today
        )
    )
    return {(campaign_id, doctor): taken for campaign_id, doctor, taken in rows.all()}
