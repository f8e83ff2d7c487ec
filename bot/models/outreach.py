"""Outbound care: every contact we make or deliberately skip (visit reminders by SMS or
call, monthly check-in calls), the elders and numbers that asked not to be contacted, and the claims that
keep two scheduler processes from running the same job twice.

Integrity lives in the database:
- `outreach_contacts.attempt_key` is UNIQUE: a final outcome (queued/sent/failed, or a
  lasting skip such as opted out or landline) is written once per reminder
  ("reminder:<booking id>"), so a second run, or two runs at once, cannot text twice.
  A skip that may change within hours (quiet hours) leaves it NULL and is recorded again;
- `job_runs (job, run_key)` is UNIQUE: the first scheduler to insert ("remind",
  "2026-11-23") runs the job, the other one does nothing.
SMS 退订 lives in `sms_optouts` (bot/models/messaging.py) and is not repeated here.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from bot.models.base import Base, utcnow

CONTACT_KINDS = ("reminder", "checkin")
CONTACT_CHANNELS = ("sms", "call")
CONTACT_STATUSES = ("queued", "sent", "skipped", "failed")
# What came of an outbound call (None until it ended; SMS have none):
# reached - a check-in answered, nothing needed;  needs_followup - a need became a task;
# emergency - the safety layer took over;  opted_out - asked never to be called again;
# confirmed / reschedule / cancel / transferred - the reminder's 1, 2, 取消 and 0;
# no_answer - not picked up, busy or failed;  hung_up - picked up, nothing said.
CALL_OUTCOMES = (
    "reached",
    "needs_followup",
    "emergency",
    "opted_out",
    "confirmed",
    "reschedule",
    "cancel",
    "transferred",
    "no_answer",
    "hung_up",
)
REFUSAL_SOURCES = ("voice", "sms", "advisor")


class OutreachContact(Base):
    """One outbound contact or a deliberate skip, with why."""

    __tablename__ = "outreach_contacts"
    id = Column(Integer, primary_key=True)
    kind = Column(String(12), nullable=False)  # reminder|checkin
    elder_id = Column(Integer, ForeignKey("elders.id"), nullable=False, index=True)
    booking_id = Column(Integer, ForeignKey("bookings.id"), index=True)
    channel = Column(String(8), nullable=False)  # sms|call
    to_number = Column(String(20))  # as on file; masked whenever logged or shown
    day = Column(Date, nullable=False, index=True)  # China date of the attempt
    status = Column(String(12), nullable=False)  # queued|sent|skipped|failed
    reason = Column(String(200))  # why skipped or failed
    sms_outbox_id = Column(Integer, ForeignKey("sms_outbox.id"))
    attempt_key = Column(String(64), unique=True)  # NULL for transient skips
    attempt_no = Column(Integer, nullable=False, default=1)  # 1st, 2nd... call of its kind
    campaign = Column(String(16), index=True)  # check-ins: the month "2026-11"
    provider_call_id = Column(String(64), index=True)  # the carrier's call id (Twilio CallSid)
    outcome = Column(String(20))  # CALL_OUTCOMES, once the call ended
    transcript = Column(Text)  # what was said on an outbound call (advisors only)
    needs = Column(String(80))  # check-ins: the needs heard, comma-separated (answers.NEEDS)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"))  # the task it became, if any
    finished_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (
        CheckConstraint("kind IN ('reminder', 'checkin')", name="kind_known"),
        CheckConstraint("channel IN ('sms', 'call')", name="channel_known"),
        CheckConstraint("status IN ('queued', 'sent', 'skipped', 'failed')", name="status_known"),
    )


class OutreachRefusal(Base):
    """An elder (or a number) that must not get outbound calls or notices, said by voice,
    by SMS or through an advisor. Either `elder_id` or `number` is set."""

    __tablename__ = "outreach_refusals"
    id = Column(Integer, primary_key=True)
    elder_id = Column(Integer, ForeignKey("elders.id"), index=True)
    number = Column(String(20), index=True)  # phone digits
    source = Column(String(8), nullable=False)  # voice|sms|advisor
    created_by = Column(String(64))
    note = Column(String(200))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (
        CheckConstraint("elder_id IS NOT NULL OR number IS NOT NULL", name="who_given"),
        CheckConstraint("source IN ('voice', 'sms', 'advisor')", name="source_known"),
    )


class JobRun(Base):
    """A scheduled job's run, claimed by inserting this row in its own transaction."""

    __tablename__ = "job_runs"
    id = Column(Integer, primary_key=True)
    job = Column(String(32), nullable=False)
    run_key = Column(String(32), nullable=False)  # e.g. the China date "2026-11-23"
    status = Column(String(12), nullable=False, default="running")  # running|done|failed
    owner = Column(String(100))  # host:pid of the process that claimed it
    summary = Column(Text)
    started_at = Column(DateTime, nullable=False, default=utcnow)
    finished_at = Column(DateTime)
    __table_args__ = (UniqueConstraint("job", "run_key", name="uq_job_runs_job_run_key"),)
