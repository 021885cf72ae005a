"""What regulators and institutions may change about the rules.

A regional regulator (监管员) sets threshold parameters of the rules for the institutions of their
region: a value set for a city wins over one set for its province, and the catalogue's default
holds where neither is set. An institution admin switches off only alert rules the regulations do
not make mandatory; a blocking rule or a mandatory alert rule always runs. Every change is
audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory.access import get_institution_row, managed_institution
from ihospital.directory.regions import covering_regions
from ihospital.errors import Conflict, Forbidden, NotFound, Unprocessable
from ihospital.supervision.catalogue import Rule, rules, rules_by_id
from ihospital.supervision.models import RuleSwitch, RuleThreshold

RULE_UNKNOWN_MESSAGE = "There is no supervision rule {rule_id}."
RULE_MANDATORY_MESSAGE = (
    "Rule {rule_id} is mandatory under the regulations: it cannot be switched off."
)
NO_REGION_MESSAGE = "Your regulator account has no region; ask for one to be set."
PARAMETER_UNKNOWN_MESSAGE = "Rule {rule_id} has no threshold {parameter}."
PARAMETER_RANGE_MESSAGE = "Set {parameter} to a whole number from {minimum} to {maximum}."
NO_PARAMETERS_MESSAGE = "Give at least one threshold of rule {rule_id} to set."


@dataclass(frozen=True)
class RuleView:
    """A rule as it runs for an institution or region: switched on or off, and its thresholds."""

    rule: Rule
    enabled: bool
    thresholds: dict[str, int]


def known_rule(rule_id: str) -> Rule:
    rule = rules_by_id().get(rule_id)
    if rule is None:
        raise NotFound("supervision.rule_unknown", RULE_UNKNOWN_MESSAGE, rule_id=rule_id)
    return rule


def regulator_region(actor: Actor) -> str:
    if not actor.region_code:
        raise Forbidden("supervision.no_region", NO_REGION_MESSAGE)
    return actor.region_code


async def region_thresholds(
    session: AsyncSession, *, region_code: str
) -> dict[str, dict[str, int]]:
    """Every rule's thresholds for institutions of ``region_code``: the closest region's value,
    else the default."""
    regions = covering_regions(region_code)
    rows = (
        await session.scalars(select(RuleThreshold).where(RuleThreshold.region_code.in_(regions)))
    ).all()
    closest = sorted(rows, key=lambda row: regions.index(row.region_code), reverse=True)
    values = {
        rule.id: {parameter.name: parameter.default for parameter in rule.parameters}
        for rule in rules()
    }
    for row in closest:
        if row.parameter in values.get(row.rule_id, {}):
            values[row.rule_id][row.parameter] = row.value
    return values


async def _switches(session: AsyncSession, institution_id: int) -> dict[str, bool]:
    rows = await session.scalars(
        select(RuleSwitch).where(RuleSwitch.institution_id == institution_id)
    )
    return {row.rule_id: row.enabled for row in rows}


def _enabled(rule: Rule, switches: Mapping[str, bool]) -> bool:
    return not rule.switchable or switches.get(rule.id, True)


@dataclass(frozen=True)
class RuleInForce:
    """How an alert rule runs at one institution now."""

    enabled: bool
    thresholds: dict[str, int]
    region_code: str


async def rule_in_force(session: AsyncSession, *, rule_id: str, institution_id: int) -> RuleInForce:
    """Whether the rule runs at the institution, with the thresholds of its region."""
    rule = known_rule(rule_id)
    institution = await get_institution_row(session, institution_id)
    thresholds = await region_thresholds(session, region_code=institution.region_code)
    enabled = _enabled(rule, await _switches(session, institution_id))
    return RuleInForce(enabled, thresholds[rule.id], institution.region_code)


async def institution_rules(
    session: AsyncSession, actor: Actor, *, institution_id: int
) -> list[RuleView]:
    """The catalogue as it runs at an institution the actor manages (403 otherwise)."""
    institution = await managed_institution(session, actor, institution_id)
    thresholds = await region_thresholds(session, region_code=institution.region_code)
    switches = await _switches(session, institution_id)
    return [RuleView(rule, _enabled(rule, switches), thresholds[rule.id]) for rule in rules()]


async def regional_rules(session: AsyncSession, actor: Actor) -> list[RuleView]:
    """The catalogue with the thresholds in force in the regulator's region."""
    thresholds = await region_thresholds(session, region_code=regulator_region(actor))
    return [RuleView(rule, True, thresholds[rule.id]) for rule in rules()]


async def switch_rule(
    session: AsyncSession, actor: Actor, *, institution_id: int, rule_id: str, enabled: bool
) -> RuleView:
    """Switch a non-mandatory alert rule on or off at an institution the actor manages; a
    blocking or mandatory rule is refused (409) and nothing changes."""
    await managed_institution(session, actor, institution_id)
    rule = known_rule(rule_id)
    if not rule.switchable:
        raise Conflict("supervision.rule_mandatory", RULE_MANDATORY_MESSAGE, rule_id=rule_id)
    now = actor.clock.now()
    switch = await session.scalar(
        select(RuleSwitch)
        .where(RuleSwitch.institution_id == institution_id, RuleSwitch.rule_id == rule_id)
        .with_for_update()
    )
    if switch is None:
        switch = RuleSwitch(institution_id=institution_id, rule_id=rule_id)
        session.add(switch)
    switch.enabled = enabled
    switch.updated_at = now
    switch.updated_by_account_id = actor.account_id
    await session.flush()
    await record(
        session,
        actor,
        action="supervision.rule_switched",
        subject_type="institution",
        subject_id=institution_id,
        details={"rule_id": rule_id, "enabled": enabled},
    )
    views = await institution_rules(session, actor, institution_id=institution_id)
    return next(view for view in views if view.rule.id == rule_id)


def _checked_values(rule: Rule, values: Mapping[str, int]) -> None:
    if not values:
        raise Unprocessable(
            "supervision.thresholds_required", NO_PARAMETERS_MESSAGE, rule_id=rule.id
        )
    for name, value in values.items():
        parameter = rule.parameter(name)
        if parameter is None:
            raise Unprocessable(
                "supervision.parameter_unknown",
                PARAMETER_UNKNOWN_MESSAGE,
                rule_id=rule.id,
                parameter=name,
            )
        if not parameter.minimum <= value <= parameter.maximum:
            raise Unprocessable(
                "supervision.parameter_out_of_range",
                PARAMETER_RANGE_MESSAGE,
                parameter=name,
                minimum=parameter.minimum,
                maximum=parameter.maximum,
            )


async def _threshold(
    session: AsyncSession, region_code: str, rule_id: str, parameter: str
) -> RuleThreshold | None:
    return await session.scalar(
        select(RuleThreshold).where(
            RuleThreshold.region_code == region_code,
            RuleThreshold.rule_id == rule_id,
            RuleThreshold.parameter == parameter,
        )
    )


async def set_thresholds(
    session: AsyncSession, actor: Actor, *, rule_id: str, values: Mapping[str, int]
) -> RuleView:
    """Set thresholds of a rule for the regulator's region; every value is checked against the
    rule's parameters before any is written."""
    region_code = regulator_region(actor)
    rule = known_rule(rule_id)
    _checked_values(rule, values)
    now = actor.clock.now()
    for name, value in values.items():
        row = await _threshold(session, region_code, rule_id, name)
        if row is None:
            try:
                async with session.begin_nested():
                    session.add(
                        RuleThreshold(
                            region_code=region_code,
                            rule_id=rule_id,
                            parameter=name,
                            value=value,
                            updated_at=now,
                            updated_by_account_id=actor.account_id,
                        )
                    )
                continue
            except IntegrityError:  # set by a simultaneous request of the same region
                row = await _threshold(session, region_code, rule_id, name)
        if row is not None:
            row.value, row.updated_at, row.updated_by_account_id = value, now, actor.account_id
    await session.flush()
    await record(
        session,
        actor,
        action="supervision.thresholds_set",
        subject_type="supervision_rule",
        subject_id=rule_id,
        details={"region_code": region_code, "values": dict(values)},
    )
    thresholds = await region_thresholds(session, region_code=region_code)
    return RuleView(rule, True, thresholds[rule_id])
