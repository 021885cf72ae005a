"""order shipments

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-30 21:00:00

A delivery order points at the shipment that carries it now (issue 6, items 5–6): the carrier's
tracking moves the order, and a failed delivery can be shipped again under a new shipment.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("pharmacy_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipment_id", BIG_ID, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_pharmacy_orders_shipment_id"), ["shipment_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_pharmacy_orders_shipment_id_pharmacy_shipments"),
            "pharmacy_shipments",
            ["shipment_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("pharmacy_orders", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_pharmacy_orders_shipment_id_pharmacy_shipments"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_pharmacy_orders_shipment_id"))
        batch_op.drop_column("shipment_id")
