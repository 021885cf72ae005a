"""voice messages

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 13:00:00

Voice clips (语音消息) as stored files, with how long they play, and the message kind ``voice``
that carries one in a consultation's chat.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILE_TYPES = "'image/jpeg','image/png','application/pdf'"
AUDIO_TYPES = "'audio/webm','audio/ogg','audio/mp4'"


def upgrade() -> None:
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration_ms", sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_stored_files_content_type_known"), type_="check")
        batch_op.create_check_constraint(
            "content_type_known", f"content_type IN ({FILE_TYPES},{AUDIO_TYPES})"
        )
        batch_op.create_check_constraint(
            "duration_of_audio",
            f"(content_type IN ({AUDIO_TYPES})) = (duration_ms IS NOT NULL) "
            "AND (duration_ms IS NULL OR duration_ms > 0)",
        )
    with op.batch_alter_table("consultation_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration_ms", sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_consultation_messages_kind_known"), type_="check")
        batch_op.create_check_constraint(
            "kind_known", "kind IN ('text','image','file','voice','system')"
        )
        batch_op.create_check_constraint(
            "voice_has_duration",
            "(kind = 'voice') = (duration_ms IS NOT NULL AND file_id IS NOT NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table("consultation_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_consultation_messages_voice_has_duration"), type_="check"
        )
        batch_op.drop_constraint(batch_op.f("ck_consultation_messages_kind_known"), type_="check")
        batch_op.create_check_constraint("kind_known", "kind IN ('text','image','file','system')")
        batch_op.drop_column("duration_ms")
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_stored_files_duration_of_audio"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_stored_files_content_type_known"), type_="check")
        batch_op.create_check_constraint("content_type_known", f"content_type IN ({FILE_TYPES})")
        batch_op.drop_column("duration_ms")
