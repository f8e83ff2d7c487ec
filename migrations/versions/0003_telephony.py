"""telephony: calls, call turns (webhook idempotency), satisfaction ratings

Revision ID: 0003_telephony
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_telephony"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("from_number", sa.String(length=32), nullable=True),
        sa.Column("to_number", sa.String(length=32), nullable=True),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("task_completed", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("silence_count", sa.Integer(), nullable=False),
        sa.Column("misunderstood_count", sa.Integer(), nullable=False),
        sa.Column("last_spoken", sa.Text(), nullable=True),
        sa.Column("last_choices", sa.JSON(), nullable=True),
        sa.Column("awaiting", sa.String(length=16), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_calls"),
        sa.UniqueConstraint("call_sid", name="uq_calls_call_sid"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_sender_id", ["sender_id"], unique=False)

    op.create_table(
        "call_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("turn_no", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=True),
        sa.Column("input_kind", sa.String(length=16), nullable=True),
        sa.Column("input_masked", sa.String(length=500), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_call_turns"),
        sa.UniqueConstraint("call_sid", "turn_no", name="uq_call_turns_call_sid_turn_no"),
    )
    with op.batch_alter_table("call_turns", schema=None) as batch_op:
        batch_op.create_index("ix_call_turns_sender_id", ["sender_id"], unique=False)

    op.create_table(
        "satisfaction_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5",
                           name="ck_satisfaction_ratings_score_1_to_5"),
        sa.PrimaryKeyConstraint("id", name="pk_satisfaction_ratings"),
    )
    with op.batch_alter_table("satisfaction_ratings", schema=None) as batch_op:
        batch_op.create_index("ix_satisfaction_ratings_call_sid", ["call_sid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("satisfaction_ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_satisfaction_ratings_call_sid")
    op.drop_table("satisfaction_ratings")
    with op.batch_alter_table("call_turns", schema=None) as batch_op:
        batch_op.drop_index("ix_call_turns_sender_id")
    op.drop_table("call_turns")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_sender_id")
    op.drop_table("calls")
