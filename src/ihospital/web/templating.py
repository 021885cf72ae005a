"""Jinja2 templates with gettext, the signed-in account, CSRF token, language and 长辈模式."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ihospital.core.clock import to_local
from ihospital.core.i18n import LANGUAGE_NAMES, gettext
from ihospital.prescribing.terms import FILTERS as DRUG_TERM_FILTERS
from ihospital.security.permissions import Permission, has_permission
from ihospital.web.flash import FLASH_COOKIE, take_notices

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
ELDER_COOKIE = "ih_elder"


def _local_time(moment: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(moment).strftime(fmt) if moment else ""


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    env = templates.env
    env.globals["_"] = gettext
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    # the layout's navigation links the pages a role's permissions open
    env.globals["Permission"] = Permission
    env.globals["has_permission"] = has_permission
    env.filters["local_time"] = _local_time
    env.filters.update(DRUG_TERM_FILTERS)
    return templates


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with what every page needs: account, language, CSRF token, elder mode,
    and the notices flashed before a redirect (shown once)."""
    account = getattr(request.state, "account", None)
    elder = bool(account.elder_mode) if account else request.cookies.get(ELDER_COOKIE) == "1"
    base = {
        "request": request,
        "account": account,
        "language": request.state.language,
        "csrf_token": request.state.csrf_token,
        "elder_mode": elder,
        "flashes": take_notices(request),
    }
    response = request.app.state.templates.TemplateResponse(
        request, template, {**base, **(context or {})}, status_code=status_code
    )
    if FLASH_COOKIE in request.cookies:
        secure = request.app.state.settings.cookie_secure
        response.delete_cookie(FLASH_COOKIE, secure=secure, httponly=True, samesite="lax")
    return response
