"""Builders of medical insurance for tests: a coverage through the real ``add_coverage`` and the
actor of the account that manages a 就诊人. All keyword-only."""

from __future__ import annotations

import itertools
import random
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.insurance.coverage import add_coverage
from ihospital.billing.insurance.engine import ClaimLine, YearToDate, split_claim
from ihospital.billing.insurance.models import Coverage, YearTotal
from ihospital.billing.insurance.platform import SettlementRequest
from ihospital.billing.insurance.policy import load_policy_table
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.identity.models import Patient
from tests.identity.builders import CIPHER

WUHAN_EMPLOYEE_SECONDARY = load_policy_table().find("420100").terms("employee", "secondary")
_base = random.randrange(10**8)
_numbers = itertools.count()


def new_insurance_number(*, last_digit: int = 1) -> str:
    """An insurance number not used before in this test process, ending in ``last_digit``
    (the sandbox platform refuses ``9`` and loses its answer for ``8``)."""
    return f"YB{(_base + next(_numbers)) % 10**8:08d}{last_digit}"


def owner(patient: Patient, clock: Clock) -> Actor:
    """The account that manages ``patient``, acting."""
    return Actor(role="patient", clock=clock, account_id=patient.account_id)


async def make_coverage(
    session: AsyncSession,
    *,
    patient: Patient,
    clock: Clock,
    insurance_type: str = "employee",
    region_code: str = "420102",
    insurance_number: str | None = None,
    account_balance_fen: int = 0,
    valid_from: date = date(2026, 1, 1),
    valid_to: date | None = None,
) -> Coverage:
    """A coverage of ``patient`` (by default 武汉 江岸区 职工医保, no balance, valid from 2026)."""
    return await add_coverage(
        session,
        owner(patient, clock),
        patient_id=patient.id,
        insurance_type=insurance_type,
        region_code=region_code,
        insurance_number=insurance_number or new_insurance_number(),
        account_balance_fen=account_balance_fen,
        valid_from=valid_from,
        valid_to=valid_to,
        cipher=CIPHER,
    )


async def year_position(session: AsyncSession, *, patient_id: int) -> tuple[int, int, int]:
    """Where a 就诊人's coverage stands, read afresh: the deductible met and the fund's payments
    this year (0 before any), and the personal account's balance."""
    coverage = await session.scalar(
        select(Coverage)
        .where(Coverage.patient_id == patient_id)
        .execution_options(populate_existing=True)
    )
    totals = await session.scalar(
        select(YearTotal)
        .where(YearTotal.coverage_id == coverage.id)
        .execution_options(populate_existing=True)
    )
    met, fund = (totals.deductible_met_fen, totals.fund_paid_fen) if totals else (0, 0)
    return met, fund, coverage.account_balance_fen


def settlement_request(
    *,
    insurance_number: str = "42010000000123",
    settlement_no: str = "YB1",
    amount_fen: int = 10_000,
) -> SettlementRequest:
    """A request to the insurance platform to settle one consultation of ``amount_fen``
    (武汉 职工医保 at a 二级 hospital)."""
    split = split_claim(
        WUHAN_EMPLOYEE_SECONDARY,
        year_to_date=YearToDate(),
        account_balance_fen=0,
        use_account=False,
        lines=[ClaimLine(amount_fen, "consultation")],
    )
    return SettlementRequest(
        settlement_no=settlement_no,
        insurance_number=insurance_number,
        insurance_type="employee",
        region_code="420102",
        institution_id=1,
        total=split.total,
        lines=split.lines,
    )
