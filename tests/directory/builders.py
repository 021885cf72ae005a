"""Builders of the directory domain: institutions, departments, admins, doctors, bearer tokens.

All keyword-only, all through the real services, acting as the system on the test's clock.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.directory.credentials import decide_review, submit_for_review
from ihospital.directory.departments import add_department
from ihospital.directory.institutions import create_institution
from ihospital.directory.models import Institution
from ihospital.directory.practitioners import create_practitioner
from ihospital.directory.sites import SiteInput
from ihospital.directory.views import PractitionerView
from ihospital.identity.accounts import create_account
from ihospital.identity.models import Account
from ihospital.identity.sessions import open_session
from tests.consultation.duty_builders import on_duty_in

PASSWORD = "Doctor-pass-123"  # noqa: S105
_base = random.randrange(10**7)
_numbers = itertools.count(1)


def _next() -> int:
    return _base + next(_numbers)


def new_mobile() -> str:
    return f"137{_next() % 10**8:08d}"


def new_licence_number() -> str:
    return f"1{_next() % 10**14:014d}"


def system(clock: Clock) -> Actor:
    return Actor.system(clock)


async def make_institution(
    session: AsyncSession,
    *,
    clock: Clock,
    name: str | None = None,
    level: str = "三级甲等",
    region_code: str = "110105",
    region_name: str = "北京市朝阳区",
    internet: bool = True,
    licence_expires_on: date | None = date(2027, 12, 31),
    upper_institution_id: int | None = None,
    departments: Sequence[str] = ("03", "03.04", "04.03", "07"),
) -> Institution:
    """An institution (by default a licensed internet hospital) running ``departments``."""
    actor = system(clock)
    institution = await create_institution(
        session,
        actor,
        name=name or f"测试医院{_next()}",
        level=level,
        region_code=region_code,
        region_name=region_name,
        address="北京市朝阳区工体南路1号",
        phone="010-85231000",
        is_internet_hospital=internet,
        internet_licence_number=f"京卫互联网医院{_next()}" if internet else "",
        internet_licence_expires_on=licence_expires_on if internet else None,
        upper_institution_id=upper_institution_id,
    )
    for code in departments:
        await add_department(
            session,
            actor,
            institution_id=institution.id,
            department_code=code,
            offers_online=internet,
        )
    return institution


async def make_staff(
    session: AsyncSession, *, clock: Clock, institution: Institution | None, role: str
) -> Account:
    """An account of ``role`` (an institution admin of ``institution``, a platform admin …)."""
    return await create_account(
        session,
        system(clock),
        mobile=new_mobile(),
        password=PASSWORD,
        role=role,
        display_name="管理员",
        institution_id=institution.id if institution else None,
    )


async def make_doctor(
    session: AsyncSession,
    *,
    clock: Clock,
    institution: Institution,
    name: str = "张三丰",
    title: str = "主治医师",
    department: str = "03.04",
    practice_start_date: date = date(2015, 7, 1),
    status: str = "verified",
    sites: Sequence[SiteInput] = (),
    licence_number: str | None = None,
) -> PractitionerView:
    """A doctor of ``institution`` taken through the review to ``status``."""
    actor = system(clock)
    view = await create_practitioner(
        session,
        actor,
        institution_id=institution.id,
        name=name,
        sex="male",
        mobile=new_mobile(),
        password=PASSWORD,
        licence_number=licence_number or new_licence_number(),
        title=title,
        practice_start_date=practice_start_date,
        department_code=department,
        specialties="冠心病、高血压",
        introduction="从事心血管内科临床工作。",
        practice_sites=sites,
    )
    steps = {
        "draft": [],
        "pending": ["submit"],
        "verified": ["submit", "verify"],
        "rejected": ["submit", "reject"],
        "suspended": ["submit", "verify", "suspend"],
    }[status]
    for step in steps:
        if step == "submit":
            view = await submit_for_review(session, actor, practitioner_id=view.id)
        else:
            view = await decide_review(
                session, actor, practitioner_id=view.id, decision=step, note="测试"
            )
    return view


async def bearer(session: AsyncSession, *, clock: Clock, account: Account) -> dict[str, str]:
    """``Authorization`` headers carrying a fresh API token of ``account`` (a doctor on duty
    verified in it, R04)."""
    issued = await open_session(session, system(clock), account=account, kind="api", hours=1)
    await on_duty_in(session, issued.auth_session)
    return {"Authorization": f"Bearer {issued.token}"}


async def doctor_account(session: AsyncSession, *, view: PractitionerView) -> Account:
    account = await session.get(Account, view.account_id)
    assert account is not None
    return account
