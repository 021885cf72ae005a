"""The supervision dashboard (监管驾驶舱): per institution and for the whole scope, the volumes,
median response and review times, rejection, no-show and complaint rates and the alerts by rule
and severity of a period (the sets are defined in :mod:`ihospital.supervision.metrics`); and
the cases behind any figure, a page at a time.

Everything is computed by the database: counts with GROUP BY, medians with window functions
(``ROW_NUMBER`` over the durations of each institution and of the whole scope), the same SQL on
SQLite and PostgreSQL. The median is the lower median (nearest rank), as in the doctors' and the
pharmacists' own figures. Reading the figures is audited; the lists of cases are health data, so
each page of them is audited with the ids it showed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.finance import Period, period_of
from ihospital.booking.dayof_models import Visit
from ihospital.booking.models import Appointment
from ihospital.consultation.models import TYPES, Consultation
from ihospital.core.context import Actor
from ihospital.directory.institutions import institution_names
from ihospital.directory.models import Institution
from ihospital.directory.views import PageResult
from ihospital.errors import Unprocessable
from ihospital.pharmacy.models import PharmacyOrder
from ihospital.prescribing.models import Prescription
from ihospital.security.permissions import Permission, has_permission
from ihospital.supervision.metrics import (
    ALERT,
    APPOINTMENT,
    CASE_SETS,
    CONSULTATION,
    PHARMACY_ORDER,
    PRESCRIPTION,
    CaseSet,
    Scope,
    reader_scope,
)
from ihospital.supervision.models import SupervisionAlert

PERIOD_NAMES = ("from", "to")
CASES_PAGE_SIZE = 50
METRICS_FILTER_NOT_APPLICABLE_MESSAGE = "The filter {name} does not apply to this figure."
SEVERITY_ORDER = ("high", "medium", "low")


@dataclass
class Figures:
    """The figures of one institution, of one region (``institution_id`` None, ``name`` the
    region's) or of the whole scope (both None and empty)."""

    institution_id: int | None
    name: str
    region_code: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CASE_SETS, 0))
    consultations_by_type: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TYPES, 0))
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, severity) → count
    response_median_seconds: int | None = None
    review_median_seconds: int | None = None

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def rejection_rate(self) -> float | None:
        counts = self.counts
        return self._share(counts["prescriptions_rejected"], counts["prescriptions_reviewed"])

    @property
    def no_show_rate(self) -> float | None:
        return self._share(self.counts["appointments_no_show"], self.counts["appointments_marked"])

    @property
    def complaint_rate(self) -> float | None:
        return self._share(self.counts["complaints"], self.counts["reviews"])

    def add(self, other: Figures) -> None:
        for name, count in other.counts.items():
            self.counts[name] += count
        for kind, count in other.consultations_by_type.items():
            self.consultations_by_type[kind] += count
        for key, count in other.alerts.items():
            self.alerts[key] = self.alerts.get(key, 0) + count


@dataclass(frozen=True)
class Dashboard:
    period: Period
    institution_id: int | None  # the one institution asked for
    region_code: str | None  # the area asked for
    rows: list[Figures]  # by institution
    regions: list[Figures]  # by the regions (GB/T 2260 codes) the institutions are in
    total: Figures


def _period(actor: Actor, start: date | None, end: date | None) -> Period:
    return period_of(actor.clock.today_local(), start, end, names=PERIOD_NAMES)


@dataclass(frozen=True)
class Medians:
    by_institution: dict[int, int]
    by_region: dict[str, int]
    overall: int | None


async def _medians(session: AsyncSession, case_set: CaseSet, scope: Scope) -> Medians:
    """The lower median of ``case_set``'s durations per institution, per region and over all of
    it, in one query."""
    seconds, institution = case_set.seconds, case_set.institution
    region = Institution.region_code

    def ranked_within(*partition: Any) -> tuple[Any, Any]:
        rank = func.row_number().over(partition_by=partition or None, order_by=seconds)
        return rank, func.count().over(partition_by=partition or None)

    columns = {"institution": (institution,), "region": (region,), "overall": ()}
    ranks = {}
    for name, partition in columns.items():
        rank, size = ranked_within(*partition)
        ranks[name] = (rank.label(f"{name}_rank"), size.label(f"{name}_size"))
    ranked = (
        select(
            institution.label("institution_id"),
            region.label("region_code"),
            seconds.label("seconds"),
            *(column for pair in ranks.values() for column in pair),
        )
        .select_from(case_set.source)
        .join(Institution, Institution.id == institution)
        .where(*case_set.where(scope))
        .subquery()
    )
    middles = [ranked.c[f"{name}_rank"] == (ranked.c[f"{name}_size"] + 1) // 2 for name in columns]
    rows = await session.execute(
        select(ranked.c.institution_id, ranked.c.region_code, ranked.c.seconds, *middles).where(
            or_(*middles)
        )
    )
    found = Medians({}, {}, None)
    for institution_id, region_code, value, *is_middle in rows.all():
        in_institution, in_region, overall = is_middle
        if in_institution:
            found.by_institution[institution_id] = value
        if in_region:
            found.by_region[region_code] = value
        if overall:
            found = Medians(found.by_institution, found.by_region, value)
    return found


async def _grouped(session: AsyncSession, case_set: CaseSet, scope: Scope, *by: Any) -> list[Any]:
    return list(
        (
            await session.execute(
                select(case_set.institution, *by, func.count())
                .select_from(case_set.source)
                .where(*case_set.where(scope))
                .group_by(case_set.institution, *by)
            )
        ).all()
    )


async def dashboard(
    session: AsyncSession,
    actor: Actor,
    *,
    start: date | None = None,
    end: date | None = None,
    institution_id: int | None = None,
    region_code: str | None = None,
) -> Dashboard:
    """The figures of the period (default: the last 30 days) for each institution and region
    the reader sees (or the area or institution asked for: 404 outside the reader's scope) and
    in total; 422 naming ``from``/``to`` for a period ending after today, reversed or longer
    than 366 days."""
    period = _period(actor, start, end)
    scope = await reader_scope(session, actor, institution_id, region_code)
    rows: dict[int, Figures] = {}
    regions: dict[str, Figures] = {}
    for found_id, name, found_region, region_name in await session.execute(scope.institutions()):
        rows[found_id] = Figures(found_id, name, found_region)
        regions.setdefault(found_region, Figures(None, region_name, found_region))
    sets = {metric: build(period) for metric, build in CASE_SETS.items()}
    for metric, case_set in sets.items():
        if metric == "consultations":
            for found_id, kind, count in await _grouped(
                session, case_set, scope, Consultation.consultation_type
            ):
                rows[found_id].consultations_by_type[kind] = count
                rows[found_id].counts[metric] += count
        elif metric == "alerts":
            by = (SupervisionAlert.rule_id, SupervisionAlert.severity)
            for found_id, rule_id, severity, count in await _grouped(session, case_set, scope, *by):
                rows[found_id].alerts[rule_id, severity] = count
                rows[found_id].counts[metric] += count
        else:
            for found_id, count in await _grouped(session, case_set, scope):
                rows[found_id].counts[metric] = count
    total = Figures(None, "")
    for row in rows.values():
        total.add(row)
        regions[row.region_code or ""].add(row)
    for metric, attribute in (
        ("consultations_accepted", "response_median_seconds"),
        ("prescriptions_reviewed", "review_median_seconds"),
    ):
        medians = await _medians(session, sets[metric], scope)
        for found_id, value in medians.by_institution.items():
            setattr(rows[found_id], attribute, value)
        for found_region, value in medians.by_region.items():
            setattr(regions[found_region], attribute, value)
        setattr(total, attribute, medians.overall)
    await record(
        session,
        actor,
        action="supervision.dashboard_read",
        subject_type="supervision_dashboard",
        subject_id=institution_id
        or region_code
        or actor.region_code
        or actor.institution_id
        or "all",
        details={"from": period.start.isoformat(), "to": period.end.isoformat()},
    )
    return Dashboard(
        period, institution_id, region_code, list(rows.values()), list(regions.values()), total
    )


@dataclass(frozen=True)
class CaseRow:
    """One case behind a figure: its ``kind`` and id, institution, when (``at``, or the visit
    ``day`` of an appointment), status, a label (type, number or rule), the severity of an
    alert, the duration measured (response or review time) and the page of the case."""

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


def _columns(kind: str) -> tuple[Any, ...]:
    """id, label, status, severity and the id its case page is found by, of each kind."""
    if kind == CONSULTATION:
        return (
            Consultation.id,
            Consultation.consultation_type,
            Consultation.status,
            null(),
            Consultation.id,
        )
    if kind == PRESCRIPTION:
        return Prescription.id, Prescription.number, Prescription.status, null(), Prescription.id
    if kind == PHARMACY_ORDER:
        order = PharmacyOrder
        return order.id, order.number, order.status, null(), order.prescription_id
    if kind == APPOINTMENT:
        outcome = (
            select(Visit.outcome)
            .where(Visit.appointment_id == Appointment.id)
            .correlate(Appointment)
        )
        label = func.coalesce(outcome.scalar_subquery(), "")
        return Appointment.id, label, Appointment.status, null(), null()
    alert = SupervisionAlert
    return alert.id, alert.rule_id, alert.status, alert.severity, alert.id


def _case_url(actor: Actor, kind: str, case_id: int | None) -> str | None:
    if case_id is None:
        return None
    if kind == ALERT:
        return f"/supervision/alerts/{case_id}"
    if not has_permission(actor.role, Permission.CASES_TRACE):
        return None
    page = CONSULTATION if kind == CONSULTATION else PRESCRIPTION
    return f"/regulator/cases/{page}/{case_id}"


def _filters(
    case_set: CaseSet,
    *,
    consultation_type: str | None,
    rule_id: str | None,
    severity: str | None,
) -> list[Any]:
    """The narrower filters of a figure's breakdown (a consultation type; a rule, a severity),
    each refused (422 naming it) on a figure it does not break down."""
    conditions = []
    for name, value, kind, column in (
        ("consultation_type", consultation_type, CONSULTATION, Consultation.consultation_type),
        ("rule_id", rule_id, ALERT, SupervisionAlert.rule_id),
        ("severity", severity, ALERT, SupervisionAlert.severity),
    ):
        if value is None:
            continue
        if case_set.kind != kind:
            raise Unprocessable(
                "supervision.metrics_filter_not_applicable",
                METRICS_FILTER_NOT_APPLICABLE_MESSAGE,
                field=name,
                name=name,
            )
        conditions.append(column == value)
    return conditions


async def dashboard_cases(
    session: AsyncSession,
    actor: Actor,
    *,
    metric: str,
    start: date | None = None,
    end: date | None = None,
    institution_id: int | None = None,
    region_code: str | None = None,
    consultation_type: str | None = None,
    rule_id: str | None = None,
    severity: str | None = None,
    page: int = 1,
    page_size: int = CASES_PAGE_SIZE,
) -> tuple[Period, str, PageResult[CaseRow]]:
    """The cases behind the figure ``metric`` of the period (same scope and refusals as
    :func:`dashboard`), latest first, one page; the read is audited with the ids shown."""
    period = _period(actor, start, end)
    case_set = CASE_SETS[metric](period)
    extra = _filters(
        case_set, consultation_type=consultation_type, rule_id=rule_id, severity=severity
    )
    scope = await reader_scope(session, actor, institution_id, region_code)
    conditions = case_set.where(scope, *extra)
    total = await session.scalar(
        select(func.count()).select_from(case_set.source).where(*conditions)
    )
    case_id, label, status, severity_column, page_id = _columns(case_set.kind)
    seconds = case_set.seconds if case_set.seconds is not None else null()
    rows = (
        await session.execute(
            select(
                case_id,
                case_set.institution,
                case_set.at,
                status,
                label,
                severity_column,
                seconds,
                page_id,
            )
            .select_from(case_set.source)
            .where(*conditions)
            .order_by(case_set.at.desc(), case_id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    names = await institution_names(session, institution_ids={row[1] for row in rows})
    items = [
        CaseRow(
            kind=case_set.kind,
            id=found_id,
            institution_id=found_institution,
            institution_name=names.get(found_institution, ""),
            at=at if isinstance(at, datetime) else None,
            day=at if case_set.kind == APPOINTMENT else None,
            status=found_status,
            label=str(found_label),
            severity=found_severity,
            seconds=found_seconds,
            case_url=_case_url(actor, case_set.kind, found_page_id),
        )
        for (
            found_id,
            found_institution,
            at,
            found_status,
            found_label,
            found_severity,
            found_seconds,
            found_page_id,
        ) in rows
    ]
    await record(
        session,
        actor,
        action="supervision.dashboard_cases_read",
        subject_type="supervision_dashboard",
        subject_id=metric,
        details={
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "institution_id": institution_id,
            "region_code": region_code,
            "consultation_type": consultation_type,
            "rule_id": rule_id,
            "severity": severity,
            "page": page,
            "kind": case_set.kind,
            "ids": [item.id for item in items],
        },
    )
    return period, case_set.kind, PageResult(items, total or 0, page, page_size)


def severity_rank(severity: str) -> int:
    """Sorts alert rows high before medium before low (unknown last)."""
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
