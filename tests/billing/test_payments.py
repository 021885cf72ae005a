"""Paying bills through the sandbox: notifications, the query fallback, expiry, late payments."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.models import Order, Refund
from ihospital.billing.notify import NotificationRefused, receive_notification
from ihospital.billing.payments import start_payment
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, ServiceUnavailable
from ihospital.outbox.models import OutboxEvent
from tests.billing.builders import (
    assert_ledger_sound,
    dead_events,
    deliver,
    make_order,
    payments_of,
    prepay_of,
    reloaded,
    run_outbox,
    sandbox,
    start_paying,
)
from tests.identity.builders import make_account


async def test_a_notification_pays_the_order_and_journals_it(session, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock)
    payment = await start_paying(session, clock, provider, order)
    assert payment.status == "created" and payment.amount_fen == 8900
    [delivery] = await provider.pay(prepay_of(payment))
    assert await deliver(session, clock, provider, delivery.body) == "paid"
    order = await reloaded(session, Order, order.id)
    assert (order.status, order.paid_fen, order.payment_id) == ("paid", 8900, payment.id)
    balances = await assert_ledger_sound(session)
    patient = str(order.patient_id)
    institution = str(order.institution_id)
    assert balances[("clearing", "sandbox")] == 8900
    assert balances[("patient", patient)] == 0
    assert balances[("institution_revenue", institution)] == -5000
    assert balances[("pharmacy_revenue", institution)] == -3900


async def test_the_same_idempotency_key_returns_the_same_payment(session, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock)
    first = await start_paying(session, clock, provider, order, key="k-1")
    again = await start_paying(session, clock, provider, order, key="k-1")
    assert again.id == first.id
    assert len(await payments_of(session, order)) == 1


async def test_paying_someone_elses_bill_is_not_found(session, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock)
    stranger = await make_account(session, clock=clock)
    with pytest.raises(NotFound):
        await start_payment(
            session,
            Actor(role="patient", clock=clock, account_id=stranger.id),
            order_id=order.id,
            channel="sandbox",
            idempotency_key="x",
            providers={"sandbox": provider},
        )
    assert await payments_of(session, order) == []


async def test_paying_a_paid_or_expired_bill_is_refused(session, clock):
    provider = sandbox(clock)
    paid = await make_order(session, clock=clock)
    payment = await start_paying(session, clock, provider, paid)
    [delivery] = await provider.pay(prepay_of(payment))
    await deliver(session, clock, provider, delivery.body)
    with pytest.raises(Conflict) as refused:
        await start_paying(session, clock, provider, paid)
    assert refused.value.code == "billing.order_paid"
    late = await make_order(session, clock=clock, hold_minutes=5)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(Conflict) as refused:
        await start_paying(session, clock, provider, late)
    assert refused.value.code == "billing.order_expired"
    assert await payments_of(session, late) == []


async def test_provider_timeout_or_decline_creates_nothing(session, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock)
    provider.fail_next("create", "timeout")
    async with session.begin_nested() as savepoint:
        with pytest.raises(ServiceUnavailable):
            await start_paying(session, clock, provider, order)
        await savepoint.rollback()
    provider.fail_next("create", "declined")
    async with session.begin_nested() as savepoint:
        with pytest.raises(Conflict) as refused:
            await start_paying(session, clock, provider, order)
        await savepoint.rollback()
    assert refused.value.code == "billing.payment_declined"
    assert await payments_of(session, order) == []


async def test_duplicated_and_reordered_notifications_apply_once(session, session_factory, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock)
    first = await start_paying(session, clock, provider, order)
    second = await start_paying(session, clock, provider, order)
    # The payer pays twice (two channels' pages left open); the second one's news comes first.
    [first_note] = await provider.pay(prepay_of(first))
    [second_note] = await provider.pay(prepay_of(second))
    assert await deliver(session, clock, provider, second_note.body) == "paid"
    assert await deliver(session, clock, provider, second_note.body) == "duplicate"
    assert await deliver(session, clock, provider, first_note.body) == "refunded"
    assert await deliver(session, clock, provider, first_note.body) == "duplicate"
    order = await reloaded(session, Order, order.id)
    assert (order.status, order.payment_id) == ("paid", second.id)
    [refund] = (await session.scalars(select(Refund))).all()
    assert (refund.payment_id, refund.reason, refund.amount_fen) == (
        first.id,
        "duplicate_payment",
        8900,
    )
    await run_outbox(session_factory, clock, {"sandbox": provider})
    refund = await reloaded(session, Refund, refund.id)
    assert refund.status == "succeeded"
    balances = await assert_ledger_sound(session)
    assert balances[("clearing", "sandbox")] == 8900
    assert balances[("refunds_payable", "sandbox")] == 0
    assert await provider.refunded_fen(out_trade_no=first.out_trade_no) == 8900


async def test_a_tampered_or_stale_notification_is_refused_and_audited(session, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock)
    payment = await start_paying(session, clock, provider, order)
    [delivery] = await provider.pay(prepay_of(payment))
    headers = provider.sign(delivery.body, now=clock.now())
    tampered = delivery.body.replace('"total":8900', '"total":1')
    anonymous = Actor(role="anonymous", clock=clock)
    cases = [
        (headers, tampered.encode(), "bad_signature"),
        ({**headers, "Sandbox-Signature": "AAAA"}, delivery.body.encode(), "bad_signature"),
        ({}, delivery.body.encode(), "unsigned"),
    ]
    for sent_headers, body, reason in cases:
        with pytest.raises(NotificationRefused) as refused:
            await receive_notification(
                session,
                anonymous,
                channel="sandbox",
                headers=sent_headers,
                body=body,
                providers={"sandbox": provider},
            )
        assert refused.value.code == f"billing.notification_{reason}"
    clock.advance(timedelta(minutes=6))
    with pytest.raises(NotificationRefused) as refused:
        await receive_notification(
            session,
            anonymous,
            channel="sandbox",
            headers=headers,
            body=delivery.body.encode(),
            providers={"sandbox": provider},
        )
    assert refused.value.code == "billing.notification_stale"
    order = await reloaded(session, Order, order.id)
    assert order.status == "pending"
    refusals = select(func.count()).where(AuditEntry.action == "billing.notification.refused")
    assert await session.scalar(refusals) == 4


async def test_a_notification_for_an_unknown_trade_is_refused(session, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock)
    payment = await start_paying(session, clock, provider, order)
    [delivery] = await provider.pay(prepay_of(payment))
    body = delivery.body.replace(payment.out_trade_no, "PNOSUCHTRADE0001")
    with pytest.raises(NotificationRefused) as refused:
        await deliver(session, clock, provider, body)
    assert refused.value.code == "billing.notification_unknown_trade"
    assert (await reloaded(session, Order, order.id)).status == "pending"


async def test_the_hold_timer_expires_an_unpaid_order_and_publishes_the_release(
    session, session_factory, clock
):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock, hold_minutes=15)
    payment = await start_paying(session, clock, provider, order)
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(minutes=14))
    assert (await reloaded(session, Order, order.id)).status == "pending"
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(minutes=1))
    order = await reloaded(session, Order, order.id)
    assert order.status == "expired"
    [payment] = await payments_of(session, order)
    assert payment.status == "closed"
    assert (await provider.query(out_trade_no=payment.out_trade_no)).state == "CLOSED"
    released = await session.scalar(
        select(OutboxEvent).where(OutboxEvent.topic == "billing.order_expired")
    )
    assert released is not None and released.status == "done"
    assert '"subject_type": "appointment"' in released.payload
    assert await dead_events(session) == []


async def test_expiry_keeps_an_order_paid_in_time_whose_notification_never_came(
    session, session_factory, clock
):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock, hold_minutes=2)
    payment = await start_paying(session, clock, provider, order)
    assert await provider.pay(prepay_of(payment), plan="never") == []
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(minutes=2))
    order = await reloaded(session, Order, order.id)
    assert order.status == "paid"
    await assert_ledger_sound(session)


async def test_the_query_finds_a_payment_whose_notification_never_comes(
    session, session_factory, clock
):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock, hold_minutes=30)
    payment = await start_paying(session, clock, provider, order)
    await provider.pay(prepay_of(payment), plan="never")
    provider.fail_next("query", "timeout")
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(minutes=1))
    assert (await reloaded(session, Order, order.id)).status == "pending"  # retried later
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(seconds=10))
    assert (await reloaded(session, Order, order.id)).status == "paid"
    assert await dead_events(session) == []


async def test_a_declined_payment_is_found_failed_by_the_query(session, session_factory, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock, hold_minutes=30)
    payment = await start_paying(session, clock, provider, order)
    await provider.decline(prepay_of(payment))
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(minutes=1))
    [payment] = await payments_of(session, order)
    assert payment.status == "failed"
    assert (await reloaded(session, Order, order.id)).status == "pending"
    retry = await start_paying(session, clock, provider, order)
    assert retry.id != payment.id


async def test_an_unpaid_trade_is_closed_after_the_last_query(session, session_factory, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock, hold_minutes=60)
    payment = await start_paying(session, clock, provider, order)
    for minutes in (1, 2):
        await run_outbox(
            session_factory, clock, {"sandbox": provider}, advance=timedelta(minutes=minutes)
        )
        assert (await payments_of(session, order))[0].status == "created"
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(minutes=7))
    [payment] = await payments_of(session, order)
    assert payment.status == "closed"
    assert (await provider.query(out_trade_no=payment.out_trade_no)).state == "CLOSED"
    assert (await reloaded(session, Order, order.id)).status == "pending"


async def test_a_payment_after_expiry_is_refunded_automatically(session, session_factory, clock):
    provider = sandbox(clock)
    order = await make_order(session, clock=clock, hold_minutes=15)
    payment = await start_paying(session, clock, provider, order)
    for _ in range(2):  # the provider is down when the first query and the hold end
        provider.fail_next("query", "timeout")
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(minutes=15))
    assert (await reloaded(session, Order, order.id)).status == "expired"
    deliveries = await provider.pay(prepay_of(payment), plan="late")
    clock.advance(timedelta(seconds=deliveries[0].delay_seconds))
    assert await deliver(session, clock, provider, deliveries[0].body) == "refunded"
    [refund] = (await session.scalars(select(Refund))).all()
    assert (refund.reason, refund.amount_fen, refund.status) == ("late_payment", 8900, "pending")
    await run_outbox(session_factory, clock, {"sandbox": provider})
    refund = await reloaded(session, Refund, refund.id)
    assert refund.status == "succeeded"
    balances = await assert_ledger_sound(session)
    assert balances[("clearing", "sandbox")] == 0
    assert balances[("patient", str(order.patient_id))] == 0
    assert ("institution_revenue", str(order.institution_id)) not in balances
