"""doctors' working sessions tied to the signed-in session; pending call offers

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30 14:00:00

R04: a doctor's working session (出诊会话) serves only the signed-in session (browser cookie or
API token) it was opened in and ends with it. Sessions opened before this revision are tied to
none, so no request can use them: the doctors verify again. The doctor's offer of a video call
still to be answered is kept (its SDP) so that a patient's page reloaded while it rings gets it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("doctor_work_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_session_id", BigId, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_doctor_work_sessions_auth_session_id_auth_sessions"),
            "auth_sessions",
            ["auth_session_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_doctor_work_sessions_auth_session_id"),
            ["auth_session_id"],
            unique=False,
        )
    op.create_table(
        "consultation_call_offers",
        sa.Column("consultation_id", BigId, nullable=False),
        sa.Column("sdp", sa.Text(), nullable=False),
        sa.Column("offered_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_call_offers_consultation_id_consultations"),
        ),
        sa.PrimaryKeyConstraint("consultation_id", name=op.f("pk_consultation_call_offers")),
    )


def downgrade() -> None:
    op.drop_table("consultation_call_offers")
    with op.batch_alter_table("doctor_work_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_doctor_work_sessions_auth_session_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_doctor_work_sessions_auth_session_id_auth_sessions"),
            type_="foreignkey",
        )
        batch_op.drop_column("auth_session_id")
