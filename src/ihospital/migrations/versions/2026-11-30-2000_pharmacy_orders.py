"""pharmacy orders

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-30 20:00:00

Orders for the drugs of an approved prescription (R06, R08, R19) at one pharmacy, for delivery
or pick-up at the window; a partial unique index keeps one live order per prescription. A
pharmacy gets its delivery fee (never covered by insurance).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pharmacy_orders",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column(
            "prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "pharmacy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "billing_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fulfilment", sa.String(length=16), nullable=False),
        sa.Column("cold_chain", sa.Boolean(), nullable=False),
        sa.Column("recipient_name", sa.String(length=64), nullable=True),
        sa.Column("recipient_phone", sa.String(length=32), nullable=True),
        sa.Column("delivery_address", sa.String(length=256), nullable=True),
        sa.Column("pickup_code", sa.String(length=6), nullable=True),
        sa.Column("pickup_attempts", sa.SmallInteger(), nullable=False),
        sa.Column("drugs_fen", sa.BigInteger(), nullable=False),
        sa.Column("delivery_fee_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "risk_notice_confirmed_at", ihospital.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispensed_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "dispensed_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("shipped_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("delivered_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("picked_up_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=32), nullable=True),
        sa.Column("refunded_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "fulfilment <> 'delivery' OR delivery_address IS NOT NULL",
            name=op.f("ck_pharmacy_orders_delivery_addressed"),
        ),
        sa.CheckConstraint(
            "fulfilment <> 'pickup' OR pickup_code IS NOT NULL",
            name=op.f("ck_pharmacy_orders_pickup_coded"),
        ),
        sa.CheckConstraint(
            "fulfilment IN ('delivery','pickup')", name=op.f("ck_pharmacy_orders_fulfilment_known")
        ),
        sa.CheckConstraint(
            "status IN ('created','paid','dispensed','shipped','delivered','picked_up','cancelled','refunded')",
            name=op.f("ck_pharmacy_orders_status_known"),
        ),
        sa.CheckConstraint(
            "drugs_fen >= 0 AND delivery_fee_fen >= 0",
            name=op.f("ck_pharmacy_orders_amounts_not_negative"),
        ),
        sa.CheckConstraint(
            "pickup_attempts >= 0", name=op.f("ck_pharmacy_orders_attempts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_pharmacy_orders_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["billing_order_id"],
            ["billing_orders.id"],
            name=op.f("fk_pharmacy_orders_billing_order_id_billing_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["dispensed_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_pharmacy_orders_dispensed_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_pharmacy_orders_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_pharmacy_orders_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["pharmacy_id"],
            ["pharmacies.id"],
            name=op.f("fk_pharmacy_orders_pharmacy_id_pharmacies"),
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_pharmacy_orders_prescription_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_pharmacy_orders_number")),
    )
    with op.batch_alter_table("pharmacy_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pharmacy_orders_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_pharmacy_orders_pharmacy_status", ["pharmacy_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_pharmacy_orders_live_prescription",
            ["prescription_id"],
            unique=True,
            sqlite_where=sa.text("status NOT IN ('cancelled','refunded')"),
            postgresql_where=sa.text("status NOT IN ('cancelled','refunded')"),
        )

    op.create_table(
        "pharmacy_order_items",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("drug_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("drug_name", sa.String(length=256), nullable=False),
        sa.Column("insurance_class", sa.String(length=1), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_pharmacy_order_items_quantity_positive")),
        sa.CheckConstraint(
            "unit_price_fen >= 0", name=op.f("ck_pharmacy_order_items_price_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["drug_id"], ["drugs.id"], name=op.f("fk_pharmacy_order_items_drug_id_drugs")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["pharmacy_orders.id"],
            name=op.f("fk_pharmacy_order_items_order_id_pharmacy_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_order_items")),
        sa.UniqueConstraint(
            "order_id", "drug_id", name=op.f("uq_pharmacy_order_items_order_id_drug_id")
        ),
    )
    with op.batch_alter_table("pharmacies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delivery_fee_fen", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("pharmacies", schema=None) as batch_op:
        batch_op.drop_column("delivery_fee_fen")

    op.drop_table("pharmacy_order_items")
    with op.batch_alter_table("pharmacy_orders", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_pharmacy_orders_live_prescription",
            sqlite_where=sa.text("status NOT IN ('cancelled','refunded')"),
            postgresql_where=sa.text("status NOT IN ('cancelled','refunded')"),
        )
        batch_op.drop_index("ix_pharmacy_orders_pharmacy_status")
        batch_op.drop_index(batch_op.f("ix_pharmacy_orders_account_id"))

    op.drop_table("pharmacy_orders")
