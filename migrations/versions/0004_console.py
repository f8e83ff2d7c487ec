"""console: advisor users, login attempts, audit log

Revision ID: 0004_console
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_console"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advisor_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('advisor', 'admin')", name=op.f("ck_advisor_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisor_users")),
        sa.UniqueConstraint("username", name=op.f("uq_advisor_users_username")),
    )
    op.create_table(
        "console_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_login_attempts")),
    )
    with op.batch_alter_table("console_login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_login_attempts_attempted_at"),
                              ["attempted_at"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"],
                                name=op.f("fk_audit_log_elder_id_elders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_elder_id"), ["elder_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_elder_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
    op.drop_table("audit_log")
    with op.batch_alter_table("console_login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_login_attempts_attempted_at"))
    op.drop_table("console_login_attempts")
    op.drop_table("advisor_users")
