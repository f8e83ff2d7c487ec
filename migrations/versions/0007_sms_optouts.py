"""sms_optouts: numbers that replied 退订/TD/STOP

Revision ID: 0007_sms_optouts
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_sms_optouts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_optouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_optouts")),
        sa.UniqueConstraint("number", name=op.f("uq_sms_optouts_number")),
    )


def downgrade() -> None:
    op.drop_table("sms_optouts")
