"""bookings.active_visit: one active booking per elder, service and start, in the database

The column holds "elder:service:start" while a booking is active and NULL once it is
cancelled; it is UNIQUE, so two concurrent requests for the same visit with different
idempotency keys cannot both commit (NULLs do not collide on SQLite or PostgreSQL).

Revision ID: 0005_active_visit
Revises: 0002_booking
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_active_visit"
down_revision = "0002_booking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("active_visit", sa.String(length=64), nullable=True))
    # existing active bookings get their key (the earliest keeps it if two already collide)
    op.execute("""
        UPDATE bookings SET active_visit = (
            SELECT bookings.elder_id || ':' || bookings.service_type_id || ':' ||
                   substr(REPLACE(CAST(w.starts_at AS TEXT), ' ', 'T'), 1, 16)
            FROM capacity_windows w WHERE w.id = bookings.window_id)
        WHERE status = 'booked' AND id IN (
            SELECT MIN(b.id) FROM bookings b JOIN capacity_windows w ON w.id = b.window_id
            WHERE b.status = 'booked' GROUP BY b.elder_id, b.service_type_id, w.starts_at)
    """)
    with op.batch_alter_table("bookings") as batch:
        batch.create_unique_constraint("uq_bookings_active_visit", ["active_visit"])


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint("uq_bookings_active_visit", type_="unique")
        batch.drop_column("active_visit")
