"""Builders of 义诊 campaigns for tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.campaigns.service import CampaignInput, CampaignView, create_campaign
from ihospital.core.clock import Clock
from tests.consultation.builders import Practice


def campaign_input(clock: Clock, practice: Practice, **changes: object) -> CampaignInput:
    """A week's campaign from today with the practice's doctor, text and video, 3 a day."""
    today = clock.today_local()
    values = CampaignInput(
        title="心血管健康义诊周",
        description="心内科专家免费图文问诊",
        starts_on=today,
        ends_on=today + timedelta(days=6),
        consultation_types=["text", "video"],
        daily_quota=3,
        practitioner_ids=[practice.doctor.id],
        department_codes=["03.04"],
    )
    return replace(values, **changes)


async def make_campaign(
    session: AsyncSession, clock: Clock, practice: Practice, **changes: object
) -> CampaignView:
    return await create_campaign(
        session,
        practice.admin_actor(clock),
        institution_id=practice.institution.id,
        values=campaign_input(clock, practice, **changes),
    )


def iso(day: date) -> str:
    return day.isoformat()
