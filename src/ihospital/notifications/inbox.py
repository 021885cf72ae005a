"""Reading one's own inbox (站内信): newest first, unread count, marking as read.

Every function works on the actor's own account only: another account's message is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import NotFound, Unauthorized
from ihospital.notifications.models import InboxMessage


@dataclass(frozen=True)
class InboxListing:
    items: list[InboxMessage]
    total: int
    unread: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _own_account(actor: Actor) -> int:
    if actor.account_id is None:
        raise Unauthorized("auth.required", "Please sign in first.")
    return actor.account_id


async def list_inbox(
    session: AsyncSession, actor: Actor, *, page: int = 1, page_size: int = 20
) -> InboxListing:
    """One page of the actor's messages, newest first, with the total and the unread count."""
    account_id = _own_account(actor)
    mine = InboxMessage.account_id == account_id
    total, unread = (
        await session.execute(
            select(func.count(), func.count().filter(InboxMessage.read_at.is_(None))).where(mine)
        )
    ).one()
    items = (
        await session.scalars(
            select(InboxMessage)
            .where(mine)
            .order_by(InboxMessage.created_at.desc(), InboxMessage.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    return InboxListing(list(items), total, unread, page, page_size)


async def messages_after(
    session: AsyncSession, actor: Actor, *, after_id: int, limit: int
) -> list[InboxMessage]:
    """The actor's messages with an id above ``after_id``, oldest first, at most ``limit``: what
    a live inbox that last saw ``after_id`` has missed."""
    account_id = _own_account(actor)
    items = await session.scalars(
        select(InboxMessage)
        .where(InboxMessage.account_id == account_id, InboxMessage.id > after_id)
        .order_by(InboxMessage.id)
        .limit(limit)
    )
    return list(items)


async def mark_read(session: AsyncSession, actor: Actor, *, message_id: int) -> InboxMessage:
    """Mark one of the actor's messages as read (reading it again changes nothing)."""
    message = await session.get(InboxMessage, message_id)
    if message is None or message.account_id != _own_account(actor):
        raise NotFound(
            "notifications.message_not_found",
            "There is no message {message_id} in your inbox.",
            message_id=message_id,
        )
    if message.read_at is None:
        message.read_at = actor.clock.now()
        await session.flush()
        await record(
            session,
            actor,
            action="inbox.read",
            subject_type="inbox_message",
            subject_id=message.id,
        )
    return message


async def mark_all_read(session: AsyncSession, actor: Actor) -> int:
    """Mark every unread message of the actor as read; returns how many were unread."""
    account_id = _own_account(actor)
    result = await session.execute(
        update(InboxMessage)
        .where(InboxMessage.account_id == account_id, InboxMessage.read_at.is_(None))
        .values(read_at=actor.clock.now())
        .execution_options(synchronize_session=False)
    )
    marked = result.rowcount or 0
    if marked:
        await record(
            session,
            actor,
            action="inbox.read_all",
            subject_type="account",
            subject_id=account_id,
            details={"marked": marked},
        )
    return marked
