"""pharmacy shipments: carriers' tracking events and cold-chain temperature readings

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30 15:00:00

One shipment per pharmacy order reference with one carrier; its scans and readings unique per
carrier id (a callback delivered twice is stored once).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = ihospital.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pharmacy_shipments",
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("carrier_shipment_id", sa.String(length=64), nullable=False),
        sa.Column("order_reference", sa.String(length=64), nullable=False),
        sa.Column("institution_id", BigId, nullable=False),
        sa.Column("cold_chain", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("carrier_status", sa.String(length=24), nullable=False),
        sa.Column("excursion", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("cancelled_at", UTC, nullable=True),
        sa.Column("excursion_decided_at", UTC, nullable=True),
        sa.Column("excursion_decided_by_account_id", BigId, nullable=True),
        sa.Column("excursion_note", sa.Text(), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "status IN ('created','accepted','in_transit','out_for_delivery','delivered',"
            "'failed','cancelled','temperature_excursion','returned')",
            name=op.f("ck_pharmacy_shipments_status_known"),
        ),
        sa.CheckConstraint(
            "carrier_status IN ('created','accepted','in_transit','out_for_delivery',"
            "'delivered','failed')",
            name=op.f("ck_pharmacy_shipments_carrier_status_known"),
        ),
        sa.CheckConstraint(
            "excursion IN ('none','pending','accepted','rejected')",
            name=op.f("ck_pharmacy_shipments_excursion_known"),
        ),
        sa.ForeignKeyConstraint(
            ["excursion_decided_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_pharmacy_shipments_excursion_decided_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_pharmacy_shipments_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_shipments")),
        sa.UniqueConstraint(
            "carrier",
            "carrier_shipment_id",
            name=op.f("uq_pharmacy_shipments_carrier_carrier_shipment_id"),
        ),
        sa.UniqueConstraint("order_reference", name=op.f("uq_pharmacy_shipments_order_reference")),
    )
    with op.batch_alter_table("pharmacy_shipments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pharmacy_shipments_institution_status", ["institution_id", "status"]
        )

    op.create_table(
        "pharmacy_tracking_events",
        sa.Column("shipment_id", BigId, nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("carrier_event_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("location", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", UTC, nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["pharmacy_shipments.id"],
            name=op.f("fk_pharmacy_tracking_events_shipment_id_pharmacy_shipments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_tracking_events")),
        sa.UniqueConstraint(
            "carrier",
            "carrier_event_id",
            name=op.f("uq_pharmacy_tracking_events_carrier_carrier_event_id"),
        ),
    )
    with op.batch_alter_table("pharmacy_tracking_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pharmacy_tracking_events_shipment", ["shipment_id", "occurred_at"]
        )

    op.create_table(
        "pharmacy_temperature_readings",
        sa.Column("shipment_id", BigId, nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("carrier_reading_id", sa.String(length=64), nullable=False),
        sa.Column("celsius", sa.Numeric(precision=5, scale=1), nullable=False),
        sa.Column("measured_at", UTC, nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("within_range", sa.Boolean(), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["pharmacy_shipments.id"],
            name=op.f("fk_pharmacy_temperature_readings_shipment_id_pharmacy_shipments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_temperature_readings")),
        sa.UniqueConstraint(
            "carrier",
            "carrier_reading_id",
            name=op.f("uq_pharmacy_temperature_readings_carrier_carrier_reading_id"),
        ),
    )
    with op.batch_alter_table("pharmacy_temperature_readings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pharmacy_temperature_readings_shipment", ["shipment_id", "measured_at"]
        )


def downgrade() -> None:
    for table, index in (
        ("pharmacy_temperature_readings", "ix_pharmacy_temperature_readings_shipment"),
        ("pharmacy_tracking_events", "ix_pharmacy_tracking_events_shipment"),
        ("pharmacy_shipments", "ix_pharmacy_shipments_institution_status"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
        op.drop_table(table)
