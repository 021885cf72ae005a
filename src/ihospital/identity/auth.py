"""Sign-up, login (with lockout and the SMS code step) and logout.

Refusals must leave a trace although the request's transaction rolls back on error: a wrong
password raises the failure counter (and may lock the account), a wrong SMS code uses up a try,
and both are audited. The services flush exactly those changes before raising, and routes wrap
the call in :func:`keeping_failed_attempts`, which commits them before the error propagates.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import AppError, Conflict, Locked, Unauthorized
from ihospital.identity.accounts import create_account, mask_mobile
from ihospital.identity.models import Account, AuthSession, SmsChallenge
from ihospital.identity.policy import AuthPolicy
from ihospital.identity.sessions import open_session, revoke_session
from ihospital.identity.sms import check_sms_code
from ihospital.security.crypto import FieldCipher, token_digest
from ihospital.security.passwords import hash_password, needs_rehash, verify_password


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token to hand to the client (shown once, stored only as a hash)."""

    account: Account
    token: str
    expires_in_seconds: int


@asynccontextmanager
async def keeping_failed_attempts(session: AsyncSession) -> AsyncIterator[None]:
    """Commit what a refused sign-up or login recorded before the refusal propagates.

    Only :func:`sign_up`, :func:`log_in` and the step-ups that call :func:`password_again` are
    meant inside: they flush nothing but counters and audit entries before they raise an
    :class:`AppError`.
    """
    try:
        yield
    except AppError:
        await session.commit()
        raise


async def sign_up(
    session: AsyncSession,
    actor: Actor,
    *,
    mobile: str,
    password: str,
    display_name: str,
    sms_code: str,
    policy: AuthPolicy,
    cipher: FieldCipher,
    kind: str,
    hours: int,
    user_agent: str = "",
) -> SignedIn:
    """Create a patient account once the sign-up code proves the mobile number, and sign in."""
    taken = await session.scalar(select(Account.id).where(Account.mobile == mobile))
    if taken is not None:
        raise Conflict(
            "identity.mobile_taken",
            "The mobile number {mobile} is already registered.",
            mobile=mobile,
        )
    challenge = await check_sms_code(
        session, actor, mobile=mobile, purpose="signup", code=sms_code, policy=policy, cipher=cipher
    )
    account = await create_account(
        session,
        actor,
        mobile=mobile,
        password=password,
        role="patient",
        display_name=display_name,
        mobile_verified=True,
    )
    return await _sign_in(
        session, actor, account=account, challenge=challenge, kind=kind, hours=hours, ua=user_agent
    )


async def log_in(
    session: AsyncSession,
    actor: Actor,
    *,
    mobile: str,
    password: str,
    sms_code: str | None,
    policy: AuthPolicy,
    cipher: FieldCipher,
    kind: str,
    hours: int,
    user_agent: str = "",
) -> SignedIn:
    """Check the password (and, after repeated failures, a login SMS code) and open a session.

    Unknown numbers cost the same password check as known ones. ``login_max_failures``
    consecutive wrong passwords lock the account for ``lockout_minutes``, even for the right
    password; the counter is kept after the lock ends, so each further failure locks again
    until a login succeeds.
    """
    account = (
        await session.scalars(select(Account).where(Account.mobile == mobile).with_for_update())
    ).first()
    if account is None or not account.is_active:
        verify_password(None, password)
        await record(
            session,
            actor,
            action="auth.login_failed",
            subject_type="account",
            subject_id="",
            details={"mobile": mask_mobile(mobile), "reason": "unknown"},
        )
        raise _bad_credentials(sms_code_required=False)
    now = actor.clock.now()
    if account.locked_until is not None and account.locked_until > now:
        raise _locked(account.locked_until, now)
    challenge = None
    if account.failed_logins >= policy.sms_step_after_failures:
        if not sms_code:
            raise Unauthorized(
                "auth.sms_code_required",
                "After several failed sign-ins, also enter the verification code sent to "
                "your mobile.",
                sms_code_required=True,
            )
        challenge = await check_sms_code(
            session,
            actor,
            mobile=mobile,
            purpose="login",
            code=sms_code,
            policy=policy,
            cipher=cipher,
        )
    if not verify_password(account.password_hash, password):
        raise await _count_failure(session, actor, account=account, now=now, policy=policy)
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    return await _sign_in(
        session, actor, account=account, challenge=challenge, kind=kind, hours=hours, ua=user_agent
    )


async def log_out(session: AsyncSession, actor: Actor, *, token: str, kind: str) -> None:
    """Revoke the actor's session that ``token`` belongs to (doing it twice is harmless)."""
    auth_session = (
        await session.scalars(
            select(AuthSession).where(
                AuthSession.token_hash == token_digest(token),
                AuthSession.kind == kind,
                AuthSession.account_id == actor.account_id,
                AuthSession.revoked_at.is_(None),
            )
        )
    ).first()
    if auth_session is None:
        return
    await revoke_session(session, actor, auth_session_id=auth_session.id)
    await record(
        session,
        actor,
        action="auth.logout",
        subject_type="auth_session",
        subject_id=auth_session.id,
        details={"kind": kind},
    )


async def password_again(
    session: AsyncSession,
    actor: Actor,
    *,
    account: Account,
    password: str,
    policy: AuthPolicy,
    purpose: str,
) -> bool:
    """Check the password of a signed-in account entered again for ``purpose`` (a step-up such
    as the doctor's working session, R04): whether it is right.

    A wrong one counts toward the login lockout exactly like a wrong login password (the caller
    refuses in its own words); a locked account, or the failure that locks it, is refused with
    the lockout answer, even for the right password. A right one clears the counter. Routes wrap
    the call in :func:`keeping_failed_attempts`.
    """
    now = actor.clock.now()
    if account.locked_until is not None and account.locked_until > now:
        raise _locked(account.locked_until, now)
    if not verify_password(account.password_hash, password):
        refusal = await _count_failure(
            session, actor, account=account, now=now, policy=policy, reason=purpose
        )
        if isinstance(refusal, Locked):
            raise refusal
        return False
    account.failed_logins = 0
    account.locked_until = None
    return True


async def _sign_in(
    session: AsyncSession,
    actor: Actor,
    *,
    account: Account,
    challenge: SmsChallenge | None,
    kind: str,
    hours: int,
    ua: str,
) -> SignedIn:
    if challenge is not None:
        challenge.consumed_at = actor.clock.now()
    issued = await open_session(
        session, actor, account=account, kind=kind, hours=hours, user_agent=ua
    )
    await record(
        session,
        actor,
        action="auth.login",
        subject_type="account",
        subject_id=account.id,
        details={"kind": kind, "sms_code": challenge is not None},
    )
    return SignedIn(
        account=account, token=issued.token, expires_in_seconds=issued.expires_in_seconds
    )


async def _count_failure(
    session: AsyncSession,
    actor: Actor,
    *,
    account: Account,
    now: datetime,
    policy: AuthPolicy,
    reason: str = "password",
) -> AppError:
    """Record a wrong password; the refusal to raise (a lock once the limit is reached)."""
    account.failed_logins += 1
    locked_until = None
    if account.failed_logins >= policy.login_max_failures:
        locked_until = account.locked_until = now + timedelta(minutes=policy.lockout_minutes)
    await session.flush()
    await record(
        session,
        actor,
        action="auth.login_failed" if locked_until is None else "auth.locked",
        subject_type="account",
        subject_id=account.id,
        details={"failed_logins": account.failed_logins, "reason": reason},
    )
    if locked_until is not None:
        return _locked(locked_until, now)
    return _bad_credentials(
        sms_code_required=account.failed_logins >= policy.sms_step_after_failures
    )


def _bad_credentials(*, sms_code_required: bool) -> Unauthorized:
    return Unauthorized(
        "auth.bad_credentials",
        "The mobile number or password is wrong.",
        sms_code_required=sms_code_required,
    )


def _locked(until: datetime, now: datetime) -> Locked:
    seconds = math.ceil((until - now).total_seconds())
    return Locked(
        "auth.locked",
        "Too many failed sign-ins. The account is locked; try again in {minutes} minutes.",
        retry_after=seconds,
        minutes=math.ceil(seconds / 60),
    )
