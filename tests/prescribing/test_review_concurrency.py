"""Two pharmacists decide the same prescription at the same moment on a committed database:
exactly one decision wins, the other is told the prescription is no longer waiting."""

import asyncio

from ihospital.core.clock import FrozenClock
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import Conflict
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.review import APPROVED, REJECTED, decide_prescription
from tests.conftest import START
from tests.directory.builders import make_staff
from tests.prescribing.review_builders import events, make_pharmacy, prescribe, staff_actor


async def test_of_two_simultaneous_decisions_exactly_one_wins(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        async with factory() as session, session.begin():
            pharmacy = await make_pharmacy(session, clock)
            colleague = await make_staff(
                session, clock=clock, institution=pharmacy.practice.institution, role="pharmacist"
            )
            prescription = await prescribe(session, clock, pharmacy)

        async def decide(account, decision: str) -> str:
            try:
                async with factory() as session, session.begin():
                    await decide_prescription(
                        session,
                        staff_actor(clock, account),
                        prescription_id=prescription.id,
                        decision=decision,
                        reasons=["I01"] if decision == "reject" else [],
                    )
            except Conflict as refused:
                return refused.code
            return decision

        outcomes = await asyncio.gather(
            decide(pharmacy.pharmacist, "approve"), decide(colleague, "reject")
        )

        assert sorted(outcomes, key=len)[-1] == "prescribing.already_decided"
        winner = next(outcome for outcome in outcomes if outcome != "prescribing.already_decided")
        async with factory() as session:
            stored = await session.get(Prescription, prescription.id)
            published = len(await events(session, APPROVED)) + len(await events(session, REJECTED))
        assert stored.status == {"approve": "approved", "reject": "rejected"}[winner]
        assert published == 1
    finally:
        await engine.dispose()
