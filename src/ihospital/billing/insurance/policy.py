"""The regional policy table (data/policies.json): each pool's outpatient terms, as data.

The file is validated when it is loaded: every figure a non-negative integer (fen or basis
points), ratios and shares at most 100 %, both insurance types and all three institution tiers
present, 丙类 never covered and delivery never among the services covered online (DOMAIN.md,
医保结算). A malformed table raises :class:`PolicyTableError` naming what is wrong, so the app
does not start with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    model_validator,
)

from ihospital.billing.insurance.engine import BASIS_POINTS, Terms
from ihospital.billing.models import LINE_KINDS

POLICY_FILE = Path(__file__).resolve().parent / "data" / "policies.json"
INSURANCE_TYPES = ("employee", "resident")  # 职工医保, 城乡居民医保
TIERS = ("tertiary", "secondary", "primary")  # 三级, 二级, 一级与社区
DRUG_CLASSES = ("A", "B", "C")  # 甲类, 乙类, 丙类
NEVER_COVERED_KINDS = frozenset({"delivery"})
LEVEL_TIERS: dict[str, str] = {
    "三级甲等": "tertiary",
    "三级乙等": "tertiary",
    "三级": "tertiary",
    "二级甲等": "secondary",
    "二级乙等": "secondary",
    "二级": "secondary",
    "一级": "primary",
    "社区卫生服务中心": "primary",
    "乡镇卫生院": "primary",
}

InsuranceType = Literal["employee", "resident"]
Fen = Annotated[StrictInt, Field(ge=0)]
BasisPoints = Annotated[StrictInt, Field(ge=0, le=BASIS_POINTS)]


class PolicyTableError(ValueError):
    """The policy table cannot be used; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierTerms(_Strict):
    deductible_fen: Fen
    fund_ratio_bp: BasisPoints


class SchemeTerms(_Strict):
    annual_ceiling_fen: Fen
    tiers: dict[Literal["tertiary", "secondary", "primary"], TierTerms]

    @model_validator(mode="after")
    def _all_tiers(self) -> SchemeTerms:
        missing = [tier for tier in TIERS if tier not in self.tiers]
        if missing:
            raise ValueError(f"tiers missing: {', '.join(missing)}")
        return self


class DrugClassTerms(_Strict):
    covered: StrictBool
    self_pay_first_bp: BasisPoints


class RegionPolicy(_Strict):
    region_code: Annotated[str, Field(pattern=r"^\d{6}$")]
    region_name: Annotated[str, Field(min_length=1)]
    sources: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    schemes: dict[InsuranceType, SchemeTerms]
    drug_classes: dict[Literal["A", "B", "C"], DrugClassTerms]
    online_covered_kinds: list[Literal[LINE_KINDS]]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _consistent(self) -> RegionPolicy:
        missing = [kind for kind in INSURANCE_TYPES if kind not in self.schemes]
        if missing:
            raise ValueError(f"insurance types missing: {', '.join(missing)}")
        if [code for code in DRUG_CLASSES if code not in self.drug_classes]:
            raise ValueError("drug classes A, B and C must all be listed")
        if self.drug_classes["C"].covered:
            raise ValueError("丙类 (C) drugs are never covered")
        never = NEVER_COVERED_KINDS.intersection(self.online_covered_kinds)
        if never:
            raise ValueError(f"never covered online: {', '.join(sorted(never))}")
        return self

    def terms(self, insurance_type: str, tier: str) -> Terms:
        scheme = self.schemes[insurance_type]  # type: ignore[index]
        level = scheme.tiers[tier]  # type: ignore[index]
        return Terms(
            deductible_fen=level.deductible_fen,
            fund_ratio_bp=level.fund_ratio_bp,
            annual_ceiling_fen=scheme.annual_ceiling_fen,
            self_pay_first_bp={
                code: terms.self_pay_first_bp
                for code, terms in self.drug_classes.items()
                if terms.covered
            },
            covered_kinds=frozenset(self.online_covered_kinds),
        )


class PolicyFile(_Strict):
    about: str
    regions: Annotated[list[RegionPolicy], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_regions(self) -> PolicyFile:
        codes = [region.region_code for region in self.regions]
        if len(codes) != len(set(codes)):
            raise ValueError("a region code is listed twice")
        return self


@dataclass(frozen=True)
class PolicyTable:
    regions: dict[str, RegionPolicy]

    def listed(self) -> list[RegionPolicy]:
        """The pools of the table by region code (for forms and the API)."""
        return [self.regions[code] for code in sorted(self.regions)]

    def find(self, region_code: str) -> RegionPolicy | None:
        """The entry of the pool ``region_code`` belongs to: the code itself, else its city
        (``XXXX00``), else its province (``XX0000``); None when the table has no entry."""
        for candidate in (region_code, region_code[:4] + "00", region_code[:2] + "0000"):
            if candidate in self.regions:
                return self.regions[candidate]
        return None


def parse_policy_table(text: str) -> PolicyTable:
    """Validate the JSON text of a policy table."""
    try:
        parsed = PolicyFile.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise PolicyTableError(f"the policy table is not valid JSON: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise PolicyTableError(f"the policy table is malformed: {problems}") from None
    return PolicyTable({region.region_code: region for region in parsed.regions})


@lru_cache
def load_policy_table(path: Path = POLICY_FILE) -> PolicyTable:
    """The table shipped with ihospital (read and validated once per process)."""
    return parse_policy_table(path.read_text(encoding="utf-8"))


def tier_of(institution_level: str) -> str:
    """三级 → tertiary, 二级 → secondary, 一级, 社区 and 乡镇 → primary."""
    return LEVEL_TIERS[institution_level]
