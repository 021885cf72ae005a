"""drug catalogue seed: about 200 common drugs and the curated interaction table

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-30 17:00:00

The drugs of prescribing/data/drugs.csv (with the pinyin of their Chinese names for search) and
the interactions of prescribing/data/interactions.csv, read by the same code as a platform
admin's import (ihospital.prescribing.catalogue_import), so the seed obeys the import's checks.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import ihospital.db
from ihospital.prescribing.catalogue_import import seed_drugs, seed_interactions

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDED_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _drugs_table(columns: list[str]) -> sa.Table:
    types = {
        "package_size": sa.Integer(),
        "reference_price_fen": sa.BigInteger(),
        "updated_at": ihospital.db.UTCDateTime(timezone=True),
    }
    for name in ("strength_value", "usual_dose_min", "usual_dose_max", "max_daily_dose"):
        types[name] = sa.Numeric(12, 4)
    for name in ("prescription_only", "antimicrobial", "special_storage", "cold_chain", "active"):
        types[name] = sa.Boolean()
    return sa.table("drugs", *(sa.column(name, types.get(name, sa.String())) for name in columns))


def upgrade() -> None:
    drugs = [{**drug, "active": True, "updated_at": SEEDED_AT} for drug in seed_drugs()]
    op.bulk_insert(_drugs_table(list(drugs[0])), drugs)
    interactions = seed_interactions()
    table = sa.table("drug_interactions", *(sa.column(name) for name in interactions[0]))
    op.bulk_insert(table, interactions)


def downgrade() -> None:
    codes = [drug["code"] for drug in seed_drugs()]
    op.execute(sa.delete(sa.table("drug_interactions")))
    op.execute(sa.delete(sa.table("drugs", sa.column("code"))).where(sa.column("code").in_(codes)))
