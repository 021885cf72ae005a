"""Pages: sign-up (mobile, then code, password and name), login (with the SMS code step),
logout, and, from :mod:`ihospital.identity.patients_pages`, the 就诊人 pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.core.context import Actor
from ihospital.core.middleware import LANGUAGE_COOKIE
from ihospital.deps import (
    SESSION_COOKIE,
    DbSession,
    anonymous_actor,
    check_csrf,
    optional_account,
    optional_actor,
)
from ihospital.errors import AppError
from ihospital.identity import patients_pages
from ihospital.identity.accounts import mask_mobile
from ihospital.identity.auth import SignedIn, log_out
from ihospital.identity.entry import logging_in, send_code, signing_up
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.identity.models import Account
from ihospital.identity.policy import Policy
from ihospital.identity.schemas import SignupRequest, SmsCodeRequest, TokenRequest
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Anonymous = Annotated[Actor, Depends(anonymous_actor)]
MaybeAccount = Annotated[Account | None, Depends(optional_account)]
TextField = Annotated[str, Form()]
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


def safe_next(target: str) -> str:
    """Only a path on this site (never ``//host`` or a URL) may follow a login."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _signed_in_redirect(request: Request, signed_in: SignedIn, target: str) -> Response:
    settings = request.app.state.settings
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        max_age=signed_in.expires_in_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    if signed_in.account.language:
        response.set_cookie(
            LANGUAGE_COOKIE,
            signed_in.account.language,
            max_age=LANGUAGE_COOKIE_SECONDS,
            path="/",
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
        )
    return response


def _code_sent(mobile: str) -> FormState:
    notice = Notice("We sent a code to {mobile}.", "info", {"mobile": mask_mobile(mobile)})
    return FormState(notices=[notice])


def _signup_page(request: Request, step: str, values: dict, state: FormState) -> Response:
    context = {"step": step, "values": values, **state.context()}
    return render(request, "identity/signup.html", context, status_code=state.status_code)


def _login_page(request: Request, values: dict, state: FormState, *, need_code: bool) -> Response:
    context = {"values": values, "need_code": need_code, **state.context()}
    return render(request, "identity/login.html", context, status_code=state.status_code)


@router.get("/signup")
async def signup_page(request: Request, account: MaybeAccount) -> Response:
    if account is not None:
        return RedirectResponse("/", status_code=303)
    return _signup_page(request, "mobile", {}, FormState())


@router.post("/signup/code", dependencies=CSRF)
async def signup_code(
    request: Request,
    session: DbSession,
    actor: Anonymous,
    policy: Policy,
    mobile: TextField = "",
) -> Response:
    values = {"mobile": mobile.strip()}
    form, state = parse_form(SmsCodeRequest, {**values, "purpose": "signup"})
    if form is None:
        return _signup_page(request, "mobile", values, state)
    try:
        await send_code(request, session, actor, form, policy)
    except AppError as error:
        return _signup_page(request, "mobile", values, refused(error, fields=("mobile",)))
    return _signup_page(request, "details", values, _code_sent(form.mobile))


@router.post("/signup", dependencies=CSRF)
async def signup_submit(
    request: Request,
    session: DbSession,
    actor: Anonymous,
    policy: Policy,
    mobile: TextField = "",
    sms_code: TextField = "",
    password: TextField = "",
    display_name: TextField = "",
) -> Response:
    values = {"mobile": mobile.strip(), "display_name": display_name.strip()}
    fields = {**values, "sms_code": sms_code.strip(), "password": password}
    form, state = parse_form(SignupRequest, fields)
    if form is None:
        return _signup_page(request, "details", values, state)
    try:
        signed_in = await signing_up(request, session, actor, form, policy, "web")
    except AppError as error:
        state = refused(error, fields=("mobile", "sms_code", "password", "display_name"))
        return _signup_page(request, "details", values, state)
    response = _signed_in_redirect(request, signed_in, "/")
    flash(request, response, "Welcome! Your account is ready.")
    return response


@router.get("/login")
async def login_page(request: Request, account: MaybeAccount, next: str = "/") -> Response:
    if account is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, {"next": safe_next(next)}, FormState(), need_code=False)


@router.post("/login", dependencies=CSRF)
async def login_submit(
    request: Request,
    session: DbSession,
    actor: Anonymous,
    policy: Policy,
    mobile: TextField = "",
    password: TextField = "",
    sms_code: TextField = "",
    next: TextField = "/",
) -> Response:
    values = {"mobile": mobile.strip(), "next": safe_next(next)}
    code = sms_code.strip() or None
    form, state = parse_form(
        TokenRequest, {"mobile": values["mobile"], "password": password, "sms_code": code}
    )
    if form is None:
        return _login_page(request, values, state, need_code=code is not None)
    try:
        signed_in = await logging_in(request, session, actor, form, policy, "web")
    except AppError as error:
        need_code = bool(
            error.fields.get("sms_code_required") or error.fields.get("field") == "sms_code"
        )
        state = refused(error, fields=("mobile", "password", "sms_code"))
        return _login_page(request, values, state, need_code=need_code)
    return _signed_in_redirect(request, signed_in, values["next"])


@router.post("/login/code", dependencies=CSRF)
async def login_code(
    request: Request,
    session: DbSession,
    actor: Anonymous,
    policy: Policy,
    mobile: TextField = "",
    next: TextField = "/",
) -> Response:
    values = {"mobile": mobile.strip(), "next": safe_next(next)}
    form, state = parse_form(SmsCodeRequest, {"mobile": values["mobile"], "purpose": "login"})
    if form is None:
        return _login_page(request, values, state, need_code=True)
    try:
        await send_code(request, session, actor, form, policy)
    except AppError as error:
        return _login_page(request, values, refused(error, fields=("mobile",)), need_code=True)
    return _login_page(request, values, _code_sent(form.mobile), need_code=True)


@router.post("/logout", dependencies=CSRF)
async def logout_submit(
    request: Request, session: DbSession, actor: Annotated[Actor, Depends(optional_actor)]
) -> Response:
    """Deliberately open to anyone: signing out an expired session just clears the cookie."""
    if not actor.is_anonymous:
        await log_out(session, actor, token=request.cookies.get(SESSION_COOKIE, ""), kind="web")
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
    )
    flash(request, response, "You have signed out.")
    return response


router.include_router(patients_pages.router)
