"""People and answers for the pre-screening tests: a patient with a 就诊人, command-centre
accounts of a region, fever clinics, and answers that reach each level of the default
questionnaire (low 0–2, medium 3–5, high 6 and above)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.identity.accounts import create_account
from ihospital.identity.models import Account, Patient
from ihospital.outbox.runner import app_services
from ihospital.outbox.service import BatchResult, drain, load_handlers
from ihospital.triage.prescreening.clinics import add_clinic
from ihospital.triage.prescreening.questionnaires import published
from tests.directory.builders import PASSWORD, make_institution, new_mobile
from tests.identity.builders import auth_headers, make_patient

WUHAN_DISTRICT = "420102"  # 武汉市江岸区
LOW = {"temperature": 36.6, "symptoms": [], "travel": False, "contact": False, "cluster": False}
MEDIUM = {**LOW, "temperature": 37.5, "symptoms": ["cough"]}  # 2 + 1
HIGH = {**LOW, "temperature": 38.5, "contact": True}  # 3 + 5


@dataclass
class Screener:
    account: Account
    patient: Patient
    headers: dict[str, str]


async def make_screener(session: AsyncSession, clock: Clock, **patient: Any) -> Screener:
    patient_row = await make_patient(session, clock=clock, **patient)
    account = await session.get(Account, patient_row.account_id)
    assert account is not None
    return Screener(account, patient_row, await auth_headers(session, account=account, clock=clock))


async def make_commander_account(
    session: AsyncSession, clock: Clock, *, region_code: str | None = "420100"
) -> Account:
    """A regulator of the command centre of ``region_code``."""
    return await create_account(
        session,
        Actor.system(clock),
        mobile=new_mobile(),
        password=PASSWORD,
        role="regulator",
        display_name="指挥中心值班员",
        region_code=region_code,
    )


async def make_commander(
    session: AsyncSession, clock: Clock, *, region_code: str | None = "420100"
) -> dict[str, str]:
    """The API headers of a regulator of the command centre of ``region_code``."""
    account = await make_commander_account(session, clock, region_code=region_code)
    return await auth_headers(session, account=account, clock=clock)


async def make_fever_clinics(session: AsyncSession, clock: Clock) -> None:
    """Fever clinics in another Wuhan district, in the patient's district, and in Beijing."""
    actor = Actor.system(clock)
    for region, name, clinic in (
        ("420106", "武汉市武昌医院", "武昌发热门诊"),
        ("420102", "武汉市江岸区人民医院", "江岸发热门诊"),
        ("110105", "北京朝阳医院", "朝阳发热门诊"),
    ):
        institution = await make_institution(
            session, clock=clock, name=name, region_code=region, region_name=name[:6]
        )
        await add_clinic(
            session,
            actor,
            institution_id=institution.id,
            name=clinic,
            address="中山大道1号",
            hours="24小时",
            phone="027-82211000",
        )


async def submission_body(
    session: AsyncSession, screener: Screener, answers: dict[str, Any], region: str = WUHAN_DISTRICT
) -> dict[str, Any]:
    questionnaire = await published(session)
    return {
        "questionnaire_id": questionnaire.id,
        "patient_id": screener.patient.id,
        "region_code": region,
        "answers": answers,
    }


async def run_worker(
    app: FastAPI, factory: async_sessionmaker[AsyncSession], clock: Clock
) -> BatchResult:
    load_handlers()
    return await drain(factory, clock, limit=100, services=app_services(app))
