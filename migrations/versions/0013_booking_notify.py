"""bookings.notify: the elder, or the family contact who booked for her, gets the notices

Revision ID: 0013_booking_notify
Revises: 0012_outreach_calls
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_booking_notify"
down_revision = "0012_outreach_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("notify", sa.String(length=16), nullable=False,
                                   server_default="elder"))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("notify")
