"""API shapes of the directory: institutions, departments, practitioners and their review.

Update shapes default every field to ``None`` without allowing ``null`` for fields that cannot be
empty: Pydantic does not validate defaults, so a field left out stays unset, while an explicit
``null`` is refused like any other wrong type.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ihospital.core.schemas import Schema
from ihospital.directory import validation
from ihospital.directory.models import INSTITUTION_LEVELS, SEXES, TITLES
from ihospital.identity.accounts import validate_mobile, validate_password

Level = Literal[INSTITUTION_LEVELS]  # type: ignore[valid-type]
Title = Literal[TITLES]  # type: ignore[valid-type]
Sex = Literal[SEXES]  # type: ignore[valid-type]
Decision = Literal["verify", "reject", "suspend", "reinstate"]

InstitutionName = Annotated[
    str, Field(min_length=2, max_length=128), AfterValidator(validation.proper_name)
]
RegionCode = Annotated[str, Field(max_length=6), AfterValidator(validation.region_code)]
RegionName = Annotated[
    str, Field(min_length=1, max_length=64), AfterValidator(validation.proper_name)
]
Address = Annotated[str, Field(max_length=256), AfterValidator(validation.plain_text)]
Phone = Annotated[str, Field(max_length=32), AfterValidator(validation.phone)]
LicenceText = Annotated[str, Field(max_length=64), AfterValidator(validation.plain_text)]
DepartmentCodeText = Annotated[str, Field(max_length=8), AfterValidator(validation.department_code)]
LocalName = Annotated[str, Field(max_length=64), AfterValidator(validation.proper_name)]
PersonName = Annotated[
    str, Field(min_length=1, max_length=32), AfterValidator(validation.person_name)
]
LicenceNumber = Annotated[str, Field(max_length=15), AfterValidator(validation.licence_number)]
Specialties = Annotated[str, Field(max_length=512), AfterValidator(validation.long_text)]
Introduction = Annotated[str, Field(max_length=4000), AfterValidator(validation.long_text)]
PhotoUrl = Annotated[str, Field(max_length=256), AfterValidator(validation.photo_url)]
Note = Annotated[str, Field(max_length=512), AfterValidator(validation.long_text)]
Mobile = Annotated[str, Field(max_length=11), AfterValidator(validate_mobile)]
Password = Annotated[str, Field(max_length=128), AfterValidator(validate_password)]
RecordRef = Annotated[int, Field(ge=1, le=2**63 - 1)]  # a row id: positive, fits BIGINT


# --- institutions and departments ---------------------------------------------------------


class InstitutionCreate(Schema):
    name: InstitutionName
    level: Level
    region_code: RegionCode
    region_name: RegionName
    address: Address = ""
    phone: Phone = ""
    is_internet_hospital: bool = False
    internet_licence_number: LicenceText = ""
    internet_licence_expires_on: date | None = None
    upper_institution_id: RecordRef | None = None


class InstitutionUpdate(Schema):
    name: InstitutionName = None  # type: ignore[assignment]
    level: Level = None  # type: ignore[assignment]
    region_code: RegionCode = None  # type: ignore[assignment]
    region_name: RegionName = None  # type: ignore[assignment]
    address: Address = None  # type: ignore[assignment]
    phone: Phone = None  # type: ignore[assignment]
    is_internet_hospital: bool = None  # type: ignore[assignment]
    internet_licence_number: LicenceText = None  # type: ignore[assignment]
    internet_licence_expires_on: date | None = None
    upper_institution_id: RecordRef | None = None


class InstitutionRef(Schema):
    id: int
    name: str


class InstitutionRead(Schema):
    id: int
    name: str
    level: str
    region_code: str
    region_name: str
    address: str
    phone: str
    is_internet_hospital: bool
    internet_licence_number: str
    internet_licence_expires_on: date | None
    upper_institution_id: int | None


class DepartmentCodeRead(Schema):
    code: str
    name_zh: str
    name_en: str
    parent_code: str | None


class DepartmentSet(Schema):
    local_name: LocalName = ""
    offers_online: bool = False


class InstitutionDepartmentRead(Schema):
    department: DepartmentCodeRead
    local_name: str
    offers_online: bool


class InstitutionDetail(InstitutionRead):
    internet_licence_valid: bool
    upper_institution: InstitutionRef | None
    members: list[InstitutionRef]
    departments: list[InstitutionDepartmentRead]


# --- practitioners ---------------------------------------------------------------------------


class PracticeSiteIn(Schema):
    institution_id: RecordRef
    department_code: DepartmentCodeText
    filing_number: LicenceText = ""
    consent_on_file: bool = False


class PracticeSitesSet(Schema):
    department_code: DepartmentCodeText
    practice_sites: Annotated[list[PracticeSiteIn], Field(max_length=20, default_factory=list)]


class PractitionerCreate(PracticeSitesSet):
    name: PersonName
    sex: Sex
    mobile: Mobile
    password: Password
    licence_number: LicenceNumber
    title: Title
    practice_start_date: date
    specialties: Specialties = ""
    introduction: Introduction = ""
    photo_url: PhotoUrl = ""


class ProfileUpdate(Schema):
    """What a doctor may change of their own profile."""

    specialties: Specialties = None  # type: ignore[assignment]
    introduction: Introduction = None  # type: ignore[assignment]
    photo_url: PhotoUrl = None  # type: ignore[assignment]


class PractitionerUpdate(ProfileUpdate):
    """What the doctor's institution may change; credentials go back to review (see
    :func:`ihospital.directory.practitioners.update_practitioner`)."""

    name: PersonName = None  # type: ignore[assignment]
    sex: Sex = None  # type: ignore[assignment]
    licence_number: LicenceNumber = None  # type: ignore[assignment]
    title: Title = None  # type: ignore[assignment]
    practice_start_date: date = None  # type: ignore[assignment]


class ReviewDecisionIn(Schema):
    decision: Decision
    note: Note = ""


class PracticeSiteRead(Schema):
    institution: InstitutionRef
    department: DepartmentCodeRead
    local_name: str
    is_primary: bool
    filing_number: str
    consent_on_file: bool
    online_available: bool


class PractitionerRead(Schema):
    id: int
    account_id: int
    institution: InstitutionRef
    name: str
    name_pinyin: str
    name_initials: str
    sex: str
    licence_number: str
    title: str
    practice_start_date: date
    years_of_practice: int
    specialties: str
    introduction: str
    photo_url: str
    verification_status: str
    verification_note: str
    verified_at: datetime | None
    online_available: bool
    sites: list[PracticeSiteRead]


class CredentialReviewRead(Schema):
    id: int
    decision: str
    from_status: str
    to_status: str
    note: str
    reviewer_account_id: int | None
    reviewer_role: str
    decided_at: datetime


# --- public doctor directory -------------------------------------------------------------------


class DoctorSite(Schema):
    institution: InstitutionRef
    department: DepartmentCodeRead
    local_name: str
    is_primary: bool
    online_available: bool


class DoctorSummary(Schema):
    id: int
    name: str
    sex: str
    title: str
    photo_url: str
    specialties: str
    institution: InstitutionRef
    years_of_practice: int
    online_available: bool
    sites: list[DoctorSite]


class DoctorProfile(DoctorSummary):
    licence_number: str
    introduction: str
