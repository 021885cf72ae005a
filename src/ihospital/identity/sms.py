"""One-time SMS codes (短信验证码) for sign-up and for the login SMS step.

The code is sent straight to the SMS gateway and never stored: the challenge keeps only a keyed
hash of it. Requests are limited per mobile number (one per ``sms_resend_seconds``,
``sms_daily_limit`` per Shanghai day) and each code allows ``sms_code_max_attempts`` tries. A
wrong try is flushed before the refusal is raised so that the route can keep it (see
:func:`ihospital.identity.auth.keeping_failed_attempts`).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.clock import SHANGHAI
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.errors import Conflict, NotFound, ServiceUnavailable, TooManyRequests, Unprocessable
from ihospital.identity.accounts import mask_mobile
from ihospital.identity.models import Account, SmsChallenge
from ihospital.identity.policy import AuthPolicy
from ihospital.notifications.senders import SmsFailure, SmsSender
from ihospital.security.crypto import FieldCipher

PURPOSES = ("signup", "login")
CODE_FIELD = "sms_code"
SMS_TEXT = (
    "Your ihospital verification code is {code}. It is valid for {minutes} minutes. "
    "Never share it with anyone."
)


@dataclass(frozen=True)
class SentCode:
    """What the caller may tell the user about a code that was sent."""

    purpose: str
    expires_in_seconds: int
    resend_after_seconds: int


async def request_sms_code(
    session: AsyncSession,
    actor: Actor,
    *,
    mobile: str,
    purpose: str,
    policy: AuthPolicy,
    cipher: FieldCipher,
    sender: SmsSender,
) -> SentCode:
    """Create a challenge for ``mobile`` and text its code directly to the number.

    A sign-up code is refused for a registered number, a login code for an unknown one.
    """
    if purpose not in PURPOSES:
        raise Unprocessable(
            "auth.sms_purpose_unknown", "Choose one of: signup, login.", field="purpose"
        )
    await _serialise_per_mobile(session, mobile)
    registered = await session.scalar(select(Account.id).where(Account.mobile == mobile))
    if purpose == "signup" and registered is not None:
        raise Conflict(
            "identity.mobile_taken",
            "The mobile number {mobile} is already registered.",
            mobile=mobile,
        )
    if purpose == "login" and registered is None:
        raise NotFound(
            "identity.mobile_unknown",
            "No account uses the mobile number {mobile}. Sign up first.",
            mobile=mobile,
        )
    now = actor.clock.now()
    await _check_rate(session, mobile=mobile, now=now, policy=policy)

    code = f"{secrets.randbelow(1_000_000):06d}"
    challenge = SmsChallenge(
        mobile=mobile,
        purpose=purpose,
        code_hash=_code_hash(cipher, mobile=mobile, purpose=purpose, code=code),
        created_at=now,
        expires_at=now + timedelta(minutes=policy.sms_code_minutes),
        attempts=0,
    )
    session.add(challenge)
    await session.flush()
    await record(
        session,
        actor,
        action="auth.sms_code",
        subject_type="sms_challenge",
        subject_id=challenge.id,
        details={"mobile": mask_mobile(mobile), "purpose": purpose},
    )
    message = translate(SMS_TEXT, code=code, minutes=policy.sms_code_minutes)
    try:
        # A random key: a reused row id after a rollback must not be deduplicated by the gateway.
        await sender.send(mobile=mobile, text=message, idempotency_key=f"sms-{uuid.uuid4().hex}")
    except SmsFailure:
        raise ServiceUnavailable(
            "auth.sms_unavailable",
            "The text message could not be sent. Please try again in a moment.",
        ) from None
    return SentCode(
        purpose=purpose,
        expires_in_seconds=policy.sms_code_minutes * 60,
        resend_after_seconds=policy.sms_resend_seconds,
    )


async def check_sms_code(
    session: AsyncSession,
    actor: Actor,
    *,
    mobile: str,
    purpose: str,
    code: str,
    policy: AuthPolicy,
    cipher: FieldCipher,
) -> SmsChallenge:
    """The latest live challenge of ``mobile`` whose code is ``code``; every try counts.

    The caller marks the challenge used (``consumed_at``) once the whole action succeeds.
    """
    now = actor.clock.now()
    challenge = (
        await session.scalars(
            select(SmsChallenge)
            .where(
                SmsChallenge.mobile == mobile,
                SmsChallenge.purpose == purpose,
                SmsChallenge.consumed_at.is_(None),
            )
            .order_by(SmsChallenge.created_at.desc(), SmsChallenge.id.desc())
            .limit(1)
            .with_for_update()
        )
    ).first()
    if challenge is None or challenge.expires_at <= now:
        raise Unprocessable(
            "auth.sms_code_expired",
            "The verification code has expired or was never sent. Request a new one.",
            field=CODE_FIELD,
        )
    if challenge.attempts >= policy.sms_code_max_attempts:
        raise Unprocessable(
            "auth.sms_code_exhausted",
            "Too many wrong codes. Request a new one.",
            field=CODE_FIELD,
        )
    challenge.attempts += 1
    await session.flush()
    expected = _code_hash(cipher, mobile=mobile, purpose=purpose, code=code)
    if not hmac.compare_digest(challenge.code_hash, expected):
        raise Unprocessable(
            "auth.sms_code_invalid",
            "The verification code is wrong. {attempts_left} tries left.",
            field=CODE_FIELD,
            attempts_left=policy.sms_code_max_attempts - challenge.attempts,
        )
    return challenge


def _code_hash(cipher: FieldCipher, *, mobile: str, purpose: str, code: str) -> str:
    # Keyed, so a copy of the table does not give the codes away to a 10⁶-guess brute force.
    return cipher.blind_index(f"{mobile}:{code}", purpose=f"sms.{purpose}")


async def _check_rate(
    session: AsyncSession, *, mobile: str, now: datetime, policy: AuthPolicy
) -> None:
    last = await session.scalar(
        select(func.max(SmsChallenge.created_at)).where(SmsChallenge.mobile == mobile)
    )
    if last is not None:
        wait = (last + timedelta(seconds=policy.sms_resend_seconds) - now).total_seconds()
        if wait > 0:
            raise TooManyRequests(
                "auth.sms_too_soon",
                "A code was sent a moment ago. You can ask for another in {retry_after} seconds.",
                retry_after=math.ceil(wait),
            )
    local_day = now.astimezone(SHANGHAI).date()
    day_start = datetime.combine(local_day, time(), tzinfo=SHANGHAI)
    sent_today = await session.scalar(
        select(func.count())
        .select_from(SmsChallenge)
        .where(SmsChallenge.mobile == mobile, SmsChallenge.created_at >= day_start)
    )
    if (sent_today or 0) >= policy.sms_daily_limit:
        tomorrow = day_start + timedelta(days=1)
        raise TooManyRequests(
            "auth.sms_daily_limit",
            "No more codes can be sent to this number today. Try again tomorrow.",
            retry_after=math.ceil((tomorrow - now).total_seconds()),
        )


async def _serialise_per_mobile(session: AsyncSession, mobile: str) -> None:
    """Two requests for one number must not both pass the rate check (PostgreSQL; SQLite has a
    single writer already)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        digest = hashlib.sha256(f"sms:{mobile}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
