"""stored files and file grants

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 10:00:00

Uploaded JPEG, PNG and PDF files (bytes in the object store, described here), optionally about a
就诊人, and the grants that let an account other than the owner read one, with their reason.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("owner_account_id", BigId, nullable=False),
        sa.Column("patient_id", BigId, nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=128), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg','image/png','application/pdf')",
            name=op.f("ck_stored_files_content_type_known"),
        ),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_stored_files_size_positive")),
        sa.ForeignKeyConstraint(
            ["owner_account_id"],
            ["accounts.id"],
            name=op.f("fk_stored_files_owner_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_stored_files_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_stored_files_storage_key")),
    )
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stored_files_owner_created", ["owner_account_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stored_files_patient_id"), ["patient_id"], unique=False
        )
    op.create_table(
        "file_grants",
        sa.Column("file_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("granted_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_file_grants_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["stored_files.id"], name=op.f("fk_file_grants_file_id_stored_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_grants")),
        sa.UniqueConstraint(
            "file_id", "account_id", "reason", name=op.f("uq_file_grants_file_id_account_id_reason")
        ),
    )
    with op.batch_alter_table("file_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_file_grants_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("file_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_file_grants_account_id"))
    op.drop_table("file_grants")
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_files_patient_id"))
        batch_op.drop_index("ix_stored_files_owner_created")
    op.drop_table("stored_files")
