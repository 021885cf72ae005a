"""consultation reviews: stars, tags, masked text, moderation and the doctor's reply

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 10:00:00

One review per consultation (评价), held for the institution when its text is abusive, and the
consultation's ``rated_at`` (closed → rated).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rated_at", ihospital.db.UTCDateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "consultation_reviews",
        sa.Column("consultation_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("patient_id", BigId, nullable=False),
        sa.Column("practitioner_id", BigId, nullable=False),
        sa.Column("institution_id", BigId, nullable=False),
        sa.Column("patient_name_masked", sa.String(length=64), nullable=False),
        sa.Column("stars", sa.SmallInteger(), nullable=False),
        sa.Column("tags", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("held_words", sa.String(length=200), nullable=True),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("moderated_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("moderated_by_account_id", BigId, nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "stars BETWEEN 1 AND 5", name=op.f("ck_consultation_reviews_stars_range")
        ),
        sa.CheckConstraint(
            "status IN ('published','held','rejected')",
            name=op.f("ck_consultation_reviews_status_known"),
        ),
        sa.CheckConstraint(
            "(reply IS NULL) = (replied_at IS NULL)",
            name=op.f("ck_consultation_reviews_reply_with_time"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_consultation_reviews_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_reviews_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_consultation_reviews_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["moderated_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_consultation_reviews_moderated_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_consultation_reviews_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_consultation_reviews_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_reviews")),
        sa.UniqueConstraint(
            "consultation_id", name=op.f("uq_consultation_reviews_consultation_id")
        ),
    )
    with op.batch_alter_table("consultation_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consultation_reviews_practitioner_status", ["practitioner_id", "status"]
        )
        batch_op.create_index(
            "ix_consultation_reviews_institution_status", ["institution_id", "status"]
        )


def downgrade() -> None:
    with op.batch_alter_table("consultation_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_consultation_reviews_institution_status")
        batch_op.drop_index("ix_consultation_reviews_practitioner_status")
    op.drop_table("consultation_reviews")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_column("rated_at")
