"""calls: the caller's speech rate and volume (说慢点 / 大声点) and speech heard with low
confidence awaiting confirmation

Revision ID: 0014_call_voice
Revises: 0013_booking_notify
"""
from alembic import op
import sqlalchemy as sa


revision = "0014_call_voice"
down_revision = "0013_booking_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("speech_rate", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("volume", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("pending_speech", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        for column in ("pending_speech", "volume", "speech_rate"):
            batch.drop_column(column)
