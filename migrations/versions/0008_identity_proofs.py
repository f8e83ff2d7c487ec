"""identity_proofs: who proved control of which elder's number, and whether they act for her

Revision ID: 0008_identity_proofs
Revises: 0006_identity
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_identity_proofs"
down_revision = "0006_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_proofs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("acting_for", sa.Boolean(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=True),
        sa.Column("contact_name", sa.String(length=32), nullable=True),
        sa.Column("proved_with", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"],
                                name=op.f("fk_identity_proofs_elder_id_elders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_proofs")),
    )
    op.create_index(op.f("ix_identity_proofs_sender_id"), "identity_proofs", ["sender_id"])
    op.create_index(op.f("ix_identity_proofs_elder_id"), "identity_proofs", ["elder_id"])
    op.create_index(op.f("ix_identity_proofs_at"), "identity_proofs", ["at"])


def downgrade() -> None:
    op.drop_table("identity_proofs")
