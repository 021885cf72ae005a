"""JSON routes: SMS codes, sign-up, login and logout, the signed-in account (``/api/me``) and,
from :mod:`ihospital.identity.patients_api`, the 就诊人."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from ihospital.core.context import Actor
from ihospital.deps import SESSION_COOKIE, DbSession, anonymous_actor, current_account, require
from ihospital.identity import patients_api
from ihospital.identity.accounts import update_preferences
from ihospital.identity.auth import log_out
from ihospital.identity.entry import logging_in, send_code, signing_up
from ihospital.identity.models import Account
from ihospital.identity.policy import Policy
from ihospital.identity.schemas import (
    AccountRead,
    AccountUpdate,
    SignupRequest,
    SmsCodeRequest,
    SmsCodeSent,
    TokenRequest,
    TokenResponse,
)
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["identity"])

Anonymous = Annotated[Actor, Depends(anonymous_actor)]
SelfActor = Annotated[Actor, Depends(require(Permission.ACCOUNT_SELF))]


@router.post("/auth/sms-codes", status_code=202)
async def send_sms_code(
    body: SmsCodeRequest, request: Request, session: DbSession, actor: Anonymous, policy: Policy
) -> SmsCodeSent:
    """Text a one-time code for sign-up or for the login SMS step (rate limited per number)."""
    sent = await send_code(request, session, actor, body, policy)
    return SmsCodeSent(
        purpose=sent.purpose,
        expires_in=sent.expires_in_seconds,
        retry_after=sent.resend_after_seconds,
    )


@router.post("/auth/signup", status_code=201)
async def signup(
    body: SignupRequest, request: Request, session: DbSession, actor: Anonymous, policy: Policy
) -> TokenResponse:
    """Create a patient account with a sign-up SMS code and return a bearer token."""
    signed_in = await signing_up(request, session, actor, body, policy, "api")
    return TokenResponse(access_token=signed_in.token, expires_in=signed_in.expires_in_seconds)


@router.post("/auth/token")
async def token(
    body: TokenRequest, request: Request, session: DbSession, actor: Anonymous, policy: Policy
) -> TokenResponse:
    """Exchange mobile and password (and, after failures, a login SMS code) for a bearer token."""
    signed_in = await logging_in(request, session, actor, body, policy, "api")
    return TokenResponse(access_token=signed_in.token, expires_in=signed_in.expires_in_seconds)


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, session: DbSession, actor: SelfActor) -> Response:
    """Revoke the token (or browser session) this request was made with."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer:
        await log_out(session, actor, token=bearer, kind="api")
    else:
        await log_out(session, actor, token=request.cookies.get(SESSION_COOKIE, ""), kind="web")
    return Response(status_code=204)


@router.get("/me")
async def read_me(
    actor: SelfActor, account: Annotated[Account, Depends(current_account)]
) -> AccountRead:
    """The signed-in account."""
    return AccountRead.of(account)


@router.patch("/me")
async def update_me(body: AccountUpdate, session: DbSession, actor: SelfActor) -> AccountRead:
    """Change display name, language or 长辈模式."""
    account = await update_preferences(
        session,
        actor,
        language=body.language,
        elder_mode=body.elder_mode,
        display_name=body.display_name,
    )
    return AccountRead.of(account)


router.include_router(patients_api.router)
