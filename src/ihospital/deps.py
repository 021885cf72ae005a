"""Request-scoped dependencies: the transaction, the clock, the actor and permission checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from ihospital.booking.admission import FULL_SLOTS
from ihospital.config import Settings
from ihospital.core.context import Actor
from ihospital.errors import Forbidden, Unauthorized
from ihospital.identity.models import Account
from ihospital.identity.sessions import resolve_token
from ihospital.realtime.after_commit import SESSION_HUB
from ihospital.security.csrf import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, tokens_match
from ihospital.security.permissions import Permission, has_permission

SESSION_COOKIE = "ih_session"


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, before the response is
    sent (``scope="function"``), so a client never sees a success that was not committed and its
    next request reads what this one wrote; rolled back on error. The session carries the app's
    real-time hub, for services that publish after commit."""
    async with request.app.state.sessionmaker() as session:
        session.info[SESSION_HUB] = request.app.state.realtime_hub
        session.info[FULL_SLOTS] = request.app.state.booking_admission.full
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


def client_ip(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else ""


def anonymous_actor(connection: HTTPConnection) -> Actor:
    return Actor(
        role="anonymous",
        clock=connection.app.state.clock,
        ip=client_ip(connection),
        request_id=getattr(connection.state, "request_id", ""),
    )


def actor_for(connection: HTTPConnection, account: Account) -> Actor:
    return Actor(
        role=account.role,
        clock=connection.app.state.clock,
        account_id=account.id,
        institution_id=account.institution_id,
        region_code=account.region_code,
        auth_session_id=getattr(connection.state, "auth_session_id", None),
        ip=client_ip(connection),
        request_id=getattr(connection.state, "request_id", ""),
    )


async def check_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated, state-changing request without the matching CSRF token."""
    if request.method in SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        presented = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not tokens_match(request.cookies.get(CSRF_COOKIE), presented):
        raise Forbidden("security.csrf", "The form has expired. Reload the page and try again.")


async def presented_account(
    session: AsyncSession, connection: HTTPConnection
) -> tuple[Account | None, bool]:
    """The account a request or WebSocket presents (bearer token, else session cookie), or None,
    and whether it came by the cookie (which then needs a CSRF or Origin check). The session it
    came by is kept on the connection's state for :func:`actor_for`."""
    authorization = connection.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("auth.bad_token", "The access token is missing or malformed.")
        found = await resolve_token(session, anonymous_actor(connection), token=token, kind="api")
        if found is None:
            raise Unauthorized("auth.bad_token", "The access token is invalid or has expired.")
        connection.state.auth_session_id = found[0].id
        return found[1], False
    if cookie := connection.cookies.get(SESSION_COOKIE):
        found = await resolve_token(session, anonymous_actor(connection), token=cookie, kind="web")
        if found is not None:
            connection.state.auth_session_id = found[0].id
            return found[1], True
    return None, False


async def optional_account(request: Request, session: DbSession) -> Account | None:
    """The signed-in account (bearer token or session cookie), or None."""
    if hasattr(request.state, "account"):
        return request.state.account
    account, by_cookie = await presented_account(session, request)
    if by_cookie:
        await check_csrf(request)
    request.state.account = account
    return account


async def current_account(
    account: Annotated[Account | None, Depends(optional_account)],
) -> Account:
    if account is None:
        raise Unauthorized("auth.required", "Please sign in first.")
    return account


def require(permission: Permission):
    """Dependency: the signed-in actor, refused unless their role grants ``permission``."""

    async def dependency(
        request: Request, account: Annotated[Account, Depends(current_account)]
    ) -> Actor:
        if not has_permission(account.role, permission):
            raise Forbidden("auth.forbidden", "Your role may not do this.")
        return actor_for(request, account)

    dependency.permission = permission  # type: ignore[attr-defined]  (read by the matrix test)
    return dependency


async def optional_actor(
    request: Request, account: Annotated[Account | None, Depends(optional_account)]
) -> Actor:
    """The signed-in actor, or an anonymous one (public pages)."""
    return actor_for(request, account) if account else anonymous_actor(request)
