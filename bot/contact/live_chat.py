"""The web chat's live handoff: a person who asked for someone talks to an advisor in the
same chat window, or leaves a callback number when nobody can take it.

A web conversation's first handoff of the kinds in LIVE_KINDS starts a *thread*
(`Handoff.live_step`, the messages in `chat_messages`, bot/models/live_chat.py). Its steps:

- waiting: queued, nobody has claimed it. The person's messages still go to the bot and
  are kept in the thread for the advisor who claims it.
- live: an advisor claimed it. The person's messages go to the advisor only, except what
  the safety layer (bot/safety) reads as a crisis, an emergency or a scam: that goes to the
  bot as well, which answers it and queues it at the top.
- callback_phone -> callback_confirm -> callback_time -> callback: nobody claimed it within
  WEB_HANDOFF_WAIT_SECONDS, or it is outside advisor hours (bot/contact/advisor_calendar.py). The
  person gives a number (digits or Chinese numerals), confirms it, says when to call; the
  handoff becomes a callback request with the number and the time. 先不办了 leaves it.
- closed (the advisor closed it) or left (the person left the callback questions).

Framework-free: server/api/chat.py calls `before_turn` for each chat message and `updates` for
the widget's polling; the console (server/advisor/) calls `claim`, `reply` and `close`.
Wording comes from domain.yml's responses (utter_live_*), the one home of what the
assistant says. Numbers are masked in every log line.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import unicodedata
from dataclasses import dataclass, field

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import safety
from bot.contact import advisor_calendar
from bot.config import PROJECT_ROOT, get_settings
from bot.db import session_scope
from bot.text.masking import mask_phone, mask_text
from bot.models import Handoff
from bot.models.base import utcnow
from bot.models.live_chat import ACTIVE_STEPS, CALLBACK_STEPS, OUTCOMES, ChatMessage
from bot.registry import validate
from bot.text.norm import clean, normalize

log = logging.getLogger(__name__)

DOMAIN_PATH = PROJECT_ROOT / "domain.yml"
WEB_SENDER_PREFIX = "web-"
# Requests for a person that open a thread in the web chat.
LIVE_KINDS = frozenset({"request_human", "fallback", "complaint", "crisis", "emergency", "scam"})
# What the safety layer reads as danger: such a message always reaches the bot too.
DANGER = frozenset({"crisis", "emergency", "scam"})
ADVISOR_NAME = "顾问"
MAX_REPLY_CHARS = 1000
MAX_TIME_CHARS = 40
_LEAVE = re.compile(r"先不办|不办了|不用了|算了|不要了|取消")
_YES = re.compile(r"^(对|对的|是|是的|没错|正确|嗯|好|好的|对啊|是啊)[。！!.]?$")
_NO = re.compile(r"^(不对|不是|错了|不正确|号码不对|说错了)")
_NUMBER_RUN = re.compile(r"\+?\d[\d \-()（）]{5,}\d")


class LiveChatError(ValueError):
    """An advisor's action that is not allowed (not theirs, thread over, empty text);
    the message is Chinese, for the console."""


# -- wording -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _responses() -> dict:
    data = yaml.safe_load(DOMAIN_PATH.read_text(encoding="utf-8")) or {}
    return data.get("responses") or {}


def response(name: str, **values: str) -> dict:
    """A domain.yml response as the chat shows it: {"text", "buttons"} (first variant)."""
    variant = _responses()[name][0]
    text = variant["text"].format(**values) if values else variant["text"]
    return {
        "text": text,
        "buttons": [{"title": b["title"], "payload": b["payload"]} for b in variant.get("buttons") or []],
    }


# -- the thread ----------------------------------------------------------------------------


def is_web(sender_id: str | None) -> bool:
    return sender_id is not None and sender_id.startswith(WEB_SENDER_PREFIX)


def _newest_thread(session: Session, sender_id: str, step_condition) -> Handoff | None:
    return session.execute(
        select(Handoff)
        .where(Handoff.sender_id == sender_id, step_condition)
        .order_by(Handoff.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def active_thread(session: Session, sender_id: str) -> Handoff | None:
    """The conversation's thread still going on (waiting, live or in the callback step)."""
    return _newest_thread(session, sender_id, Handoff.live_step.in_(ACTIVE_STEPS))


def latest_thread(session: Session, sender_id: str) -> Handoff | None:
    return _newest_thread(session, sender_id, Handoff.live_step.is_not(None))


def attach(session: Session, handoff: Handoff) -> None:
    """Called for every new handoff (bot/contact/handoff.py): a web request for a person starts a
    thread unless the conversation has one going on already (then it joins that one in the
    queue, grouped by conversation)."""
    if handoff.kind not in LIVE_KINDS or not is_web(handoff.sender_id):
        return
    if active_thread(session, handoff.sender_id) is None:
        handoff.live_step = "waiting"


def thread_id(sender_id: str) -> int | None:
    with session_scope() as s:
        thread = active_thread(s, sender_id)
        return thread.id if thread else None


def add_message(
    session: Session,
    thread: Handoff,
    author: str,
    text: str,
    *,
    advisor: str | None = None,
    via_bot: bool = False,
) -> ChatMessage:
    message = ChatMessage(
        handoff_id=thread.id,
        sender_id=thread.sender_id,
        author=author,
        advisor=advisor,
        text=text,
        via_bot=via_bot,
    )
    session.add(message)
    session.flush()
    return message


def _waited_too_long(thread: Handoff) -> bool:
    waited = (utcnow() - thread.created_at).total_seconds()
    return waited >= get_settings().web_handoff_wait_seconds or not advisor_calendar.on_duty()


def _asked(session: Session, thread: Handoff) -> bool:
    """Did the person ask for someone? A fallback alone is the bot offering a person
    (utter_offer_human), which they may have turned down: it waits in the queue, but the
    chat does not ask them for a callback number."""
    if thread.kind != "fallback":
        return True
    return (
        session.execute(
            select(Handoff.id)
            .where(
                Handoff.sender_id == thread.sender_id, Handoff.status == "open", Handoff.kind != "fallback"
            )
            .limit(1)
        ).first()
        is not None
    )


def _expire(session: Session, thread: Handoff) -> None:
    """Nobody claimed it in time (or the advisors are off duty): ask for a callback number.
    Conditional, so of two requests at once only one adds the question."""
    if thread.live_step != "waiting" or not _waited_too_long(thread) or not _asked(session, thread):
        return
    moved = session.execute(
        update(Handoff)
        .where(Handoff.id == thread.id, Handoff.live_step == "waiting", Handoff.status == "open")
        .values(live_step="callback_phone")
    ).rowcount
    if moved:
        session.refresh(thread)
        add_message(session, thread, "system", response("utter_live_busy_ask_callback")["text"])
        log.info("live handoff %s: nobody claimed it in time, asking for a callback number", thread.id)


def ask_callback(handoff_id: int) -> None:
    """Outside advisor hours the handoff action asks for a number itself (its reply is the
    question, so the thread does not repeat it)."""
    with session_scope() as s:
        s.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.live_step.in_(("waiting", "callback_phone")))
            .values(live_step="callback_phone")
        )


# -- the person's side -----------------------------------------------------------------------


@dataclass
class Turn:
    """What to do with a person's chat message."""

    to_bot: bool = True  # send it to Rasa as usual
    replies: list[dict] = field(default_factory=list)  # answers of the thread itself
    live: bool = False  # an advisor holds the conversation


def is_danger(text: str) -> bool:
    return safety.assess(normalize(text)).kind in DANGER


def before_turn(sender_id: str, text: str) -> Turn:
    """Stores a person's message in their thread (if any) and says whether the bot gets it."""
    with session_scope() as s:
        thread = active_thread(s, sender_id)
        if thread is None:
            return Turn()
        _expire(s, thread)
        step = thread.live_step
        if is_danger(text):
            add_message(s, thread, "person", text, via_bot=True)
            log.warning(
                "live handoff %s: a message read as danger goes to the bot (step %s)", thread.id, step
            )
            return Turn(to_bot=True, live=step == "live")
        if step == "waiting":
            add_message(s, thread, "person", text, via_bot=True)
            return Turn()
        if step == "live":
            add_message(s, thread, "person", text)
            return Turn(to_bot=False, live=True)
        add_message(s, thread, "person", text)
        reply = _callback_step(s, thread, text)
        add_message(s, thread, "system", reply["text"], via_bot=True)
        return Turn(to_bot=False, replies=[reply])


def parse_number(text: str) -> str | None:
    """A mainland mobile or landline number in what the person typed (138 0000 0001,
    一三八零零零零零零零一, 025-84000053; a local number gets the district's area code)."""
    flat = normalize(text, fuzzy=False)
    area_code = get_settings().local_area_code
    for match in _NUMBER_RUN.finditer(flat):
        try:
            number = validate.phone(match.group(), area_code)
        except validate.RowError:
            continue
        if number:
            return number
    return None


def spaced(number: str) -> str:
    """13800000001 -> 138 0000 0001; 02584000053 -> 025 8400 0053 (read back in groups)."""
    if number.startswith("0"):
        head = 3 if number[1] in "12" else 4
    else:
        head = 3
    rest = number[head:]
    groups = [rest[max(i - 4, 0) : i] for i in range(len(rest), 0, -4)][::-1]
    return " ".join([number[:head], *groups])


def _callback_step(s: Session, thread: Handoff, text: str) -> dict:
    step = thread.live_step
    said = clean(text)
    if _LEAVE.search(said):
        thread.live_step = "left"
        thread.status = "closed"
        thread.closed_at = utcnow()
        thread.notes = "对方在登记回电时说先不办了"
        log.info("live handoff %s: the person left the callback step", thread.id)
        return response("utter_live_left")
    if step == "callback_phone" or (step == "callback_confirm" and parse_number(said)):
        number = parse_number(said)
        if number is None:
            return response("utter_live_number_unclear")
        thread.callback_phone = number
        thread.live_step = "callback_confirm"
        log.info("live handoff %s: callback number %s heard", thread.id, mask_phone(number))
        return response("utter_live_confirm_number", phone=spaced(number))
    if step == "callback_confirm":
        if _NO.search(said):
            thread.callback_phone = None
            thread.live_step = "callback_phone"
            return response("utter_live_number_unclear")
        if _YES.search(said):
            thread.live_step = "callback_time"
            return response("utter_live_ask_time")
        return response("utter_live_confirm_number", phone=spaced(thread.callback_phone))
    # callback_time: whatever they say is the time (a button's words or their own)
    when = mask_text(said)[:MAX_TIME_CHARS]
    _queue_callback(thread, when)
    return response("utter_live_callback_done", phone=spaced(thread.phone), time=when)


def _queue_callback(thread: Handoff, when: str) -> None:
    from bot.contact.handoff import PRIORITY  # the queue's priorities (bot/contact/handoff.py imports us)

    thread.phone = thread.callback_phone
    thread.callback_phone = None
    thread.live_step = "callback"
    reason = thread.summary or ""
    if thread.priority >= PRIORITY["callback"]:  # people in danger keep their place
        thread.kind = "callback"
        thread.priority = PRIORITY["callback"]
    thread.summary = mask_text(f"网页对话请回电，时间：{when}。原因：{reason}")[:500]
    log.info("live handoff %s: callback queued to %s, time %s", thread.id, mask_phone(thread.phone), when)


def _state(thread: Handoff | None) -> str:
    if thread is None:
        return "none"
    step = thread.live_step
    if step in ("waiting", "live"):
        return step
    if step in CALLBACK_STEPS or step == "callback":
        return "callback"
    return "closed"


def updates(sender_id: str, after: int = 0, limit: int = 50) -> dict:
    """What the widget polls: the thread's state and the advisor's and system's messages
    after message id `after` (the ones the chat turn itself did not show). The web server
    adds each message's `speech` wording (server/speech.py)."""
    with session_scope() as s:
        thread = active_thread(s, sender_id)
        if thread is not None:
            _expire(s, thread)
        thread = thread or latest_thread(s, sender_id)
        rows = s.execute(
            select(ChatMessage)
            .where(
                ChatMessage.sender_id == sender_id,
                ChatMessage.id > after,
                ChatMessage.author.in_(("advisor", "system")),
                ChatMessage.via_bot.is_(False),
            )
            .order_by(ChatMessage.id)
            .limit(limit)
        ).scalars()
        messages = [
            {
                "id": m.id,
                "author": m.author,
                "name": ADVISOR_NAME if m.author == "advisor" else "",
                "text": m.text,
                "at": m.created_at.replace(tzinfo=dt.timezone.utc).isoformat(),
            }
            for m in rows
        ]
        return {"state": _state(thread), "messages": messages}


# -- the advisor's side ---------------------------------------------------------------------


def group(session: Session, handoff: Handoff) -> list[Handoff]:
    """The handoff and the others of its conversation still in the queue."""
    if not handoff.sender_id:
        return [handoff]
    rows = list(
        session.execute(
            select(Handoff)
            .where(Handoff.sender_id == handoff.sender_id, Handoff.status.in_(("open", "claimed")))
            .order_by(Handoff.priority, Handoff.created_at, Handoff.id)
        ).scalars()
    )
    return rows if handoff in rows else [handoff, *rows]


def claim(session: Session, handoff_id: int, username: str) -> tuple[Handoff | None, bool]:
    """Claims a handoff and the open ones of the same conversation (conditional: of two
    advisors at once exactly one gets it); a waiting or callback-step thread goes live and
    the person is told. Returns (handoff, whether this advisor got it)."""
    now = utcnow()
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        return None, False
    if (
        handoff.sender_id
        and session.execute(
            select(Handoff.id)
            .where(
                Handoff.sender_id == handoff.sender_id,
                Handoff.status == "claimed",
                Handoff.claimed_by != username,
            )
            .limit(1)
        ).first()
    ):
        return handoff, False  # another advisor holds this conversation
    claimed = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "open")
        .values(status="claimed", claimed_by=username, claimed_at=now)
    ).rowcount
    if not claimed:
        return handoff, False
    session.refresh(handoff)
    if handoff.sender_id:
        session.execute(
            update(Handoff)
            .where(Handoff.sender_id == handoff.sender_id, Handoff.status == "open")
            .values(status="claimed", claimed_by=username, claimed_at=now)
        )
        thread = active_thread(session, handoff.sender_id)
        if thread is None and handoff.kind in LIVE_KINDS and is_web(handoff.sender_id):
            thread = handoff  # it joined a thread that has ended since: it opens its own
        if thread is not None and thread.live_step != "live":
            thread.live_step = "live"
            thread.callback_phone = None
            add_message(session, thread, "system", response("utter_live_advisor_joined")["text"])
            log.info("live handoff %s: advisor %s joined the chat", thread.id, username)
    return handoff, True


def _thread_of(session: Session, handoff: Handoff, username: str) -> Handoff:
    if handoff.claimed_by != username or handoff.status != "claimed":
        raise LiveChatError("只有认领这条记录的顾问才能回复或结束。")
    thread = active_thread(session, handoff.sender_id) if is_web(handoff.sender_id) else None
    if thread is None or thread.live_step != "live":
        raise LiveChatError("这段网页对话已经结束，不能再回复了。")
    return thread


def _typed(text: str | None) -> str:
    """What an advisor typed, as typed (Chinese punctuation kept), without control
    characters other than line breaks."""
    return "".join(ch for ch in text or "" if ch == "\n" or unicodedata.category(ch)[0] != "C").strip()


def reply(session: Session, handoff_id: int, username: str, text: str) -> ChatMessage:
    """An advisor's message into the person's chat."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise LiveChatError("没有找到这条记录。")
    body = _typed(text)
    if not body:
        raise LiveChatError("回复内容不能为空。")
    if len(body) > MAX_REPLY_CHARS:
        raise LiveChatError(f"回复太长了，请分几次发（每次不超过{MAX_REPLY_CHARS}字）。")
    thread = _thread_of(session, handoff, username)
    return add_message(session, thread, "advisor", body, advisor=username)


def close(session: Session, handoff_id: int, username: str, outcome: str, notes: str) -> list[Handoff]:
    """Closes the advisor's handoff and the others of the conversation they hold, with an
    outcome (a key of OUTCOMES) and notes; a live thread ends and the bot takes over."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise LiveChatError("没有找到这条记录。")
    if outcome not in OUTCOMES:
        raise LiveChatError("请选择处理结果。")
    notes = _typed(notes)[:2000]
    if not notes:
        raise LiveChatError("请填写处理说明。")
    if handoff.claimed_by != username or handoff.status != "claimed":
        raise LiveChatError("只能关闭自己认领的记录。")
    items = [h for h in group(session, handoff) if h.status == "claimed" and h.claimed_by == username]
    now = utcnow()
    for item in items:
        item.status = "closed"
        item.outcome = outcome
        item.notes = mask_text(notes)
        item.closed_by = username
        item.closed_at = now
    thread = active_thread(session, handoff.sender_id) if is_web(handoff.sender_id) else None
    if thread is not None:
        thread.live_step = "closed"
        add_message(session, thread, "system", response("utter_live_closed")["text"])
    session.flush()
    return items


def thread_messages(session: Session, sender_id: str) -> list[ChatMessage]:
    return list(
        session.execute(
            select(ChatMessage).where(ChatMessage.sender_id == sender_id).order_by(ChatMessage.id)
        ).scalars()
    )
