"""Inbox (站内信) page: the signed-in account's messages, with mark-as-read forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.notifications.inbox import list_inbox, mark_all_read, mark_read
from ihospital.notifications.schemas import InboxMessageRead
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)
Self = Annotated[Actor, Depends(require(Permission.ACCOUNT_SELF))]
PageNumber = Annotated[int, Form(ge=1, le=100_000)]
MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PAGE_SIZE = 20


def _back(page: int) -> RedirectResponse:
    return RedirectResponse(f"/inbox?page={page}" if page > 1 else "/inbox", status_code=303)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    request: Request,
    session: DbSession,
    actor: Self,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    listing = await list_inbox(session, actor, page=page, page_size=PAGE_SIZE)
    return render(
        request,
        "notifications/inbox.html",
        {
            "listing": listing,
            "messages": [InboxMessageRead.from_message(message) for message in listing.items],
        },
    )


@router.post("/inbox/read-all", dependencies=[Depends(check_csrf)])
async def inbox_read_all(
    request: Request, session: DbSession, actor: Self, page: PageNumber = 1
) -> RedirectResponse:
    marked = await mark_all_read(session, actor)
    response = _back(page)
    if marked:
        flash(request, response, "All messages are marked as read.")
    return response


@router.post("/inbox/{message_id}/read", dependencies=[Depends(check_csrf)])
async def inbox_read_one(
    session: DbSession, actor: Self, message_id: MessageId, page: PageNumber = 1
) -> RedirectResponse:
    await mark_read(session, actor, message_id=message_id)
    return _back(page)
