"""epidemic pre-screening: questionnaire versions, fever clinics, submissions, command-centre alerts

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-01 15:00:00

Issue 8 item 5. Version 1 of the default questionnaire (triage/data/prescreening_default.json),
read by the same code that checks a version an admin publishes, is published here.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import ihospital.db
from ihospital.triage.prescreening.questionnaires import default_definition, default_row

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fever_clinics",
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("hours", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_fever_clinics_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fever_clinics")),
    )
    with op.batch_alter_table("fever_clinics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fever_clinics_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "screening_questionnaires",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "published_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("retired_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('published', 'retired')",
            name=op.f("ck_screening_questionnaires_status_known"),
        ),
        sa.CheckConstraint(
            "version > 0", name=op.f("ck_screening_questionnaires_version_positive")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_screening_questionnaires_published_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_questionnaires")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_screening_questionnaires_key_version")),
    )
    with op.batch_alter_table("screening_questionnaires", schema=None) as batch_op:
        batch_op.create_index(
            "uq_screening_questionnaires_one_published",
            ["key"],
            unique=True,
            sqlite_where=sa.text("status = 'published'"),
            postgresql_where=sa.text("status = 'published'"),
        )

    op.create_table(
        "screening_submissions",
        sa.Column(
            "questionnaire_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "level IN ('low', 'medium', 'high')", name=op.f("ck_screening_submissions_level_known")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_screening_submissions_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_screening_submissions_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["screening_questionnaires.id"],
            name=op.f("fk_screening_submissions_questionnaire_id_screening_questionnaires"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_submissions")),
    )
    with op.batch_alter_table("screening_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_screening_submissions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_screening_submissions_patient", ["patient_id", "created_at"], unique=False
        )

    op.create_table(
        "epidemic_alerts",
        sa.Column(
            "submission_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "handled_by_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.CheckConstraint(
            "status <> 'closed' OR note <> ''", name=op.f("ck_epidemic_alerts_closed_has_note")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'contacted', 'closed')", name=op.f("ck_epidemic_alerts_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_epidemic_alerts_handled_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_epidemic_alerts_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["screening_submissions.id"],
            name=op.f("fk_epidemic_alerts_submission_id_screening_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epidemic_alerts")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_epidemic_alerts_submission_id")),
    )
    with op.batch_alter_table("epidemic_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_epidemic_alerts_region_status", ["region_code", "status"], unique=False
        )

    questionnaires = sa.table(
        "screening_questionnaires",
        *(sa.column(name) for name in ("key", "version", "title", "definition", "status")),
        sa.column("published_at", ihospital.db.UTCDateTime(timezone=True)),
    )
    op.bulk_insert(
        # published when the schema is installed: the first version is in use from then on
        questionnaires,
        [{**default_row(default_definition()), "published_at": datetime.now(UTC)}],
    )


def downgrade() -> None:
    with op.batch_alter_table("epidemic_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_epidemic_alerts_region_status")

    op.drop_table("epidemic_alerts")
    with op.batch_alter_table("screening_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_submissions_patient")
        batch_op.drop_index(batch_op.f("ix_screening_submissions_account_id"))

    op.drop_table("screening_submissions")
    with op.batch_alter_table("screening_questionnaires", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_screening_questionnaires_one_published",
            sqlite_where=sa.text("status = 'published'"),
            postgresql_where=sa.text("status = 'published'"),
        )

    op.drop_table("screening_questionnaires")
    with op.batch_alter_table("fever_clinics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fever_clinics_institution_id"))

    op.drop_table("fever_clinics")
