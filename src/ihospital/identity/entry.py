"""Sign-up, login and SMS codes as the routes call them: the JSON API (bearer tokens) and the
pages (a session cookie) differ only in the kind of session opened and how long it lasts."""

from __future__ import annotations

from typing import Literal, TypedDict

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.identity.auth import SignedIn, keeping_failed_attempts, log_in, sign_up
from ihospital.identity.policy import AuthPolicy
from ihospital.identity.schemas import SignupRequest, SmsCodeRequest, TokenRequest
from ihospital.identity.sms import SentCode, request_sms_code
from ihospital.security.crypto import FieldCipher

SessionKind = Literal["api", "web"]


class _SessionTerms(TypedDict):
    cipher: FieldCipher
    kind: str
    hours: int
    user_agent: str


def _session_terms(request: Request, kind: SessionKind) -> _SessionTerms:
    settings = request.app.state.settings
    return {
        "cipher": request.app.state.cipher,
        "kind": kind,
        "hours": settings.api_token_hours if kind == "api" else settings.session_hours,
        "user_agent": request.headers.get("user-agent", ""),
    }


async def send_code(
    request: Request, session: AsyncSession, actor: Actor, form: SmsCodeRequest, policy: AuthPolicy
) -> SentCode:
    return await request_sms_code(
        session,
        actor,
        mobile=form.mobile,
        purpose=form.purpose,
        policy=policy,
        cipher=request.app.state.cipher,
        sender=request.app.state.sms_sender,
    )


async def signing_up(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    form: SignupRequest,
    policy: AuthPolicy,
    kind: SessionKind,
) -> SignedIn:
    """:func:`sign_up`, keeping what a refusal recorded."""
    async with keeping_failed_attempts(session):
        return await sign_up(
            session,
            actor,
            mobile=form.mobile,
            password=form.password,
            display_name=form.display_name,
            sms_code=form.sms_code,
            policy=policy,
            **_session_terms(request, kind),
        )


async def logging_in(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    form: TokenRequest,
    policy: AuthPolicy,
    kind: SessionKind,
) -> SignedIn:
    """:func:`log_in`, keeping what a refusal recorded (failure counter, used-up code tries)."""
    async with keeping_failed_attempts(session):
        return await log_in(
            session,
            actor,
            mobile=form.mobile,
            password=form.password,
            sms_code=form.sms_code,
            policy=policy,
            **_session_terms(request, kind),
        )
