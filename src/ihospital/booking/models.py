"""Tables of booking: an institution's booking rules, sessions (出诊), their slots and the
appointments made in them.

A session is one half-day of one doctor at one practice site, or of one bookable non-doctor
resource (a vaccination or a check-up package); it is cut into slots (time windows) of equal
length, each taking the same number of patients (``capacity``). ``booked`` counts the active
appointments of a slot; a check constraint keeps it within ``capacity`` and a partial unique
index keeps one 就诊人 to one active appointment per slot, so the database itself refuses an
overbooking whatever the code above it does.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

HALF_DAYS = ("morning", "afternoon", "evening")  # 上午 / 下午 / 晚上
VISIT_TYPES = ("in_person", "online")  # 门诊 / 线上复诊
FEE_CLASSES = ("general", "expert", "special")  # 普通号 / 专家号 / 特需号
SESSION_STATUSES = ("open", "stopped")  # stopped = 停诊
APPOINTMENT_STATUSES = ("pending_payment", "confirmed", "cancelled")
ACTIVE_STATUSES = ("pending_payment", "confirmed")
CANCEL_REASONS = ("patient", "session_stopped", "unpaid")
WAITLIST_STATUSES = ("waiting", "offered", "left", "lapsed")
RESOURCE_KINDS = ("vaccination", "checkup")  # 疫苗接种 / 体检
RESOURCE_SEXES = ("male", "female")
# a session or an appointment belongs to a doctor or to a resource, never both
DOCTOR_OR_RESOURCE = (
    "(practitioner_id IS NOT NULL AND resource_id IS NULL)"
    " OR (practitioner_id IS NULL AND resource_id IS NOT NULL)"
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(value) for value in values)})"


class BookingRules(IdMixin, Base):
    """The booking rules of one institution; an institution without a row has the defaults.

    Slots of a day open ``release_days_ahead`` days before it at ``release_time`` (放号, local
    time); a patient may cancel until ``cancel_cutoff_time`` on the day before the visit and
    check in (签到) from ``check_in_opens_minutes`` before to ``check_in_closes_minutes`` after
    the start of their slot. With ``doctors_may_schedule`` a doctor practising here creates and
    stops their own sessions here, besides the institution's admins."""

    __tablename__ = "booking_rules"
    __table_args__ = (
        CheckConstraint("release_days_ahead BETWEEN 0 AND 90", name="release_days_range"),
        CheckConstraint("max_per_doctor_per_day >= 1", name="per_doctor_positive"),
        CheckConstraint("max_active_per_institution >= 1", name="per_institution_positive"),
        CheckConstraint("child_age_limit BETWEEN 1 AND 18", name="child_age_range"),
        CheckConstraint("check_in_opens_minutes BETWEEN 0 AND 720", name="check_in_opens_range"),
        CheckConstraint("check_in_closes_minutes BETWEEN 0 AND 240", name="check_in_closes_range"),
    )

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"), unique=True)
    release_days_ahead: Mapped[int]
    release_time: Mapped[time]
    cancel_cutoff_time: Mapped[time]
    max_per_doctor_per_day: Mapped[int]
    max_active_per_institution: Mapped[int]
    child_age_limit: Mapped[int]
    check_in_opens_minutes: Mapped[int] = mapped_column(server_default=text("60"))
    check_in_closes_minutes: Mapped[int] = mapped_column(server_default=text("15"))
    doctors_may_schedule: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class ScheduleSession(IdMixin, Base):
    """出诊: one doctor at one of their practice sites (``institution_id`` and
    ``department_code``; the site rows of the directory are replaced whenever a doctor's sites
    change, so they are not referenced), on one local ``day`` and half-day, from ``starts_at`` to
    ``ends_at`` (UTC). ``fee_fen`` is the registration fee. A session of a bookable resource
    (``resource_id``, a vaccination or check-up) has no doctor; its department and fee are the
    resource's when the session was created."""

    __tablename__ = "booking_sessions"
    __table_args__ = (
        CheckConstraint(_one_of("half_day", HALF_DAYS), name="half_day_known"),
        CheckConstraint(_one_of("visit_type", VISIT_TYPES), name="visit_type_known"),
        CheckConstraint(_one_of("fee_class", FEE_CLASSES), name="fee_class_known"),
        CheckConstraint(_one_of("status", SESSION_STATUSES), name="status_known"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("slot_minutes > 0", name="slot_minutes_positive"),
        CheckConstraint("fee_fen >= 0", name="fee_not_negative"),
        CheckConstraint(DOCTOR_OR_RESOURCE, name="doctor_or_resource"),
        Index("ix_booking_sessions_practitioner_day", "practitioner_id", "day"),
        Index("ix_booking_sessions_institution_day", "institution_id", "day"),
        Index("ix_booking_sessions_resource_day", "resource_id", "day"),
    )

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    practitioner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("practitioners.id"))
    resource_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("booking_resources.id"))
    department_code: Mapped[str] = mapped_column(String(8), ForeignKey("department_codes.code"))
    day: Mapped[date]
    half_day: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    visit_type: Mapped[str] = mapped_column(String(16))
    fee_class: Mapped[str] = mapped_column(String(16))
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    capacity: Mapped[int]
    slot_minutes: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]


class Slot(IdMixin, Base):
    """One exact time slot of a session ("2026-12-01 09:20–09:30"); ``position`` counts from 1."""

    __tablename__ = "booking_slots"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        UniqueConstraint("session_id", "position"),
    )

    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("booking_sessions.id"))
    position: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)


class Appointment(IdMixin, Base):
    """预约: a 就诊人's place in a slot, bound to that 就诊人 (never transferred).

    ``pending_payment`` holds the slot until ``hold_expires_at``, the expiry of the registration
    fee's billing order ``order_id``; ``confirmed`` and ``pending_payment`` are active and count
    towards the slot's ``booked`` and the booking rules. The same account and
    ``idempotency_key`` always name the same appointment. An appointment of a resource's session
    has its ``resource_id`` instead of a doctor; a 就诊人 holds at most one active appointment
    per resource and day (a unique index backs the rule)."""

    __tablename__ = "booking_appointments"
    __table_args__ = (
        CheckConstraint(_one_of("status", APPOINTMENT_STATUSES), name="status_known"),
        CheckConstraint(
            "cancel_reason IS NULL OR " + _one_of("cancel_reason", CANCEL_REASONS),
            name="cancel_reason_known",
        ),
        CheckConstraint(
            "status <> 'pending_payment' OR hold_expires_at IS NOT NULL", name="hold_has_expiry"
        ),
        UniqueConstraint("account_id", "idempotency_key"),
        Index(
            "uq_booking_appointments_one_active_per_slot",
            "slot_id",
            "patient_id",
            unique=True,
            sqlite_where=text("status IN ('pending_payment','confirmed')"),
            postgresql_where=text("status IN ('pending_payment','confirmed')"),
        ),
        CheckConstraint(DOCTOR_OR_RESOURCE, name="doctor_or_resource"),
        Index(
            "uq_booking_appointments_one_active_per_resource_day",
            "resource_id",
            "patient_id",
            "day",
            unique=True,
            sqlite_where=text("status IN ('pending_payment','confirmed')"),
            postgresql_where=text("status IN ('pending_payment','confirmed')"),
        ),
        Index("ix_booking_appointments_patient_day", "patient_id", "day"),
        Index("ix_booking_appointments_session", "session_id"),
        Index("ix_booking_appointments_institution_day", "institution_id", "day"),
    )

    slot_id: Mapped[int] = mapped_column(BigId, ForeignKey("booking_slots.id"))
    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("booking_sessions.id"))
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    practitioner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("practitioners.id"))
    resource_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("booking_resources.id"))
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    day: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))
    hold_expires_at: Mapped[datetime | None]
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("billing_orders.id"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(16))


class Reschedule(IdMixin, Base):
    """改约: appointment ``appointment_id`` moved from ``from_slot_id`` to ``to_slot_id`` at the
    request of its account; the same account and ``idempotency_key`` always name the same move.
    The appointment's timers (reminders, no-show check) written for an earlier time are silent
    once a later move exists."""

    __tablename__ = "booking_reschedules"
    __table_args__ = (UniqueConstraint("account_id", "idempotency_key"),)

    appointment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("booking_appointments.id"), index=True
    )
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    from_slot_id: Mapped[int] = mapped_column(BigId, ForeignKey("booking_slots.id"))
    to_slot_id: Mapped[int] = mapped_column(BigId, ForeignKey("booking_slots.id"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class WaitlistEntry(IdMixin, Base):
    """候补: a 就诊人 waiting for a place in a full session (any of its slots) or in one full
    ``slot_id``. When a place frees, the first ``waiting`` entry in ``id`` order that still
    passes the booking rules is ``offered`` the appointment ``appointment_id``; an entry whose
    就诊人 no longer passes them has ``lapsed``. One waiting entry per 就诊人 and session."""

    __tablename__ = "booking_waitlist_entries"
    __table_args__ = (
        CheckConstraint(_one_of("status", WAITLIST_STATUSES), name="status_known"),
        CheckConstraint(
            "status <> 'offered' OR appointment_id IS NOT NULL", name="offer_has_appointment"
        ),
        Index(
            "uq_booking_waitlist_entries_one_waiting",
            "session_id",
            "patient_id",
            unique=True,
            sqlite_where=text("status = 'waiting'"),
            postgresql_where=text("status = 'waiting'"),
        ),
        Index("ix_booking_waitlist_entries_session_status", "session_id", "status"),
    )

    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("booking_sessions.id"))
    slot_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("booking_slots.id"))
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    appointment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("booking_appointments.id"))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class BookingResource(IdMixin, Base):
    """A bookable non-doctor resource of an institution: a vaccination (疫苗接种, ``vaccine``
    names the product and dose, "九价HPV疫苗 第1剂") or a check-up package (体检套餐,
    ``package_items`` lists what it includes). ``name`` is the institution's own, as institution
    names are. ``fee_fen`` is charged per booking; ``min_age_years``/``max_age_years`` (inclusive,
    age on the day of the visit) and ``sex`` restrict who may book; ``preparation`` is shown on
    the appointment (体检需空腹). An inactive resource takes no new sessions or bookings."""

    __tablename__ = "booking_resources"
    __table_args__ = (
        CheckConstraint(_one_of("kind", RESOURCE_KINDS), name="kind_known"),
        CheckConstraint("sex IS NULL OR " + _one_of("sex", RESOURCE_SEXES), name="sex_known"),
        CheckConstraint("fee_fen >= 0", name="fee_not_negative"),
        CheckConstraint("min_age_years IS NULL OR min_age_years >= 0", name="min_age_range"),
        CheckConstraint("max_age_years IS NULL OR max_age_years <= 150", name="max_age_range"),
        CheckConstraint(
            "min_age_years IS NULL OR max_age_years IS NULL OR min_age_years <= max_age_years",
            name="ages_ordered",
        ),
        CheckConstraint("kind <> 'vaccination' OR vaccine <> ''", name="vaccination_has_vaccine"),
        CheckConstraint("kind <> 'checkup' OR package_items <> ''", name="checkup_has_items"),
        Index("ix_booking_resources_institution_kind", "institution_id", "kind"),
    )

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str] = mapped_column(String(8), ForeignKey("department_codes.code"))
    vaccine: Mapped[str] = mapped_column(String(128), default="")
    package_items: Mapped[str] = mapped_column(String(2000), default="")
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    min_age_years: Mapped[int | None]
    max_age_years: Mapped[int | None]
    sex: Mapped[str | None] = mapped_column(String(8))
    preparation: Mapped[str] = mapped_column(String(500), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
