"""The web chat's live thread with an advisor (bot/contact/live_chat.py) and how a handoff ends.

- `ChatMessage`: one message of the thread of a web handoff: the person's, the advisor's,
  or the system's (the callback questions, "顾问已结束这次对话").
- The values of the `Handoff` columns this area uses (bot/models/messaging.py: `outcome`,
  `live_step`); migration 0015_live_handoff creates the table and the columns.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, ForeignKey, Integer, String, Text

from bot.models.base import Base, utcnow

AUTHORS = ("person", "advisor", "system")
# What an advisor records when closing a handoff (the console's select offers these).
OUTCOMES = {
    "resolved": "已解决",
    "called_back": "已回电",
    "referred": "已转介",
    "unreachable": "联系不上",
    "other": "其他",
}
# The thread's steps: waiting for an advisor, an advisor holds it, the callback questions
# (number, its confirmation, a time), a callback queued, closed, or the person left it.
LIVE_STEPS = (
    "waiting",
    "live",
    "callback_phone",
    "callback_confirm",
    "callback_time",
    "callback",
    "closed",
    "left",
)
ACTIVE_STEPS = ("waiting", "live", "callback_phone", "callback_confirm", "callback_time")
CALLBACK_STEPS = ("callback_phone", "callback_confirm", "callback_time")


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (CheckConstraint("author IN ('person', 'advisor', 'system')", name="author"),)
    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"), nullable=False, index=True)
    sender_id = Column(String(128), nullable=False, index=True)
    author = Column(String(8), nullable=False)  # person|advisor|system
    advisor = Column(String(64))  # the advisor's user name when author == "advisor"
    text = Column(Text, nullable=False)
    # exchanged in the chat turn itself (a message the bot also answered, so it is in the
    # tracker store; the bot's own reply in the callback step): /api/chat/updates does not
    # repeat it
    via_bot = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
