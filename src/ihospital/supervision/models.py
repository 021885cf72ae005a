"""Tables of supervision: the regions' thresholds, the institutions' switches and the alerts.

The rules themselves are data (``data/rules.csv``); these tables hold only what regulators and
institutions changed, so a rule id here is checked against the catalogue by the service.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

ALERT_STATUSES = ("open", "acknowledged", "resolved")


class RuleThreshold(IdMixin, Base):
    """A regional regulator's value of one threshold parameter of a rule, for the institutions
    of ``region_code`` (a province or city code covers its area; the closest region wins)."""

    __tablename__ = "supervision_thresholds"
    __table_args__ = (
        UniqueConstraint("region_code", "rule_id", "parameter"),
        CheckConstraint("value >= 0", name="value_non_negative"),
    )

    region_code: Mapped[str] = mapped_column(String(6))
    rule_id: Mapped[str] = mapped_column(String(8))
    parameter: Mapped[str] = mapped_column(String(40))
    value: Mapped[int]
    updated_at: Mapped[datetime]
    updated_by_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))


class RuleSwitch(IdMixin, Base):
    """An institution's choice to run a non-mandatory alert rule or not (on by default)."""

    __tablename__ = "supervision_rule_switches"
    __table_args__ = (UniqueConstraint("institution_id", "rule_id"),)

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    rule_id: Mapped[str] = mapped_column(String(8))
    enabled: Mapped[bool]
    updated_at: Mapped[datetime]
    updated_by_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))


class SupervisionAlert(IdMixin, Base):
    """One alert of a rule about one ``subject`` (``prescription:7``, ``shipment:3`` …): repeated
    events about the subject count ``occurrences`` on the same alert. Its lifecycle is open →
    acknowledged → resolved (with a note), each step with who and when. ``region_code`` is the
    institution's, for the regulators of its region; ``details`` is the JSON of the event's
    figures; ``patient_id`` marks an alert about a patient's care (its reads are audited)."""

    __tablename__ = "supervision_alerts"
    __table_args__ = (
        UniqueConstraint("rule_id", "subject"),
        CheckConstraint(
            "status IN (" + ",".join(repr(s) for s in ALERT_STATUSES) + ")", name="status_known"
        ),
        CheckConstraint("occurrences > 0", name="occurrences_positive"),
        CheckConstraint(
            "status != 'resolved' OR (resolved_at IS NOT NULL AND resolution_note IS NOT NULL)",
            name="resolved_with_note",
        ),
        Index("ix_supervision_alerts_institution_status", "institution_id", "status"),
        Index("ix_supervision_alerts_region_status", "region_code", "status"),
        Index("ix_supervision_alerts_institution_opened", "institution_id", "opened_at"),
    )

    rule_id: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(120))
    severity: Mapped[str] = mapped_column(String(8))
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    region_code: Mapped[str] = mapped_column(String(6))
    patient_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("patients.id"))
    details: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    occurrences: Mapped[int]
    opened_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    resolution_note: Mapped[str | None] = mapped_column(Text)


class DataIncident(IdMixin, Base):
    """A data leak (数据泄露) the institution recorded, and its report to the health authority
    (R15): due ``report_due_at`` (discovery + the region's ``hours`` of rule R15), reported at
    ``reported_at`` with the authority's reference. ``region_code`` is the institution's, for
    the regulators of its region."""

    __tablename__ = "supervision_data_incidents"
    __table_args__ = (
        CheckConstraint("affected_people >= 0", name="affected_not_negative"),
        CheckConstraint("report_due_at > discovered_at", name="due_after_discovery"),
        CheckConstraint(
            "(reported_at IS NULL) = (report_reference IS NULL)", name="reported_with_reference"
        ),
        Index("ix_supervision_data_incidents_institution", "institution_id"),
        Index("ix_supervision_data_incidents_region", "region_code"),
    )

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    region_code: Mapped[str] = mapped_column(String(6))
    summary: Mapped[str] = mapped_column(Text)
    affected_people: Mapped[int]
    discovered_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    recorded_by_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    report_due_at: Mapped[datetime]
    reported_at: Mapped[datetime | None]
    reported_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    report_reference: Mapped[str | None] = mapped_column(String(64))
