"""The domains publish what the alert rules read: a booking that raises a scalper flag opens the
P01 alert once the worker handles the flag's event, and the admin of the clinic is told."""

from sqlalchemy import select

from ihospital.booking.appointments import book_slot
from ihospital.booking.fairness.flags import PATIENTS_PER_DOCTOR, note_booking
from ihospital.identity.models import Account
from ihospital.notifications.models import InboxMessage
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.booking.test_schedules import DAY
from tests.identity.builders import make_patient
from tests.prescribing.review_builders import run_worker
from tests.supervision.builders import alerts_of


async def test_a_scalper_flag_raised_by_bookings_opens_an_alert(
    app, session, session_factory, clock
):
    clinic = await make_clinic(session, clock=clock)
    view = await make_session(session, clinic, clock=clock, day=DAY)
    first = await make_patient(session, clock=clock)
    account = await session.get(Account, first.account_id)
    patients = [first] + [
        await make_patient(session, clock=clock, account=account, relationship="child")
        for _ in range(PATIENTS_PER_DOCTOR - 1)
    ]
    for index, patient in enumerate(patients):
        booked = await book_slot(
            session,
            booker(clock, patient),
            slot_id=view.slots[index].id,
            patient_id=patient.id,
            idempotency_key=new_key(),
        )
        await note_booking(session, booker(clock, patient), view=booked, device_hash="d")
    await session.commit()
    await run_worker(app, session_factory, clock)

    [alert] = await alerts_of(session, "P01")
    assert alert.institution_id == clinic.institution.id
    told = await session.scalars(
        select(InboxMessage).where(InboxMessage.account_id == clinic.admin.id)
    )
    assert [message.link for message in told] == [f"/supervision/alerts/{alert.id}"]
