"""booking: service types, providers, capacity windows, bookings, status history,
entitlement ledger

Revision ID: 0002_booking
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_booking"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_providers')),
    sa.UniqueConstraint('name', name=op.f('uq_providers_name'))
    )
    op.create_table('service_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('uses_free_hours', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.CheckConstraint('duration_minutes > 0', name=op.f('ck_service_types_duration_positive')),
    sa.CheckConstraint('price_fen >= 0', name=op.f('ck_service_types_price_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_types')),
    sa.UniqueConstraint('code', name=op.f('uq_service_types_code')),
    sa.UniqueConstraint('name', name=op.f('uq_service_types_name'))
    )
    op.create_table('capacity_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('part', sa.String(length=4), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.CheckConstraint('booked <= capacity', name=op.f('ck_capacity_windows_booked_within_capacity')),
    sa.CheckConstraint('booked >= 0', name=op.f('ck_capacity_windows_booked_not_negative')),
    sa.CheckConstraint('capacity >= 0', name=op.f('ck_capacity_windows_capacity_not_negative')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_capacity_windows_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capacity_windows')),
    sa.UniqueConstraint('provider_id', 'starts_at', name='uq_capacity_windows_provider_start')
    )
    with op.batch_alter_table('capacity_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capacity_windows_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_capacity_windows_starts_at'), ['starts_at'], unique=False)

    op.create_table('provider_services',
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('service_type_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_services_provider_id_providers')),
    sa.ForeignKeyConstraint(['service_type_id'], ['service_types.id'], name=op.f('fk_provider_services_service_type_id_service_types')),
    sa.PrimaryKeyConstraint('provider_id', 'service_type_id', name=op.f('pk_provider_services'))
    )
    op.create_table('provider_streets',
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_streets_provider_id_providers')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_provider_streets_street_id_streets')),
    sa.PrimaryKeyConstraint('provider_id', 'street_id', name=op.f('pk_provider_streets'))
    )
    op.create_table('bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=12), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('service_type_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('free_minutes_applied', sa.Integer(), nullable=False),
    sa.Column('cost_fen', sa.Integer(), nullable=False),
    sa.Column('entitlement_month', sa.String(length=7), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=160), nullable=False),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('cost_fen >= 0', name=op.f('ck_bookings_cost_not_negative')),
    sa.CheckConstraint('free_minutes_applied >= 0', name=op.f('ck_bookings_free_minutes_not_negative')),
    sa.ForeignKeyConstraint(['elder_id'], ['elders.id'], name=op.f('fk_bookings_elder_id_elders')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_bookings_provider_id_providers')),
    sa.ForeignKeyConstraint(['service_type_id'], ['service_types.id'], name=op.f('fk_bookings_service_type_id_service_types')),
    sa.ForeignKeyConstraint(['window_id'], ['capacity_windows.id'], name=op.f('fk_bookings_window_id_capacity_windows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_bookings_idempotency_key')),
    sa.UniqueConstraint('reference', name=op.f('uq_bookings_reference'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookings_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_window_id'), ['window_id'], unique=False)

    op.create_table('entitlement_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('granted_minutes', sa.Integer(), nullable=False),
    sa.Column('used_minutes', sa.Integer(), nullable=False),
    sa.Column('returned_minutes', sa.Integer(), nullable=False),
    sa.Column('policy_ref', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('granted_minutes >= 0', name=op.f('ck_entitlement_ledger_granted_not_negative')),
    sa.CheckConstraint('returned_minutes <= used_minutes', name=op.f('ck_entitlement_ledger_returned_within_used')),
    sa.CheckConstraint('returned_minutes >= 0', name=op.f('ck_entitlement_ledger_returned_not_negative')),
    sa.CheckConstraint('used_minutes - returned_minutes <= granted_minutes', name=op.f('ck_entitlement_ledger_spent_within_granted')),
    sa.CheckConstraint('used_minutes >= 0', name=op.f('ck_entitlement_ledger_used_not_negative')),
    sa.ForeignKeyConstraint(['elder_id'], ['elders.id'], name=op.f('fk_entitlement_ledger_elder_id_elders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entitlement_ledger')),
    sa.UniqueConstraint('elder_id', 'month', name='uq_entitlement_ledger_elder_month')
    )
    op.create_table('booking_status_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_status_history_booking_id_bookings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_status_history'))
    )
    with op.batch_alter_table('booking_status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_status_history_booking_id'), ['booking_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('booking_status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_status_history_booking_id'))

    op.drop_table('booking_status_history')
    op.drop_table('entitlement_ledger')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookings_window_id'))
        batch_op.drop_index(batch_op.f('ix_bookings_elder_id'))

    op.drop_table('bookings')
    op.drop_table('provider_streets')
    op.drop_table('provider_services')
    with op.batch_alter_table('capacity_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capacity_windows_starts_at'))
        batch_op.drop_index(batch_op.f('ix_capacity_windows_day'))

    op.drop_table('capacity_windows')
    op.drop_table('service_types')
    op.drop_table('providers')
