"""identity: one-time SMS codes and identity attempts

Revision ID: 0006_identity
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_identity"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("sent_to", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"],
                                name=op.f("fk_identity_challenges_elder_id_elders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_challenges")),
    )
    op.create_index(op.f("ix_identity_challenges_sender_id"), "identity_challenges", ["sender_id"])
    op.create_index(op.f("ix_identity_challenges_elder_id"), "identity_challenges", ["elder_id"])
    op.create_table(
        "identity_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"],
                                name=op.f("fk_identity_attempts_elder_id_elders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_attempts")),
    )
    op.create_index(op.f("ix_identity_attempts_sender_id"), "identity_attempts", ["sender_id"])
    op.create_index(op.f("ix_identity_attempts_elder_id"), "identity_attempts", ["elder_id"])
    op.create_index(op.f("ix_identity_attempts_at"), "identity_attempts", ["at"])


def downgrade() -> None:
    op.drop_table("identity_attempts")
    op.drop_table("identity_challenges")
