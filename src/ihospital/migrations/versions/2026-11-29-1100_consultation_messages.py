"""consultation messages

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 11:00:00

The chat of a consultation: text, attached files and system notices, with read receipts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consultation_messages",
        sa.Column("consultation_id", BigId, nullable=False),
        sa.Column("sender_role", sa.String(length=8), nullable=False),
        sa.Column("sender_account_id", BigId, nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("file_id", BigId, nullable=True),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "sender_role IN ('patient','doctor','system')",
            name=op.f("ck_consultation_messages_sender_role_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('text','image','file','system')",
            name=op.f("ck_consultation_messages_kind_known"),
        ),
        sa.CheckConstraint(
            "text IS NOT NULL OR file_id IS NOT NULL",
            name=op.f("ck_consultation_messages_has_content"),
        ),
        sa.CheckConstraint(
            "(sender_role = 'system') = (sender_account_id IS NULL)",
            name=op.f("ck_consultation_messages_sender_matches_role"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_messages_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["sender_account_id"],
            ["accounts.id"],
            name=op.f("fk_consultation_messages_sender_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_files.id"],
            name=op.f("fk_consultation_messages_file_id_stored_files"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_messages")),
    )
    with op.batch_alter_table("consultation_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consultation_messages_consultation_id", ["consultation_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consultation_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_consultation_messages_consultation_id")
    op.drop_table("consultation_messages")
