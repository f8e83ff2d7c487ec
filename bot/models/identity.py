"""Proof of identity in a conversation: one-time SMS codes and every identity attempt."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String

from bot.models.base import Base, utcnow


class IdentityChallenge(Base):
    """A one-time code sent to an elder's registered mobile (or her family contact's) for
    one conversation. Only a keyed hash of the code is stored."""

    __tablename__ = "identity_challenges"
    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    elder_id = Column(Integer, ForeignKey("elders.id"), nullable=False, index=True)
    sent_to = Column(String(20), nullable=False)  # the number on file the code went to
    code_hash = Column(String(64), nullable=False)
    tries = Column(Integer, nullable=False, default=0)
    status = Column(String(12), nullable=False, default="open")  # open|verified|failed
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)


class IdentityAttempt(Base):
    """One try to prove who one is (a code said, name + ID digits): limits and the audit."""

    __tablename__ = "identity_attempts"
    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    elder_id = Column(Integer, ForeignKey("elders.id"), index=True)
    method = Column(String(16), nullable=False)  # sms_code|id_last4|caller_id
    ok = Column(Boolean, nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)


class IdentityProof(Base):
    """Who proved control of which elder's number, in which conversation, and whether they
    act for her (a relative or someone else: the code went to her family contact, or they
    said who they are to her). The case file shows these to advisors; the audit log has a
    row for each. Never read back as a proof: proof lives in the conversation's session
    slots and ends with the session. Holds no full number (`proved_with` is masked)."""

    __tablename__ = "identity_proofs"
    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    elder_id = Column(Integer, ForeignKey("elders.id"), nullable=False, index=True)
    method = Column(String(16), nullable=False)  # sms_code|caller_id
    channel = Column(String(16))
    acting_for = Column(Boolean, nullable=False, default=False)  # not the elder herself
    relation = Column(String(16))  # as said: 女儿, 儿子, 配偶, 邻居… (None: not said)
    contact_name = Column(String(32))  # the family contact on file, when the code went to her/him
    proved_with = Column(String(24), nullable=False)  # masked number: 139****0000
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
