"""A crowd on the last free places, on a real, committed database: 40 simultaneous free starts
with a doctor whose quota is 5 a day give exactly 5 consultations, the day's counter at 5, and
the others a 409 ``campaign.quota_used_up``."""

import asyncio
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from ihospital.consultation.campaigns.models import CampaignDay
from ihospital.consultation.lifecycle import start_consultation
from ihospital.consultation.models import Consultation
from ihospital.core.clock import FrozenClock
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import Conflict
from tests.booking.builders import booker
from tests.conftest import START
from tests.consultation.builders import make_practice
from tests.consultation.campaigns.builders import make_campaign
from tests.identity.builders import make_patient

CROWD = 40
QUOTA = 5


async def test_simultaneous_free_starts_never_take_more_than_the_quota(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        async with factory() as session, session.begin():
            practice = await make_practice(session, clock=clock)
            view = await make_campaign(session, clock, practice, daily_quota=QUOTA)
            patients = [
                await make_patient(
                    session, clock=clock, birth_date=date(1970, 1, 1) + timedelta(days=i)
                )
                for i in range(CROWD)
            ]
        campaign_id = view.campaign.id

        async def consult(index: int) -> str:
            patient = patients[index]
            try:
                async with factory() as session, session.begin():
                    await start_consultation(
                        session,
                        booker(clock, patient),
                        patient_id=patient.id,
                        practitioner_id=practice.doctor.id,
                        institution_id=practice.institution.id,
                        consultation_type="text",
                        complaint="胸闷一周",
                        campaign_id=campaign_id,
                    )
            except Conflict as refused:
                return refused.code
            return "started"

        outcomes = await asyncio.wait_for(asyncio.gather(*(consult(i) for i in range(CROWD))), 300)
        assert Counter(outcomes) == {"started": QUOTA, "campaign.quota_used_up": CROWD - QUOTA}
        async with factory() as session:
            started = await session.scalar(
                select(func.count())
                .select_from(Consultation)
                .where(Consultation.campaign_id == campaign_id, Consultation.fee_fen == 0)
            )
            days = (await session.scalars(select(CampaignDay))).all()
        assert started == QUOTA
        assert [(day.day, day.taken) for day in days] == [(clock.today_local(), QUOTA)]
    finally:
        await engine.dispose()
