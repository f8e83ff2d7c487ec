"""outbound care: outreach_contacts, outreach_refusals, job_runs

- outreach_contacts: every outbound contact or deliberate skip with its outcome; UNIQUE
  attempt_key makes a reminder go out once per booking;
- outreach_refusals: elders or numbers that must not be contacted (voice, sms, advisor);
- job_runs: UNIQUE (job, run_key), claimed by the scheduler before a run.

Revision ID: 0011_outreach
Revises: 0010_capacity
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_outreach"
down_revision = "0010_capacity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("to_number", sa.String(length=20), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("sms_outbox_id", sa.Integer(), nullable=True),
        sa.Column("attempt_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('reminder', 'checkin')",
                           name=op.f("ck_outreach_contacts_kind_known")),
        sa.CheckConstraint("channel IN ('sms', 'call')",
                           name=op.f("ck_outreach_contacts_channel_known")),
        sa.CheckConstraint("status IN ('queued', 'sent', 'skipped', 'failed')",
                           name=op.f("ck_outreach_contacts_status_known")),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"],
                                name=op.f("fk_outreach_contacts_elder_id_elders")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"],
                                name=op.f("fk_outreach_contacts_booking_id_bookings")),
        sa.ForeignKeyConstraint(["sms_outbox_id"], ["sms_outbox.id"],
                                name=op.f("fk_outreach_contacts_sms_outbox_id_sms_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_contacts")),
        sa.UniqueConstraint("attempt_key", name=op.f("uq_outreach_contacts_attempt_key")),
    )
    op.create_index(op.f("ix_outreach_contacts_elder_id"), "outreach_contacts", ["elder_id"])
    op.create_index(op.f("ix_outreach_contacts_booking_id"), "outreach_contacts", ["booking_id"])
    op.create_index(op.f("ix_outreach_contacts_day"), "outreach_contacts", ["day"])

    op.create_table(
        "outreach_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("elder_id IS NOT NULL OR number IS NOT NULL",
                           name=op.f("ck_outreach_refusals_who_given")),
        sa.CheckConstraint("source IN ('voice', 'sms', 'advisor')",
                           name=op.f("ck_outreach_refusals_source_known")),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"],
                                name=op.f("fk_outreach_refusals_elder_id_elders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_refusals")),
    )
    op.create_index(op.f("ix_outreach_refusals_elder_id"), "outreach_refusals", ["elder_id"])
    op.create_index(op.f("ix_outreach_refusals_number"), "outreach_refusals", ["number"])

    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("run_key", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "run_key", name="uq_job_runs_job_run_key"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_index(op.f("ix_outreach_refusals_number"), table_name="outreach_refusals")
    op.drop_index(op.f("ix_outreach_refusals_elder_id"), table_name="outreach_refusals")
    op.drop_table("outreach_refusals")
    op.drop_index(op.f("ix_outreach_contacts_day"), table_name="outreach_contacts")
    op.drop_index(op.f("ix_outreach_contacts_booking_id"), table_name="outreach_contacts")
    op.drop_index(op.f("ix_outreach_contacts_elder_id"), table_name="outreach_contacts")
    op.drop_table("outreach_contacts")
