"""The safety checks of a prescription as the doctor writes it (R10, R11, R16–R18).

Pure functions over what the doctor wrote (:class:`ItemDraft`, :class:`Draft`) and what is known
of the patient (:class:`Patient`): no database, no clock. Each problem is a :class:`Finding` with
a stable code, a severity and an English message id naming the drug: ``block`` refuses the
prescription; ``warn`` needs the doctor's written reason (of the item, of the supply or of the
validity) and is resolved once it is given; ``info`` only informs. The same checks run while
the doctor writes and again on submit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ihospital.prescribing.models import Drug, DrugInteraction
from ihospital.prescribing.terms import ROUTES

BLOCK, WARN, INFO = "block", "warn", "info"
MAX_DRUGS = 5  # R17
USUAL_DAYS, EMERGENCY_DAYS = 7, 3  # R17
LONG_DAYS, CHRONIC_LONG_DAYS = 28, 84  # R18: 4 weeks, 12 weeks for stable chronic disease
ELDERLY_AGE = 65
GUARDIAN_AGE = 6  # R11
MAX_VALIDITY_DAYS = 3  # R16
EXCESS_FACTOR = 2  # a quantity more than twice what the days need is flagged
# times per day of each frequency; ``prn`` (as needed) has none, so its quantity is the doctor's
FREQUENCIES: dict[str, Decimal | None] = {
    "qd": Decimal(1),
    "bid": Decimal(2),
    "tid": Decimal(3),
    "qid": Decimal(4),
    "qn": Decimal(1),
    "q6h": Decimal(4),
    "q8h": Decimal(3),
    "q12h": Decimal(2),
    "qod": Decimal(1) / 2,
    "biw": Decimal(2) / 7,
    "qw": Decimal(1) / 7,
    "prn": None,
}


@dataclass(frozen=True)
class ItemDraft:
    """One drug as the doctor wrote it; ``quantity`` (packages) is computed when not given."""

    drug: Drug
    dose: Decimal
    dose_unit: str
    frequency: str
    route: str
    days: int
    quantity: int | None = None
    override_reason: str = ""


@dataclass(frozen=True)
class Draft:
    items: Sequence[ItemDraft]
    emergency: bool = False
    long_term: bool = False
    chronic: bool = False  # the doctor states a stable chronic disease (R17, R18)
    supply_reason: str = ""
    validity_days: int = 1
    validity_reason: str = ""


@dataclass(frozen=True)
class Allergy:
    """A recorded allergy: to an ingredient or to every drug of an ATC class prefix."""

    kind: str
    code: str
    reaction: str


@dataclass(frozen=True)
class Patient:
    age: int
    guardian_required: bool = False
    guardian_confirmed: bool = False
    allergies: Sequence[Allergy] = ()
    allergy_text: str = ""  # the free text of the latest medical record


# the supervision rule (DOMAIN.md) a finding enforces, named to the doctor with the finding
FINDING_RULES = {
    "rx.special_class": "R10",
    "rx.guardian_required": "R11",
    "rx.validity_reason": "R16",
    "rx.validity_too_long": "R16",
    "rx.days_reason": "R17",
    "rx.days_too_long": "R17",
    "rx.emergency_days": "R17",
    "rx.too_many_drugs": "R17",
    "rx.long_not_allowed": "R18",
    "rx.long_reason": "R18",
    "rx.long_too_long": "R18",
}


@dataclass(frozen=True)
class Finding:
    """One problem; ``position`` names the item (1-based) it concerns, ``reason_field`` the
    reason that resolves a warning, ``fields`` fill the message."""

    code: str
    severity: str
    message: str
    position: int | None = None
    reason_field: str | None = None
    resolved: bool = False
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def refuses(self) -> bool:
        return self.severity == BLOCK or (self.severity == WARN and not self.resolved)

    @property
    def rule(self) -> str | None:
        """The supervision rule the finding enforces, if it is one (R10, R11, R16–R18)."""
        return FINDING_RULES.get(self.code)


@dataclass(frozen=True)
class DrugNames:
    """A drug's names, kept apart from its row for messages rendered after a rollback."""

    generic_name_zh: str
    generic_name_en: str


def drug_name(drug: Drug | DrugNames, language: str) -> str:
    return drug.generic_name_en if language == "en" else drug.generic_name_zh


def units_per_dose(item: ItemDraft) -> Decimal | None:
    """Dispensing units (片, 粒 …) of one dose, or None when the dose unit is not the drug's."""
    if item.dose_unit == item.drug.unit:
        return item.dose
    if item.dose_unit == item.drug.strength_unit:
        return item.dose / item.drug.strength_value
    return None


def dose_in_strength(item: ItemDraft) -> Decimal | None:
    units = units_per_dose(item)
    return None if units is None else units * item.drug.strength_value


def computed_quantity(item: ItemDraft) -> int | None:
    """Whole packages covering the days: dose/strength × times per day × days, rounded up."""
    units = units_per_dose(item)
    times = FREQUENCIES.get(item.frequency)
    if units is None or times is None or item.days <= 0:
        return None
    return max(1, math.ceil(units * times * item.days / item.drug.package_size))


def quantity_of(item: ItemDraft) -> int | None:
    return item.quantity if item.quantity is not None else computed_quantity(item)


def _item(item: ItemDraft, position: int, code: str, severity: str, message: str, **fields: Any):
    warn = severity == WARN
    return Finding(
        code,
        severity,
        message,
        position=position,
        reason_field=f"items.{position}.override_reason" if warn else None,
        resolved=warn and bool(item.override_reason.strip()),
        fields={"drug_id": item.drug.id, **fields},
    )


def item_findings(item: ItemDraft, position: int) -> list[Finding]:
    """Checks of one item alone: R10, its units, frequency, quantity and dose."""
    drug, found = item.drug, []
    if drug.special_class is not None:
        found.append(_item(item, position, "rx.special_class", BLOCK, SPECIAL_MESSAGE))
    if item.frequency not in FREQUENCIES:
        found.append(_item(item, position, "rx.frequency_unknown", BLOCK, FREQUENCY_MESSAGE))
    if item.route not in ROUTES:
        found.append(_item(item, position, "rx.route_unknown", BLOCK, ROUTE_MESSAGE))
    dose = dose_in_strength(item)
    if dose is None:
        found.append(
            _item(
                item,
                position,
                "rx.dose_unit_unknown",
                BLOCK,
                DOSE_UNIT_MESSAGE,
                units=f"{drug.strength_unit} / {drug.unit}",
            )
        )
        return found
    found += _quantity_findings(item, position)
    low, high = drug.usual_dose_min, drug.usual_dose_max
    if (low is not None and dose < low) or (high is not None and dose > high):
        found.append(_item(item, position, "rx.dose_unusual", WARN, DOSE_RANGE_MESSAGE))
    times = FREQUENCIES.get(item.frequency)
    if drug.max_daily_dose is not None and times and dose * times > drug.max_daily_dose:
        found.append(_item(item, position, "rx.daily_dose_high", WARN, DAILY_DOSE_MESSAGE))
    return found


def _quantity_findings(item: ItemDraft, position: int) -> list[Finding]:
    needed = computed_quantity(item)
    if item.quantity is None or needed is None:
        return []
    if item.quantity < needed:
        code, message = "rx.quantity_short", QUANTITY_SHORT_MESSAGE
    elif item.quantity > needed * EXCESS_FACTOR and item.quantity > needed + 1:
        code, message = "rx.quantity_excess", QUANTITY_EXCESS_MESSAGE
    else:
        return []
    return [_item(item, position, code, WARN, message, needed=needed)]


def supply_findings(draft: Draft, patient: Patient) -> list[Finding]:
    """Days of supply (R17) and long prescriptions (R18), per item."""
    found = []
    elderly = patient.age >= ELDERLY_AGE
    reason = bool(draft.supply_reason.strip())

    def add(item: ItemDraft, position: int, code: str, severity: str, message: str) -> None:
        warn = severity == WARN
        found.append(
            Finding(
                code,
                severity,
                message,
                position=position,
                reason_field="supply_reason" if warn else None,
                resolved=warn and reason,
                fields={"drug_id": item.drug.id, "days": item.days},
            )
        )

    for position, item in enumerate(draft.items, start=1):
        drug = item.drug
        if draft.long_term:
            if drug.antimicrobial or drug.special_storage or drug.special_class:
                add(item, position, "rx.long_not_allowed", BLOCK, LONG_NOT_ALLOWED_MESSAGE)
            elif item.days > CHRONIC_LONG_DAYS or (item.days > LONG_DAYS and not draft.chronic):
                add(item, position, "rx.long_too_long", BLOCK, LONG_TOO_LONG_MESSAGE)
            elif item.days > USUAL_DAYS:
                add(item, position, "rx.long_reason", WARN, LONG_REASON_MESSAGE)
        elif draft.emergency and item.days > EMERGENCY_DAYS:
            add(item, position, "rx.emergency_days", BLOCK, EMERGENCY_DAYS_MESSAGE)
        elif item.days > USUAL_DAYS:
            if item.days > LONG_DAYS or not (draft.chronic or elderly):
                add(item, position, "rx.days_too_long", BLOCK, DAYS_MESSAGE)
            else:
                add(item, position, "rx.days_reason", WARN, DAYS_REASON_MESSAGE)
    return found


def allergy_findings(items: Sequence[ItemDraft], patient: Patient) -> list[Finding]:
    """The recorded allergies (ingredient or ATC class) block; a drug named in the free text
    of the latest record needs the doctor's reason."""
    found = []
    text = patient.allergy_text.casefold()
    for position, item in enumerate(items, start=1):
        drug = item.drug
        for allergy in patient.allergies:
            code = allergy.code.casefold()
            if (allergy.kind == "ingredient" and drug.ingredient.casefold() == code) or (
                allergy.kind == "atc" and drug.atc_code.casefold().startswith(code)
            ):
                found.append(
                    _item(
                        item,
                        position,
                        "rx.allergy",
                        BLOCK,
                        ALLERGY_MESSAGE,
                        allergen=allergy.code,
                        reaction=allergy.reaction,
                    )
                )
                break
        else:
            names = (drug.generic_name_zh, drug.ingredient, drug.brand_name_zh or "")
            if text and any(name and name.casefold() in text for name in names):
                found.append(_item(item, position, "rx.allergy_noted", WARN, ALLERGY_TEXT_MESSAGE))
    return found


def duplicate_findings(items: Sequence[ItemDraft]) -> list[Finding]:
    """The same ingredient twice blocks; the same ATC level-4 class twice needs a reason."""
    found = []
    for later, item in enumerate(items, start=1):
        for other in items[: later - 1]:
            if other.drug.ingredient == item.drug.ingredient:
                code, severity, message = "rx.duplicate_ingredient", BLOCK, DUPLICATE_MESSAGE
            elif other.drug.atc_code[:5] == item.drug.atc_code[:5]:
                code, severity, message = "rx.duplicate_class", WARN, DUPLICATE_CLASS_MESSAGE
            else:
                continue
            found.append(_item(item, later, code, severity, message, other_drug_id=other.drug.id))
    return found


def _matches(kind: str, code: str, drug: Drug) -> bool:
    if kind == "ingredient":
        return drug.ingredient == code
    return drug.atc_code.startswith(code)


def interaction_findings(
    items: Sequence[ItemDraft], interactions: Sequence[DrugInteraction]
) -> list[Finding]:
    """Pairs of the curated table: contraindicated blocks, major needs a reason, others inform."""
    severities = {"contraindicated": BLOCK, "major": WARN}
    found = []
    for later, item in enumerate(items, start=1):
        for other in items[: later - 1]:
            for row in interactions:
                pair = (row.first_kind, row.first_code), (row.second_kind, row.second_code)
                forward = _matches(*pair[0], other.drug) and _matches(*pair[1], item.drug)
                backward = _matches(*pair[0], item.drug) and _matches(*pair[1], other.drug)
                if not (forward or backward):
                    continue
                found.append(
                    _item(
                        item,
                        later,
                        f"rx.interaction_{row.severity}",
                        severities.get(row.severity, INFO),
                        INTERACTION_MESSAGE,
                        other_drug_id=other.drug.id,
                        severity_level=row.severity,
                        effect_zh=row.effect_zh,
                        effect_en=row.effect_en,
                    )
                )
    return found


def prescription_findings(draft: Draft, patient: Patient) -> list[Finding]:
    """Checks of the whole prescription: number of drugs (R17), the guardian (R11), validity
    (R16)."""
    found = []
    if not draft.items:
        found.append(Finding("rx.no_items", BLOCK, NO_ITEMS_MESSAGE))
    if len(draft.items) > MAX_DRUGS:
        found.append(
            Finding("rx.too_many_drugs", BLOCK, TOO_MANY_MESSAGE, fields={"limit": MAX_DRUGS})
        )
    if patient.guardian_required and not patient.guardian_confirmed:
        found.append(Finding("rx.guardian_required", BLOCK, GUARDIAN_MESSAGE))
    if not 1 <= draft.validity_days <= MAX_VALIDITY_DAYS:
        found.append(Finding("rx.validity_too_long", BLOCK, VALIDITY_MESSAGE))
    elif draft.validity_days > 1:
        found.append(
            Finding(
                "rx.validity_reason",
                WARN,
                VALIDITY_REASON_MESSAGE,
                reason_field="validity_reason",
                resolved=bool(draft.validity_reason.strip()),
                fields={"days": draft.validity_days},
            )
        )
    return found


def check(
    draft: Draft, patient: Patient, interactions: Sequence[DrugInteraction] = ()
) -> list[Finding]:
    """Every finding of the draft, prescription-wide first, then by item."""
    found = prescription_findings(draft, patient)
    for position, item in enumerate(draft.items, start=1):
        found += item_findings(item, position)
    found += supply_findings(draft, patient)
    found += allergy_findings(draft.items, patient)
    found += duplicate_findings(draft.items)
    found += interaction_findings(draft.items, interactions)
    return found


SPECIAL_MESSAGE = (
    "{drug} is a specially controlled drug (narcotic, psychotropic, toxic, radioactive or "
    "precursor) and cannot be prescribed online."
)
FREQUENCY_MESSAGE = "Choose a known frequency for {drug} (qd, bid, tid, qid, qn, q8h, q12h, prn …)."
ROUTE_MESSAGE = "Choose a known route for {drug} (oral, iv, im, sc, inhalation, topical …)."
DOSE_UNIT_MESSAGE = "Give the dose of {drug} in {units}."
DOSE_RANGE_MESSAGE = "The dose of {drug} is outside its usual range; give a reason to keep it."
DAILY_DOSE_MESSAGE = "The daily dose of {drug} is above its maximum; give a reason to keep it."
QUANTITY_SHORT_MESSAGE = (
    "The quantity of {drug} does not cover the days of use ({needed} packages needed); "
    "give a reason to keep it."
)
QUANTITY_EXCESS_MESSAGE = (
    "The quantity of {drug} is far more than the days of use need ({needed} packages); "
    "give a reason to keep it."
)
LONG_NOT_ALLOWED_MESSAGE = (
    "{drug} cannot be on a long prescription (antimicrobial, special storage or "
    "specially controlled drug)."
)
LONG_TOO_LONG_MESSAGE = (
    "{days} days of {drug} is too long: a long prescription covers at most 4 weeks, "
    "12 weeks for a stable chronic disease."
)
LONG_REASON_MESSAGE = "A long prescription of {drug} needs the written reason and assessment."
EMERGENCY_DAYS_MESSAGE = "An emergency prescription covers at most 3 days ({drug}: {days} days)."
DAYS_MESSAGE = (
    "{days} days of {drug} is too long: a prescription covers at most 7 days, longer only "
    "for a chronic disease or an elderly patient, or as a long prescription."
)
DAYS_REASON_MESSAGE = "More than 7 days of {drug} needs a written reason."
ALLERGY_MESSAGE = "The patient is allergic to {allergen} ({reaction}): {drug} cannot be prescribed."
ALLERGY_TEXT_MESSAGE = (
    "The patient's record notes an allergy that names {drug}; give a reason to prescribe it."
)
DUPLICATE_MESSAGE = "{drug} repeats the ingredient of {other_drug}."
DUPLICATE_CLASS_MESSAGE = (
    "{drug} is of the same class as {other_drug} (duplicate therapy); give a reason to keep both."
)
INTERACTION_MESSAGE = "{drug} and {other_drug}: {severity} interaction — {effect}"
NO_ITEMS_MESSAGE = "Add at least one drug to the prescription."
TOO_MANY_MESSAGE = "A prescription has at most {limit} drugs."
GUARDIAN_MESSAGE = (
    "A child under 6 is prescribed for only after the guardian's presence is confirmed."
)
VALIDITY_MESSAGE = "A prescription is valid for 1 to 3 days."
VALIDITY_REASON_MESSAGE = "A prescription valid for {days} days needs the reason noted."
