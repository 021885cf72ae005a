"""The rule catalogue is data that agrees with the code: every rule of DOMAIN.md is in it with
the mode DOMAIN.md gives, every ``RuleViolation("Rxx")`` raised in the source is a blocking rule
of the catalogue raised that way (and the other way round), and every module named as enforcing
a rule exists and cites it. A malformed row stops the loading."""

import re
from pathlib import Path

import pytest

import ihospital
from ihospital.supervision import catalogue
from ihospital.supervision.catalogue import _rule, rules, rules_by_id

SOURCE = Path(ihospital.__file__).resolve().parent
RAISED = re.compile(r'RuleViolation\(\s*"(R\d\d)"')
# DOMAIN.md's table: B = must block, A = alert
DOMAIN_BLOCKING = {"R01", "R03", "R04", "R05", "R06", "R07", "R08", "R10", "R11", "R16", "R17"}
DOMAIN_BLOCKING |= {"R18", "R19"}
DOMAIN_ALERTS = {"R02", "R09", "R12", "R13", "R14", "R15", "R20"}


def raised_in_source() -> set[str]:
    return {
        code
        for path in SOURCE.rglob("*.py")
        if "migrations" not in path.parts
        for code in RAISED.findall(path.read_text(encoding="utf-8"))
    }


def test_every_rule_of_the_domain_is_in_the_catalogue_with_its_mode():
    by_id = rules_by_id()
    assert {rule_id for rule_id in DOMAIN_BLOCKING if by_id[rule_id].mode == "block"} == (
        DOMAIN_BLOCKING
    )
    assert {rule_id for rule_id in DOMAIN_ALERTS if by_id[rule_id].mode == "alert"} == (
        DOMAIN_ALERTS
    )
    assert all(by_id[rule_id].mandatory for rule_id in DOMAIN_BLOCKING | DOMAIN_ALERTS)


def test_rule_violations_raised_in_the_source_are_the_catalogues_blocking_rules():
    raised = raised_in_source()
    catalogued = {rule.id for rule in rules() if "RuleViolation" in rule.raised_as}
    assert raised == catalogued
    assert all(rules_by_id()[rule_id].mode == "block" for rule_id in raised)


def test_every_enforcing_module_exists_and_cites_its_rule():
    for rule in rules():
        for module in rule.enforced_in:
            text = (SOURCE / module).read_text(encoding="utf-8")
            assert re.search(rf"\b{re.escape(rule.id)}\b", text), (rule.id, module)


def test_every_alert_rule_says_how_it_is_checked_and_where():
    checks = {rule.id: rule.raised_as for rule in rules() if rule.mode == "alert"}
    assert {rule_id for rule_id, how in checks.items() if how != ("alert",)} == {
        "R12",
        "R13",
        "R20",
    }
    assert all(rule.enforced_in for rule in rules() if rule.mode == "alert")


TESTS = Path(__file__).resolve().parent


def test_every_alert_rule_has_a_test_that_makes_it_fire_and_one_that_keeps_it_silent():
    text = "\n".join(path.read_text(encoding="utf-8") for path in TESTS.rglob("test_*.py"))
    for rule in rules():
        if rule.raised_as != ("alert",):
            continue
        read = re.compile(rf'alerts_of\(session, "{re.escape(rule.id)}"\)( == \[\])?')
        outcomes = {bool(match[1]) for match in read.finditer(text)}
        assert outcomes == {True, False}, rule.id  # silent (== []) and fired


def test_every_blocking_rule_says_where_it_is_enforced():
    assert all(rule.enforced_in for rule in rules() if rule.mode == "block")


def test_only_non_mandatory_alert_rules_can_be_switched_off():
    switchable = {rule.id for rule in rules() if rule.switchable}
    assert switchable == {"R13.1", "R13.3", "R13.4", "R13.6", "R19.1", "P01"}


def test_thresholds_have_defaults_within_their_ranges():
    [parameter] = rules_by_id()["R13.5"].parameters
    assert (parameter.name, parameter.default, parameter.minimum, parameter.maximum) == (
        "hours",
        24,
        1,
        168,
    )


ROW = {
    "id": "R13.9",
    "basis": "R13",
    "stage": "during",
    "aspect": "nursing",
    "severity": "low",
    "mode": "alert",
    "mandatory": "no",
    "raised_as": "alert",
    "enforced_in": "",
    "parameters": "minutes=10[1..60]",
    "source": "细则",
    "description_zh": "护理记录",
    "description_en": "A nursing record",
}


def test_a_well_formed_row_is_read():
    rule = _rule(ROW, 2)
    assert rule.parameter("minutes") == catalogue.Parameter("minutes", 10, 1, 60)
    assert rule.switchable


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("stage", "later", "stage"),
        ("aspect", "billing", "aspect"),
        ("mode", "warn", "mode"),
        ("raised_as", "RuleViolation", "raised_as"),  # an alert rule is not raised as a block
        ("raised_as", "design", "raised_as"),  # an alert rule without alerts needs a note
        ("description_en", "", "description"),
        ("parameters", "minutes=99[1..60]", "outside its range"),
        ("parameters", "minutes=ten", "is not name=default"),
    ],
)
def test_a_malformed_row_stops_the_loading(column, value, problem):
    with pytest.raises(ValueError, match=problem):
        _rule({**ROW, column: value}, 2)
