"""audit entries by subject, for case timelines

Revision ID: 0040
Revises: 0037
Create Date: 2026-12-02 10:00:00

Issue 7 item 4: a case timeline reads the audit entries about the case's subjects (its
consultation, record versions, prescription versions, orders …); without this index each reading
would scan the whole trail. A plain CREATE INDEX (no batch), so SQLite keeps the append-only
triggers of the table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_entries_subject", "audit_entries", ["subject_type", "subject_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_subject", table_name="audit_entries")
