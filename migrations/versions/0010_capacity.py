"""capacity from the district's files: weekly templates, exceptions, provider contact

- capacity_templates: a provider's places per weekday and half day (0 = closed);
- capacity_exceptions: public holidays, closures and extra places on one day, for one
  provider or all (provider_id NULL), one half day or the whole day (part NULL); one per
  day/provider/part, enforced by a unique index on the coalesced values;
- providers.contact_name (联系人 of the providers file).

Providers that already exist get a template of the places their windows mostly have, so
the window generator (bot/registry/capacity.py) keeps them as they were until the
district's providers file says otherwise; a provider without windows gets none.

Revision ID: 0010_capacity
Revises: 0009_registry
"""
from alembic import op
import sqlalchemy as sa


revision = "0010_capacity"
down_revision = "0009_registry"
branch_labels = None
depends_on = None

PARTS = ("上午", "下午")


def upgrade() -> None:
    with op.batch_alter_table("providers") as batch:
        batch.add_column(sa.Column("contact_name", sa.String(length=32), nullable=True))

    templates = op.create_table(
        "capacity_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=4), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6",
                           name=op.f("ck_capacity_templates_weekday_range")),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_capacity_templates_capacity_not_negative")),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"],
                                name=op.f("fk_capacity_templates_provider_id_providers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_templates")),
        sa.UniqueConstraint("provider_id", "weekday", "part",
                            name="uq_capacity_templates_provider_weekday_part"),
    )
    op.create_table(
        "capacity_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("part", sa.String(length=4), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_capacity_exceptions_capacity_not_negative")),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"],
                                name=op.f("fk_capacity_exceptions_provider_id_providers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_exceptions")),
    )
    op.create_index(op.f("ix_capacity_exceptions_day"), "capacity_exceptions", ["day"], unique=False)
    op.create_index(op.f("ix_capacity_exceptions_provider_id"), "capacity_exceptions",
                    ["provider_id"], unique=False)
    op.create_index("uq_capacity_exceptions_scope", "capacity_exceptions",
                    [sa.text("day"), sa.text("coalesce(provider_id, 0)"),
                     sa.text("coalesce(part, '')")], unique=True)

    # Existing providers: the places their windows mostly have, for every half day.
    conn = op.get_bind()
    counts = conn.execute(sa.text(
        "SELECT provider_id, capacity, COUNT(*) AS n FROM capacity_windows "
        "GROUP BY provider_id, capacity")).fetchall()
    usual: dict[int, tuple[int, int]] = {}
    for provider_id, capacity, n in counts:
        best = usual.get(provider_id)
        if best is None or (n, capacity) > best:
            usual[provider_id] = (n, capacity)
    rows = [dict(provider_id=pid, weekday=weekday, part=part, capacity=capacity)
            for pid, (_n, capacity) in sorted(usual.items())
            for weekday in range(7) for part in PARTS]
    if rows:
        op.bulk_insert(templates, rows)


def downgrade() -> None:
    op.drop_index("uq_capacity_exceptions_scope", table_name="capacity_exceptions")
    op.drop_index(op.f("ix_capacity_exceptions_provider_id"), table_name="capacity_exceptions")
    op.drop_index(op.f("ix_capacity_exceptions_day"), table_name="capacity_exceptions")
    op.drop_table("capacity_exceptions")
    op.drop_table("capacity_templates")
    # a plain ALTER TABLE DROP COLUMN (SQLite >= 3.35): a batch copy of providers would fail
    # the foreign keys of the tables that point at it
    op.drop_column("providers", "contact_name")
