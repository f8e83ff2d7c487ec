"""live handoff: the web chat's thread between a person and an advisor (chat_messages), the
outcome of a closed handoff, and the callback step when nobody can take the chat

Revision ID: 0015_live_handoff
Revises: 0014_call_voice
"""
from alembic import op
import sqlalchemy as sa


revision = "0015_live_handoff"
down_revision = "0014_call_voice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("author", sa.String(length=8), nullable=False),
        sa.Column("advisor", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        # exchanged in the chat turn itself (a message the bot also answered, the bot's own
        # reply in the callback step): /api/chat/updates does not repeat it
        sa.Column("via_bot", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("author IN ('person', 'advisor', 'system')",
                           name=op.f("ck_chat_messages_author")),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"],
                                name=op.f("fk_chat_messages_handoff_id_handoffs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    with op.batch_alter_table("chat_messages") as batch:
        batch.create_index(batch.f("ix_chat_messages_handoff_id"), ["handoff_id"], unique=False)
        batch.create_index(batch.f("ix_chat_messages_sender_id"), ["sender_id"], unique=False)
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("closed_by", sa.String(length=64), nullable=True))
        # the web thread's step: waiting|live|callback_phone|callback_confirm|callback_time|
        # callback|closed|left (NULL: not a web thread)
        batch.add_column(sa.Column("live_step", sa.String(length=16), nullable=True))
        # the number a person typed for a callback, until they confirm it
        batch.add_column(sa.Column("callback_phone", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        for column in ("callback_phone", "live_step", "closed_by", "closed_at", "notes",
                       "outcome"):
            batch.drop_column(column)
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_index(batch.f("ix_chat_messages_sender_id"))
        batch.drop_index(batch.f("ix_chat_messages_handoff_id"))
    op.drop_table("chat_messages")
