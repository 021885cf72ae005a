"""Refusals as a browser should see them: signed out → the login page (and back afterwards);
forbidden, not found and the rest → an error page in the layout, with the same status.

An htmx request that finds itself signed out is not redirected (htmx would follow it and swap
the login page into a fragment): it gets ``HX-Redirect``, so the whole page goes to the login,
and back afterwards to the page the browser shows (``HX-Current-URL``)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

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
        if request.headers.get("hx-request") == "true":
            shown = urlsplit(request.headers.get("hx-current-url", ""))
            back = (shown.path or "/") + (f"?{shown.query}" if shown.query else "")
            login = "/login?" + urlencode({"next": back})
            return Response(status_code=401, headers={"HX-Redirect": login})
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = "/login?" + urlencode({"next": back}) if request.method == "GET" else "/login"
        return RedirectResponse(target, status_code=303)
    request.state.account = await _reloaded_account(request)
    problem = error.to_problem(current_language.get(), request.url.path)
    return render(request, "error.html", {"problem": problem}, status_code=error.status)
