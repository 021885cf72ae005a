"""CSV files of the finance figures and of a reconciliation run's mismatches, made for Excel.

- UTF-8 with a byte order mark: without it Excel reads the file in the local code page and
  Chinese turns into mojibake.
- The header row in the reader's language; amounts in yuan with two decimals, counts as numbers.
- CSV injection: a text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
  return) would run as a formula when opened, so it gets a leading ``'``. Institution names and
  trade numbers come from people and providers; amounts and counts we write ourselves stay
  numbers, negative ones included.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from ihospital.billing.finance import Figures, Totals
from ihospital.billing.finance_reconciliation import RunDetail
from ihospital.core.i18n import gettext
from ihospital.core.money import fen_to_yuan

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

TOTALS_COLUMN_MESSAGES = {
    "day": "Day",
    "institution": "Medical institution",
    "channel": "Payment channel",
    "payments_count": "Payments received",
    "payments": "Received (yuan)",
    "refunds_count": "Refunds paid out",
    "refunds": "Refunded (yuan)",
    "net": "Net (yuan)",
    "insured_count": "Bills settled with insurance",
    "insured": "Paid by insurance (yuan)",
}
MISMATCH_COLUMN_MESSAGES = {
    "day": "Reconciliation day",
    "channel": "Payment channel",
    "record": "Record",
    "kind": "Difference",
    "out_trade_no": "Trade number",
    "out_refund_no": "Refund number",
    "provider_amount": "Amount on the statement (yuan)",
    "our_amount": "Amount in our records (yuan)",
    "provider_status": "Status on the statement",
    "our_status": "Status in our records",
    "institution": "Medical institution",
    "order_number": "Bill number",
}
MISMATCH_KIND_MESSAGES = {
    "missing_ours": "Missing from our records",
    "missing_provider": "Missing from the statement",
    "amount": "Different amount",
    "status": "Different status",
}
RECORD_KIND_MESSAGES = {"payment": "Payment", "refund": "Refund"}


def channel_label(channel: str | None) -> str:
    """A channel as finance staff read it; none means medical insurance paid the bill alone."""
    return channel if channel is not None else gettext("Medical insurance only")


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet may show it without running it (see the module's notes)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _yuan(fen: int | None) -> object:
    return "" if fen is None else fen_to_yuan(fen)


def _csv(header: dict[str, str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([gettext(title) for title in header.values()])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return BOM + out.getvalue()


def _figures(figures: Figures) -> list[object]:
    return [
        figures.payments_count,
        _yuan(figures.payments_fen),
        figures.refunds_count,
        _yuan(figures.refunds_fen),
        _yuan(figures.net_fen),
        figures.insured_count,
        _yuan(figures.insured_fen),
    ]


def totals_csv(totals: Totals) -> tuple[str, str]:
    """The file name (with the period) and the CSV text of ``totals``, a total row last."""
    rows = [
        [
            row.day.isoformat(),
            row.institution_name,
            channel_label(row.channel),
            *_figures(row.figures),
        ]
        for row in totals.rows
    ]
    rows.append([gettext("Total"), "", "", *_figures(totals.total)])
    period = totals.period
    name = f"finance_{period.start.isoformat()}_{period.end.isoformat()}.csv"
    return name, _csv(TOTALS_COLUMN_MESSAGES, rows)


def mismatches_csv(detail: RunDetail) -> tuple[str, str]:
    """The file name (with the run's day and channel) and the CSV text of its mismatches."""
    run = detail.view.run
    rows = [
        [
            run.day.isoformat(),
            run.channel,
            gettext(RECORD_KIND_MESSAGES[view.mismatch.record]),
            gettext(MISMATCH_KIND_MESSAGES[view.mismatch.kind]),
            view.mismatch.out_trade_no,
            view.mismatch.out_refund_no,
            _yuan(view.mismatch.provider_amount_fen),
            _yuan(view.mismatch.our_amount_fen),
            view.mismatch.provider_status,
            view.mismatch.our_status,
            view.institution_name or "",
            view.order_number or "",
        ]
        for view in detail.mismatches
    ]
    channel = re.sub(r"[^A-Za-z0-9_-]", "", run.channel)
    name = f"reconciliation_{channel}_{run.day.isoformat()}.csv"
    return name, _csv(MISMATCH_COLUMN_MESSAGES, rows)
