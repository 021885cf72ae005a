"""API shapes of finance: totals by day, institution and channel, and reconciliation runs with
their mismatches. Amounts go out as integer fen (``*_fen``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ihospital.billing.finance import Figures, Totals
from ihospital.billing.finance_reconciliation import MismatchView, RunDetail, RunList, RunView
from ihospital.core.schemas import Schema


def blank_is_none(value: Any) -> Any:
    """An empty form field (a date input left empty, "all institutions") means not given."""
    return None if value == "" else value


Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Channel = Annotated[str, Field(min_length=1, max_length=16)]
OptionalDay = Annotated[date | None, BeforeValidator(blank_is_none)]
OptionalId = Annotated[Id | None, BeforeValidator(blank_is_none)]


class PeriodForm(Schema):
    """The period and institution a finance page is asked for (every field may be empty)."""

    start: OptionalDay = None
    end: OptionalDay = None
    institution_id: OptionalId = None


class ReconciliationRequest(Schema):
    """Run the reconciliation of a past day (Beijing time) and channel again."""

    day: date
    channel: Channel = "sandbox"


class FiguresRead(Schema):
    payments_count: int
    payments_fen: int
    refunds_count: int
    refunds_fen: int
    net_fen: int
    insured_count: int
    insured_fen: int


class TotalsRowRead(FiguresRead):
    day: date
    institution_id: int
    institution_name: str
    channel: str | None = Field(description="None: bills medical insurance paid in full.")


class TotalsRead(Schema):
    start: date
    end: date
    institution_id: int | None = Field(description="None: every institution.")
    rows: list[TotalsRowRead]
    total: FiguresRead

    @classmethod
    def of(cls, totals: Totals) -> TotalsRead:
        def figures(of: Figures) -> dict[str, int]:
            return FiguresRead.model_validate(of).model_dump()

        return cls(
            start=totals.period.start,
            end=totals.period.end,
            institution_id=totals.institution_id,
            rows=[
                TotalsRowRead(
                    day=row.day,
                    institution_id=row.institution_id,
                    institution_name=row.institution_name,
                    channel=row.channel,
                    **figures(row.figures),
                )
                for row in totals.rows
            ],
            total=FiguresRead.model_validate(totals.total),
        )


class StatementRead(Schema):
    """The provider's statement of the day as it gave it (every institution's money)."""

    payments_count: int
    payments_fen: int
    refunds_count: int
    refunds_fen: int
    fees_fen: int


class RunRead(Schema):
    id: int
    day: date
    channel: str
    status: str = Field(description="matched, or mismatched when the reader has mismatches.")
    mismatch_count: int = Field(description="The mismatches the reader may see.")
    ran_at: datetime
    statement: StatementRead | None = Field(
        description="Shown to readers of every institution only."
    )

    @classmethod
    def of(cls, view: RunView) -> RunRead:
        run = view.run
        return cls(
            id=run.id,
            day=run.day,
            channel=run.channel,
            status=view.status,
            mismatch_count=view.mismatch_count,
            ran_at=run.ran_at,
            statement=StatementRead.model_validate(run) if view.statement_shown else None,
        )


class RunListRead(Schema):
    start: date
    end: date
    institution_id: int | None
    runs: list[RunRead]

    @classmethod
    def of(cls, listing: RunList) -> RunListRead:
        return cls(
            start=listing.period.start,
            end=listing.period.end,
            institution_id=listing.institution_id,
            runs=[RunRead.of(view) for view in listing.runs],
        )


class MismatchRead(Schema):
    id: int
    kind: str = Field(description="missing_ours, missing_provider, amount or status.")
    record: str = Field(description="payment or refund.")
    out_trade_no: str
    out_refund_no: str
    provider_amount_fen: int | None
    our_amount_fen: int | None
    provider_status: str
    our_status: str
    institution_id: int | None
    institution_name: str | None
    order_id: int | None
    order_number: str | None

    @classmethod
    def of(cls, view: MismatchView) -> MismatchRead:
        stored = cls.model_fields.keys() - {"institution_name", "order_number"}
        return cls(
            **{name: getattr(view.mismatch, name) for name in stored},
            institution_name=view.institution_name,
            order_number=view.order_number,
        )


class RunDetailRead(RunRead):
    institution_id: int | None = Field(description="None: every institution.")
    mismatches: list[MismatchRead]

    @classmethod
    def of_detail(cls, detail: RunDetail) -> RunDetailRead:
        return cls(
            **RunRead.of(detail.view).model_dump(),
            institution_id=detail.institution_id,
            mismatches=[MismatchRead.of(view) for view in detail.mismatches],
        )
