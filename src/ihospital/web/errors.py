"""Refusals as a browser should see them: signed out → the login page (and back afterwards);
forbidden, not found and the rest → an error page in the layout, with the same status."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import inspect

from ihospital.core.i18n import current_language
from ihospital.errors import AppError
from ihospital.identity.models import Account
from ihospital.web.templating import render


async def _reloaded_account(request: Request) -> Account | None:
    """The signed-in account again: the request's transaction was rolled back, which expired it."""
    account = getattr(request.state, "account", None)
    if account is None:
        return None
    async with request.app.state.sessionmaker() as session:
        return await session.get(Account, inspect(account).identity[0])


async def page_refusal(request: Request, error: AppError) -> Response:
    if error.status == 401:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = "/login?" + urlencode({"next": back}) if request.method == "GET" else "/login"
        return RedirectResponse(target, status_code=303)
    request.state.account = await _reloaded_account(request)
    problem = error.to_problem(current_language.get(), request.url.path)
    return render(request, "error.html", {"problem": problem}, status_code=error.status)
