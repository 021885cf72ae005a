"""Notifying an account: an in-app message (站内信) and, when asked, an SMS.

``notify`` only writes outbox events in the caller's transaction, so nothing is sent for a change
that rolls back. The worker then delivers each part on its own (``tasks.py``): the inbox message,
and the SMS through the configured sender. An SMS gateway that is down delays only the SMS, which
is retried with backoff; both deliveries are idempotent by their event id. A delivered inbox
message is pushed live to the account's open inbox pages once its transaction commits.

Texts are English message ids with ``{named}`` fields; the calling domain translates them in its
own catalog. Inbox messages are translated when read (they follow the reader's language); an SMS
is translated into the recipient's language when it is sent.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.core.i18n import DEFAULT_LANGUAGE, translate
from ihospital.identity.accounts import get_account, mask_mobile
from ihospital.notifications.models import InboxMessage, SmsDelivery
from ihospital.notifications.schemas import inbox_event
from ihospital.notifications.senders import SmsSender
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import emit
from ihospital.realtime.after_commit import publish_after_commit
from ihospital.realtime.hub import Hub

INBOX_TOPIC = "notifications.inbox"
SMS_TOPIC = "notifications.sms"
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_.]{0,31}$")


def _check(kind: str, title: str, link: str) -> None:
    if not KIND_PATTERN.match(kind):
        raise ValueError("a notification kind is 1-32 lower-case letters, digits, '_' or '.'")
    if not title or len(title) > 128:
        raise ValueError("a notification title is 1 to 128 characters")
    if link and (not link.startswith("/") or link.startswith("//") or "\\" in link):
        raise ValueError("a notification link is a path on this site, such as /appointments/7")
    if len(link) > 256:
        raise ValueError("a notification link is at most 256 characters")


async def notify(
    session: AsyncSession,
    actor: Actor,
    *,
    account_id: int,
    kind: str,
    title: str,
    body: str,
    link: str = "",
    sms_text: str | None = None,
    fields: dict[str, object] | None = None,
) -> OutboxEvent:
    """Send an account a 站内信 (and an SMS when ``sms_text`` is given) once the caller's
    transaction commits. ``title``, ``body`` and ``sms_text`` are English message ids filled with
    ``fields``; ``kind`` groups messages (``appointment``, ``prescription`` …); ``link`` is a path
    on this site. Returns the inbox delivery event."""
    _check(kind, title, link)
    await get_account(session, actor, account_id=account_id)
    values = {key: str(value) for key, value in (fields or {}).items()}
    event = await emit(
        session,
        actor,
        topic=INBOX_TOPIC,
        payload={
            "account_id": account_id,
            "kind": kind,
            "title": title,
            "body": body,
            "link": link,
            "fields": values,
        },
    )
    if sms_text:
        await emit(
            session,
            actor,
            topic=SMS_TOPIC,
            payload={"account_id": account_id, "kind": kind, "text": sms_text, "fields": values},
        )
    return event


async def deliver_inbox_message(
    session: AsyncSession,
    actor: Actor,
    *,
    source_event_id: int,
    account_id: int,
    kind: str,
    title: str,
    body: str,
    link: str,
    fields: dict[str, str],
    hub: Hub | None,
) -> InboxMessage:
    """Put the message in the inbox, once per delivery event (the worker may retry it), and
    push it to the account's open inbox pages through ``hub`` once the transaction commits
    (``None`` for a worker with no hub: the pages then read it when they reconnect)."""
    existing = await session.scalar(
        select(InboxMessage).where(InboxMessage.source_event_id == source_event_id)
    )
    if existing is not None:
        return existing
    message = InboxMessage(
        account_id=account_id,
        kind=kind,
        title=title,
        body=body,
        fields=json.dumps(fields, ensure_ascii=False, sort_keys=True),
        link=link,
        source_event_id=source_event_id,
        created_at=actor.clock.now(),
        read_at=None,
    )
    session.add(message)
    await session.flush()
    await record(
        session,
        actor,
        action="inbox.deliver",
        subject_type="inbox_message",
        subject_id=message.id,
        details={"account_id": account_id, "kind": kind},
    )
    if hub is not None:
        publish_after_commit(session, hub, inbox_channel(account_id), inbox_event(message))
    return message


def inbox_channel(account_id: int) -> str:
    """The hub channel of an account's live inbox."""
    return f"inbox:{account_id}"


async def deliver_sms(
    session: AsyncSession,
    actor: Actor,
    *,
    source_event_id: int,
    account_id: int,
    kind: str,
    text: str,
    fields: dict[str, str],
    sender: SmsSender,
) -> SmsDelivery:
    """Send the SMS in the recipient's language and record it with the number masked. The event
    id is the gateway's idempotency key, so a retry after a lost answer sends nothing twice; a
    gateway failure propagates, and the outbox retries."""
    existing = await session.scalar(
        select(SmsDelivery).where(SmsDelivery.source_event_id == source_event_id)
    )
    if existing is not None:
        return existing
    account = await get_account(session, actor, account_id=account_id)
    message = translate(text, account.language or DEFAULT_LANGUAGE, **fields)
    receipt = await sender.send(
        mobile=account.mobile, text=message, idempotency_key=str(source_event_id)
    )
    delivery = SmsDelivery(
        mobile_masked=mask_mobile(account.mobile),
        template=kind,
        status="sent",
        provider_reference=receipt.reference[:64],
        source_event_id=source_event_id,
        sent_at=actor.clock.now(),
    )
    session.add(delivery)
    await session.flush()
    await record(
        session,
        actor,
        action="sms.send",
        subject_type="sms_delivery",
        subject_id=delivery.id,
        details={"account_id": account_id, "kind": kind, "mobile": delivery.mobile_masked},
    )
    return delivery
