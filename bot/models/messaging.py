"""SMS outbox, the handoff queue (people who need a human) and safety events."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text

from bot.models.base import Base, utcnow


class SmsOutbox(Base):
    """Every SMS we send. Without Twilio credentials it stays here with status 'outbox'."""

    __tablename__ = "sms_outbox"
    id = Column(Integer, primary_key=True)
    to_number = Column(String(20), nullable=False, index=True)
    body = Column(Text, nullable=False)
    status = Column(String(12), nullable=False, default="outbox")  # outbox|sent|failed
    provider_sid = Column(String(64))
    error = Column(String(200))
    related_booking_id = Column(Integer)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime)


class SmsOptOut(Base):
    """A number that replied 退订/TD/STOP: it gets no more notices (a code it asks for in a
    conversation is still sent)."""

    __tablename__ = "sms_optouts"
    id = Column(Integer, primary_key=True)
    number = Column(String(20), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Handoff(Base):
    """A conversation that needs a person: asked for a human, bot gave up, emergency, callback."""

    __tablename__ = "handoffs"
    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)  # request_human|fallback|emergency|callback|scam
    priority = Column(Integer, nullable=False, default=5)  # 0 = most urgent (emergency)
    sender_id = Column(String(128), index=True)
    channel = Column(String(16))  # web|voice|sms|console
    phone = Column(String(20))
    elder_id = Column(Integer, ForeignKey("elders.id"))
    summary = Column(Text)
    status = Column(String(12), nullable=False, default="open")  # open|claimed|closed
    claimed_by = Column(String(64))
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    claimed_at = Column(DateTime)
    # how it ended (the console's close form; keys of bot.models.live_chat.OUTCOMES)
    outcome = Column(String(16))
    notes = Column(Text)
    closed_at = Column(DateTime)
    closed_by = Column(String(64))
    # a web conversation's live thread with an advisor (bot/contact/live_chat.py): its step (one of
    # bot.models.live_chat.LIVE_STEPS; NULL: not a web thread) and the number a person gave
    # for a callback until they confirm it
    live_step = Column(String(16))
    callback_phone = Column(String(20))


class SafetyEvent(Base):
    """Emergencies and scam reports, recorded with the (masked) words that triggered them."""

    __tablename__ = "safety_events"
    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)  # emergency|scam
    sender_id = Column(String(128), index=True)
    channel = Column(String(16))
    text_masked = Column(Text)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)
