"""Playing Twilio's side in tests: signed form posts and TwiML reading. (No tests here.)

The signature is computed exactly as Twilio computes it (RequestValidator.compute_signature
over the full URL and the form fields), so the server's check is exercised for real.
"""

from __future__ import annotations

import socket
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import requests
from twilio.request_validator import RequestValidator

TOKEN = "test-twilio-token-0123456789abcdef"
ADVISOR = "+8613912349000"
CALLER = "+8613800000001"  # 张桂兰 in the demo data
HOTLINE = "+8612349"


def dead_port() -> int:
    """A local port nothing listens on: Rasa really down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def phone_line_env(monkeypatch, rasa_url: str | None = None) -> None:
    """The environment of the phone line in unit tests: Rasa at `rasa_url` (default: really
    down), signed Twilio webhooks, an advisor on duty around the clock, no public base."""
    rasa_url = rasa_url or f"http://127.0.0.1:{dead_port()}"
    monkeypatch.setenv("RASA_URL", rasa_url)
    monkeypatch.setenv("ACTION_SERVER_URL", rasa_url)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", ADVISOR)
    monkeypatch.setenv("ADVISOR_HOURS", "00:00-24:00")
    for name in ("PUBLIC_BASE_URL", "TWILIO_VALIDATE_SIGNATURE", "TWILIO_ACCOUNT_SID"):
        monkeypatch.delenv(name, raising=False)


def phone_line_app(monkeypatch, rasa_url: str | None = None):
    """The web app in-process, on the phone line's environment (`phone_line_env`)."""
    phone_line_env(monkeypatch, rasa_url)
    from server import create_app

    return create_app({"TESTING": True})


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


@dataclass
class TwiML:
    status: int
    body: str
    root: ET.Element | None = field(default=None)

    @classmethod
    def parse(cls, status: int, body: str) -> "TwiML":
        try:
            root = ET.fromstring(body.encode("utf-8"))
        except ET.ParseError:
            root = None
        return cls(status, body, root)

    def all(self, tag: str) -> list[ET.Element]:
        return list(self.root.iter(tag)) if self.root is not None else []

    def first(self, tag: str) -> ET.Element | None:
        found = self.all(tag)
        return found[0] if found else None

    @property
    def said(self) -> str:
        return "".join("".join(s.itertext()) for s in self.all("Say"))

    @property
    def gather(self) -> ET.Element | None:
        return self.first("Gather")

    @property
    def next_path(self) -> str:
        gather = self.gather
        if gather is not None:
            return gather.get("action")
        dial = self.first("Dial")
        return dial.get("action") if dial is not None else None

    @property
    def dialled(self) -> str | None:
        dial = self.first("Dial")
        return "".join(dial.itertext()).strip() if dial is not None else None

    @property
    def hung_up(self) -> bool:
        return self.first("Hangup") is not None


class TwilioSide:
    """Posts to /twilio/* the way Twilio does, against a server at `base_url`."""

    def __init__(self, base_url: str, token: str = TOKEN, public_url: str | None = None, post=None):
        self.base_url = base_url.rstrip("/")
        self.public_url = (public_url or base_url).rstrip("/")
        self.validator = RequestValidator(token)
        self._post = post  # a Flask test client's post, or None for real HTTP

    def signature(self, path: str, params: dict) -> str:
        return self.validator.compute_signature(self.public_url + path, params)

    def post(
        self, path: str, params: dict, signature: str | None = "auto", headers: dict | None = None
    ) -> TwiML:
        headers = dict(headers or {})
        if signature == "auto":
            headers["X-Twilio-Signature"] = self.signature(path, params)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        if self._post is not None:
            r = self._post(path, data=params, headers=headers)
            return TwiML.parse(r.status_code, r.get_data(as_text=True))
        r = requests.post(self.base_url + path, data=params, headers=headers, timeout=60)
        return TwiML.parse(r.status_code, r.text)

    # a call, turn by turn
    def start(self, call_sid: str, caller: str = CALLER) -> TwiML:
        return self.post(
            "/twilio/voice",
            {
                "CallSid": call_sid,
                "From": caller,
                "To": HOTLINE,
                "CallStatus": "ringing",
                "Direction": "inbound",
            },
        )

    def turn(
        self,
        path: str,
        call_sid: str,
        caller: str = CALLER,
        *,
        speech: str | None = None,
        digits: str | None = None,
        dial_status: str | None = None,
    ) -> TwiML:
        params = {
            "CallSid": call_sid,
            "From": caller,
            "To": HOTLINE,
            "CallStatus": "in-progress",
            "Direction": "inbound",
        }
        if speech is not None:
            params.update(SpeechResult=speech, Confidence="0.92")
        if digits is not None:
            params["Digits"] = digits
        if dial_status is not None:
            params["DialCallStatus"] = dial_status
        return self.post(path, params)

    def sms(self, body: str, caller: str = CALLER, message_sid: str | None = None) -> TwiML:
        return self.post(
            "/twilio/sms",
            {
                "MessageSid": message_sid or "SM" + uuid.uuid4().hex,
                "From": caller,
                "To": HOTLINE,
                "Body": body,
            },
        )

    def status(self, call_sid: str, status: str, duration: int | None = None, caller: str = CALLER) -> TwiML:
        params = {"CallSid": call_sid, "CallStatus": status, "From": caller, "To": HOTLINE}
        if duration is not None:
            params["CallDuration"] = str(duration)
        return self.post("/twilio/status", params)


class Call:
    """One call: remembers where Twilio would post next."""

    def __init__(self, side: TwilioSide, caller: str = CALLER):
        self.side, self.caller, self.sid = side, caller, new_call_sid()
        self.last: TwiML | None = None

    def start(self) -> TwiML:
        self.last = self.side.start(self.sid, self.caller)
        return self.last

    def say(self, speech: str) -> TwiML:
        return self._next(speech=speech)

    def press(self, digits: str) -> TwiML:
        return self._next(digits=digits)

    def silence(self) -> TwiML:
        return self._next()

    def dial_result(self, status: str) -> TwiML:
        return self._next(dial_status=status)

    def _next(self, **kwargs) -> TwiML:
        assert self.last is not None and self.last.next_path, f"call is over: {self.last.body}"
        self.last = self.side.turn(self.last.next_path, self.sid, self.caller, **kwargs)
        return self.last
