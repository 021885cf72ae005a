"""Scalper flags (号贩子嫌疑): raised after a booking when one account has booked one doctor for
many 就诊人, or one device has booked many times in a day (its count brought up to date at each
multiple of the threshold); institution admins list and review them. A flag never refuses a
booking: the institution decides what to do. A raised flag and each new count are published as
``booking.flag_raised`` (supervision subscribes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.fairness.models import BookingFlag, BookingOrigin
from ihospital.booking.models import Appointment
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution
from ihospital.errors import NotFound
from ihospital.identity.patient_cards import PatientCard, patient_cards
from ihospital.outbox.publications import Publications
from ihospital.outbox.service import emit

if TYPE_CHECKING:
    from ihospital.booking.appointments import AppointmentView

PATIENTS_PER_DOCTOR = 3  # different 就诊人 booked with one doctor by one account ...
PATIENTS_PER_DOCTOR_DAYS = 7  # ... within this many days
BOOKINGS_PER_DEVICE_DAY = 10  # bookings from one device at one institution in one local day
FLAG_RAISED = "booking.flag_raised"
PUBLICATIONS = Publications("booking fairness", (FLAG_RAISED,))
# a Core alias made once (an ORM alias per request costs more than the statement it is in)
_OTHER_ORIGINS = BookingOrigin.__table__.alias("other_origins")


async def note_booking(
    session: AsyncSession, actor: Actor, *, view: AppointmentView, device_hash: str
) -> None:
    """Record the device of a new booking and raise the flags it crosses (a replayed booking
    is not new and counts once)."""
    if view.replayed:
        return
    appointment = view.appointment
    now = actor.clock.now()
    today = actor.clock.today_local()
    # the device's other bookings here today: counted in the statement that records this one,
    # without it (PostgreSQL's RETURNING does not see the new row, SQLite's does), and added.
    # One table per subquery, the inserted one under an alias: RETURNING may name columns bare.
    other = _OTHER_ORIGINS.c
    device_bookings = (
        select(func.count())
        .select_from(_OTHER_ORIGINS)
        .where(
            other.institution_id == appointment.institution_id,
            other.device_hash == device_hash,
            other.day == today,
            other.appointment_id != appointment.id,
        )
        .scalar_subquery()
    )
    # a family booking one vaccination or check-up for several 就诊人 is usual: doctors only
    patients_with_doctor = (
        select(func.count(func.distinct(Appointment.patient_id)))
        .where(
            Appointment.institution_id == appointment.institution_id,
            Appointment.account_id == appointment.account_id,
            Appointment.practitioner_id == appointment.practitioner_id,
            Appointment.created_at > now - timedelta(days=PATIENTS_PER_DOCTOR_DAYS),
        )
        .scalar_subquery()
    )
    patients, other_bookings = (
        await session.execute(
            insert(BookingOrigin)
            .values(
                appointment_id=appointment.id,
                institution_id=appointment.institution_id,
                account_id=appointment.account_id,
                device_hash=device_hash,
                day=today,
                created_at=now,
            )
            .returning(patients_with_doctor, device_bookings)
        )
    ).one()
    bookings = other_bookings + 1
    if appointment.practitioner_id and patients >= PATIENTS_PER_DOCTOR:
        await _raise(
            session,
            actor,
            flag=BookingFlag(
                institution_id=appointment.institution_id,
                reason="many_patients_one_doctor",
                subject=f"account:{appointment.account_id}:doctor:{appointment.practitioner_id}",
                account_id=appointment.account_id,
                practitioner_id=appointment.practitioner_id,
                count=patients,
            ),
        )
    if bookings >= BOOKINGS_PER_DEVICE_DAY:
        await _raise(
            session,
            actor,
            flag=BookingFlag(
                institution_id=appointment.institution_id,
                reason="busy_device",
                subject=f"device:{device_hash}",
                device_hash=device_hash,
                count=bookings,
            ),
            # brought up to date at each multiple of the threshold, not by every booking: a busy
            # device's flag row is then not written (and locked until commit) by each of them
            update_count=bookings % BOOKINGS_PER_DEVICE_DAY == 0,
        )


async def _raise(
    session: AsyncSession, actor: Actor, *, flag: BookingFlag, update_count: bool = True
) -> None:
    """Insert ``flag`` for today, or (if ``update_count``) bring today's flag of the same subject
    up to its count."""
    now = actor.clock.now()
    flag.day = actor.clock.today_local()
    flag.status = "open"
    flag.raised_at = flag.updated_at = now
    existing = await _today(session, flag)
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(flag)
        except IntegrityError:  # raised by a simultaneous booking
            existing = await _today(session, flag)
        else:
            await record(
                session,
                actor,
                action="booking.flag.raise",
                subject_type="booking_flag",
                subject_id=flag.id,
                details={"reason": flag.reason, "subject": flag.subject, "count": flag.count},
            )
            await _publish(session, actor, flag)
            return
    if existing is not None and update_count and existing.count < flag.count:
        existing.count = flag.count
        existing.updated_at = now
        await session.flush()
        await record(
            session,
            actor,
            action="booking.flag.count",
            subject_type="booking_flag",
            subject_id=existing.id,
            details={"count": existing.count},
        )
        await _publish(session, actor, existing)


async def _publish(session: AsyncSession, actor: Actor, flag: BookingFlag) -> None:
    await emit(
        session,
        actor,
        topic=FLAG_RAISED,
        payload={
            "flag_id": flag.id,
            "institution_id": flag.institution_id,
            "reason": flag.reason,
            "subject": flag.subject,
            "count": flag.count,
            "day": flag.day.isoformat(),
        },
    )


async def _today(session: AsyncSession, flag: BookingFlag) -> BookingFlag | None:
    return await session.scalar(
        select(BookingFlag).where(
            BookingFlag.institution_id == flag.institution_id,
            BookingFlag.reason == flag.reason,
            BookingFlag.subject == flag.subject,
            BookingFlag.day == flag.day,
        )
    )


async def list_flags(
    session: AsyncSession, actor: Actor, *, institution_id: int, status: str | None = None
) -> list[BookingFlag]:
    """The scalper flags of an institution the actor manages, latest first (the read is
    audited)."""
    await managed_institution(session, actor, institution_id)
    query = select(BookingFlag).where(BookingFlag.institution_id == institution_id)
    if status is not None:
        query = query.where(BookingFlag.status == status)
    flags = list(
        await session.scalars(query.order_by(BookingFlag.updated_at.desc(), BookingFlag.id.desc()))
    )
    await record(
        session,
        actor,
        action="booking.flags.list",
        subject_type="institution",
        subject_id=institution_id,
        details={"flag_ids": [flag.id for flag in flags]},
    )
    return flags


async def review_flag(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    flag_id: int,
    outcome: str,
    note: str = "",
) -> BookingFlag:
    """Review a flag of a managed institution: its ``outcome`` (``legitimate`` or ``scalping``)
    and a note (audited). A reviewed flag keeps its review: reviewing again changes nothing."""
    await managed_institution(session, actor, institution_id)
    flag = await session.scalar(
        select(BookingFlag)
        .where(BookingFlag.id == flag_id, BookingFlag.institution_id == institution_id)
        .with_for_update()
    )
    if flag is None:
        raise NotFound("booking.flag_not_found", "This flag does not exist.")
    if flag.status == "reviewed":
        return flag
    now = actor.clock.now()
    flag.status = "reviewed"
    flag.reviewed_at = flag.updated_at = now
    flag.reviewed_by_account_id = actor.account_id
    flag.outcome = outcome
    flag.review_note = note
    await session.flush()
    await record(
        session,
        actor,
        action="booking.flag.review",
        subject_type="booking_flag",
        subject_id=flag.id,
        details={"outcome": outcome, "note": note},
    )
    return flag


@dataclass(frozen=True)
class FlaggedBooking:
    """One booking behind a flag, as the reviewing admin sees it (the 就诊人's name masked)."""

    appointment: Appointment
    patient: PatientCard | None


async def flag_evidence(
    session: AsyncSession, actor: Actor, *, institution_id: int, flags: Sequence[BookingFlag]
) -> dict[int, list[FlaggedBooking]]:
    """The bookings behind each flag of a managed institution, by flag id: the account's
    bookings with the doctor in the counted days, or the device's bookings of the flag's day."""
    await managed_institution(session, actor, institution_id)
    found: dict[int, list[Appointment]] = {}
    for flag in flags:
        if flag.institution_id != institution_id:
            raise NotFound("booking.flag_not_found", "This flag does not exist.")
        if flag.reason == "busy_device":
            query = (
                select(Appointment)
                .join(BookingOrigin, BookingOrigin.appointment_id == Appointment.id)
                .where(
                    BookingOrigin.institution_id == institution_id,
                    BookingOrigin.device_hash == flag.device_hash,
                    BookingOrigin.day == flag.day,
                )
            )
        else:
            query = select(Appointment).where(
                Appointment.institution_id == institution_id,
                Appointment.account_id == flag.account_id,
                Appointment.practitioner_id == flag.practitioner_id,
                Appointment.created_at > flag.updated_at - timedelta(days=PATIENTS_PER_DOCTOR_DAYS),
                Appointment.created_at <= flag.updated_at,
            )
        found[flag.id] = list(await session.scalars(query.order_by(Appointment.created_at)))
    cards = await patient_cards(
        session,
        actor,
        patient_ids=(a.patient_id for appointments in found.values() for a in appointments),
        purpose="booking.flag_review",
        masked=True,
    )
    return {
        flag_id: [FlaggedBooking(a, cards.get(a.patient_id)) for a in appointments]
        for flag_id, appointments in found.items()
    }
