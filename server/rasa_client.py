"""The one place the web server talks to Rasa (REST channel and /model/parse).

When Rasa is down or slow the caller still gets a polite answer with the hotline option.
RASA_URL may list several Rasa servers (comma-separated; README "Running on several
machines"): turns go to them in turn, and a server that refuses the connection is skipped
(the turn never reached it, so trying the next cannot run it twice). They share the tracker
store (PostgreSQL) and the lock store (Redis), so any of them can take a conversation's next turn.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field

import requests

from bot.config import get_settings
from bot.text.masking import mask_text
from server import wording

log = logging.getLogger(__name__)

UNAVAILABLE_TEXT = wording.chat("unavailable")

_session = requests.Session()
_next_server = itertools.count()
_next_lock = threading.Lock()


def _urls(value: str) -> list[str]:
    return [u.strip().rstrip("/") for u in value.split(",") if u.strip()]


def rasa_urls() -> list[str]:
    return _urls(get_settings().rasa_url)


def _rotation() -> list[str]:
    urls = rasa_urls()
    with _next_lock:
        start = next(_next_server) % len(urls)
    return urls[start:] + urls[:start]


@dataclass
class Reply:
    """One message of the assistant. `custom` carries the reply-contract flags
    (../shared/DESIGN.md), set where the decision is made: in a domain.yml response's
    `custom:` or an action's json_message. Voice, SMS and web act on them, never on the words.

    - action: "handoff" (put the person through to an advisor), "handoff_unavailable",
      "unavailable" (set here: Rasa or the action server is down); handoff_id: its queue row.
    - urgent: true, with kind "crisis" | "emergency": a person in danger; the phone
      transfers at once. followup: true on a follow-up of an open crisis/emergency/scam.
    - transfer_promise: true: this message promises the transfer ("马上为您转接…") and
      nothing else; a channel that cannot put the person through now (the phone with no
      advisor on duty, SMS always) leaves the message out. When the phone transfers and the
      reply does not end with such a message, the line says its own TRANSFERRING.
    - end: true: the conversation is over (the phone asks the rating, then hangs up).
    - misunderstood: true (or fallback): the assistant did not understand the person.
    - yes_no: true: a yes/no question (a read-back); the phone offers 1 for yes, 2 for no.
    - expects_digits: the answer is a number the caller may key in: an int N (exactly N
      digits: 4 for an ID number's last four, 6 for a one-time code, 11 for a mobile), a
      list [min, max] when the length varies within bounds, or "any" when it is open (a
      booking reference or a day). digits_allow_x: true: the number may end in X (a
      Chinese ID number); the phone takes * for it and says so.
    - task_completed: true: a task was done (the phone asks the rating at goodbye);
      reference: a booking reference the phone says once more in groups of three.
    - kind / stage / suspected / referral: what the safety layer or a referral decided
      (kind "crisis" keeps the phone line open when nobody can take the call).
    """

    text: str
    buttons: list[dict] = field(default_factory=list)
    custom: dict | None = None

    def as_json(self) -> dict:
        data: dict = {"text": self.text, "buttons": self.buttons}
        if self.custom:
            data["custom"] = self.custom
        return data


@dataclass
class ChatResult:
    replies: list[Reply]
    degraded: bool = False  # True when Rasa could not be reached

    @property
    def actions(self) -> list[str]:
        return [r.custom["action"] for r in self.replies if r.custom and r.custom.get("action")]


def send_message(
    sender: str, message: str, metadata: dict | None = None, timeout: float | None = None
) -> ChatResult:
    settings = get_settings()
    try:
        for n, server in enumerate(_rotation(), 1):
            try:
                response = _session.post(
                    server + "/webhooks/rest/webhook",
                    json={"sender": sender, "message": message, "metadata": metadata or {}},
                    timeout=timeout or settings.rasa_timeout_seconds,
                )
                break
            except requests.ConnectionError:
                if n == len(rasa_urls()):
                    raise
                log.warning("rasa server %s refused the connection; trying the next", server)
        log.debug("turn of %s answered by %s", mask_text(sender), server)
        response.raise_for_status()
        raw = response.json()
    except (requests.RequestException, ValueError) as exc:
        log.error(
            "rasa unavailable for sender=%s: %s: %s",
            mask_text(sender),
            type(exc).__name__,
            mask_text(str(exc))[:200],
        )
        return ChatResult([Reply(UNAVAILABLE_TEXT, [], {"action": "unavailable"})], degraded=True)
    replies = _to_replies(raw)
    fell_back = any(r.custom and r.custom.get("fallback") for r in replies)
    # Rasa falls back (or says nothing) when a custom action could not run: if the action
    # server is down, say so honestly instead of "I did not understand".
    if not replies or (fell_back and not actions_status()):
        log.error("rasa could not run the turn for sender=%s (action server down)", mask_text(sender))
        return ChatResult([Reply(UNAVAILABLE_TEXT, [], {"action": "unavailable"})], degraded=True)
    return ChatResult(replies)


def _to_replies(raw: list) -> list[Reply]:
    """Rasa sends text and custom payloads as separate messages; merge a custom payload into
    the text message it follows so each reply carries its own action."""
    replies: list[Reply] = []
    for item in raw if isinstance(raw, list) else []:
        text = item.get("text")
        custom = item.get("custom") if isinstance(item.get("custom"), dict) else None
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in item.get("buttons") or []
        ]
        if text:
            replies.append(Reply(text, buttons, custom))
        elif custom and replies:
            merged = dict(replies[-1].custom or {})
            merged.update(custom)
            replies[-1].custom = merged
        elif buttons and replies:
            replies[-1].buttons.extend(buttons)
    return replies


def _token() -> dict:
    """Rasa's HTTP API (`--auth-token`) takes the token as a query parameter."""
    token = get_settings().rasa_auth_token
    return {"token": token} if token else {}


def parse(text: str, timeout: float = 5.0) -> dict | None:
    try:
        response = _session.post(
            _rotation()[0] + "/model/parse", json={"text": text}, params=_token(), timeout=timeout
        )
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        log.error("rasa parse failed: %s", type(exc).__name__)
        return None


def active_form(sender: str, timeout: float = 3.0) -> str | None:
    """The form a conversation is in the middle of (e.g. book_service_form), if any."""
    try:
        r = _session.get(
            f"{_rotation()[0]}/conversations/{sender}/tracker",
            params={**_token(), "include_events": "NONE"},
            timeout=timeout,
        )
        r.raise_for_status()
        return (r.json().get("active_loop") or {}).get("name")
    except (requests.RequestException, ValueError) as exc:
        log.warning("could not read the state of %s: %s", mask_text(sender), type(exc).__name__)
        return None


def rasa_status(timeout: float = 2.0) -> bool:
    """Every Rasa server listed answers."""
    try:
        return all(
            _session.get(url + "/status", params=_token(), timeout=timeout).status_code == 200
            for url in rasa_urls()
        )
    except requests.RequestException:
        return False


def actions_status(timeout: float = 2.0) -> bool:
    """Every action server listed (ACTION_SERVER_URL, comma-separated) answers."""
    try:
        return all(
            _session.get(url + "/health", timeout=timeout).status_code == 200
            for url in _urls(get_settings().action_server_url)
        )
    except requests.RequestException:
        return False
