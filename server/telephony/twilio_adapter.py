"""Twilio: webhooks in, TwiML out, X-Twilio-Signature checked with RequestValidator.

Voice facts (DESIGN.md): <Gather> recognises Mandarin with language cmn-Hans-CN and a pinned
speech model; <Say> speaks it with language cmn-CN and a Polly Mandarin voice; SSML
<prosody rate volume> slows it down (further after 说慢点) and raises it (大声点).
"""

from __future__ import annotations

import re
from typing import Callable, Mapping

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from bot.config import Settings, get_settings
from server.telephony.advisor_line import transfer_target
from server.telephony.base import (
    CallStatusEvent,
    MalformedWebhook,
    SmsEvent,
    TelephonyAdapter,
    VoiceEvent,
    VoicePlan,
)

GATHER_LANGUAGE = "cmn-Hans-CN"
SAY_LANGUAGE = "cmn-CN"
DEFAULT_VOICE = "Polly.Zhiyu-Neural"
DEFAULT_RATE = "85%"
WHISPER_RATE = "100%"
# Pinned, not left to Twilio's choice: Google Speech-to-Text V2's "long" model, which Google
# lists for cmn-Hans-CN (TWILIO_SPEECH_MODEL overrides; check Twilio's <Gather> speechModel
# table when changing it).
DEFAULT_SPEECH_MODEL = "googlev2_long"

_SID = re.compile(r"^[A-Za-z0-9_\-]{2,64}$")
_PHONE = re.compile(r"^[+0-9A-Za-z:@._\-]{0,64}$")  # numbers, client:name, sip:…
_DIAL_STATUSES = {"completed", "answered", "busy", "no-answer", "failed", "canceled"}
MAX_FIELD_CHARS = 2000


def _field(params: Mapping, name: str, max_chars: int = MAX_FIELD_CHARS) -> str:
    value = params.get(name)
    if value is None:
        return ""
    return str(value)[:max_chars]


def _sid(params: Mapping, *names: str) -> str:
    for name in names:
        value = _field(params, name, 100).strip()
        if value:
            if not _SID.match(value):
                raise MalformedWebhook(f"{name} is not a valid id")
            return value
    raise MalformedWebhook(f"missing {names[0]}")


def _number(params: Mapping, name: str) -> str:
    value = _field(params, name, 100).strip()
    return value if _PHONE.match(value) else ""


class TwilioAdapter(TelephonyAdapter):
    name = "twilio"
    voice_content_type = "text/xml; charset=utf-8"
    sms_content_type = "text/xml; charset=utf-8"
    # whisper text -> the signed route that says it to the advisor (server/channels/twilio.py);
    # None: transfers go without a whisper
    whisper_url: Callable[[str], str] | None = None

    def __init__(
        self,
        auth_token: str,
        voice: str = DEFAULT_VOICE,
        rate: str = DEFAULT_RATE,
        speech_model: str = DEFAULT_SPEECH_MODEL,
    ):
        self.auth_token = auth_token
        self.voice = voice
        self.rate = rate
        self.speech_model = speech_model

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "TwilioAdapter":
        """TWILIO_AUTH_TOKEN, TWILIO_VOICE, VOICE_SPEECH_RATE, TWILIO_SPEECH_MODEL (unset: the
        defaults above)."""
        s = settings or get_settings()
        return cls(
            s.twilio_auth_token,
            voice=s.twilio_voice or DEFAULT_VOICE,
            rate=s.voice_speech_rate or DEFAULT_RATE,
            speech_model=s.twilio_speech_model or DEFAULT_SPEECH_MODEL,
        )

    # --- requests in ------------------------------------------------------------------

    def verify(self, url: str, params: Mapping, headers: Mapping) -> bool:
        signature = headers.get("X-Twilio-Signature") or ""
        if not self.auth_token or not signature:
            return False
        return RequestValidator(self.auth_token).validate(url, params, signature)

    def voice_event(self, params: Mapping) -> VoiceEvent:
        confidence = None
        said_confidence = params.get("Confidence")
        try:
            confidence = float(said_confidence) if said_confidence else None
        except ValueError:
            confidence = None
        dial_status = _field(params, "DialCallStatus", 32).strip().lower() or None
        if dial_status is not None and dial_status not in _DIAL_STATUSES:
            dial_status = "failed"
        return VoiceEvent(
            call_id=_sid(params, "CallSid"),
            from_number=_number(params, "From"),
            to_number=_number(params, "To"),
            speech=_field(params, "SpeechResult") or None,
            confidence=confidence,
            digits=re.sub(r"[^0-9*#]", "", _field(params, "Digits", 64)) or None,
            transfer_status=dial_status,
        )

    def sms_event(self, params: Mapping) -> SmsEvent:
        return SmsEvent(
            message_id=_sid(params, "MessageSid", "SmsSid"),
            from_number=_number(params, "From"),
            to_number=_number(params, "To"),
            body=_field(params, "Body"),
        )

    def status_event(self, params: Mapping) -> CallStatusEvent:
        duration = _field(params, "CallDuration", 12).strip()
        return CallStatusEvent(
            call_id=_sid(params, "CallSid"),
            status=_field(params, "CallStatus", 32).strip().lower() or "unknown",
            from_number=_number(params, "From"),
            to_number=_number(params, "To"),
            duration_seconds=int(duration) if duration.isdigit() else None,
        )

    # --- answers out ------------------------------------------------------------------

    def _say(self, parent, text: str, plan: VoicePlan | None = None) -> None:
        say = parent.say(language=SAY_LANGUAGE, voice=self.voice)
        rate = (plan.rate if plan is not None and plan.rate else None) or self.rate
        volume = plan.volume if plan is not None else None
        say.prosody(text, rate=rate, volume=volume)

    def render_voice(self, plan: VoicePlan) -> str:
        response = VoiceResponse()
        if plan.listen is not None:
            listen = plan.listen
            if not plan.interruptible:
                # A read-back is heard to the end: said before the Gather, not inside it.
                for sentence in plan.say:
                    self._say(response, sentence, plan)
            gather = response.gather(
                input="speech dtmf",
                action=listen.result_url,
                method="POST",
                language=GATHER_LANGUAGE,
                speech_model=self.speech_model,
                speech_timeout=str(listen.speech_end_seconds),
                timeout=listen.timeout_seconds,
                num_digits=listen.max_digits,
                finish_on_key="#",
                action_on_empty_result=True,
                hints=",".join(listen.hints) if listen.hints else None,
            )
            for sentence in plan.say if plan.interruptible else plan.listen_prompt:
                self._say(gather, sentence, plan)
            # Only reached if Gather ends without calling its action: silence all the same.
            response.redirect(listen.result_url, method="POST")
            return str(response)
        for sentence in plan.say:
            self._say(response, sentence)
        if plan.transfer_to:
            dial = response.dial(
                action=plan.transfer_result_url,
                method="POST",
                timeout=plan.transfer_timeout_seconds,
                answer_on_bridge=True,
            )
            self._dial_target(dial, plan)
        elif plan.redirect_url:
            if plan.pause_seconds:
                response.pause(length=plan.pause_seconds)
            response.redirect(plan.redirect_url, method="POST")
        elif plan.hangup:
            response.hangup()
        return str(response)

    def _dial_target(self, dial, plan: VoicePlan) -> None:
        """<Number> for a phone or queue number, <Sip> for a SIP address. The whisper's url
        runs on the advisor's leg once they answer, before the caller is put through (with
        answerOnBridge the caller keeps hearing it ring); it is absolute, because it is
        fetched for the advisor's call, not for the one whose TwiML this is."""
        target = transfer_target(plan.transfer_to)
        whisper = {}
        if plan.transfer_whisper and self.whisper_url is not None:
            whisper = {"url": self.whisper_url(plan.transfer_whisper), "method": "POST"}
        if target is not None and target.kind == "sip":
            dial.sip(target.address, **whisper)
        else:
            dial.number(target.address if target is not None else plan.transfer_to, **whisper)

    def render_whisper(self, text: str) -> str:
        """The advisor's leg before the bridge: the whisper, at an ordinary pace (the advisor
        is not the older caller). Nothing else: when it ends, the caller is put through."""
        response = VoiceResponse()
        say = response.say(language=SAY_LANGUAGE, voice=self.voice)
        say.prosody(text, rate=WHISPER_RATE)
        return str(response)

    def render_sms(self, text: str | None) -> str:
        response = MessagingResponse()
        if text:
            response.message(text)
        return str(response)
