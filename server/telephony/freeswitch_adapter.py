"""FreeSWITCH through mod_httapi: its form posts in, xml/freeswitch-httapi documents out.

mod_httapi (FreeSWITCH's HT-TAPI application) posts to one URL, runs the <work> of the
document it gets back, and posts again, until the call ends; then it posts once more with
exiting=true. That is the same request/response cycle as Twilio's, so the turn engine is
the same (server/telephony/engine.py); this module only translates:

In (the form fields mod_httapi posts with method=POST; older builds send them in the query
string, which the blueprint reads too):
- session_id: the channel's UUID (the call id); Caller-Caller-ID-Number,
  Caller-Destination-Number, Caller-ANI: the caller profile ("Caller-" prefix)
- the params of our last document, mirrored back on every post: turn (the turn this post
  reports), turn_wait (the "please wait" loops of a turn still running), turn_after
  (listen|transfer|hold|end: what the last document did)
- one-time input results: caller_input (the name we give <playback>/<speak>) with
  input_type: dtmf (the keys matched by a <bind>) or detected_speech (the ASR result:
  NLSML/XML, JSON or plain text, depending on the engine)
- after a bridge: originate_disposition (or variable_originate_disposition with
  extended-data) when the profile lets FreeSWITCH send it; otherwise a post after a bridge
  means the bridge failed (hangup_after_bridge=true ends the call when it succeeded)
- exiting=true: the call is over (the answer is ignored by FreeSWITCH)

Out: <document type="xml/freeswitch-httapi"> with <params> (the next turn), <variables>
(TTS engine and voice for say: files, hangup_after_bridge, continue_on_fail) and <work>:
- speech with input: <playback file="say:…" asr-engine asr-grammar> (speech and keys), or
  without ASR <speak engine voice text> with a DTMF <bind> (keys only)
- speech without input: <speak>; transfer: <execute application="bridge">; <hangup/>
- the advisor's whisper (who calls and why) travels in the bridge's dial string as an
  answer confirmation that speaks it on the advisor's leg (bridge_data)
Only tags mod_httapi registers are used (speak, playback, pause, execute, hangup, break):
an unknown tag would stop the document.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import xml.etree.ElementTree as ET
from typing import Mapping
from urllib.parse import parse_qs, urlsplit

from bot.config import Settings, get_settings
from server import wording
from server.telephony.advisor_line import transfer_target
from server.telephony.base import (
    CallStatusEvent,
    MalformedWebhook,
    SmsEvent,
    TelephonyAdapter,
    VoiceEvent,
    VoicePlan,
)

DOCUMENT_TYPE = "xml/freeswitch-httapi"
INPUT_NAME = "caller_input"
DEFAULT_TTS_ENGINE = "unimrcp"
DEFAULT_ASR_ENGINE = "unimrcp"
DEFAULT_ASR_GRAMMAR = "builtin:speech/transcribe"
DEFAULT_BRIDGE = "sofia/gateway/carrier/{number}"
DEFAULT_SIP_PROFILE = "external"  # the sofia profile that dials a SIP address
# How long the advisor's leg may take to say the whisper after answering, on top of the
# ringing time (originate_timeout counts until the bridge, whisper included).
WHISPER_SECONDS = 30
NO_ASR = {"", "none", "off", "false", "0"}

_ID = re.compile(r"^[A-Za-z0-9_\-]{2,64}$")
_PHONE = re.compile(r"^[+0-9A-Za-z:@._\-]{0,64}$")
MAX_FIELD_CHARS = 2000
# what a bridge's originate_disposition means for the bridge (Twilio's DialCallStatus words)
_DISPOSITIONS = {
    "SUCCESS": "completed",
    "ANSWER": "completed",
    "USER_BUSY": "busy",
    "NO_ANSWER": "no-answer",
    "NO_USER_RESPONSE": "no-answer",
    "ALLOTTED_TIMEOUT": "no-answer",
    "ORIGINATOR_CANCEL": "canceled",
    "CALL_REJECTED": "busy",
}
# Keys of a menu (one key) and of a number (digits, ended by # or a pause; * repeats).
SINGLE_KEY_BINDS = ("~^[0-9*#]$",)
NUMBER_BINDS = ("~^[0-9]+$", "~^[*]$")


def _field(params: Mapping, name: str, max_chars: int = MAX_FIELD_CHARS) -> str:
    value = params.get(name)
    return "" if value is None else str(value)[:max_chars]


def _number(params: Mapping, *names: str) -> str:
    for name in names:
        value = _field(params, name, 100).strip()
        if value and _PHONE.match(value):
            return value
    return ""


def call_id(params: Mapping) -> str:
    for name in ("session_id", "Caller-Unique-ID"):
        value = _field(params, name, 100).strip()
        if value:
            if not _ID.match(value):
                raise MalformedWebhook(f"{name} is not a valid id")
            return value
    raise MalformedWebhook("missing session_id")


def small_number(params: Mapping, name: str, maximum: int) -> int:
    """A param we set ourselves (turn, turn_wait): absent is 0, anything odd is refused."""
    raw = _field(params, name, 20).strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > maximum:
        raise MalformedWebhook(f"{name} is not a small number")
    return int(raw)


def is_exiting(params: Mapping) -> bool:
    return _field(params, "exiting", 10).strip().lower() == "true"


def speech_result(raw: str) -> tuple[str, float | None]:
    """The words and confidence of an ASR result as mod_httapi posts it: NLSML or another
    XML result (<input>…</input>), JSON ({"text": …}), or plain text."""
    raw = (raw or "").strip()
    if not raw:
        return "", None
    if raw.startswith("<"):
        if "<!DOCTYPE" in raw.upper() or "<!ENTITY" in raw.upper():
            return "", None  # never expand entities of a posted document
        try:
            root = ET.fromstring(raw)
        except ET.ParseError:
            return "", None
        text, confidence = "", None
        for element in root.iter():
            tag = element.tag.rsplit("}", 1)[-1].lower()
            if confidence is None and element.get("confidence"):
                confidence = _confidence(element.get("confidence"))
            if tag == "input" and not text:
                text = "".join(element.itertext()).strip()
        if not text:
            instance = next(
                (
                    e
                    for e in root.iter()
                    if e.tag.rsplit("}", 1)[-1].lower() in ("instance", "result")
                    and "".join(e.itertext()).strip()
                ),
                None,
            )
            text = "".join(instance.itertext()).strip() if instance is not None else ""
        return text, confidence
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            return "", None
        if not isinstance(data, dict):
            return "", None
        text = next(
            (
                str(data[k])
                for k in ("text", "result", "input", "transcript")
                if isinstance(data.get(k), (str, int, float))
            ),
            "",
        )
        return text.strip(), _confidence(data.get("confidence"))
    return raw, None


def _confidence(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number / 100 if number > 1 else number


def turn_of(url: str | None) -> tuple[int, int]:
    """The (turn, wait) a turn reference names: '/freeswitch/voice?turn=3&wait=1'."""
    query = parse_qs(urlsplit(url or "").query)
    turn = query.get("turn", ["0"])[0]
    wait = query.get("wait", ["0"])[0]
    return (int(turn) if turn.isdigit() else 0, int(wait) if wait.isdigit() else 0)


def _speakable_in_file(text: str) -> str:
    """Text safe inside a say: file string (':' would split engine:voice:text in older
    FreeSWITCH, '!' separates files, a leading { or [ opens channel variables)."""
    text = re.sub(r"\s+", " ", text).strip()
    return text.replace(":", "，").replace("!", "！").lstrip("{[")


def _whisper_in_dial_string(text: str) -> str:
    """Whisper text safe inside a single-quoted value of a dial string's {…}: no quote,
    backslash, brace, bracket, comma, '|' or '^' (they end or split the value), no '$'
    (mod_httapi refuses variable expansion) and none of what a say: file string splits on."""
    text = _speakable_in_file(text).replace(",", "，")
    return re.sub(r"['\"\\{}\[\]<>|^$=]", "", text).strip()


class FreeswitchAdapter(TelephonyAdapter):
    name = "freeswitch"
    voice_content_type = "text/xml; charset=utf-8"  # mod_httapi requires text/xml
    sms_content_type = "text/xml; charset=utf-8"

    def __init__(
        self,
        user: str,
        password: str,
        *,
        tts_engine: str = DEFAULT_TTS_ENGINE,
        tts_voice: str = "",
        asr_engine: str = DEFAULT_ASR_ENGINE,
        asr_grammar: str = DEFAULT_ASR_GRAMMAR,
        bridge: str = DEFAULT_BRIDGE,
        sip_profile: str = DEFAULT_SIP_PROFILE,
    ):
        self.user = user
        self.password = password
        self.tts_engine = tts_engine or DEFAULT_TTS_ENGINE
        self.tts_voice = tts_voice
        self.asr = asr_engine.strip().lower() not in NO_ASR and bool(asr_grammar.strip())
        self.asr_engine = asr_engine.strip()
        self.asr_grammar = asr_grammar.strip()
        self.bridge = bridge or DEFAULT_BRIDGE
        self.sip_profile = re.sub(r"[^A-Za-z0-9_.\-]", "", sip_profile or "") or DEFAULT_SIP_PROFILE

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "FreeswitchAdapter":
        """The FREESWITCH_* settings; unset ones take the defaults above (FREESWITCH_ASR_ENGINE
        set but empty: keys only)."""
        s = settings or get_settings()
        return cls(
            s.freeswitch_httapi_user,
            s.freeswitch_httapi_password,
            tts_engine=s.freeswitch_tts_engine or DEFAULT_TTS_ENGINE,
            tts_voice=s.freeswitch_tts_voice,
            asr_engine=DEFAULT_ASR_ENGINE if s.freeswitch_asr_engine is None else s.freeswitch_asr_engine,
            asr_grammar=s.freeswitch_asr_grammar or DEFAULT_ASR_GRAMMAR,
            bridge=s.freeswitch_bridge or DEFAULT_BRIDGE,
            sip_profile=s.freeswitch_sip_profile or DEFAULT_SIP_PROFILE,
        )

    @property
    def configured(self) -> bool:
        return bool(self.user and self.password)

    # --- requests in ------------------------------------------------------------------

    def verify(self, url: str, params: Mapping, headers: Mapping) -> bool:
        """HTTP basic auth with FREESWITCH_HTTAPI_USER / _PASSWORD (the profile's
        gateway-credentials); nothing is accepted when they are not configured."""
        if not self.configured:
            return False
        header = str(headers.get("Authorization") or "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return bool(sep) and user_ok and password_ok

    def voice_event(self, params: Mapping) -> VoiceEvent:
        after = _field(params, "turn_after", 16).strip().lower()
        kind = _field(params, "input_type", 32).strip().lower()
        raw = _field(params, INPUT_NAME)
        speech = digits = transfer_status = None
        confidence = None
        if after == "transfer":
            disposition = (
                (
                    _field(params, "originate_disposition", 64)
                    or _field(params, "variable_originate_disposition", 64)
                )
                .strip()
                .upper()
            )
            # No disposition posted: the bridge returned, and hangup_after_bridge ends the
            # call when it succeeded, so it did not.
            transfer_status = _DISPOSITIONS.get(disposition, "no-answer" if not disposition else "failed")
        elif kind == "dtmf":
            digits = re.sub(r"[^0-9*#]", "", raw[:64]) or None
        elif kind == "detected_speech":
            speech, confidence = speech_result(raw)
            speech = speech or None
        return VoiceEvent(
            call_id=call_id(params),
            from_number=_number(params, "Caller-Caller-ID-Number", "Caller-ANI"),
            to_number=_number(params, "Caller-Destination-Number"),
            speech=speech,
            confidence=confidence,
            digits=digits,
            transfer_status=transfer_status,
        )

    def status_event(self, params: Mapping) -> CallStatusEvent:
        """The exiting post: the call is over."""
        duration = (_field(params, "variable_billsec", 12) or _field(params, "variable_duration", 12)).strip()
        return CallStatusEvent(
            call_id=call_id(params),
            status="completed",
            from_number=_number(params, "Caller-Caller-ID-Number", "Caller-ANI"),
            to_number=_number(params, "Caller-Destination-Number"),
            duration_seconds=int(duration) if duration.isdigit() else None,
        )

    def sms_event(self, params: Mapping) -> SmsEvent:
        raise MalformedWebhook("mod_httapi carries calls, not SMS (SMS go through bot/contact/sms.py)")

    # --- answers out ------------------------------------------------------------------

    def _document(self, turn: int, wait: int, after: str, bridge: bool = False):
        root = ET.Element("document", type=DOCUMENT_TYPE)
        params = ET.SubElement(root, "params")
        # Params are mirrored back on every post and cannot be cleared: always all three.
        for name, value in (("turn", str(turn)), ("turn_wait", str(wait)), ("turn_after", after)):
            ET.SubElement(params, name).text = value
        variables = ET.SubElement(root, "variables")
        ET.SubElement(variables, "tts_engine").text = self.tts_engine
        if self.tts_voice:
            ET.SubElement(variables, "tts_voice").text = self.tts_voice
        if bridge:
            # a bridge that ended in a conversation ends the call; a failed one comes back
            ET.SubElement(variables, "hangup_after_bridge").text = "true"
            ET.SubElement(variables, "continue_on_fail").text = "true"
        return root, ET.SubElement(root, "work")

    def _speak(self, work, text: str, **attrs) -> ET.Element:
        speak = ET.SubElement(work, "speak", engine=self.tts_engine)
        if self.tts_voice:
            speak.set("voice", self.tts_voice)
        said = re.sub(r"\s+", " ", text).strip()
        prosody = getattr(self, "_prosody", None)
        if prosody and said:
            said = re.sub(r"[<>&\"]", "", said)
            settings = " ".join(f'{k}="{v}"' for k, v in prosody.items())
            said = f"<speak><prosody {settings}>{said}</prosody></speak>"
        speak.set("text", said)
        for key, value in attrs.items():
            speak.set(key, value)
        return speak

    def bridge_data(self, number: str, timeout_seconds: int, whisper: str | None = None) -> str:
        """The bridge application's dial string for the advisor line: a SIP address through
        the SIP profile (sofia/external/sip:advisors@pbx.example.cn), anything else as a
        number through FREESWITCH_BRIDGE (sofia/gateway/…/{number}, user/{number}).

        The whisper is FreeSWITCH's answer confirmation (switch_ivr_originate.c): with
        group_confirm_key=exec, group_confirm_file is an application the advisor's leg runs
        when it answers, before it is bridged; the caller keeps hearing ringback meanwhile.
        Here it is `playback say:…` with the leg's own tts_engine/tts_voice. All of it
        travels in the dial string's {…} (nothing is left set on the caller's channel for a
        later bridge), the text single-quoted. The ringing time moves to [leg_timeout] and
        group_confirm_cancel_timeout stops it once the advisor answers, while
        originate_timeout, which still runs, gets WHISPER_SECONDS more for the whisper."""
        target = transfer_target(number)
        if target is not None and target.kind == "sip":
            destination = f"sofia/{self.sip_profile}/{target.address}"
        else:
            digits = re.sub(r"[^0-9+*#]", "", number or "")
            destination = self.bridge.replace("{number}", digits)
        timeout = int(timeout_seconds)
        text = _whisper_in_dial_string(whisper or "")
        if not text:
            return f"{{originate_timeout={timeout}}}" + destination
        leg_vars = [
            f"originate_timeout={timeout + WHISPER_SECONDS}",
            "group_confirm_key=exec",
            f"group_confirm_file='playback say:{text}'",
            "group_confirm_cancel_timeout=true",
            f"tts_engine={self.tts_engine}",
        ]
        if self.tts_voice:
            leg_vars.append(f"tts_voice={self.tts_voice}")
        return "{" + ",".join(leg_vars) + "}" + f"[leg_timeout={timeout}]" + destination

    def render_voice(self, plan: VoicePlan) -> str:
        # 说慢点 / 大声点: SSML prosody around what <speak> sends to the TTS engine (MRCP
        # servers take SSML when the text starts with <speak>); the say: files of speech
        # recognition prompts stay plain text. Not tried on a real FreeSWITCH.
        self._prosody = {k: v for k, v in (("rate", plan.rate), ("volume", plan.volume)) if v}
        text = "".join(s.strip() for s in plan.say if s and s.strip())
        if plan.listen is not None:
            listen = plan.listen
            turn, wait = turn_of(listen.result_url)
            root, work = self._document(turn, wait, "listen")
            if not plan.interruptible:
                # A read-back is heard to the end (a speak without binds cannot be
                # interrupted); only the short prompt after it takes input.
                if text:
                    self._speak(work, text)
                text = "".join(s.strip() for s in plan.listen_prompt if s and s.strip())
            timeout_ms = str(max(1, int(listen.timeout_seconds)) * 1000)
            number = listen.max_digits is None
            attrs = {
                "name": INPUT_NAME,
                "input-timeout": timeout_ms,
                # between two keys of a number: as long as an older caller needs
                "digit-timeout": timeout_ms if number else "3000",
            }
            if number:
                attrs["terminators"] = "#"
            if self.asr:
                element = ET.SubElement(
                    work,
                    "playback",
                    name=INPUT_NAME,
                    file="say:" + _speakable_in_file(text or wording.voice("speak_now")),
                )
                element.set("asr-engine", self.asr_engine)
                element.set("asr-grammar", self.asr_grammar)
                for key, value in attrs.items():
                    if key != "name":
                        element.set(key, value)
            else:
                element = self._speak(work, text or wording.voice("press_keys"), **attrs)
            for expression in NUMBER_BINDS if number else SINGLE_KEY_BINDS:
                bind = ET.SubElement(element, "bind")
                if number:
                    bind.set("strip", "#")  # a menu's # is a key; a number's # ends it
                bind.text = expression
            return _serialise(root)
        if plan.transfer_to:
            turn, _ = turn_of(plan.transfer_result_url)
            root, work = self._document(turn, 0, "transfer", bridge=True)
            if text:
                self._speak(work, text)
            ET.SubElement(
                work,
                "execute",
                application="bridge",
                data=self.bridge_data(plan.transfer_to, plan.transfer_timeout_seconds, plan.transfer_whisper),
            )
            if not plan.transfer_result_url:
                ET.SubElement(work, "hangup")  # nowhere to report: the call ends with the bridge
            return _serialise(root)
        if plan.redirect_url:
            turn, wait = turn_of(plan.redirect_url)
            root, work = self._document(turn, wait, "hold")
            if text:
                self._speak(work, text)
            ET.SubElement(work, "pause", milliseconds=str(max(1, plan.pause_seconds or 1) * 1000))
            return _serialise(root)
        # Hang up, and also when the plan names nothing next: mod_httapi would post again.
        root, work = self._document(0, 0, "end")
        if text:
            self._speak(work, text)
        ET.SubElement(work, "hangup")
        return _serialise(root)

    def render_exit(self) -> str:
        """The answer to the exiting post (FreeSWITCH ignores it)."""
        root = ET.Element("document", type=DOCUMENT_TYPE)
        ET.SubElement(ET.SubElement(root, "work"), "break")
        return _serialise(root)

    def render_sms(self, text: str | None) -> str:
        raise NotImplementedError("mod_httapi carries calls, not SMS")


def _serialise(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
