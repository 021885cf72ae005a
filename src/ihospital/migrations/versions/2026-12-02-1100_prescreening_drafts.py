"""pre-screening questionnaire drafts: the next version while an admin builds it in the editor

Revision ID: 0041
Revises: 0037
Create Date: 2026-12-02 09:00:00

Issue 8 item 5: admins build a questionnaire in forms over several requests before publishing it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "screening_questionnaire_drafts",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("based_on_questionnaire_id", ID, nullable=True),
        sa.Column("created_by_account_id", ID, nullable=True),
        sa.Column("updated_by_account_id", ID, nullable=True),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "revision > 0", name=op.f("ck_screening_questionnaire_drafts_revision_positive")
        ),
        sa.ForeignKeyConstraint(
            ["based_on_questionnaire_id"],
            ["screening_questionnaires.id"],
            name=op.f(
                "fk_screening_questionnaire_drafts_based_on_questionnaire_id_screening_questionnaires"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_screening_questionnaire_drafts_created_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_screening_questionnaire_drafts_updated_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_questionnaire_drafts")),
    )
    with op.batch_alter_table("screening_questionnaire_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_screening_questionnaire_drafts_key"), ["key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("screening_questionnaire_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_questionnaire_drafts_key"))
    op.drop_table("screening_questionnaire_drafts")
