"""Builders of the identity domain for every test: accounts, 就诊人, tokens, signed-in browsers.

All keyword-only. ``clock`` defaults to a clock frozen at the suite's start (the ``clock``
fixture's time); pass the test's own clock when the test moves time. Accounts go through the
real ``create_account`` (one argon2 hash each), 就诊人 through the real ``add_patient``.
"""

from __future__ import annotations

import itertools
import random
import re
from datetime import date
from typing import Literal

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.clock import Clock, FrozenClock
from ihospital.core.context import Actor
from ihospital.core.ids import check_character
from ihospital.deps import SESSION_COOKIE
from ihospital.identity.accounts import create_account
from ihospital.identity.models import Account, Patient
from ihospital.identity.patients import add_patient
from ihospital.identity.providers import RealNameAnswer, RealNameTimeout
from ihospital.identity.sessions import open_session
from ihospital.security.crypto import FieldCipher
from ihospital.security.csrf import CSRF_COOKIE
from tests.conftest import START, TEST_INDEX_KEY, TEST_KEY
from tests.consultation.duty_builders import on_duty_in

DEFAULT_PASSWORD = "Secret-pass-123"  # noqa: S105
CIPHER = FieldCipher(TEST_KEY, TEST_INDEX_KEY)

_mobile_base = random.randrange(10**8)
_numbers = itertools.count()


def new_mobile() -> str:
    """A mobile number not used before in this test process."""
    return f"139{(_mobile_base + next(_numbers)) % 10**8:08d}"


def make_id_number(
    *,
    birth_date: date = date(1990, 1, 1),
    sex: Literal["male", "female"] = "male",
    region: str = "110101",
    sequence: int | None = None,
) -> str:
    """A valid resident ID number. ``sequence`` (0–99) picks the order code's first two digits;
    by default a new one each call, never ``99`` (which the sandbox provider rejects)."""
    order = next(_numbers) % 99 if sequence is None else sequence
    sex_digit = random.choice("13579" if sex == "male" else "02468")
    first17 = f"{region}{birth_date:%Y%m%d}{order:02d}{sex_digit}"
    return first17 + check_character(first17)


def _clock(clock: Clock | None) -> Clock:
    return clock or FrozenClock(START)


async def make_account(
    session: AsyncSession,
    *,
    mobile: str | None = None,
    password: str = DEFAULT_PASSWORD,
    role: str = "patient",
    display_name: str = "测试用户",
    institution_id: int | None = None,
    language: str | None = None,
    elder_mode: bool = False,
    clock: Clock | None = None,
) -> Account:
    """An active account with a verified mobile number (staff roles need ``institution_id``)."""
    actor = Actor.system(_clock(clock))
    account = await create_account(
        session,
        actor,
        mobile=mobile or new_mobile(),
        password=password,
        role=role,
        display_name=display_name,
        institution_id=institution_id,
        mobile_verified=True,
    )
    if language is not None or elder_mode:
        account.language = language
        account.elder_mode = elder_mode
        await session.flush()
    return account


class _AnsweringProvider:
    """Gives the real-name answer the test asked for."""

    name = "test"

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome

    async def verify(self, *, name: str, id_number: str) -> RealNameAnswer:
        if self.outcome == "pending":
            raise RealNameTimeout("test provider timed out")
        if self.outcome == "failed":
            return RealNameAnswer(False, "TEST-MISMATCH", "The name does not match the ID number.")
        return RealNameAnswer(True, "TEST-MATCH")


async def make_patient(
    session: AsyncSession,
    *,
    account: Account | None = None,
    name: str = "张三",
    relationship: str | None = None,
    age: int | None = None,
    birth_date: date | None = None,
    sex: Literal["male", "female"] = "male",
    id_number: str | None = None,
    mobile: str | None = None,
    realname: Literal["verified", "failed", "pending"] = "verified",
    clock: Clock | None = None,
) -> Patient:
    """A 就诊人 (by default of a new account, real-name verified, born 1990-01-01).

    ``age`` sets the birth date to the first of this month, that many years ago.
    ``relationship`` defaults to "self" when the account has no "self" yet, else "other".
    """
    clock = _clock(clock)
    account = account or await make_account(session, clock=clock)
    if age is not None:
        today = clock.today_local()
        birth_date = date(today.year - age, today.month, 1)
    if relationship is None:
        has_self = await session.scalar(
            select(Patient.id).where(
                Patient.account_id == account.id, Patient.is_active, Patient.relationship == "self"
            )
        )
        relationship = "other" if has_self else "self"
    actor = Actor(role=account.role, clock=clock, account_id=account.id)
    return await add_patient(
        session,
        actor,
        name=name,
        relationship=relationship,
        id_number=id_number or make_id_number(birth_date=birth_date or date(1990, 1, 1), sex=sex),
        mobile=mobile,
        cipher=CIPHER,
        provider=_AnsweringProvider(realname),
    )


async def auth_headers(
    session: AsyncSession, *, account: Account, clock: Clock | None = None, hours: int = 24
) -> dict[str, str]:
    """``Authorization: Bearer …`` headers of a new API token of ``account`` (a doctor on duty
    verified in it, R04)."""
    issued = await open_session(
        session, Actor.system(_clock(clock)), account=account, kind="api", hours=hours
    )
    await on_duty_in(session, issued.auth_session)
    return {"Authorization": f"Bearer {issued.token}"}


async def sign_in_browser(
    client: httpx.AsyncClient,
    session: AsyncSession,
    *,
    account: Account,
    clock: Clock | None = None,
    hours: int = 12,
) -> None:
    """Give ``client`` the session cookie of ``account``, as after signing in on /login (a
    doctor on duty verified in it, R04)."""
    issued = await open_session(
        session, Actor.system(_clock(clock)), account=account, kind="web", hours=hours
    )
    await on_duty_in(session, issued.auth_session)
    client.cookies.set(SESSION_COOKIE, issued.token, domain="testserver")


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The CSRF token of ``client``'s browser (the form field ``csrf_token`` carries it)."""
    if CSRF_COOKIE not in client.cookies:
        await client.get("/healthz")
    return client.cookies[CSRF_COOKIE]


def last_sms_code(app: FastAPI, mobile: str) -> str:
    """The code last texted to ``mobile`` (needs settings with ``sms_sender="sandbox"``)."""
    texts = [text for to, text in app.state.sms_sender.sent.values() if to == mobile]
    if not texts:
        raise LookupError(f"no text message was sent to {mobile}")
    found = re.search(r"\b(\d{6})\b", texts[-1])
    if found is None:
        raise LookupError(f"the last text to {mobile} holds no code")
    return found.group(1)
