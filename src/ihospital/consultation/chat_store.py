"""Appending to a consultation's chat: store the message, then publish it on the
consultation's channel once the transaction commits (docs/realtime.md).

The caller holds the lock on the consultation's row (every move of a consultation takes it), so
messages of one consultation commit one at a time and their ids grow in commit order: a client
that resumes after the last id it saw misses nothing. The lifecycle posts system notices through
:func:`post_notice` where its transitions happen.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.outbox.service import worker_service
from ihospital.realtime.after_commit import SESSION_HUB, publish_after_commit
from ihospital.realtime.hub import Event, Hub

NOTICE_MESSAGES = {  # system notices: stored by key, translated when read
    "accepted": "The doctor has accepted the consultation.",
    "transferred": "The consultation has been transferred to another doctor.",
    "closed": "The consultation has been closed.",
    "call_ended": "The video call has ended; it lasted {minutes} min {seconds} s.",
}


def call_ended_notice(duration_seconds: int) -> str:
    """The stored text of the notice that a video call ended: its key and its duration."""
    return f"call_ended:{duration_seconds}"


def notice_fields(stored: str) -> tuple[str, dict[str, int]]:
    """The message key of a stored notice and the fields it is filled with."""
    key, _, seconds = stored.partition(":")
    if key != "call_ended":
        return key, {}
    minutes, rest = divmod(int(seconds), 60)
    return key, {"minutes": minutes, "seconds": rest}


def chat_channel(consultation_id: int) -> str:
    """The hub channel of a consultation's chat."""
    return f"consultation:{consultation_id}"


def message_event(message: ConsultationMessage) -> Event:
    """A message as JSON, untranslated (a system notice is its key), as stored and as
    the hub carries it: each reader's connection translates it into that reader's language."""
    return {
        "id": message.id,
        "consultation_id": message.consultation_id,
        "sender_role": message.sender_role,
        "kind": message.kind,
        "text": message.text,
        "file_id": message.file_id,
        "duration_ms": message.duration_ms,
        "created_at": message.created_at.isoformat(),
        "read_at": message.read_at.isoformat() if message.read_at else None,
    }


def session_hub(session: AsyncSession) -> Hub | None:
    """The hub to publish on: the one of the app that opened ``session``, else the running
    worker's; ``None`` when there is none (the message is read on resume)."""
    hub = session.info.get(SESSION_HUB)
    if hub is not None:
        return hub
    try:
        return worker_service("realtime_hub")
    except LookupError:
        return None


def publish(session: AsyncSession, hub: Hub | None, consultation_id: int, event: Event) -> None:
    """Publish ``event`` on the consultation's channel after commit (when there is a hub)."""
    if hub is not None:
        publish_after_commit(session, hub, chat_channel(consultation_id), event)


def new_message(
    actor: Actor,
    consultation: Consultation,
    *,
    sender_role: str,
    kind: str,
    text: str | None,
    file_id: int | None = None,
    duration_ms: int | None = None,
) -> ConsultationMessage:
    """A message of ``consultation`` (whose row the caller has locked), not yet added, counted
    as the consultation's latest activity: the caller adds it, flushes, then
    :func:`publish_message` (the chat's batched sends add many and flush once)."""
    now = actor.clock.now()
    # never earlier than it was: a video call accepted ahead of its booked time keeps that time
    consultation.last_activity_at = max(consultation.last_activity_at or now, now)
    return ConsultationMessage(
        consultation_id=consultation.id,
        sender_role=sender_role,
        sender_account_id=None if sender_role == "system" else actor.account_id,
        kind=kind,
        text=text,
        file_id=file_id,
        duration_ms=duration_ms,
        created_at=now,
        read_at=None,
    )


def publish_message(session: AsyncSession, hub: Hub | None, message: ConsultationMessage) -> None:
    """Publish a stored (flushed) message on its consultation's channel after commit."""
    event = {"type": "message", **message_event(message)}
    publish(session, hub, message.consultation_id, event)


async def append_message(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    *,
    sender_role: str,
    kind: str,
    text: str | None,
    hub: Hub | None,
) -> ConsultationMessage:
    """Store a message in ``consultation`` (whose row the caller has locked), count it as the
    consultation's latest activity and publish it after commit."""
    message = new_message(actor, consultation, sender_role=sender_role, kind=kind, text=text)
    session.add(message)
    await session.flush()
    publish_message(session, hub, message)
    return message


async def post_notice(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, notice: str
) -> ConsultationMessage:
    """Post a system notice (a key of :data:`NOTICE_MESSAGES`) in the consultation's chat;
    called by the lifecycle with the consultation's row locked."""
    if notice not in NOTICE_MESSAGES:
        raise ValueError(f"no such notice: {notice!r}")
    return await append_message(
        session,
        actor,
        consultation,
        sender_role="system",
        kind="system",
        text=notice,
        hub=session_hub(session),
    )
