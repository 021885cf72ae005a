"""Signed-in sessions: browser cookies and API bearer tokens, stored as hashes, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.identity.models import Account, AuthSession
from ihospital.security.crypto import new_token, token_digest


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in_seconds: int
    auth_session: AuthSession


async def open_session(
    session: AsyncSession,
    actor: Actor,
    *,
    account: Account,
    kind: str,
    hours: int,
    user_agent: str = "",
) -> IssuedToken:
    """Issue a new token for ``account``; only its digest is kept."""
    token = new_token()
    now = actor.clock.now()
    row = AuthSession(
        account_id=account.id,
        kind=kind,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        ip=actor.ip[:64],
        user_agent=user_agent[:256],
    )
    session.add(row)
    await session.flush()
    return IssuedToken(token=token, expires_in_seconds=hours * 3600, auth_session=row)


async def resolve_token(
    session: AsyncSession, actor: Actor, *, token: str, kind: str
) -> tuple[AuthSession, Account] | None:
    """The live session and its active account for a presented token, or None."""
    row = (
        await session.execute(
            select(AuthSession, Account)
            .join(Account, Account.id == AuthSession.account_id)
            .where(AuthSession.token_hash == token_digest(token), AuthSession.kind == kind)
        )
    ).first()
    if row is None:
        return None
    auth_session, account = row
    if auth_session.revoked_at is not None or auth_session.expires_at <= actor.clock.now():
        return None
    if not account.is_active:
        return None
    return auth_session, account


async def revoke_session(session: AsyncSession, actor: Actor, *, auth_session_id: int) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == auth_session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=actor.clock.now())
    )


async def revoke_all_sessions(session: AsyncSession, actor: Actor, *, account_id: int) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.account_id == account_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=actor.clock.now())
    )
