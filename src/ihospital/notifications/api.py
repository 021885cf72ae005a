"""Inbox (站内信) JSON API: one's own messages only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.notifications.inbox import list_inbox, mark_all_read, mark_read
from ihospital.notifications.schemas import InboxMessageRead, InboxPage, MarkedAllRead
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api/inbox", tags=["inbox"])
Self = Annotated[Actor, Depends(require(Permission.ACCOUNT_SELF))]
MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", response_model=InboxPage)
async def get_inbox(
    session: DbSession,
    actor: Self,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> InboxPage:
    """The signed-in account's messages, newest first, with the number still unread."""
    listing = await list_inbox(session, actor, page=page, page_size=page_size)
    return InboxPage(
        items=[InboxMessageRead.from_message(message) for message in listing.items],
        total=listing.total,
        unread=listing.unread,
        page=listing.page,
        page_size=listing.page_size,
    )


@router.post("/read-all", response_model=MarkedAllRead)
async def read_all(session: DbSession, actor: Self) -> MarkedAllRead:
    """Mark every message as read; answers how many were unread."""
    return MarkedAllRead(marked=await mark_all_read(session, actor))


@router.post("/{message_id}/read", response_model=InboxMessageRead)
async def read_one(session: DbSession, actor: Self, message_id: MessageId) -> InboxMessageRead:
    """Mark one of one's own messages as read (another account's message is not found)."""
    return InboxMessageRead.from_message(await mark_read(session, actor, message_id=message_id))
