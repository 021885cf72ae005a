"""API shapes of accounts, sign-up and login, and 就诊人."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ihospital.core.i18n import translate
from ihospital.core.ids import normalise_resident_id
from ihospital.core.schemas import Schema
from ihospital.identity.accounts import validate_display_name, validate_mobile, validate_password
from ihospital.identity.models import Account, Patient
from ihospital.identity.patients import NAME_MAX_LENGTH, patient_age, validate_patient_name

SMS_CODE_MESSAGE = "Enter the 6-digit code from the text message."


def validate_sms_code(code: str) -> str:
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise ValueError(SMS_CODE_MESSAGE)
    return code


Mobile = Annotated[str, Field(max_length=32), AfterValidator(validate_mobile)]
Password = Annotated[str, Field(max_length=128), AfterValidator(validate_password)]
DisplayName = Annotated[str, Field(max_length=32), AfterValidator(validate_display_name)]
SmsCode = Annotated[str, Field(max_length=32), AfterValidator(validate_sms_code)]
PatientName = Annotated[
    str, Field(min_length=1, max_length=NAME_MAX_LENGTH), AfterValidator(validate_patient_name)
]
ResidentIdNumber = Annotated[str, Field(max_length=32), AfterValidator(normalise_resident_id)]
Relationship = Literal["self", "child", "parent", "spouse", "sibling", "other"]
Language = Literal["zh-CN", "en"]


class SmsCodeRequest(Schema):
    mobile: Mobile
    purpose: Literal["signup", "login"]


class SmsCodeSent(Schema):
    purpose: str
    expires_in: int = Field(description="Seconds until the code expires.")
    retry_after: int = Field(description="Seconds before another code may be requested.")


class SignupRequest(Schema):
    mobile: Mobile
    password: Password
    display_name: DisplayName
    sms_code: SmsCode


class TokenRequest(Schema):
    mobile: Mobile
    password: str = Field(min_length=1, max_length=128)
    sms_code: SmsCode | None = None


class TokenResponse(Schema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (the OAuth 2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the token expires.")


class AccountRead(Schema):
    id: int
    mobile: str
    role: str
    display_name: str
    language: str | None
    elder_mode: bool
    mobile_verified: bool
    institution_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountRead:
        return cls(
            id=account.id,
            mobile=account.mobile,
            role=account.role,
            display_name=account.display_name,
            language=account.language,
            elder_mode=account.elder_mode,
            mobile_verified=account.mobile_verified_at is not None,
            institution_id=account.institution_id,
            created_at=account.created_at,
        )


class AccountUpdate(Schema):
    display_name: DisplayName | None = None
    language: Language | None = None
    elder_mode: bool | None = None


class PatientCreate(Schema):
    name: PatientName
    relationship: Relationship
    id_number: ResidentIdNumber
    mobile: Mobile | None = None


class PatientUpdate(Schema):
    """Only the fields sent are changed; ``mobile: null`` removes the mobile number."""

    name: PatientName | None = None
    relationship: Relationship | None = None
    mobile: Mobile | None = None


class PatientRead(Schema):
    """A 就诊人 as shown to its account: the ID number only masked, never in full."""

    id: int
    name: str
    relationship: str
    id_number_masked: str
    birth_date: date
    sex: Literal["male", "female"]
    age: int
    mobile: str | None
    realname_status: Literal["unverified", "pending", "verified", "failed"]
    realname_reason: str
    realname_verified_at: datetime | None
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, patient: Patient, *, today: date) -> PatientRead:
        return cls(
            id=patient.id,
            name=patient.name,
            relationship=patient.relationship,
            id_number_masked=patient.id_number_masked,
            birth_date=patient.birth_date,
            sex=patient.sex,  # type: ignore[arg-type]
            age=patient_age(patient, today),
            mobile=patient.mobile,
            realname_status=patient.realname_status,  # type: ignore[arg-type]
            realname_reason=translate(patient.realname_reason) if patient.realname_reason else "",
            realname_verified_at=patient.realname_verified_at,
            is_active=patient.is_active,
            created_at=patient.created_at,
        )
