"""Catalogue CSV files for the catalogue tests, made from the seed file's rows."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.models import AuditEntry
from ihospital.prescribing.catalogue_import import DRUG_COLUMNS, DRUGS_CSV
from ihospital.prescribing.models import Drug

NEW_CODE = "XC08CAA027A001990199999"


def seed_rows() -> list[dict[str, str]]:
    """The rows of the seed file, as text."""
    with DRUGS_CSV.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def seed_row(code_prefix: str = "XC08CAA027") -> dict[str, str]:
    """The first seed row whose code starts with ``code_prefix`` (amlodipine by default)."""
    return dict(next(row for row in seed_rows() if row["code"].startswith(code_prefix)))


def new_row(**changes: str) -> dict[str, str]:
    """A valid drug that the seed does not have (amlodipine 10 mg under a new code)."""
    return {**seed_row(), "code": NEW_CODE, "strength_value": "10", **changes}


def csv_text(rows: list[dict[str, str]], columns: tuple[str, ...] = DRUG_COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


async def counts(session: AsyncSession) -> tuple[int, int, int]:
    """Drugs, active drugs and audit entries."""
    return (
        await session.scalar(select(func.count(Drug.id))) or 0,
        await session.scalar(select(func.count(Drug.id)).where(Drug.active.is_(True))) or 0,
        await session.scalar(select(func.count(AuditEntry.id))) or 0,
    )
