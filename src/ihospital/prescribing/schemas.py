"""API shapes of writing a prescription: what the doctor writes, the findings of the checks, and
the signed prescription."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ihospital.consultation.records.diagnoses import MAX_DIAGNOSES
from ihospital.core.i18n import current_language, translate
from ihospital.core.schemas import Schema
from ihospital.prescribing.checks import DrugNames, Finding, drug_name
from ihospital.prescribing.models import Drug, Prescription, PrescriptionItem

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Reason = Annotated[str, Field(max_length=500)]
ONE_ENCOUNTER_MESSAGE = (
    "Send exactly one of consultation_id (an online consultation) or appointment_id (an "
    "in-person visit)."
)
MAX_ITEMS_SENT = 10  # more than the five allowed, so that a sixth drug gets its clear finding


class ItemIn(Schema):
    drug_id: Id
    dose: Annotated[Decimal, Field(gt=0, le=100000, max_digits=12, decimal_places=4)]
    dose_unit: Annotated[str, Field(min_length=1, max_length=8)]
    frequency: Annotated[str, Field(min_length=1, max_length=8)]
    route: Annotated[str, Field(min_length=1, max_length=16)]
    days: Annotated[int, Field(ge=1, le=366)]
    quantity: Annotated[int | None, Field(ge=1, le=10000)] = None
    note: Annotated[str, Field(max_length=200)] = ""
    override_reason: Reason = ""


class PrescriptionDraft(Schema):
    """What the doctor writes, with at least one diagnosis of the ICD-10 seed. Reasons answer
    the checks' warnings: ``supply_reason`` for more days (R17, R18), ``validity_reason`` for
    2–3 days of validity (R16), an item's ``override_reason`` for its dose, quantity,
    duplicate or interaction warning. In an in-person visit the doctor confirms with
    ``guardian_present`` that the guardian of a child under 6 is there (R11; a consultation
    confirms it on the consultation). A revision of a rejected prescription sends this."""

    diagnoses: Annotated[list[Annotated[str, Field(max_length=8)]], Field(max_length=MAX_DIAGNOSES)]
    items: Annotated[list[ItemIn], Field(max_length=MAX_ITEMS_SENT)]
    emergency: bool = False
    long_term: bool = False
    chronic: bool = False
    supply_reason: Reason = ""
    validity_days: Annotated[int, Field(ge=1, le=30)] = 1
    validity_reason: Reason = ""
    guardian_present: bool = False

    def for_encounter_of(self, previous: Prescription) -> PrescriptionCreate:
        """This draft for the consultation or visit of ``previous`` (the version it revises)."""
        return PrescriptionCreate(
            consultation_id=previous.consultation_id,
            appointment_id=previous.appointment_id,
            **self.model_dump(),
        )


class PrescriptionCreate(PrescriptionDraft):
    """A prescription for the doctor's diagnostic consultation (``consultation_id``, R01) or
    in-person visit (``appointment_id``): exactly one of them."""

    consultation_id: Id | None = None
    appointment_id: Id | None = None

    @model_validator(mode="after")
    def _one_encounter(self) -> PrescriptionCreate:
        if (self.consultation_id is None) == (self.appointment_id is None):
            raise ValueError(ONE_ENCOUNTER_MESSAGE)
        return self


class FindingRead(Schema):
    code: str
    severity: str
    message: str
    position: int | None
    reason_field: str | None
    resolved: bool
    refuses: bool
    rule: str | None = None  # the supervision rule it enforces (R10, R11, R16–R18)


def finding_read(
    finding: Finding, drugs: Mapping[int, Drug | DrugNames], language: str | None = None
) -> FindingRead:
    """The finding with its message translated, naming its drugs in ``language``."""
    language = language or current_language.get()
    fields: dict[str, Any] = dict(finding.fields)
    for key, name in (("drug_id", "drug"), ("other_drug_id", "other_drug")):
        if key in fields and fields[key] in drugs:
            fields[name] = drug_name(drugs[fields[key]], language)
    if "severity_level" in fields:
        fields["severity"] = translate(SEVERITY_MESSAGES[fields["severity_level"]], language)
        fields["effect"] = fields["effect_en"] if language == "en" else fields["effect_zh"]
    return FindingRead(
        code=finding.code,
        severity=finding.severity,
        message=translate(finding.message, language, **fields),
        position=finding.position,
        reason_field=finding.reason_field,
        resolved=finding.resolved,
        refuses=finding.refuses,
        rule=finding.rule,
    )


SEVERITY_MESSAGES = {
    "contraindicated": "Contraindicated",
    "major": "Major",
    "moderate": "Moderate",
    "minor": "Minor",
}


class CheckedItemRead(Schema):
    position: int
    drug_id: int
    quantity: int | None
    quantity_unit: str


class CheckRead(Schema):
    """All findings of a draft (nothing is written); ``refused`` when submitting would fail."""

    findings: list[FindingRead]
    items: list[CheckedItemRead]
    refused: bool


class PrescribedItemRead(Schema):
    """An item as written, for whoever may read the prescription (its patient once approved,
    the reviewing pharmacist)."""

    position: int
    drug_code: str
    drug_name: str
    dose: Decimal
    dose_unit: str
    frequency: str
    route: str
    days: int
    quantity: int
    quantity_unit: str
    note: str | None


class ItemRead(PrescribedItemRead):
    """An item for the doctor who wrote it: with the catalogue drug, the reason given for an
    accepted warning and where the item came from (R07)."""

    drug_id: int
    override_reason: str | None
    origin: str


ITEMS = "items"


class PrescriptionRead(Schema):
    id: int
    number: str
    version: int
    previous_version_id: int | None
    status: str
    consultation_id: int | None
    appointment_id: int | None
    patient_id: int
    prescriber_id: int
    diagnoses: list[dict[str, Any]]
    emergency: bool
    long_term: bool
    supply_reason: str | None
    validity_days: int
    validity_reason: str | None
    issued_at: datetime
    valid_until: date
    content_sha256: str
    signing_key_id: int
    signature: str
    items: list[ItemRead]

    @classmethod
    def of(cls, prescription: Prescription, items: Sequence[PrescriptionItem]) -> PrescriptionRead:
        return cls.model_validate(
            {
                **{name: getattr(prescription, name) for name in cls.model_fields if name != ITEMS},
                "items": [ItemRead.model_validate(item) for item in items],
            }
        )


class AllergyIn(Schema):
    """An allergy to an ingredient (``amoxicillin``) or an ATC class prefix (``J01C``)."""

    kind: Literal["ingredient", "atc"]
    code: Annotated[str, Field(min_length=1, max_length=64)]
    reaction: Annotated[str, Field(min_length=1, max_length=200)]


class AllergyRead(Schema):
    id: int
    kind: str
    code: str
    reaction: str
    recorded_by: int
    consultation_id: int | None
    recorded_at: datetime
