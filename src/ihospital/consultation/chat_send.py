"""Sending chat messages: the rules of one send, applied to a batch of sends in one transaction.

:func:`store_sends` is the one send path: :func:`send_message` is a batch of one in the caller's
transaction (pages), and the app's :class:`~ihospital.consultation.chat_writer.ChatWriter` hands
it the sends that queued up while its previous transaction was in flight (the socket and the JSON
API). A batch costs the round trips of one send: the senders' practitioner records, the
consultations (locked in ascending id order), the doctors' working sessions, the messages with the
consultations' latest activity, and the audit entries, each in one statement. Each send is checked
exactly as alone and gets its own outcome: its message, or the error that refused it, which leaves
the others of the batch alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.chat import (
    Participant,
    attach,
    chat_side,
    check_sending,
    checked_text,
    participant_in,
)
from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.chat_store import new_message, publish_message
from ihospital.consultation.duty import doctors_at_work, session_required
from ihospital.consultation.states import locked_consultations
from ihospital.core.context import Actor
from ihospital.directory.access import no_practitioner_record, practitioners_by_account
from ihospital.errors import AppError
from ihospital.realtime.hub import Hub

Outcome = ConsultationMessage | AppError


@dataclass(frozen=True)
class Send:
    """One message to send: who sends it, where, what (text, an uploaded file or both), and
    the hub it is published on after commit."""

    actor: Actor
    consultation_id: int
    text: str | None
    file_id: int | None
    hub: Hub | None


@dataclass
class _Checked:
    send: Send
    side: str
    text: str | None = None
    participant: Participant | None = None
    kind: str = "text"
    duration_ms: int | None = None


async def store_sends(session: AsyncSession, sends: Sequence[Send]) -> list[Outcome]:
    """Store the messages of ``sends`` in the session's transaction, each checked as
    :func:`send_message` describes; publish each after commit. Returns each send's outcome, in
    order: its message (flushed, audited) or the :class:`AppError` that refused it. Messages of a
    consultation are stored in the order of ``sends``, under its lock."""
    outcomes: list[Outcome | None] = [None] * len(sends)
    checked: dict[int, _Checked] = {}
    for index, send in enumerate(sends):
        try:
            text = checked_text(send.text, required=send.file_id is None)
            checked[index] = _Checked(send, chat_side(send.actor), text)
        except AppError as refusal:
            outcomes[index] = refusal
    doctor_accounts = {
        item.send.actor.account_id
        for item in checked.values()
        if item.side == "doctor" and item.send.actor.account_id is not None
    }
    doctors = await practitioners_by_account(session, doctor_accounts)
    consultations = await locked_consultations(
        session, {item.send.consultation_id for item in checked.values()}
    )
    for index, item in list(checked.items()):
        actor, consultation_id = item.send.actor, item.send.consultation_id
        doctor = doctors.get(actor.account_id) if actor.account_id is not None else None
        try:
            if item.side == "doctor" and doctor is None:
                raise no_practitioner_record()
            consultation = consultations.get(consultation_id)
            item.participant = participant_in(
                actor, item.side, consultation_id, consultation, doctor
            )
        except AppError as refusal:
            outcomes[index] = refusal
            del checked[index]
    at_work = await doctors_at_work(
        session,
        [(item.send.actor, doctors[item.send.actor.account_id]) for item in _doctors(checked)],
    )
    messages: list[tuple[int, ConsultationMessage, Participant]] = []
    for index, item in checked.items():
        try:
            await _check(session, item, at_work)
        except AppError as refusal:
            outcomes[index] = refusal
            continue
        participant = item.participant
        assert participant is not None
        message = new_message(
            item.send.actor,
            participant.consultation,
            sender_role=participant.side,
            kind=item.kind,
            text=item.text,
            file_id=item.send.file_id,
            duration_ms=item.duration_ms,
        )
        messages.append((index, message, participant))
    if messages:
        await _store(session, sends, messages)
    for index, message, _ in messages:
        outcomes[index] = message
    return [outcome for outcome in outcomes if outcome is not None]


async def _store(
    session: AsyncSession,
    sends: Sequence[Send],
    messages: list[tuple[int, ConsultationMessage, Participant]],
) -> None:
    """Insert the messages, then their audit entries (each names its message), one statement
    each; publish every message after commit."""
    session.add_all([message for _, message, _ in messages])
    await session.flush()  # the messages in the order of the sends: their ids grow in it
    for index, message, participant in messages:
        await record(
            session,
            sends[index].actor,
            action="consultation.message_send",
            subject_type="consultation",
            subject_id=message.consultation_id,
            patient_id=participant.consultation.patient_id,
            details={"message_id": message.id, "kind": message.kind},
            flush=False,
        )
    await session.flush()
    for index, message, _ in messages:
        publish_message(session, sends[index].hub, message)


def _doctors(checked: dict[int, _Checked]) -> list[_Checked]:
    return [item for item in checked.values() if item.side == "doctor"]


async def _check(session: AsyncSession, item: _Checked, at_work: set[int]) -> None:
    """The rest of a send's checks, in the order of a single send: the doctor's working session
    (R04), the consultation's status, then the attachment (in a savepoint: a refused file leaves
    no grant or audit entry behind in the batch's transaction)."""
    participant, actor = item.participant, item.send.actor
    assert participant is not None
    if participant.side == "doctor" and actor.account_id not in at_work:  # R04
        raise session_required()
    check_sending(participant.consultation, actor)
    if item.send.file_id is not None:
        async with session.begin_nested():
            item.kind, item.duration_ms = await attach(
                session, actor, participant, item.send.file_id
            )


async def send_message(
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_id: int,
    text: str | None,
    file_id: int | None = None,
    hub: Hub | None,
) -> ConsultationMessage:
    """Send a message (text of 1 to :data:`~ihospital.consultation.chat.TEXT_MAX_LENGTH`
    characters, a file the sender uploaded, or both) in a consultation the actor takes part in,
    while it is in progress or in the follow-up time after closing; a doctor needs their working
    session (R04). Stored under the consultation's lock in the caller's transaction, then
    published through ``hub`` after commit; audited. Raises the error that refuses it."""
    send = Send(actor, consultation_id, text, file_id, hub)
    (outcome,) = await store_sends(session, [send])
    if isinstance(outcome, AppError):
        raise outcome
    return outcome
