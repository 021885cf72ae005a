import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.errors import NotFound
from ihospital.notifications.models import InboxMessage, SmsDelivery
from ihospital.notifications.senders import SandboxSmsSender
from ihospital.notifications.service import (
    INBOX_TOPIC,
    SMS_TOPIC,
    deliver_inbox_message,
    notify,
)
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import backoff, drain, load_handlers
from tests.identity.builders import make_account

load_handlers()


async def _notify(session, clock, account, **extra):
    return await notify(
        session,
        Actor.system(clock),
        account_id=account.id,
        kind="appointment",
        title="Messages",
        body="{count} unread",
        link="/inbox",
        fields={"count": 3},
        **extra,
    )


async def _drain(session_factory, clock, sender):
    return await drain(session_factory, clock, limit=10, services={"sms_sender": sender})


async def test_notify_only_writes_events_in_the_callers_transaction(session, clock):
    account = await make_account(session, clock=clock)
    event = await _notify(session, clock, account, sms_text="{count} unread")
    topics = (await session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id))).all()
    assert topics == [INBOX_TOPIC, SMS_TOPIC]
    assert json.loads(event.payload)["fields"] == {"count": "3"}
    assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 0


async def test_worker_delivers_the_inbox_message_and_the_sms(session, session_factory, clock):
    account = await make_account(session, clock=clock, language="en")
    sender = SandboxSmsSender()
    await _notify(session, clock, account, sms_text="{count} unread")
    result = await _drain(session_factory, clock, sender)
    assert (result.done, result.handled) == (2, 2)

    message = (await session.scalars(select(InboxMessage))).one()
    assert (message.account_id, message.kind, message.title, message.link) == (
        account.id,
        "appointment",
        "Messages",
        "/inbox",
    )
    assert json.loads(message.fields) == {"count": "3"}
    sms_event = await session.scalar(select(OutboxEvent.id).where(OutboxEvent.topic == SMS_TOPIC))
    assert sender.sent == {str(sms_event): (account.mobile, "3 unread")}
    delivery = (await session.scalars(select(SmsDelivery))).one()
    assert delivery.mobile_masked == f"{account.mobile[:3]}****{account.mobile[-4:]}"
    assert (delivery.source_event_id, delivery.status, delivery.template) == (
        sms_event,
        "sent",
        "appointment",
    )
    actions = (await session.scalars(select(AuditEntry.action))).all()
    assert {"inbox.deliver", "sms.send"} <= set(actions)


async def test_sms_speaks_the_recipients_language(session, session_factory, clock):
    account = await make_account(session, clock=clock)  # no language chosen: zh-CN
    sender = SandboxSmsSender()
    await _notify(session, clock, account, sms_text="{count} unread")
    await _drain(session_factory, clock, sender)
    assert list(sender.sent.values()) == [(account.mobile, "3 条未读")]


async def test_gateway_failure_retries_the_sms_alone(session, session_factory, clock):
    account = await make_account(session, clock=clock)
    await _notify(session, clock, account, sms_text="{count} unread")
    failing = SandboxSmsSender(failure_rate=1.0)
    result = await _drain(session_factory, clock, failing)
    assert (result.done, result.failed) == (1, 1)
    assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 1
    assert await session.scalar(select(func.count()).select_from(SmsDelivery)) == 0
    sms_event = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.topic == SMS_TOPIC)
            .execution_options(populate_existing=True)
        )
    ).one()
    assert sms_event.last_error == "SmsFailure: sandbox gateway rejected the message"

    clock.advance(backoff(1) + timedelta(seconds=1))
    working = SandboxSmsSender()
    assert (await _drain(session_factory, clock, working)).done == 1
    assert len(working.sent) == 1
    assert await session.scalar(select(func.count()).select_from(SmsDelivery)) == 1


async def test_without_sms_text_no_sms_is_sent(session, session_factory, clock):
    account = await make_account(session, clock=clock)
    sender = SandboxSmsSender()
    await _notify(session, clock, account)
    assert (await _drain(session_factory, clock, sender)).done == 1
    assert sender.sent == {}


async def test_delivering_the_same_event_twice_makes_one_message(session, clock):
    account = await make_account(session, clock=clock)
    values = {
        "source_event_id": 424242,
        "account_id": account.id,
        "kind": "system",
        "title": "Messages",
        "body": "",
        "link": "",
        "fields": {},
        "hub": None,
    }
    first = await deliver_inbox_message(session, Actor.system(clock), **values)
    again = await deliver_inbox_message(session, Actor.system(clock), **values)
    assert again.id == first.id
    assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 1


async def test_notify_an_unknown_account_is_not_found(session, clock):
    with pytest.raises(NotFound):
        await notify(
            session, Actor.system(clock), account_id=987654, kind="system", title="x", body="y"
        )


@pytest.mark.parametrize(
    ("kind", "link", "problem"),
    [
        ("Appointment", "", "kind"),
        ("system", "https://evil.example/", "link"),
        ("system", "//evil.example/", "link"),
        ("system", "javascript:alert(1)", "link"),
    ],
)
async def test_notify_refuses_a_bad_kind_or_a_link_off_the_site(
    session, clock, kind, link, problem
):
    account = await make_account(session, clock=clock)
    with pytest.raises(ValueError, match=problem):
        await notify(
            session,
            Actor.system(clock),
            account_id=account.id,
            kind=kind,
            title="Messages",
            body="",
            link=link,
        )
