"""The chat writer (group commit): concurrent sends are stored in batches, each sender gets its
own message or its own refusal, messages of a consultation keep the order of their sends, every
message is audited, and a batch that fails in the database is stored again one send at a time.
These tests commit, on a database of their own."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from ihospital.audit.models import AuditEntry
from ihospital.consultation import chat_writer
from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.chat_send import Send
from ihospital.consultation.chat_writer import ChatWriter
from ihospital.consultation.duty import end_work_session
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import AppError
from tests.consultation.builders import doctor_actor
from tests.consultation.chat_builders import Chat, make_chat


@pytest.fixture
async def own_engine(databases) -> AsyncIterator[AsyncEngine]:  # noqa: ANN001
    """A database of the test's own: the writer commits."""
    engine = make_engine(await databases.fresh())
    yield engine
    await engine.dispose()


class _CountingSessions:
    """The sessions of the writer, counted: one per transaction."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.factory = make_sessionmaker(engine)
        self.opened = 0

    def __call__(self):  # noqa: ANN204
        self.opened += 1
        return self.factory()


async def _chats(sessions: _CountingSessions, clock, count: int) -> list[Chat]:  # noqa: ANN001
    async with sessions.factory() as session:
        chats = [await make_chat(session, clock=clock) for _ in range(count)]
        await session.commit()
    return chats


def _patient(chat: Chat, clock) -> Actor:  # noqa: ANN001
    return Actor(role="patient", clock=clock, account_id=chat.consultation.account_id)


async def _stored(sessions: _CountingSessions) -> list[ConsultationMessage]:
    async with sessions.factory() as session:
        messages = await session.scalars(
            select(ConsultationMessage)
            .where(ConsultationMessage.sender_role != "system")
            .order_by(ConsultationMessage.id)
        )
        return list(messages)


async def test_concurrent_sends_are_batched_kept_in_order_and_each_audited(own_engine, clock):
    sessions = _CountingSessions(own_engine)
    chats = await _chats(sessions, clock, 3)
    writer = ChatWriter(sessions, batch_size=16)
    senders = [
        (actor, chat)
        for chat in chats
        for actor in (_patient(chat, clock), doctor_actor(clock, chat.practice.doctor))
    ]

    async def talk(actor: Actor, chat: Chat) -> list[ConsultationMessage]:
        """One side sends 25 messages, each once the last is stored (as over a socket)."""
        return [
            await writer.send(Send(actor, chat.consultation.id, f"{actor.role} {n}", None, None))
            for n in range(25)
        ]

    talks = await asyncio.gather(*(talk(actor, chat) for actor, chat in senders))
    await writer.close()

    for (actor, _), messages in zip(senders, talks, strict=True):  # each sender got its own
        assert [message.text for message in messages] == [f"{actor.role} {n}" for n in range(25)]
    sent = [message for messages in talks for message in messages]
    assert sessions.opened < len(sent) / 2  # they went in batches
    stored = await _stored(sessions)
    assert sorted(message.id for message in stored) == sorted(message.id for message in sent)
    by_sender: dict[tuple[int, str], list[str]] = defaultdict(list)
    for message in stored:  # in id order: each side's in the order it sent them
        by_sender[message.consultation_id, message.sender_role].append(message.text)
    for chat in chats:
        for role in ("patient", "doctor"):
            texts = by_sender[chat.consultation.id, role]
            assert texts == [f"{role} {n}" for n in range(25)]
    async with sessions.factory() as session:
        audited = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consultation.message_send")
        )
        entries = {json.loads(entry.details)["message_id"]: entry for entry in audited}
    assert set(entries) == {message.id for message in stored}
    for message in stored:
        entry = entries[message.id]
        assert (entry.actor_account_id, entry.subject_id) == (
            message.sender_account_id,
            str(message.consultation_id),
        )


async def test_a_refused_send_is_refused_alone_in_its_batch(own_engine, clock):
    sessions = _CountingSessions(own_engine)
    mine, other = await _chats(sessions, clock, 2)
    writer = ChatWriter(sessions)
    patient = _patient(mine, clock)
    outcomes = await asyncio.gather(
        writer.send(Send(patient, mine.consultation.id, "头晕", None, None)),
        writer.send(Send(patient, mine.consultation.id, "  ", None, None)),
        writer.send(Send(patient, other.consultation.id, "偷看", None, None)),
        writer.send(Send(patient, mine.consultation.id, "还发烧", None, None)),
        return_exceptions=True,
    )
    assert sessions.opened == 1  # one batch
    assert [getattr(outcome, "code", None) for outcome in outcomes] == [
        None,
        "consultation.message_invalid",
        "consultation.not_found",
        None,
    ]
    assert [message.text for message in await _stored(sessions)] == ["头晕", "还发烧"]


async def test_a_doctor_without_a_working_session_is_refused_inside_a_batch(own_engine, clock):
    sessions = _CountingSessions(own_engine)
    off_duty, on_duty = await _chats(sessions, clock, 2)
    async with sessions.factory() as session:
        await end_work_session(session, doctor_actor(clock, off_duty.practice.doctor))
        await session.commit()
    writer = ChatWriter(sessions)
    outcomes = await asyncio.gather(
        writer.send(
            Send(
                doctor_actor(clock, off_duty.practice.doctor),
                off_duty.consultation.id,
                "请测血压",
                None,
                None,
            )
        ),
        writer.send(Send(_patient(off_duty, clock), off_duty.consultation.id, "好", None, None)),
        writer.send(
            Send(
                doctor_actor(clock, on_duty.practice.doctor),
                on_duty.consultation.id,
                "按时服药",
                None,
                None,
            )
        ),
        return_exceptions=True,
    )
    assert sessions.opened == 1
    refused, *stored = outcomes
    assert isinstance(refused, AppError)
    assert refused.code == "consultation.doctor_session_required"
    assert [message.text for message in stored] == ["好", "按时服药"]
    assert [message.text for message in await _stored(sessions)] == ["好", "按时服药"]


async def test_a_batch_failing_in_the_database_is_stored_one_send_at_a_time(
    own_engine, clock, monkeypatch: pytest.MonkeyPatch
):
    sessions = _CountingSessions(own_engine)
    (chat,) = await _chats(sessions, clock, 1)
    real_store = chat_writer.store_sends
    failed: list[int] = []

    async def failing_store(session, sends):  # noqa: ANN001, ANN202
        outcomes = await real_store(session, sends)  # written, then the transaction fails
        if len(sends) > 1 or sends[0].text == "坏":
            failed.append(len(sends))
            raise DBAPIError("INSERT …", {}, RuntimeError("connection lost"))
        return outcomes

    monkeypatch.setattr(chat_writer, "store_sends", failing_store)
    writer = ChatWriter(sessions)
    patient = _patient(chat, clock)
    texts = ["一", "二", "坏", "三"]
    outcomes = await asyncio.gather(
        *(writer.send(Send(patient, chat.consultation.id, text, None, None)) for text in texts),
        return_exceptions=True,
    )
    assert failed == [4, 1]  # the batch, then the bad send alone
    assert isinstance(outcomes[2], DBAPIError)
    assert [outcomes[i].text for i in (0, 1, 3)] == ["一", "二", "三"]
    stored = await _stored(sessions)
    assert [message.text for message in stored] == ["一", "二", "三"]  # none twice
    assert [message.id for message in stored] == [outcomes[i].id for i in (0, 1, 3)]


async def test_a_quiet_chat_stores_each_send_at_once(own_engine, clock):
    sessions = _CountingSessions(own_engine)
    (chat,) = await _chats(sessions, clock, 1)
    writer = ChatWriter(sessions)
    patient = _patient(chat, clock)
    for text in ("一", "二"):
        message = await writer.send(Send(patient, chat.consultation.id, text, None, None))
        assert message.text == text
    assert sessions.opened == 2
    await writer.close()


async def test_a_send_whose_sender_goes_away_while_it_waits_is_still_stored(own_engine, clock):
    sessions = _CountingSessions(own_engine)
    (chat,) = await _chats(sessions, clock, 1)
    writer = ChatWriter(sessions, concurrent_batches=1)
    patient = _patient(chat, clock)
    first = asyncio.create_task(writer.send(Send(patient, chat.consultation.id, "一", None, None)))
    await asyncio.sleep(0)  # the first batch is under way
    waiting = asyncio.create_task(
        writer.send(Send(patient, chat.consultation.id, "二", None, None))
    )
    await asyncio.sleep(0)
    waiting.cancel()  # the socket closed while its message waited for the next batch
    assert (await first).text == "一"
    await writer.close()
    assert waiting.cancelled()
    assert [message.text for message in await _stored(sessions)] == ["一", "二"]


async def test_a_consultation_is_in_one_batch_at_a_time_so_its_messages_keep_their_order(
    own_engine, clock, monkeypatch: pytest.MonkeyPatch
):
    sessions = _CountingSessions(own_engine)
    mine, other = await _chats(sessions, clock, 2)
    real_store = chat_writer.store_sends

    async def slow_first(session, sends):  # noqa: ANN001, ANN202
        if sends[0].text == "一":
            await asyncio.sleep(0.2)  # the first batch is slow to take its locks
        return await real_store(session, sends)

    monkeypatch.setattr(chat_writer, "store_sends", slow_first)
    writer = ChatWriter(sessions, concurrent_batches=2)
    patient = _patient(mine, clock)
    first = asyncio.create_task(writer.send(Send(patient, mine.consultation.id, "一", None, None)))
    await asyncio.sleep(0)  # its batch is under way
    # the same side again without waiting (its socket reopened), and another consultation
    second = asyncio.create_task(writer.send(Send(patient, mine.consultation.id, "二", None, None)))
    elsewhere = asyncio.create_task(
        writer.send(Send(_patient(other, clock), other.consultation.id, "别处", None, None))
    )
    await asyncio.gather(first, second, elsewhere)
    stored = await _stored(sessions)
    assert [m.text for m in stored if m.consultation_id == mine.consultation.id] == ["一", "二"]
    assert elsewhere.result().id < first.result().id  # the other consultation did not wait
