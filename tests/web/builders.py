"""Signed-in browsers of every role for page tests, built from the domains' own builders."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.deps import SESSION_COOKIE
from ihospital.identity.accounts import STAFF_ROLES
from ihospital.identity.models import Account
from ihospital.identity.sessions import open_session
from tests.consultation.duty_builders import on_duty_in
from tests.directory.builders import make_institution
from tests.identity.builders import make_account


async def sign_in_as(
    session: AsyncSession, client: httpx.AsyncClient, *, account: Account, clock: Clock
) -> Account:
    """Give ``client`` the session cookie of ``account``, as after signing in on /login (a
    doctor on duty verified in it, R04)."""
    issued = await open_session(session, Actor.system(clock), account=account, kind="web", hours=12)
    await on_duty_in(session, issued.auth_session)
    client.cookies.set(SESSION_COOKIE, issued.token)
    return account


async def sign_in(
    session: AsyncSession,
    client: httpx.AsyncClient,
    *,
    clock: Clock,
    role: str = "patient",
    display_name: str = "张三",
) -> Account:
    """A new account of ``role`` (staff in a new institution) signed in on ``client``."""
    institution_id = None
    if role in STAFF_ROLES:
        institution_id = (await make_institution(session, clock=clock, departments=())).id
    account = await make_account(
        session, role=role, display_name=display_name, institution_id=institution_id, clock=clock
    )
    return await sign_in_as(session, client, account=account, clock=clock)
