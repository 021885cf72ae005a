"""booking resources: vaccinations and check-up packages

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 09:00:00

Bookable non-doctor resources of an institution (疫苗接种, 体检套餐) with their fee, age and sex
limits and preparation notes. A session and an appointment belong to a doctor or to a resource:
``practitioner_id`` becomes nullable beside a new ``resource_id``, exactly one of them set; a
就诊人 holds at most one active appointment per resource and day.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCTOR_OR_RESOURCE = (
    "(practitioner_id IS NOT NULL AND resource_id IS NULL)"
    " OR (practitioner_id IS NULL AND resource_id IS NOT NULL)"
)
ACTIVE = sa.text("status IN ('pending_payment','confirmed')")


def upgrade() -> None:
    op.create_table(
        "booking_resources",
        sa.Column("institution_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=8), nullable=False),
        sa.Column("vaccine", sa.String(length=128), nullable=False),
        sa.Column("package_items", sa.String(length=2000), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("min_age_years", sa.Integer(), nullable=True),
        sa.Column("max_age_years", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("preparation", sa.String(length=500), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "kind IN ('vaccination','checkup')", name=op.f("ck_booking_resources_kind_known")
        ),
        sa.CheckConstraint(
            "sex IS NULL OR sex IN ('male','female')", name=op.f("ck_booking_resources_sex_known")
        ),
        sa.CheckConstraint("fee_fen >= 0", name=op.f("ck_booking_resources_fee_not_negative")),
        sa.CheckConstraint(
            "min_age_years IS NULL OR min_age_years >= 0",
            name=op.f("ck_booking_resources_min_age_range"),
        ),
        sa.CheckConstraint(
            "max_age_years IS NULL OR max_age_years <= 150",
            name=op.f("ck_booking_resources_max_age_range"),
        ),
        sa.CheckConstraint(
            "min_age_years IS NULL OR max_age_years IS NULL OR min_age_years <= max_age_years",
            name=op.f("ck_booking_resources_ages_ordered"),
        ),
        sa.CheckConstraint(
            "kind <> 'vaccination' OR vaccine <> ''",
            name=op.f("ck_booking_resources_vaccination_has_vaccine"),
        ),
        sa.CheckConstraint(
            "kind <> 'checkup' OR package_items <> ''",
            name=op.f("ck_booking_resources_checkup_has_items"),
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["department_codes.code"],
            name=op.f("fk_booking_resources_department_code_department_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_booking_resources_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_resources")),
    )
    with op.batch_alter_table("booking_resources", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booking_resources_institution_kind", ["institution_id", "kind"], unique=False
        )
    for table in ("booking_sessions", "booking_appointments"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("resource_id", BigId, nullable=True))
            batch_op.alter_column("practitioner_id", existing_type=BigId, nullable=True)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_resource_id_booking_resources"),
                "booking_resources",
                ["resource_id"],
                ["id"],
            )
            batch_op.create_check_constraint(
                batch_op.f(f"ck_{table}_doctor_or_resource"), DOCTOR_OR_RESOURCE
            )
    with op.batch_alter_table("booking_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booking_sessions_resource_day", ["resource_id", "day"], unique=False
        )
    with op.batch_alter_table("booking_appointments", schema=None) as batch_op:
        batch_op.create_index(
            "uq_booking_appointments_one_active_per_resource_day",
            ["resource_id", "patient_id", "day"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_appointments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_booking_appointments_one_active_per_resource_day",
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )
    with op.batch_alter_table("booking_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_sessions_resource_day")
    # nothing is deleted: with sessions or appointments of a resource stored, the NOT NULL of
    # practitioner_id refuses the downgrade
    for table in ("booking_appointments", "booking_sessions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_doctor_or_resource"), type_="check")
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_resource_id_booking_resources"), type_="foreignkey"
            )
            batch_op.drop_column("resource_id")
            batch_op.alter_column("practitioner_id", existing_type=BigId, nullable=False)
    with op.batch_alter_table("booking_resources", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_resources_institution_kind")
    op.drop_table("booking_resources")
