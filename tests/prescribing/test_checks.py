"""The safety checks as pure functions: each rule gives its finding with the right severity, and
a warning is resolved only by its written reason (R10, R11, R16–R18)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ihospital.prescribing.checks import (
    Allergy,
    Draft,
    ItemDraft,
    Patient,
    check,
    computed_quantity,
)
from ihospital.prescribing.models import DrugInteraction
from tests.prescribing.builders import (
    AMOXICILLIN,
    CLARITHROMYCIN,
    MORPHINE,
    NIFEDIPINE,
    SIMVASTATIN,
    drug,
)

ADULT = Patient(age=45)


def _item(drug_row, **changes) -> ItemDraft:
    values = {
        "drug": drug_row,
        "dose": drug_row.strength_value,
        "dose_unit": drug_row.strength_unit,
        "frequency": "qd",
        "route": "oral",
        "days": 7,
    }
    return ItemDraft(**(values | changes))


def _codes(findings) -> dict[str, str]:
    return {f.code: f.severity for f in findings}


def _refuses(findings) -> bool:
    return any(f.refuses for f in findings)


def test_a_plain_prescription_has_no_finding():
    assert check(Draft([_item(drug(id=1))]), ADULT) == []


def test_quantity_is_rounded_up_to_whole_packages():
    amlodipine = drug(id=1)  # 5 mg a tablet, 7 a box
    assert computed_quantity(_item(amlodipine, days=7)) == 1
    assert computed_quantity(_item(amlodipine, days=8)) == 2
    assert computed_quantity(_item(amlodipine, dose=Decimal("10"), frequency="bid", days=7)) == 4
    assert computed_quantity(_item(amlodipine, dose=Decimal("1"), dose_unit="tablet")) == 1
    assert computed_quantity(_item(amlodipine, frequency="prn")) is None


@given(
    dose=st.integers(min_value=1, max_value=40),
    days=st.integers(min_value=1, max_value=84),
    frequency=st.sampled_from(["qd", "bid", "tid", "qid", "q8h", "q12h", "qw"]),
)
def test_the_computed_quantity_always_covers_the_days_and_never_a_package_more(
    dose, days, frequency
):
    amlodipine = drug(id=1)
    entry = _item(amlodipine, dose=Decimal(dose), frequency=frequency, days=days)
    packages = computed_quantity(entry)
    per_day = {"qd": 1, "bid": 2, "tid": 3, "qid": 4, "q8h": 3, "q12h": 2, "qw": Decimal(1) / 7}
    needed = Decimal(dose) / 5 * per_day[frequency] * days
    assert packages * 7 >= needed
    assert (packages - 1) * 7 < needed or packages == 1


def test_a_narcotic_is_refused_online():
    found = check(Draft([_item(drug(id=1, **MORPHINE))]), ADULT)
    assert _codes(found)["rx.special_class"] == "block"


def test_a_sixth_drug_is_refused():
    drugs = [drug(id=n, ingredient=f"ingredient{n}", atc_code=f"C0{n}AA01") for n in range(1, 7)]
    found = check(Draft([_item(d) for d in drugs]), ADULT)
    assert _codes(found) == {"rx.too_many_drugs": "block"}


def test_days_of_supply():
    amlodipine = drug(id=1)
    assert _codes(check(Draft([_item(amlodipine, days=10)]), ADULT)) == {
        "rx.days_too_long": "block"
    }
    elderly = Patient(age=70)
    longer = check(Draft([_item(amlodipine, days=14)]), elderly)
    assert _codes(longer) == {"rx.days_reason": "warn"} and _refuses(longer)
    reasoned = check(Draft([_item(amlodipine, days=14)], supply_reason="行动不便"), elderly)
    assert not _refuses(reasoned)
    emergency = check(Draft([_item(amlodipine, days=4)], emergency=True), ADULT)
    assert _codes(emergency) == {"rx.emergency_days": "block"}


def test_long_prescriptions():
    amlodipine = drug(id=1)
    four_weeks = Draft([_item(amlodipine, days=28)], long_term=True, supply_reason="病情稳定")
    assert not _refuses(check(four_weeks, ADULT))
    twelve = Draft([_item(amlodipine, days=84)], long_term=True, supply_reason="病情稳定")
    assert _codes(check(twelve, ADULT)) == {"rx.long_too_long": "block"}
    chronic = Draft(
        [_item(amlodipine, days=84)], long_term=True, chronic=True, supply_reason="病情稳定"
    )
    assert not _refuses(check(chronic, ADULT))
    too_long = Draft([_item(amlodipine, days=90)], long_term=True, chronic=True, supply_reason="x")
    assert _codes(check(too_long, ADULT)) == {"rx.long_too_long": "block"}


def test_ninety_days_of_an_antibiotic_is_refused():
    amoxicillin = drug(id=1, **AMOXICILLIN)
    for long_term in (False, True):
        draft = Draft(
            [_item(amoxicillin, days=90)], long_term=long_term, chronic=True, supply_reason="x"
        )
        assert _refuses(check(draft, ADULT))
    long_draft = Draft([_item(amoxicillin, days=14)], long_term=True, supply_reason="x")
    assert _codes(check(long_draft, ADULT)) == {"rx.long_not_allowed": "block"}


def test_allergies_by_ingredient_class_and_record_text():
    amoxicillin = drug(id=1, **AMOXICILLIN)
    by_class = Patient(age=30, allergies=[Allergy("atc", "J01C", "皮疹")])
    assert _codes(check(Draft([_item(amoxicillin)]), by_class)) == {"rx.allergy": "block"}
    by_ingredient = Patient(age=30, allergies=[Allergy("ingredient", "amoxicillin", "休克")])
    assert _codes(check(Draft([_item(amoxicillin)]), by_ingredient)) == {"rx.allergy": "block"}
    other = Patient(age=30, allergies=[Allergy("ingredient", "cefalexin", "皮疹")])
    assert check(Draft([_item(amoxicillin)]), other) == []
    noted = Patient(age=30, allergy_text="对阿莫西林胶囊过敏，曾出现皮疹")
    found = check(Draft([_item(amoxicillin)]), noted)
    assert _codes(found) == {"rx.allergy_noted": "warn"} and _refuses(found)
    reasoned = check(Draft([_item(amoxicillin, override_reason="皮试阴性")]), noted)
    assert not _refuses(reasoned)


def test_duplicate_therapy():
    amlodipine = drug(id=1)
    same = drug(id=2, brand_name_zh="安内真")
    nifedipine = drug(id=3, **NIFEDIPINE)
    assert _codes(check(Draft([_item(amlodipine), _item(same)]), ADULT)) == {
        "rx.duplicate_ingredient": "block"
    }
    assert _codes(check(Draft([_item(amlodipine), _item(nifedipine)]), ADULT)) == {
        "rx.duplicate_class": "warn"
    }


def _interaction(severity: str) -> DrugInteraction:
    return DrugInteraction(
        first_kind="ingredient",
        first_code="clarithromycin",
        second_kind="atc",
        second_code="C10AA",
        severity=severity,
        effect_zh="横纹肌溶解",
        effect_en="rhabdomyolysis",
        source="说明书",
    )


def test_interactions_in_either_order():
    simvastatin, clarithromycin = drug(id=1, **SIMVASTATIN), drug(id=2, **CLARITHROMYCIN)
    items = [_item(simvastatin), _item(clarithromycin, dose=Decimal("250"), frequency="bid")]
    found = check(Draft(items), ADULT, [_interaction("contraindicated")])
    assert _codes(found) == {"rx.interaction_contraindicated": "block"}
    major = check(Draft(items), ADULT, [_interaction("major")])
    assert _codes(major) == {"rx.interaction_major": "warn"} and _refuses(major)
    reasoned = [items[0], _item(clarithromycin, frequency="bid", override_reason="短期使用")]
    assert not _refuses(check(Draft(reasoned), ADULT, [_interaction("major")]))
    assert _codes(check(Draft(items), ADULT, [_interaction("minor")])) == {
        "rx.interaction_minor": "info"
    }


def test_dose_outside_the_usual_range_or_above_the_daily_maximum_warns():
    amlodipine = drug(id=1)
    high = check(Draft([_item(amlodipine, dose=Decimal("20"))]), ADULT)
    assert _codes(high) == {"rx.dose_unusual": "warn", "rx.daily_dose_high": "warn"}
    daily = check(Draft([_item(amlodipine, dose=Decimal("10"), frequency="bid", days=7)]), ADULT)
    assert _codes(daily) == {"rx.daily_dose_high": "warn"}
    unit = check(Draft([_item(amlodipine, dose_unit="ml")]), ADULT)
    assert _codes(unit) == {"rx.dose_unit_unknown": "block"}
    frequency = check(Draft([_item(amlodipine, frequency="sometimes")]), ADULT)
    assert _codes(frequency) == {"rx.frequency_unknown": "block"}
    route = check(Draft([_item(amlodipine, route="by mouth")]), ADULT)
    assert _codes(route) == {"rx.route_unknown": "block"}


def test_a_quantity_that_does_not_cover_or_far_exceeds_the_days_is_flagged():
    amlodipine = drug(id=1)
    assert _codes(check(Draft([_item(amlodipine, days=7, quantity=1)]), ADULT)) == {}
    short = check(Draft([_item(amlodipine, days=14, quantity=1)], supply_reason=""), ADULT)
    assert _codes(short)["rx.quantity_short"] == "warn"
    excess = check(Draft([_item(amlodipine, days=7, quantity=5)]), ADULT)
    assert _codes(excess) == {"rx.quantity_excess": "warn"}


def test_a_child_under_six_needs_the_guardian_confirmed():
    child = Patient(age=4, guardian_required=True, guardian_confirmed=False)
    assert _codes(check(Draft([_item(drug(id=1))]), child)) == {"rx.guardian_required": "block"}
    confirmed = Patient(age=4, guardian_required=True, guardian_confirmed=True)
    assert check(Draft([_item(drug(id=1))]), confirmed) == []


def test_validity_of_one_day_or_up_to_three_with_a_reason():
    entry = [_item(drug(id=1))]
    assert _codes(check(Draft(entry, validity_days=3), ADULT)) == {"rx.validity_reason": "warn"}
    assert not _refuses(check(Draft(entry, validity_days=3, validity_reason="出差"), ADULT))
    assert _codes(check(Draft(entry, validity_days=4, validity_reason="x"), ADULT)) == {
        "rx.validity_too_long": "block"
    }
