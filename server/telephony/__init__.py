"""Telephony: the phone line and SMS behind a small adapter interface.

- base.py: the interface (TelephonyAdapter) and the provider-neutral events and plans
- twilio_adapter.py: Twilio (TwiML, RequestValidator)
- dialogue.py: the bridge between callers and the assistant (silence, repeat, keypad
  menu, transfer or callback, rating), written against the interface only
- store.py: call records, answered turns (idempotency) and ratings

The web routes are in server/twilio_bp.py; a local call simulator in server/call_simulator.py.
"""
from server.telephony.base import (CallStatusEvent, Listen, MalformedWebhook, SmsEvent,  # noqa: F401
                                   TelephonyAdapter, VoiceEvent, VoicePlan)
