"""API shapes of supervision: the rule catalogue as it runs, its changes, and alerts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field, field_validator

from ihospital.core.schemas import Schema
from ihospital.supervision.rule_settings import RuleView

AlertStatus = Literal["open", "acknowledged", "resolved"]
RULE_ID_PATTERN = r"^(R\d\d(\.\d)?|P\d\d)$"


class ParameterRead(Schema):
    name: str
    value: int
    default: int
    minimum: int
    maximum: int


class RuleRead(Schema):
    """A rule of the catalogue (stage 事前/事中/事后 as ``before``/``during``/``after``), whether
    it runs (for an institution) and its thresholds in force."""

    id: str
    basis: str
    stage: str
    aspect: str
    severity: str
    mode: str
    mandatory: bool
    switchable: bool
    enabled: bool
    source: str
    description: str
    raised_as: list[str]
    enforced_in: list[str]
    parameters: list[ParameterRead]

    @classmethod
    def of(cls, view: RuleView, language: str) -> RuleRead:
        rule = view.rule
        return cls(
            id=rule.id,
            basis=rule.basis,
            stage=rule.stage,
            aspect=rule.aspect,
            severity=rule.severity,
            mode=rule.mode,
            mandatory=rule.mandatory,
            switchable=rule.switchable,
            enabled=view.enabled,
            source=rule.source,
            description=rule.description(language),
            raised_as=list(rule.raised_as),
            enforced_in=list(rule.enforced_in),
            parameters=[
                ParameterRead(
                    name=p.name,
                    value=view.thresholds[p.name],
                    default=p.default,
                    minimum=p.minimum,
                    maximum=p.maximum,
                )
                for p in rule.parameters
            ],
        )


class RuleSwitchUpdate(Schema):
    """Switch a non-mandatory alert rule on or off at the institution."""

    enabled: bool


class ThresholdsUpdate(Schema):
    """New values of some thresholds of a rule, for the regulator's region."""

    values: dict[str, int] = Field(min_length=1, max_length=10)


class AlertResolve(Schema):
    """What was done about the alert (required)."""

    note: str = Field(default="", max_length=2000)


class AlertRead(Schema):
    """An alert and its lifecycle; ``details`` are the figures of the events behind it."""

    id: int
    rule_id: str
    subject: str
    severity: str
    institution_id: int
    region_code: str
    patient_id: int | None
    details: dict[str, Any]
    status: AlertStatus
    occurrences: int
    opened_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_account_id: int | None
    resolved_at: datetime | None
    resolved_by_account_id: int | None
    resolution_note: str | None

    @field_validator("details", mode="before")
    @classmethod
    def _parsed(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class DataIncidentCreate(Schema):
    """A data leak (数据泄露) the institution discovered (R15)."""

    summary: str = Field(max_length=2000)
    affected_people: int = Field(ge=0, le=2_000_000_000)
    discovered_at: AwareDatetime


class DataIncidentReport(Schema):
    """The health authority's reference (受理编号) of the report."""

    reference: str = Field(max_length=64)


class DataIncidentRead(Schema):
    """A data leak and its report to the health authority: due ``report_due_at`` (R15)."""

    id: int
    institution_id: int
    region_code: str
    summary: str
    affected_people: int
    discovered_at: datetime
    recorded_at: datetime
    recorded_by_account_id: int
    report_due_at: datetime
    reported_at: datetime | None
    reported_by_account_id: int | None
    report_reference: str | None
