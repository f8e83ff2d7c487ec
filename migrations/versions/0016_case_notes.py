"""case file: advisors' notes on an elder and follow-up tasks with a due date

Revision ID: 0016_case_notes
Revises: 0015_live_handoff
"""
from alembic import op
import sqlalchemy as sa


revision = "0016_case_notes"
down_revision = "0015_live_handoff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"],
                                name=op.f("fk_case_notes_elder_id_elders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    op.create_index(op.f("ix_case_notes_elder_id"), "case_notes", ["elder_id"])
    op.create_index(op.f("ix_case_notes_created_at"), "case_notes", ["created_at"])
    op.create_table(
        "follow_up_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"],
                                name=op.f("fk_follow_up_tasks_elder_id_elders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_tasks")),
    )
    op.create_index(op.f("ix_follow_up_tasks_elder_id"), "follow_up_tasks", ["elder_id"])
    op.create_index(op.f("ix_follow_up_tasks_due_on"), "follow_up_tasks", ["due_on"])


def downgrade() -> None:
    op.drop_index(op.f("ix_follow_up_tasks_due_on"), table_name="follow_up_tasks")
    op.drop_index(op.f("ix_follow_up_tasks_elder_id"), table_name="follow_up_tasks")
    op.drop_table("follow_up_tasks")
    op.drop_index(op.f("ix_case_notes_created_at"), table_name="case_notes")
    op.drop_index(op.f("ix_case_notes_elder_id"), table_name="case_notes")
    op.drop_table("case_notes")
