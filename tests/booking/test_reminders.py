"""Reminder timers of a confirmed appointment: the day before and an hour before, silenced by
a cancellation."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from ihospital.booking.appointments import book_slot
from ihospital.booking.cancellation import cancel_appointment
from ihospital.booking.reminders import REMINDER_TOPIC, reminder_moments
from ihospital.notifications.models import InboxMessage, SmsDelivery
from ihospital.notifications.senders import SandboxSmsSender
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import drain, load_handlers
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.identity.builders import make_patient

load_handlers()


def test_reminders_fall_at_six_the_evening_before_and_an_hour_before():
    slot_start = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)  # 00:30 on 11-25 in Shanghai
    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert reminder_moments(slot_start, now) == {
        "day_before": datetime(2026, 11, 24, 10, 0, tzinfo=UTC),  # 18:00 on 11-24
        "hour_before": datetime(2026, 11, 24, 15, 30, tzinfo=UTC),
    }
    late = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert reminder_moments(slot_start, late)["day_before"] == late
    assert reminder_moments(slot_start, slot_start - timedelta(minutes=30)) == {
        "hour_before": slot_start - timedelta(minutes=30)
    }


async def _book(session, clock):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=date(2026, 11, 25))
    patient = await make_patient(session, clock=clock)
    actor = booker(clock, patient)
    booked = await book_slot(
        session, actor, slot_id=view.slots[0].id, patient_id=patient.id, idempotency_key=new_key()
    )
    return actor, booked.appointment


async def test_reminders_fire_at_their_times(session, session_factory, clock):
    _, appointment = await _book(session, clock)
    timers = (
        await session.scalars(
            select(OutboxEvent.available_at)
            .where(OutboxEvent.topic == REMINDER_TOPIC)
            .order_by(OutboxEvent.available_at)
        )
    ).all()
    assert timers == [
        datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 0, 0, tzinfo=UTC),
    ]
    sender = SandboxSmsSender()
    await drain(session_factory, clock, limit=20, services={"sms_sender": sender})
    assert (await session.scalars(select(InboxMessage))).all() == []
    clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    await drain(session_factory, clock, limit=20, services={"sms_sender": sender})
    [message] = (await session.scalars(select(InboxMessage))).all()
    assert (message.account_id, message.title) == (appointment.account_id, "Appointment reminder")
    assert "2026-11-25 09:00" in message.fields
    assert (
        list(sender.sent.values())[0][1]
        == "您的预约就诊时间为 2026-11-25 09:00，到院后请及时签到。"
    )
    clock.set(datetime(2026, 11, 25, 0, 0, tzinfo=UTC))
    await drain(session_factory, clock, limit=20, services={"sms_sender": sender})
    assert len((await session.scalars(select(InboxMessage))).all()) == 2
    assert len((await session.scalars(select(SmsDelivery))).all()) == 2


async def test_reminders_are_skipped_after_a_cancellation(session, session_factory, clock):
    actor, appointment = await _book(session, clock)
    await cancel_appointment(session, actor, appointment_id=appointment.id)
    clock.set(datetime(2026, 11, 25, 0, 0, tzinfo=UTC))
    result = await drain(
        session_factory, clock, limit=20, services={"sms_sender": SandboxSmsSender()}
    )
    assert result.done == 2  # both reminders handled, neither sent
    assert (await session.scalars(select(InboxMessage))).all() == []
