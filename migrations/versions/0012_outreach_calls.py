"""outbound care calls: attempt number, campaign month, carrier call id, outcome,
transcript and the task a contact became

Revision ID: 0012_outreach_calls
Revises: 0011_outreach
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_outreach_calls"
down_revision = "0011_outreach"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_contacts") as batch:
        batch.add_column(sa.Column("attempt_no", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.add_column(sa.Column("campaign", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("provider_call_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("transcript", sa.Text(), nullable=True))
        batch.add_column(sa.Column("needs", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("handoff_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("finished_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key(op.f("fk_outreach_contacts_handoff_id_handoffs"), "handoffs",
                                 ["handoff_id"], ["id"])
        batch.create_index(op.f("ix_outreach_contacts_campaign"), ["campaign"])
        batch.create_index(op.f("ix_outreach_contacts_provider_call_id"), ["provider_call_id"])


def downgrade() -> None:
    with op.batch_alter_table("outreach_contacts") as batch:
        batch.drop_index(op.f("ix_outreach_contacts_provider_call_id"))
        batch.drop_index(op.f("ix_outreach_contacts_campaign"))
        batch.drop_constraint(op.f("fk_outreach_contacts_handoff_id_handoffs"), type_="foreignkey")
        for column in ("finished_at", "handoff_id", "transcript", "needs", "outcome", "provider_call_id",
                       "campaign", "attempt_no"):
            batch.drop_column(column)
