"""Playing FreeSWITCH's side in tests: what mod_httapi posts, and reading what it is told to
do. (No tests here.)

mod_httapi posts, on every request of a call: session_id (the channel UUID), hostname, url,
the caller profile with the "Caller-" prefix (Caller-Caller-ID-Number, Caller-ANI,
Caller-Destination-Number, Caller-Unique-ID, …), every param of the last document's
<params> (mirrored back until the call ends; they can be overwritten, never removed), and
once the results of the last input: the name given to <playback>/<speak> (caller_input)
with input_type dtmf or detected_speech. After the call, one post with exiting=true.
Requests carry HTTP basic auth (the profile's gateway-credentials).
"""

from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import requests

USER = "fs-httapi"
PASSWORD = "test-httapi-password-0123456789"
CALLER = "13800000001"  # 张桂兰 in the demo data, as a domestic carrier delivers it
HOTLINE = "12349"
INPUT_NAME = "caller_input"
# The tags mod_httapi registers (mod_httapi.c bind_parser); any other stops the document.
HTTAPI_TAGS = {
    "execute",
    "sms",
    "dial",
    "pause",
    "hangup",
    "record",
    "recordCall",
    "playback",
    "vmName",
    "speak",
    "say",
    "conference",
    "break",
    "log",
    "continue",
    "getVariable",
    "voicemail",
}


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def nlsml(text: str, confidence: float = 0.92) -> str:
    """A speech result as an MRCP recogniser (mod_unimrcp) returns it."""
    return (
        '<?xml version="1.0"?><result><interpretation grammar="builtin:speech/transcribe" '
        f'confidence="{confidence}"><instance>{text}</instance>'
        f'<input mode="speech">{text}</input></interpretation></result>'
    )


@dataclass
class HttapiDoc:
    """A document the server answered."""

    status: int
    body: str
    content_type: str = ""
    root: ET.Element | None = field(default=None)

    @classmethod
    def parse(cls, status: int, body: str, content_type: str = "") -> "HttapiDoc":
        try:
            root = ET.fromstring(body.encode("utf-8"))
        except ET.ParseError:
            root = None
        return cls(status, body, content_type, root)

    @property
    def params(self) -> dict[str, str]:
        node = self.root.find("params") if self.root is not None else None
        return {child.tag: child.text or "" for child in node} if node is not None else {}

    @property
    def variables(self) -> dict[str, str]:
        node = self.root.find("variables") if self.root is not None else None
        return {child.tag: child.text or "" for child in node} if node is not None else {}

    @property
    def work(self) -> list[ET.Element]:
        node = self.root.find("work") if self.root is not None else None
        return list(node) if node is not None else []

    @property
    def said(self) -> str:
        parts = []
        for tag in self.work:
            if tag.tag == "speak":
                parts.append(tag.get("text") or tag.text or "")
            elif tag.tag == "playback" and (tag.get("file") or "").startswith("say:"):
                parts.append(tag.get("file")[4:])
        return "".join(parts)

    @property
    def listen(self) -> ET.Element | None:
        """The tag that collects input (it has <bind> children)."""
        return next((t for t in self.work if t.find("bind") is not None), None)

    @property
    def binds(self) -> list[str]:
        listen = self.listen
        return [b.text for b in listen.findall("bind")] if listen is not None else []

    @property
    def number_entry(self) -> bool:
        listen = self.listen
        return listen is not None and listen.get("terminators") == "#"

    @property
    def speech_input(self) -> bool:
        listen = self.listen
        return listen is not None and bool(listen.get("asr-engine") and listen.get("asr-grammar"))

    @property
    def bridged(self) -> str | None:
        tag = next((t for t in self.work if t.tag == "execute" and t.get("application") == "bridge"), None)
        return tag.get("data") if tag is not None else None

    @property
    def hung_up(self) -> bool:
        return any(t.tag == "hangup" for t in self.work)


class FreeswitchSide:
    """Posts to /freeswitch/voice the way mod_httapi does, against a server at `base_url`
    (real HTTP) or through a Flask test client's post."""

    def __init__(self, base_url: str, user: str = USER, password: str = PASSWORD, post=None):
        self.base_url = base_url.rstrip("/")
        self.user, self.password = user, password
        self._post = post

    def post(self, form: dict, auth: str | None = "auto", path: str = "/freeswitch/voice") -> HttapiDoc:
        headers = {"User-Agent": "mod_httapi/1.0", "Expect": ""}
        if auth == "auto":
            headers["Authorization"] = basic_auth(self.user, self.password)
        elif auth is not None:
            headers["Authorization"] = auth
        if self._post is not None:
            r = self._post(path, data=form, headers=headers)
            return HttapiDoc.parse(r.status_code, r.get_data(as_text=True), r.content_type or "")
        r = requests.post(self.base_url + path, data=form, headers=headers, timeout=60)
        return HttapiDoc.parse(r.status_code, r.text, r.headers.get("Content-Type", ""))


class FsCall:
    """One call as mod_httapi runs it: the caller profile on every post, the params of the
    last document mirrored back, the input results once, exiting=true at the end."""

    def __init__(
        self,
        side: FreeswitchSide,
        caller: str = CALLER,
        destination: str = HOTLINE,
        session_id: str | None = None,
    ):
        self.side, self.caller = side, caller
        self.session_id = session_id or str(uuid.uuid4())
        self.params: dict[str, str] = {}  # what mod_httapi mirrors back
        self.profile = {
            "hostname": "fs-test-01",
            "url": "http://127.0.0.1/freeswitch/voice",
            "Caller-Direction": "inbound",
            "Caller-Logical-Direction": "inbound",
            "Caller-Username": caller,
            "Caller-Dialplan": "XML",
            "Caller-Caller-ID-Name": caller,
            "Caller-Caller-ID-Number": caller,
            "Caller-Orig-Caller-ID-Name": caller,
            "Caller-Orig-Caller-ID-Number": caller,
            "Caller-Network-Addr": "10.0.0.5",
            "Caller-ANI": caller,
            "Caller-Destination-Number": destination,
            "Caller-Unique-ID": self.session_id,
            "Caller-Source": "mod_sofia",
            "Caller-Context": "public",
            "Caller-Channel-Name": f"sofia/external/{caller}@10.0.0.5",
            "Caller-Profile-Index": "1",
        }
        self.last: HttapiDoc | None = None
        self.ended = False

    def form(self, **one_time: str) -> dict:
        return {"session_id": self.session_id, **self.profile, **self.params, **one_time}

    def _post(self, **one_time: str) -> HttapiDoc:
        assert not self.ended, "call is over"
        doc = self.side.post(self.form(**one_time))
        if doc.status == 200 and doc.root is not None:
            self.params.update(doc.params)  # overwritten, never removed
        self.last = doc
        return doc

    def start(self) -> HttapiDoc:
        return self._post()

    def say(self, text: str, result: str = "nlsml") -> HttapiDoc:
        assert self.last is not None and self.last.listen is not None, self.last and self.last.body
        assert self.last.speech_input, "the line does not listen for speech"
        raw = {
            "nlsml": nlsml(text),
            "json": json.dumps({"text": text, "confidence": 0.9}, ensure_ascii=False),
            "plain": text,
        }[result]
        return self._post(**{INPUT_NAME: raw, "input_type": "detected_speech"})

    def press(self, digits: str) -> HttapiDoc:
        assert self.last is not None and self.last.listen is not None, self.last and self.last.body
        # a number's # is a terminator and never reaches the result
        value = digits.rstrip("#") if self.last.number_entry else digits
        return self._post(**{INPUT_NAME: value, "input_type": "dtmf"})

    def silence(self) -> HttapiDoc:
        """The prompt ran out without input: mod_httapi posts again with nothing new."""
        return self._post()

    def bridge_failed(self, disposition: str | None = None) -> HttapiDoc:
        """The bridge to the advisor returned without a conversation (continue_on_fail);
        with get-vars/extended-data the profile also posts originate_disposition."""
        assert self.last is not None and self.last.bridged, self.last and self.last.body
        extra = {"variable_originate_disposition": disposition} if disposition else {}
        return self._post(**extra)

    def hang_up(self, duration: int | None = None) -> HttapiDoc:
        """The call is over (the caller hung up, or the document hung up): the exiting post."""
        extra = {"exiting": "true"}
        if duration is not None:
            extra["variable_billsec"] = str(duration)
        doc = self.side.post(self.form(**extra))
        self.ended = True
        return doc
