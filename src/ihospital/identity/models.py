from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

ROLES = (
    "patient",
    "doctor",
    "pharmacist",
    "nurse",
    "institution_admin",
    "regulator",
    "platform_admin",
)


class Account(IdMixin, Base):
    """A person who signs in with a mobile number. Staff accounts belong to an institution."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "role IN ('patient','doctor','pharmacist','nurse','institution_admin',"
            "'regulator','platform_admin')",
            name="role_known",
        ),
        CheckConstraint("failed_logins >= 0", name="failed_logins_non_negative"),
    )

    mobile: Mapped[str] = mapped_column(String(11), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(64))
    institution_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("institutions.id"), index=True
    )
    region_code: Mapped[str | None] = mapped_column(String(6))
    language: Mapped[str | None] = mapped_column(String(8))
    elder_mode: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    mobile_verified_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class SmsChallenge(IdMixin, Base):
    """A one-time SMS code for sign-up or login; only its hash is stored."""

    __tablename__ = "sms_challenges"
    __table_args__ = (
        CheckConstraint("purpose IN ('signup','login')", name="purpose_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_sms_challenges_mobile_created", "mobile", "created_at"),
    )

    mobile: Mapped[str] = mapped_column(String(11))
    purpose: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None]


class Patient(IdMixin, Base):
    """就诊人: a person an account books and consults for (self, child, parent …).

    The resident ID number is stored encrypted with a blind index for lookup; ``id_number_masked``
    is the only form ever shown. Records are deactivated, never deleted: an ID number belongs to
    at most one active 就诊人, and an account has at most one active "self".
    """

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("sex IN ('male','female')", name="sex_known"),
        CheckConstraint(
            "relationship IN ('self','child','parent','spouse','sibling','other')",
            name="relationship_known",
        ),
        CheckConstraint(
            "realname_status IN ('unverified','pending','verified','failed')",
            name="realname_status_known",
        ),
        Index(
            "uq_patients_active_id_number",
            "id_number_index",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
        Index(
            "uq_patients_active_self",
            "account_id",
            unique=True,
            sqlite_where=text("is_active AND relationship = 'self'"),
            postgresql_where=text("is_active AND relationship = 'self'"),
        ),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    relationship: Mapped[str] = mapped_column(String(16))
    id_number_cipher: Mapped[str] = mapped_column(String(128))
    id_number_index: Mapped[str] = mapped_column(String(64))
    id_number_masked: Mapped[str] = mapped_column(String(18))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(8))
    mobile: Mapped[str | None] = mapped_column(String(11))
    realname_status: Mapped[str] = mapped_column(String(16), default="unverified")
    realname_verified_at: Mapped[datetime | None]
    realname_reason: Mapped[str] = mapped_column(String(256), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class RealNameCheck(IdMixin, Base):
    """One answer of the real-name verification provider for a 就诊人 (R03)."""

    __tablename__ = "realname_checks"
    __table_args__ = (
        CheckConstraint("outcome IN ('matched','mismatch','timeout')", name="outcome_known"),
    )

    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(256), default="")
    checked_at: Mapped[datetime]


class AuthSession(IdMixin, Base):
    """A signed-in session: a browser cookie (``web``) or an API bearer token (``api``).
    Only the token's SHA-256 is stored."""

    __tablename__ = "auth_sessions"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(256), default="")
