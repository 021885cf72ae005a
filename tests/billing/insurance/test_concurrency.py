"""Settlements of one person that run at the same time are serialised on the coverage, so the
year's deductible is used once (committed transactions on a database of their own)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from ihospital.billing.insurance.engine import ClaimLine
from ihospital.billing.insurance.models import Coverage, YearTotal
from ihospital.billing.insurance.settlement import settle_claim
from ihospital.db import make_engine, make_sessionmaker, session_scope
from tests.billing.builders import insurance_sandbox, make_order
from tests.billing.insurance.builders import make_coverage, owner
from tests.directory.builders import make_institution
from tests.identity.builders import CIPHER, make_patient


async def test_concurrent_settlements_of_one_person_use_the_deductible_once(
    databases, clock, books_url
):
    # Two claims of 50 000 each against the ¥700 (70 000) deductible, 60 % after it:
    # one after the other, 50 000 + 20 000 go to the deductible and the fund pays
    # 60 % × 30 000 = 18 000; run at once they must not both take 50 000 of it.
    engine = make_engine(await databases.fresh())
    try:
        factory = make_sessionmaker(engine)
        async with factory() as session, session.begin():
            patient = await make_patient(session, clock=clock)
            coverage = await make_coverage(
                session, patient=patient, clock=clock, account_balance_fen=100_000
            )
            institution = await make_institution(session, clock=clock, level="三级甲等")
            orders = [
                await make_order(session, clock=clock, patient=patient, institution=institution)
                for _ in range(2)
            ]
        platform = insurance_sandbox(database_url=books_url)

        async def settle(order_id: int) -> None:
            async for session in session_scope(factory):
                await settle_claim(
                    session,
                    owner(patient, clock),
                    order_id=order_id,
                    patient_id=patient.id,
                    institution_id=institution.id,
                    lines=[ClaimLine(50_000, "drug", "A")],
                    use_personal_account=True,
                    platform=platform,
                    cipher=CIPHER,
                )

        await asyncio.gather(*(settle(order.id) for order in orders))
        async with factory() as session:
            totals = await session.scalar(
                select(YearTotal).where(YearTotal.coverage_id == coverage.id)
            )
            balance = await session.scalar(
                select(Coverage.account_balance_fen).where(Coverage.id == coverage.id)
            )
        assert (totals.deductible_met_fen, totals.fund_paid_fen) == (70_000, 18_000)
        # the patient's shares: 50 000 and 50 000 − 18 000 = 32 000; the account had 100 000
        assert balance == 100_000 - 50_000 - 32_000
    finally:
        await engine.dispose()
