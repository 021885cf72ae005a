"""API shapes of medical insurance coverage and of the insured regions the policy table knows.

The personal account balance comes in as yuan text (``"123.45"``) and goes out as fen and as
yuan text, like the amounts of billing. The insurance number goes in once and only ever comes
out masked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, computed_field

from ihospital.billing.insurance.models import Coverage
from ihospital.billing.insurance.policy import PolicyTable, RegionPolicy
from ihospital.core.money import YuanText, fen_to_yuan
from ihospital.core.schemas import Schema
from ihospital.directory.schemas import RegionCode

InsuranceType = Literal["employee", "resident"]  # 职工医保, 城乡居民医保


class RegionRead(Schema):
    """A pool of the policy table: online settlement is possible for coverage of this region
    and of the regions under it (a city covers its districts, a province its cities)."""

    region_code: str
    region_name: str

    @classmethod
    def of(cls, region: RegionPolicy) -> RegionRead:
        return cls(region_code=region.region_code, region_name=region.region_name)


class CoverageCreate(Schema):
    insurance_type: InsuranceType
    region_code: RegionCode = Field(description="The insured region (参保地), GB/T 2260.")
    insurance_number: Annotated[str, Field(max_length=32)]
    account_balance: YuanText = Field(0, description="个人账户 balance; 职工医保 only.")
    valid_from: date
    valid_to: date | None = None


class CoverageUpdate(Schema):
    """Only the fields sent are changed; ``valid_to: null`` makes the coverage open-ended."""

    account_balance: YuanText = None  # type: ignore[assignment]
    valid_from: date = None  # type: ignore[assignment]
    valid_to: date | None = None


class CoverageRead(Schema):
    """A 就诊人's coverage as its account sees it: the insurance number only masked.
    ``policy_region`` is the pool of the policy table that settles it, null when none does
    (bills can then only be paid as self-pay)."""

    id: int
    patient_id: int
    insurance_type: InsuranceType
    region_code: str
    policy_region: RegionRead | None
    insurance_number_masked: str
    account_balance_fen: int
    valid_from: date
    valid_to: date | None
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def account_balance(self) -> str:
        return str(fen_to_yuan(self.account_balance_fen))

    @classmethod
    def of(cls, coverage: Coverage, policies: PolicyTable) -> CoverageRead:
        region = policies.find(coverage.region_code)
        return cls(
            id=coverage.id,
            patient_id=coverage.patient_id,
            insurance_type=coverage.insurance_type,  # type: ignore[arg-type]
            region_code=coverage.region_code,
            policy_region=RegionRead.of(region) if region else None,
            insurance_number_masked=coverage.insurance_number_masked,
            account_balance_fen=coverage.account_balance_fen,
            valid_from=coverage.valid_from,
            valid_to=coverage.valid_to,
            is_active=coverage.is_active,
            created_at=coverage.created_at,
            updated_at=coverage.updated_at,
        )
