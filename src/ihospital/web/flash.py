"""One-shot notices carried across a redirect (post/redirect/get) in a signed cookie.

A route that redirects after a change calls :func:`flash` on the redirect response; the next page
rendered with :func:`ihospital.web.templating.render` shows the notices in the layout's notice
area and clears the cookie. Messages are English message ids with ``{named}`` fields, translated
when shown, so a notice follows a language switch. The cookie is signed with the secret key so a
visitor cannot plant text on the page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Literal

from fastapi import Request
from starlette.responses import Response

FLASH_COOKIE = "ih_flash"
NoticeKind = Literal["info", "success", "warning", "error"]
_KINDS = frozenset({"info", "success", "warning", "error"})


@dataclass(frozen=True)
class Notice:
    """A message id to translate, its fields, and how it looks (``notice-<kind>``)."""

    message: str
    kind: str = "info"
    fields: dict[str, str] = field(default_factory=dict)


def flash(
    request: Request,
    response: Response,
    message: str,
    *,
    kind: NoticeKind = "success",
    **fields: object,
) -> None:
    """Add a notice to show on the next rendered page (keeps notices already waiting)."""
    settings = request.app.state.settings
    waiting = _read(settings.secret_key, request.cookies.get(FLASH_COOKIE))
    waiting.append(Notice(message, kind, {k: str(v) for k, v in fields.items()}))
    response.set_cookie(
        FLASH_COOKIE,
        _encode(settings.secret_key, waiting),
        max_age=300,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def take_notices(request: Request) -> list[Notice]:
    """The notices waiting for this browser (the caller clears the cookie)."""
    return _read(request.app.state.settings.secret_key, request.cookies.get(FLASH_COOKIE))


def _sign(secret_key: str, payload: str) -> str:
    return hmac.new(secret_key.encode(), payload.encode(), hashlib.sha256).hexdigest()[:32]


def _encode(secret_key: str, notices: list[Notice]) -> str:
    data = [[n.message, n.kind, n.fields] for n in notices[-5:]]
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{payload}.{_sign(secret_key, payload)}"


def _read(secret_key: str, cookie: str | None) -> list[Notice]:
    if not cookie or "." not in cookie:
        return []
    payload, _, signature = cookie.rpartition(".")
    if not hmac.compare_digest(signature, _sign(secret_key, payload)):
        return []
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return [
            Notice(str(message), kind if kind in _KINDS else "info", dict(fields))
            for message, kind, fields in data
        ]
    except (ValueError, TypeError):
        return []
