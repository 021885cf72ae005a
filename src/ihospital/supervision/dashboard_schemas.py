"""API shapes of the supervision dashboard: the figures of a period per institution and in
total, and a page of the cases behind one figure. Durations go out in whole seconds, rates as
shares from 0 to 1 (None when there is nothing to divide by)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ihospital.core.schemas import Schema
from ihospital.supervision.dashboard import CaseRow, Dashboard, Figures

DashboardMetric = Literal[
    "consultations",
    "consultations_accepted",
    "prescriptions",
    "prescriptions_reviewed",
    "prescriptions_rejected",
    "pharmacy_orders",
    "appointments",
    "appointments_marked",
    "appointments_no_show",
    "alerts",
    "reviews",
    "complaints",
]
DashboardConsultationType = Literal["text", "voice", "video"]
DashboardSeverity = Literal["high", "medium", "low"]


class DashboardAlertCountRead(Schema):
    rule_id: str
    severity: str
    count: int


class DashboardFiguresRead(Schema):
    """One institution's figures, or one region's (``institution_id`` None, ``name`` the
    region's), or the total of the scope (both None). ``counts`` holds the size of every case
    set, by the metric names the drill-down takes."""

    institution_id: int | None
    region_code: str | None
    name: str
    counts: dict[str, int]
    consultations_by_type: dict[str, int]
    response_median_seconds: int | None
    review_median_seconds: int | None
    rejection_rate: float | None
    no_show_rate: float | None
    complaint_rate: float | None
    alerts: list[DashboardAlertCountRead]

    @classmethod
    def of(cls, figures: Figures) -> DashboardFiguresRead:
        return cls(
            institution_id=figures.institution_id,
            region_code=figures.region_code,
            name=figures.name,
            counts=figures.counts,
            consultations_by_type=figures.consultations_by_type,
            response_median_seconds=figures.response_median_seconds,
            review_median_seconds=figures.review_median_seconds,
            rejection_rate=figures.rejection_rate,
            no_show_rate=figures.no_show_rate,
            complaint_rate=figures.complaint_rate,
            alerts=[
                DashboardAlertCountRead(rule_id=rule_id, severity=severity, count=count)
                for (rule_id, severity), count in sorted(figures.alerts.items())
            ],
        )


class DashboardRead(Schema):
    """The figures of the Beijing days ``from_day`` to ``to_day`` (both included)."""

    from_day: date
    to_day: date
    institution_id: int | None
    region_code: str | None
    total: DashboardFiguresRead
    institutions: list[DashboardFiguresRead]
    regions: list[DashboardFiguresRead]

    @classmethod
    def of(cls, found: Dashboard) -> DashboardRead:
        return cls(
            from_day=found.period.start,
            to_day=found.period.end,
            institution_id=found.institution_id,
            region_code=found.region_code,
            total=DashboardFiguresRead.of(found.total),
            institutions=[DashboardFiguresRead.of(row) for row in found.rows],
            regions=[DashboardFiguresRead.of(row) for row in found.regions],
        )


class DashboardCaseRead(Schema):
    """A case behind a figure; ``case_url`` is the page of its timeline (of the prescription,
    for a pharmacy order; the alert's page, for an alert)."""

    kind: str
    id: int
    institution_id: int
    institution_name: str
    at: datetime | None
    day: date | None
    status: str
    label: str
    severity: str | None
    seconds: int | None
    case_url: str | None

    @classmethod
    def of(cls, row: CaseRow) -> DashboardCaseRead:
        return cls.model_validate(row)


class DashboardCasePageRead(Schema):
    metric: str
    kind: str
    from_day: date
    to_day: date
    items: list[DashboardCaseRead]
    total: int
    page: int
    page_size: int
