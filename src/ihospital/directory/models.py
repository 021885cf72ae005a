from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

INSTITUTION_LEVELS = (
    "三级甲等",
    "三级乙等",
    "三级",
    "二级甲等",
    "二级乙等",
    "二级",
    "一级",
    "社区卫生服务中心",
    "乡镇卫生院",
)
TITLES = ("主任医师", "副主任医师", "主治医师", "住院医师")  # highest first: the search order
SEXES = ("male", "female")
VERIFICATION_STATUSES = ("draft", "pending", "verified", "rejected", "suspended")
REVIEW_DECISIONS = ("submit", "verify", "reject", "suspend", "reinstate", "revise")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(value) for value in values)})"


class Institution(IdMixin, Base):
    """医疗机构. An internet hospital is attached to a physical institution and holds a licence
    that must be renewed (R14). ``upper_institution_id`` links a community centre to the hospital
    of its consortium (医联体)."""

    __tablename__ = "institutions"
    __table_args__ = (
        CheckConstraint(_one_of("level", INSTITUTION_LEVELS), name="level_known"),
        CheckConstraint("upper_institution_id <> id", name="not_own_upper"),
    )

    name: Mapped[str] = mapped_column(String(128), unique=True)
    level: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    region_name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(256), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    is_internet_hospital: Mapped[bool] = mapped_column(default=False)
    internet_licence_number: Mapped[str] = mapped_column(String(64), default="")
    internet_licence_expires_on: Mapped[date | None]
    upper_institution_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("institutions.id"))
    created_at: Mapped[datetime]


class DepartmentCode(Base):
    """One entry of 《医疗机构诊疗科目名录》 (seeded from data/departments.csv)."""

    __tablename__ = "department_codes"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(96))
    parent_code: Mapped[str | None] = mapped_column(String(8))


class InstitutionDepartment(IdMixin, Base):
    """A department an institution runs, coded nationally, with its local name."""

    __tablename__ = "institution_departments"
    __table_args__ = (UniqueConstraint("institution_id", "department_code"),)

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"), index=True)
    department_code: Mapped[str] = mapped_column(String(8), ForeignKey("department_codes.code"))
    local_name: Mapped[str] = mapped_column(String(64), default="")
    offers_online: Mapped[bool] = mapped_column(default=False)


class Practitioner(IdMixin, Base):
    """执业医师: a doctor's professional record, verified by the institution admin (R04, R05)."""

    __tablename__ = "practitioners"
    __table_args__ = (
        CheckConstraint(_one_of("title", TITLES), name="title_known"),
        CheckConstraint(_one_of("sex", SEXES), name="sex_known"),
        CheckConstraint(
            _one_of("verification_status", VERIFICATION_STATUSES),
            name="verification_status_known",
        ),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), unique=True)
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_pinyin: Mapped[str] = mapped_column(String(256), index=True)
    name_initials: Mapped[str] = mapped_column(String(64), index=True)
    sex: Mapped[str] = mapped_column(String(8))
    licence_number: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(16), index=True)
    practice_start_date: Mapped[date]
    specialties: Mapped[str] = mapped_column(String(512), default="")
    introduction: Mapped[str] = mapped_column(Text, default="")
    photo_url: Mapped[str] = mapped_column(String(256), default="")
    verification_status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    verification_note: Mapped[str] = mapped_column(String(512), default="")
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class PracticeSite(IdMixin, Base):
    """Where a doctor practises. A site other than the registered institution needs a 多点执业
    filing; online service there needs the registered institution's consent (R05)."""

    __tablename__ = "practice_sites"
    __table_args__ = (
        UniqueConstraint("practitioner_id", "institution_id", "department_code"),
        Index(
            "uq_practice_sites_one_primary",
            "practitioner_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )

    practitioner_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"), index=True)
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"), index=True)
    department_code: Mapped[str] = mapped_column(
        String(8), ForeignKey("department_codes.code"), index=True
    )
    is_primary: Mapped[bool] = mapped_column(default=False)
    filing_number: Mapped[str] = mapped_column(String(64), default="")
    consent_on_file: Mapped[bool] = mapped_column(default=False)


class CredentialReview(IdMixin, Base):
    """One step of the credential review (资质审核) of a doctor: a submission or a decision.
    ``reviewer_account_id`` is empty only for steps taken by the system (seeding, imports)."""

    __tablename__ = "credential_reviews"
    __table_args__ = (
        CheckConstraint(_one_of("decision", REVIEW_DECISIONS), name="decision_known"),
        CheckConstraint(_one_of("from_status", VERIFICATION_STATUSES), name="from_status_known"),
        CheckConstraint(_one_of("to_status", VERIFICATION_STATUSES), name="to_status_known"),
    )

    practitioner_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"), index=True)
    reviewer_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    reviewer_role: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(512), default="")
    decided_at: Mapped[datetime]
