"""Small helpers shared by the directory's HTML forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse

from ihospital.directory.institutions import EDITABLE_FIELDS
from ihospital.errors import AppError
from ihospital.web.flash import Notice, flash

T = TypeVar("T")


def scope_query(institution_id: int | None) -> str:
    """The query string that keeps a platform admin on the institution they picked."""
    return f"?institution_id={institution_id}" if institution_id else ""


def checkbox(value: object) -> bool:
    """An HTML checkbox: present (any value but an explicit off) when ticked, absent when not."""
    return value is not None and str(value).lower() not in ("", "0", "false", "off")


def institution_form_values(institution: Any) -> dict[str, Any]:
    """An institution's fields as its edit form shows them."""
    values = {field: getattr(institution, field) for field in EDITABLE_FIELDS}
    for field in ("internet_licence_expires_on", "upper_institution_id"):
        values[field] = "" if values[field] is None else str(values[field])
    return values


async def form_text(request: Request, fields: Sequence[str]) -> dict[str, str]:
    """The posted form's ``fields`` as trimmed text, empty when absent."""
    form = await request.form()
    return {field: str(form.get(field, "")).strip() for field in fields}


async def redirect_after(
    request: Request, location: str, change: Awaitable[T], done: Callable[[T], Notice]
) -> RedirectResponse:
    """Make ``change`` and send the browser to ``location`` (303) with a notice: ``done`` of
    what the change returned, or the refusal when a service refused it."""
    response = RedirectResponse(location, status_code=303)
    try:
        result = await change
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    notice = done(result)
    flash(request, response, notice.message, kind=notice.kind, **notice.fields)
    return response
