"""The chat of a consultation (实时消息): reading, the rules of sending (applied by
:mod:`ihospital.consultation.chat_send`), read receipts, typing.

Only the consultation's patient account and its assigned doctor take part; anyone else finds no
such consultation. Messages go to a doctor who has accepted: they are sent while the
consultation is in progress, and for :data:`FOLLOW_UP_HOURS` after it closed (the patient's
follow-up questions and the doctor's answers); before the doctor accepts, after a cancellation
or after the follow-up time they are refused with a code that says why. An attachment is a file
the sender uploaded; the other side is granted read access to it. A voice clip makes a message
of kind ``voice`` (语音消息) in a consultation of any type: 语音 consultations are carried by
them, and a patient of a text or video consultation may speak rather than type as well. Each
message counts as the consultation's latest activity (the inactivity limit starts again). Reads
are audited once per page or per socket opened (R13); messages are kept (R12).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.chat_store import publish
from ihospital.consultation.models import Consultation
from ihospital.consultation.states import locked_consultation, not_found
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner, practitioner_account_id
from ihospital.directory.models import Practitioner
from ihospital.directory.validation import is_long_text
from ihospital.errors import Conflict, Forbidden, Unprocessable
from ihospital.files.service import get_file, grant_file_access
from ihospital.realtime.hub import Hub
from ihospital.security.permissions import Permission, has_permission

FOLLOW_UP_HOURS = 72  # the patient's follow-up questions after closing
TEXT_MAX_LENGTH = 2000
PAGE_SIZE = 100
TEXT_MESSAGE = (
    "Write a message of 1 to {limit} characters (no control characters), or attach a file."
)
NOT_YOURS_MESSAGE = "Attach a file you uploaded yourself."


@dataclass(frozen=True)
class Participant:
    """A consultation and the side (``patient`` or ``doctor``) the actor takes in it."""

    consultation: Consultation
    side: str

    @property
    def other_side(self) -> str:
        return "doctor" if self.side == "patient" else "patient"


def chat_side(actor: Actor) -> str:
    """The side an actor takes in consultations: ``patient`` (the patient account) or
    ``doctor``; any other role is refused."""
    if has_permission(actor.role, Permission.CONSULTATIONS_OWN):
        return "patient"
    if has_permission(actor.role, Permission.CONSULTATIONS_ATTEND):
        return "doctor"
    raise Forbidden("auth.forbidden", "Your role may not do this.")


def participant_in(
    actor: Actor,
    side: str,
    consultation_id: int,
    consultation: Consultation | None,
    doctor: Practitioner | None,
) -> Participant:
    """The actor's part in the consultation (loaded by the caller): its patient account, or its
    assigned doctor (the actor's practitioner record ``doctor``); not found for anyone else."""
    if consultation is not None and (
        consultation.account_id == actor.account_id
        if side == "patient"
        else doctor is not None and consultation.practitioner_id == doctor.id
    ):
        return Participant(consultation, side)
    raise not_found(consultation_id)


async def chat_participant(
    session: AsyncSession, actor: Actor, *, consultation_id: int, for_update: bool = False
) -> Participant:
    """The consultation if the actor is its patient account or its assigned doctor; for anyone
    else it is not found (a role that takes no part in consultations is refused)."""
    side = chat_side(actor)
    doctor = await own_practitioner(session, actor) if side == "doctor" else None
    if for_update:
        consultation = await locked_consultation(session, consultation_id)
    else:
        consultation = await session.get(Consultation, consultation_id)
    return participant_in(actor, side, consultation_id, consultation, doctor)


async def audit_chat_read(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, via: str
) -> None:
    """Record that ``actor`` read the consultation's messages (one entry per page or per socket
    opened, R13)."""
    await record(
        session,
        actor,
        action="consultation.messages_read",
        subject_type="consultation",
        subject_id=consultation.id,
        patient_id=consultation.patient_id,
        details={"via": via},
    )


async def stored_messages(
    session: AsyncSession, consultation_id: int, *, after_id: int, limit: int = PAGE_SIZE
) -> list[ConsultationMessage]:
    """The consultation's messages with an id above ``after_id``, oldest first, at most
    ``limit``: what a reader who last saw ``after_id`` has missed (the caller has checked the
    reader takes part)."""
    messages = await session.scalars(
        select(ConsultationMessage)
        .where(
            ConsultationMessage.consultation_id == consultation_id,
            ConsultationMessage.id > after_id,
        )
        .order_by(ConsultationMessage.id)
        .limit(limit)
    )
    return list(messages)


async def list_messages(
    session: AsyncSession, actor: Actor, *, consultation_id: int, after_id: int = 0
) -> list[ConsultationMessage]:
    """One page (:data:`PAGE_SIZE`) of the consultation's messages after ``after_id``, oldest
    first, for its patient account or its doctor (the read is audited). Polling with the last id
    seen is the fallback of pages without JavaScript."""
    participant = await chat_participant(session, actor, consultation_id=consultation_id)
    messages = await stored_messages(session, consultation_id, after_id=after_id)
    await audit_chat_read(session, actor, participant.consultation, via="page")
    return messages


def check_sending(consultation: Consultation, actor: Actor) -> None:
    """Refuse a message while the consultation is not in progress, unless it closed less than
    :data:`FOLLOW_UP_HOURS` ago (the follow-up questions); say why."""
    status = consultation.status
    if status == "in_progress":
        return
    if status == "closed":
        assert consultation.ended_at is not None
        if actor.clock.now() < consultation.ended_at + timedelta(hours=FOLLOW_UP_HOURS):
            return
        raise Conflict(
            "consultation.follow_up_over",
            "Follow-up questions can be sent for {hours} hours after the consultation closed. "
            "Please start a new consultation.",
            hours=FOLLOW_UP_HOURS,
        )
    if status == "cancelled":
        raise Conflict(
            "consultation.chat_closed", "This consultation was cancelled: no messages can be sent."
        )
    raise Conflict(
        "consultation.chat_not_started",
        "Messages can be sent once the doctor has accepted the consultation.",
    )


def checked_text(text: str | None, *, required: bool) -> str | None:
    """The message's text, trimmed: 1 to :data:`TEXT_MAX_LENGTH` characters, no control
    characters; ``None`` when left out and not ``required`` (a file is attached)."""
    text = text.strip() if text is not None else None
    if not text and not required:
        return None
    if not text or len(text) > TEXT_MAX_LENGTH or not is_long_text(text):
        raise Unprocessable(
            "consultation.message_invalid", TEXT_MESSAGE, field="text", limit=TEXT_MAX_LENGTH
        )
    return text


async def attach(
    session: AsyncSession, actor: Actor, participant: Participant, file_id: int
) -> tuple[str, int | None]:
    """Check the file is the sender's own upload, let the other side read it; the message's
    kind decided by the file's content (``image``, ``voice`` with its duration, else ``file``)."""
    stored = await get_file(session, actor, file_id=file_id)
    if stored.owner_account_id != actor.account_id:
        raise Unprocessable("consultation.attachment_not_yours", NOT_YOURS_MESSAGE, field="file_id")
    consultation = participant.consultation
    if participant.side == "patient":
        reader = await practitioner_account_id(session, consultation.practitioner_id)
    else:
        reader = consultation.account_id
    await grant_file_access(
        session, actor, file_id=file_id, account_id=reader, reason=f"consultation:{consultation.id}"
    )
    if stored.content_type.startswith("audio/"):
        return "voice", stored.duration_ms
    return ("image" if stored.content_type.startswith("image/") else "file"), None


async def share_patient_files(
    session: AsyncSession, actor: Actor, consultation: Consultation
) -> None:
    """Let the consultation's (new) doctor read the files the patient sent in it."""
    reader = await practitioner_account_id(session, consultation.practitioner_id)
    file_ids = await session.scalars(
        select(ConsultationMessage.file_id)
        .where(
            ConsultationMessage.consultation_id == consultation.id,
            ConsultationMessage.sender_role == "patient",
            ConsultationMessage.file_id.is_not(None),
        )
        .order_by(ConsultationMessage.id)
    )
    for file_id in file_ids.all():
        await grant_file_access(
            session,
            actor,
            file_id=file_id,
            account_id=reader,
            reason=f"consultation:{consultation.id}",
        )


async def mark_read(
    session: AsyncSession, actor: Actor, *, consultation_id: int, up_to: int, hub: Hub | None
) -> int:
    """Read receipt: the other side's messages up to id ``up_to`` are read by the actor; the
    other side learns it live. Returns how many were unread."""
    participant = await chat_participant(session, actor, consultation_id=consultation_id)
    now = actor.clock.now()
    result = await session.execute(
        update(ConsultationMessage)
        .where(
            ConsultationMessage.consultation_id == consultation_id,
            ConsultationMessage.sender_role == participant.other_side,
            ConsultationMessage.id <= up_to,
            ConsultationMessage.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    marked = result.rowcount or 0
    if marked:
        await record(
            session,
            actor,
            action="consultation.messages_mark_read",
            subject_type="consultation",
            subject_id=consultation_id,
            patient_id=participant.consultation.patient_id,
            details={"up_to": up_to, "marked": marked},
        )
        publish(
            session,
            hub,
            consultation_id,
            {"type": "read", "side": participant.side, "up_to": up_to, "at": now.isoformat()},
        )
    return marked
