"""Telephony: the phone line and SMS behind a small adapter interface.

- engine.py: the telephony service, one turn engine for every provider: claims and
  idempotency per (call id, turn), retries of a turn still running, call state, failures,
  end of call, SMS turns
- base.py: the adapter interface (TelephonyAdapter) and the provider-neutral events and plans
- twilio_adapter.py: Twilio (TwiML, RequestValidator)
- freeswitch_adapter.py: FreeSWITCH mod_httapi (xml/freeswitch-httapi documents, basic auth)
  for mainland carriers, which Twilio no longer reaches
- dialogue.py: the bridge between callers and the assistant (silence, repeat, keypad
  menu, transfer or callback, rating), written against the interface only
- store.py: call records, answered turns (idempotency) and ratings

The web routes are thin: server/channels/twilio.py (/twilio/*) and server/channels/freeswitch.py
(/freeswitch/voice); a local call simulator (Twilio) in server/call_simulator.py.
"""

from server.telephony.base import (  # noqa: F401
    CallStatusEvent,
    Listen,
    MalformedWebhook,
    SmsEvent,
    TelephonyAdapter,
    VoiceEvent,
    VoicePlan,
)
