"""Models of the telephony area: phone calls, their webhook turns, satisfaction ratings.

A call is keyed by the provider's call id (Twilio CallSid). Each webhook the provider sends
for a call is one turn, stored with the answer we gave: the provider retries webhooks, and a
retried turn must get the same answer without running the conversation step twice (a second
booking, a second handoff). UNIQUE (call_sid, turn_no) is what makes that hold under
concurrency: the first request claims the row, a retry finds it.
"""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Integer, String, Text, UniqueConstraint

from bot.models.base import Base, utcnow


class Call(Base):
    """One phone call and what the voice bridge needs to remember between its turns."""

    __tablename__ = "calls"
    id = Column(Integer, primary_key=True)
    call_sid = Column(String(64), nullable=False, unique=True)
    provider = Column(String(16), nullable=False, default="twilio")
    from_number = Column(String(32))
    to_number = Column(String(32))
    # The Rasa conversation (tracker) of this call: the transcript reference.
    sender_id = Column(String(128), nullable=False, index=True)
    # Provider status: ringing|in-progress|completed|busy|no-answer|failed|canceled
    status = Column(String(16), nullable=False, default="in-progress")
    # How the call ended for the caller: goodbye|transferred|callback|emergency|abandoned|
    # caller_hung_up|no_input|failed
    outcome = Column(String(16))
    task_completed = Column(Integer, nullable=False, default=0)  # tasks finished in this call
    started_at = Column(DateTime, nullable=False, default=utcnow)
    ended_at = Column(DateTime)
    duration_seconds = Column(Integer)
    # Bridge state between turns.
    silence_count = Column(Integer, nullable=False, default=0)
    misunderstood_count = Column(Integer, nullable=False, default=0)
    last_spoken = Column(Text)  # the last answer, for 再说一遍 / *
    last_choices = Column(JSON)  # keypad digit -> payload offered with the last answer
    awaiting = Column(String(16))  # None | menu | rating | rating_then_hangup | confirm_speech ...
    speech_rate = Column(Integer)  # percent, after 说慢点 (None: the default rate)
    volume = Column(String(8))  # after 大声点: loud | x-loud (None: default)
    pending_speech = Column(Text)  # heard with low confidence, waiting for "您是说……吗？"
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class CallTurn(Base):
    """One answered webhook. For SMS the message id is the key and turn_no is 0."""

    __tablename__ = "call_turns"
    __table_args__ = (UniqueConstraint("call_sid", "turn_no", name="uq_call_turns_call_sid_turn_no"),)
    id = Column(Integer, primary_key=True)
    call_sid = Column(String(64), nullable=False)
    turn_no = Column(Integer, nullable=False)
    channel = Column(String(8), nullable=False, default="voice")  # voice|sms
    sender_id = Column(String(128), index=True)
    input_kind = Column(String(16))  # start|speech|dtmf|silence|dial_result|sms
    input_masked = Column(String(500))  # what the caller said or pressed, ID/phone masked
    choices = Column(JSON)  # SMS: the "回复1…" choices offered with this answer
    response_body = Column(Text)  # the TwiML we answered; NULL while the turn is running
    created_at = Column(DateTime, nullable=False, default=utcnow)
    answered_at = Column(DateTime)


class SatisfactionRating(Base):
    """A caller's 1-5 rating after a completed task or at the end of a call."""

    __tablename__ = "satisfaction_ratings"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_1_to_5"),)
    id = Column(Integer, primary_key=True)
    call_sid = Column(String(64), nullable=False, index=True)
    channel = Column(String(8), nullable=False, default="voice")
    phone = Column(String(32))
    score = Column(Integer, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
