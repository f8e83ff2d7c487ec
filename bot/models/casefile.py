"""The advisor's case file on an elder: internal notes and follow-up tasks (due dates).

Notes are internal to the console: shown to advisors as written, never put in the log or
the audit trail (the audit row says that a note was added, not what it says)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, Text

from bot.models.base import Base, utcnow

NOTE_MAX_CHARS = 2000
TASK_MAX_CHARS = 200


class CaseNote(Base):
    """A free-text note an advisor wrote on an elder's case file."""

    __tablename__ = "case_notes"
    id = Column(Integer, primary_key=True)
    elder_id = Column(Integer, ForeignKey("elders.id"), nullable=False, index=True)
    author = Column(String(64), nullable=False)  # the console user name
    body = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class FollowUpTask(Base):
    """Something an advisor must do for an elder by a day (call back, check a visit…).
    Open while `done_at` is NULL; overdue when open and `due_on` is before today (China)."""

    __tablename__ = "follow_up_tasks"
    id = Column(Integer, primary_key=True)
    elder_id = Column(Integer, ForeignKey("elders.id"), nullable=False, index=True)
    title = Column(String(TASK_MAX_CHARS), nullable=False)
    due_on = Column(Date, nullable=False, index=True)
    created_by = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    done_at = Column(DateTime)
    done_by = Column(String(64))
