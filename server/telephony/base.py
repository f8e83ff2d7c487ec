"""The telephony adapter interface: what the voice/SMS bridge needs from a phone provider.

The bridge (server/telephony/dialogue.py) only sees provider-neutral events and answers
with a provider-neutral plan; an adapter turns a provider's webhook into an event, the plan
into the provider's markup, and checks that a webhook really comes from the provider.
The turn engine around the bridge (claims, idempotency, retries) is engine.py, shared by
all adapters. Adapters: Twilio (twilio_adapter.py) and, because Twilio no longer carries
calls into mainland China, FreeSWITCH through mod_httapi (freeswitch_adapter.py). Another
one (Asterisk AGI, a carrier's own API) implements the same methods and gets a thin
blueprint; nothing else changes.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Mapping


class MalformedWebhook(ValueError):
    """The webhook lacks what every request of its kind carries (e.g. a call id)."""


@dataclass(frozen=True)
class VoiceEvent:
    """One thing that happened on a call: it started, the caller spoke or pressed keys,
    stayed silent, or a transfer attempt ended."""

    call_id: str
    from_number: str = ""
    to_number: str = ""
    speech: str | None = None  # what speech recognition heard
    confidence: float | None = None
    digits: str | None = None  # keys pressed (0-9, *, #)
    transfer_status: str | None = (
        None  # set when a transfer attempt ended: completed|busy|no-answer|failed|canceled
    )

    @property
    def is_silence(self) -> bool:
        return not (self.speech or "").strip() and not (self.digits or "").strip()


@dataclass(frozen=True)
class SmsEvent:
    message_id: str
    from_number: str
    to_number: str
    body: str


@dataclass(frozen=True)
class CallStatusEvent:
    call_id: str
    status: str  # queued|ringing|in-progress|completed|busy|no-answer|failed|canceled
    from_number: str = ""
    to_number: str = ""
    duration_seconds: int | None = None


@dataclass
class Listen:
    """Wait for the caller to speak or press a key, then report to `result_url`."""

    result_url: str
    hints: tuple[str, ...] = ()
    timeout_seconds: int = 8  # silence before anything is said
    max_digits: int | None = 1  # None: a number, ended by # (or a pause)
    speech_end_seconds: int = 3  # a pause this long ends what the caller says


@dataclass
class VoicePlan:
    """What the line does next, in this order: say the sentences (the caller may talk over
    them when listening), then listen, or transfer, or hang up."""

    say: list[str] = field(default_factory=list)
    listen: Listen | None = None
    transfer_to: str | None = None
    transfer_result_url: str | None = None  # reported to when the transfer attempt ends
    transfer_timeout_seconds: int = 25
    # Said to the advisor (never the caller) when they answer, before the caller is put
    # through: who calls and why (server/telephony/advisor_line.py whisper()).
    transfer_whisper: str | None = None
    pause_seconds: int = 0  # before a redirect
    redirect_url: str | None = None  # fetch the next instructions from here
    hangup: bool = False
    # How the line speaks: a rate ("85%") and a volume ("loud") chosen for this caller
    # (说慢点 / 大声点); None: the provider's configured default.
    rate: str | None = None
    volume: str | None = None
    # False: the caller cannot talk over `say` (a read-back); only `listen_prompt` is
    # interruptible. The flag is set where the question is asked, never from wording.
    interruptible: bool = True
    listen_prompt: list[str] = field(default_factory=list)


class TelephonyAdapter(abc.ABC):
    """One phone provider."""

    name: str = "abstract"
    voice_content_type: str = "application/xml"
    sms_content_type: str = "application/xml"

    @abc.abstractmethod
    def verify(self, url: str, params: Mapping, headers: Mapping) -> bool:
        """True when the request at `url` (the public URL the provider called) with these
        form params and headers was signed by the provider."""

    @abc.abstractmethod
    def voice_event(self, params: Mapping) -> VoiceEvent:
        """The event of a voice webhook; raises MalformedWebhook."""

    @abc.abstractmethod
    def sms_event(self, params: Mapping) -> SmsEvent:
        """The event of an incoming SMS webhook; raises MalformedWebhook."""

    @abc.abstractmethod
    def status_event(self, params: Mapping) -> CallStatusEvent:
        """The event of a call status callback; raises MalformedWebhook."""

    @abc.abstractmethod
    def render_voice(self, plan: VoicePlan) -> str:
        """The provider's markup for a plan."""

    @abc.abstractmethod
    def render_sms(self, text: str | None) -> str:
        """The provider's answer to an incoming SMS: reply with `text` (None: no reply)."""
