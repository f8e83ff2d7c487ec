"""The phone and SMS bridge between a caller and the assistant, provider-neutral.

A voice turn: what the caller said or pressed goes to Rasa (server.rasa_client) and the
replies come back as a VoicePlan the adapter renders. Around Rasa the bridge adds what a
frail caller on a landline needs: silence is met with a second ask, then a keypad menu;
再说一遍 / * repeats the last answer; after two misunderstandings the keypad menu and a
human are offered; 0 or a reply asking for a handoff transfers to an advisor within
advisor hours and otherwise takes a callback request; an emergency transfers at once;
when Rasa is down the caller hears why and is transferred; goodbye hangs up, with a 1-5
keypad rating asked once per call after a finished task or at goodbye.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
from typing import Callable

from bot import clock, handoff
from bot.config import Settings, get_settings
from bot.masking import mask_phone
from bot.textnorm import clean
from server import rasa_client
from server.speech import (HUMAN_PAYLOAD, KEYPAD_MENU_TEXT, keypad_choices, read_digits,
                           sms_text, speakable, spoken_choices)
from server.telephony import store
from server.telephony.base import Listen, SmsEvent, VoiceEvent, VoicePlan
from server.telephony.store import CallState

log = logging.getLogger(__name__)

MAX_SPEECH_CHARS = 500
MAX_SILENCES = 4  # 1: ask again, 2-3: keypad menu, 4: goodbye
RECOGNITION_HINTS = ("转人工", "再说一遍", "政策", "补贴", "预约", "上门服务", "助浴", "助餐",
                     "再见", "是的", "不是", "第一个", "第二个", "第三个", "取消预约", "不用来了")

# Said on the line by the bridge itself.
NOT_HEARD = "不好意思，我没听到您说话。"
NOT_HEARD_AGAIN = "我还是没听到您的声音。您可以直接说想办什么事。"
NO_INPUT_GOODBYE = "我一直没听到您的声音，先挂断了。需要帮助请再打{hotline}。再见！"
REPEATING = "好的，我再说一遍。"
NOTHING_TO_REPEAT = "我刚才还没说什么。请问您想办什么事？"
NO_SUCH_KEY = "没有这个选项。"
NOT_UNDERSTOOD = "不好意思，我没听明白。您能换个说法再说一遍吗？"
TRANSFERRING = "正在为您转接人工顾问，请不要挂机。"
SYSTEM_BUSY = "不好意思，系统现在有点忙，暂时没法回答您的问题。"
OFF_DUTY = "现在顾问不在班，顾问的上班时间是{hours}。"
CALLBACK_TAKEN = "我已经帮您登记了，顾问会尽快给您回电话，打到您现在用的这个号码。"
CALLBACK_ALREADY = "您的回电登记已经记下了，顾问会尽快给您回电话。"
CALLBACK_FAILED = "不好意思，登记没有成功。请您在顾问上班时间再打{hotline}。"
ADVISOR_NO_ANSWER = "不好意思，顾问现在都在忙，没能接通。"
EMERGENCY_CALL_120 = "如果情况紧急，请您先挂断，马上拨打幺二零。"
STAY_ON_LINE = "我还在听，您想说什么都可以跟我说。"
ANYTHING_ELSE = "还有别的事需要帮忙吗？"
GOODBYE = "祝您身体健康，再见！"
RATING_SCALE = "很满意请按5，满意按4，一般按3，不太满意按2，很不满意按1。"
RATING_AFTER_TASK = "为了把服务做得更好，请您给这次服务打个分：" + RATING_SCALE
RATING_AT_GOODBYE = "挂电话之前，请您给这次服务打个分：" + RATING_SCALE + "不想打分，直接挂机就行。"
RATING_THANKS = "谢谢您的评价！"
TECHNICAL_TROUBLE = "不好意思，系统出了点问题。"
YES_NO_KEYS = {"1": "对", "2": "不对"}
YES_NO_KEYS_TEXT = "对的请按1，不对请按2。"
NUMBER_BY_KEYPAD = "您也可以在电话上按数字，按完请按井号键。"
# Questions whose answer is a number an older caller may rather type than say.
NUMBER_QUESTION = re.compile(r"最后四位|后四位|身份证号|手机号|电话号码|预约号")

# What a caller says to hear the last answer again (short utterances only).
REPEAT_PHRASES = ("再说一遍", "再说一次", "再讲一遍", "再讲一次", "重复一遍", "重复一下", "重复一次",
                  "再来一遍", "没听清", "没听见", "听不清", "听不见", "你说什么", "您说什么", "说慢点",
                  "慢点说", "再说一下")
# Replies of the assistant that mean "not understood" (besides custom.fallback).
MISUNDERSTOOD_MARKERS = ("没听明白", "没听懂", "没明白您的意思")
# The assistant's goodbye (utter_goodbye); the bridge hangs up after it.
GOODBYE_MARKER = "再见"
_TRANSFER_WORDS = ("转接", "转人工", "请稍等", "不要挂")
_RATING_WORDS = (("非常不满意", 1), ("很不满意", 1), ("不太满意", 2), ("不满意", 2),
                 ("非常满意", 5), ("很满意", 5), ("特别满意", 5), ("满意", 4), ("一般", 3),
                 ("还行", 3), ("凑合", 3))
_RATING_DIGITS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "一": 1, "二": 2, "两": 2, "三": 3,
                  "四": 4, "五": 5}


# --- advisor hours --------------------------------------------------------------------

def parse_hours(spec: str) -> list[tuple[dt.time, dt.time]]:
    """'08:00-12:00,13:30-20:00' -> [(08:00, 12:00), (13:30, 20:00)]; 24:00 means midnight
    at the end of the day. Malformed parts are skipped (and logged)."""
    ranges = []
    for part in (spec or "").split(","):
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", part)
        if not match:
            if part.strip():
                log.warning("ADVISOR_HOURS part %r is not HH:MM-HH:MM; ignored", part)
            continue
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            log.warning("ADVISOR_HOURS part %r is out of range; ignored", part)
            continue
        end = dt.time.max if h2 == 24 else dt.time(h2, m2)
        ranges.append((dt.time(h1, m1), end))
    return ranges


def advisor_on_duty(settings: Settings, now: dt.datetime | None = None) -> bool:
    """Is an advisor there to take a transfer now (China time)?"""
    if not settings.advisor_phone_number:
        return False
    moment = (now or clock.now()).time()
    return any(start <= moment < end for start, end in parse_hours(settings.advisor_hours))


def hours_spoken(settings: Settings) -> str:
    ranges = parse_hours(settings.advisor_hours)
    if not ranges:
        return "工作日白天"
    parts = []
    for start, end in ranges:
        end_text = "24:00" if end == dt.time.max else end.strftime("%H:%M")
        parts.append(speakable(f"{start.strftime('%H:%M')}-{end_text}"))
    return "，".join(parts)


# --- understanding what the caller gave us --------------------------------------------

def is_repeat_request(text: str) -> bool:
    core = re.sub(r"[\s，。！？,.!?、]|请|麻烦|您|你|能|吗|吧|啊|呀|一下子", "", text)
    return len(core) <= 10 and any(p in text for p in REPEAT_PHRASES)


def parse_rating(event: VoiceEvent) -> int | None:
    """1-5 from a key press, a spoken digit (五分, 5) or words (很满意)."""
    if event.digits:
        return _RATING_DIGITS.get(event.digits[0]) if event.digits[0] in "12345" else None
    text = re.sub(r"[\s，。！？,.!?]", "", event.speech or "")
    if not text or len(text) > 12:
        return None
    for word, score in _RATING_WORDS:
        if word in text:
            return score
    found = [_RATING_DIGITS[ch] for ch in text if ch in _RATING_DIGITS]
    return found[0] if len(found) == 1 else None


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?])", text) if s.strip()]


# --- the voice bridge -----------------------------------------------------------------

class VoiceBridge:
    """Runs one turn of a call. `turn_url(n)` is where the provider reports turn n."""

    def __init__(self, turn_url: Callable[[int], str], settings: Settings | None = None):
        self.turn_url = turn_url
        self.settings = settings or get_settings()
        timeout = os.environ.get("VOICE_INPUT_TIMEOUT_SECONDS", "").strip()
        # Older callers take a moment to start speaking; 8 s before a silence counts.
        self.input_timeout = int(timeout) if timeout.isdigit() and 1 <= int(timeout) <= 30 else 8

    # entry point ------------------------------------------------------------------------
    def handle(self, state: CallState, event: VoiceEvent, turn_no: int) -> VoicePlan:
        nxt = self.turn_url(turn_no + 1)
        if turn_no == 0 and event.is_silence and event.transfer_status is None:
            return self._start(state, nxt)
        if event.transfer_status is not None:
            return self._after_transfer(state, event, nxt)
        if state.awaiting in ("rating", "rating_then_hangup"):
            plan = self._rating(state, event, nxt)
            if plan is not None:
                return plan
        if event.is_silence:
            return self._silence(state, nxt)
        state.silence_count = 0
        if event.digits:
            return self._keys(state, event.digits, nxt)
        text = clean(event.speech, MAX_SPEECH_CHARS + 1)
        if len(text) > MAX_SPEECH_CHARS:
            return self._listen(["您说的内容有点长，麻烦您说短一点，一次说一件事。"], nxt)
        if is_repeat_request(text):
            return self._repeat(state, nxt)
        return self._answer(state, self._send(state, text), nxt)

    def failure_plan(self, state: CallState, turn_no: int) -> VoicePlan:
        """When a turn fails unexpectedly: never silence, never a dropped caller."""
        return self._transfer(state, [TECHNICAL_TROUBLE], self.turn_url(turn_no + 1),
                              hang_up_after_callback=True)

    # turns ------------------------------------------------------------------------------
    def _start(self, state: CallState, nxt: str) -> VoicePlan:
        result = self._send(state, "/greet")
        if result.degraded or not result.replies:
            hotline = read_digits(self.settings.hotline_number)
            return self._transfer(state, [f"您好，这里是{hotline}养老服务热线。", SYSTEM_BUSY], nxt,
                                  hang_up_after_callback=True)
        return self._answer(state, result, nxt)

    def _send(self, state: CallState, message: str) -> rasa_client.ChatResult:
        return rasa_client.send_message(state.sender_id, message, {
            "channel": "voice", "phone": state.from_number, "call_sid": state.call_sid})

    def _answer(self, state: CallState, result: rasa_client.ChatResult, nxt: str,
                forced_human: bool = False) -> VoicePlan:
        """Speaks what the assistant answered and decides what the line does next."""
        if result.degraded or "unavailable" in result.actions:
            return self._transfer(state, [SYSTEM_BUSY], nxt, hang_up_after_callback=True)
        replies = result.replies
        customs = [r.custom for r in replies if r.custom]
        said = [s for s in (speakable(r.text) for r in replies) if s]
        urgent = next((c for c in customs if c.get("urgent")), None)
        if urgent is not None:
            log.warning("emergency on call sid=%s: transferring at once", state.call_sid)
            # The emergency is already at the top of the advisor queue (safety event).
            return self._transfer(state, said, nxt, urgent=True,
                                  already_queued=urgent.get("handoff_id") is not None
                                  or bool(urgent.get("followup")),
                                  crisis=urgent.get("kind") == "crisis")
        if "handoff" in result.actions or forced_human:
            return self._transfer(state, said, nxt)
        misunderstood = (not said or any(c.get("fallback") for c in customs)
                         or any(m in r.text for r in replies for m in MISUNDERSTOOD_MARKERS))
        if not said:
            said = [NOT_UNDERSTOOD]
        state.misunderstood_count = state.misunderstood_count + 1 if misunderstood else 0
        if any(c.get("task_completed") for c in customs):
            state.task_completed += 1
            if not state.rated:
                state.awaiting = "rating"
                state.last_choices = {}
                state.last_spoken = RATING_AFTER_TASK
                return self._listen(said + [RATING_AFTER_TASK], nxt)
        if any(GOODBYE_MARKER in r.text for r in replies):
            state.outcome = "goodbye"
            if state.rated:
                return VoicePlan(say=said, hangup=True)
            state.awaiting = "rating_then_hangup"
            state.last_choices = {}
            state.last_spoken = RATING_AT_GOODBYE
            # The goodbye waits until the caller has rated (or not).
            kept = [s for s in said if GOODBYE_MARKER not in s] or ["好的。"]
            return self._listen(kept + [RATING_AT_GOODBYE], nxt)
        buttons = next((r.buttons for r in reversed(replies) if r.buttons), [])
        choice_text, choices = spoken_choices(buttons)
        if misunderstood and state.misunderstood_count >= 2:
            # Two misses in a row: the keypad menu (and 0 for a human) instead of more guessing.
            state.misunderstood_count = 0
            choice_text, choices = KEYPAD_MENU_TEXT, keypad_choices()
        state.last_choices = choices
        spoken = said + ([choice_text] if choice_text else [])
        state.last_spoken = "".join(spoken)
        if not choices and any(c.get("yes_no") for c in customs):
            # a read-back ("…对吗？"): the keypad answers it too
            state.last_choices = dict(YES_NO_KEYS)
            state.awaiting = None
            spoken = said + [YES_NO_KEYS_TEXT]
            state.last_spoken = "".join(spoken)
            return self._listen(spoken, nxt)
        expects_digits = any(c.get("expects_digits") for c in customs)
        if not choices and (expects_digits or any(NUMBER_QUESTION.search(r.text) for r in replies)):
            # A number is asked for (ID digits, a phone, a reference): keys are that number.
            state.awaiting = "digits"
            return self._listen(spoken + [NUMBER_BY_KEYPAD], nxt, number_entry=True)
        state.awaiting = None
        return self._listen(spoken, nxt)

    def _keys(self, state: CallState, digits: str, nxt: str) -> VoicePlan:
        number = digits.strip("#*")
        if len(number) > 1 or (state.awaiting == "digits" and number and number != "0"):
            # A number typed on the keypad is an answer, not a menu choice.
            state.awaiting = None
            return self._answer(state, self._send(state, number), nxt)
        key = digits[0]
        if key == "*":
            return self._repeat(state, nxt)
        if key == "#":
            return self._menu(state, [], nxt)
        payload = state.last_choices.get(key) or keypad_choices().get(key)
        if payload is None:
            return self._menu(state, [NO_SUCH_KEY], nxt)
        state.awaiting = None
        result = self._send(state, payload)
        # 0 is a promise on every menu: a person, whatever the assistant made of it.
        return self._answer(state, result, nxt, forced_human=payload == HUMAN_PAYLOAD)

    def _menu(self, state: CallState, before: list[str], nxt: str) -> VoicePlan:
        state.last_choices = keypad_choices()
        state.last_spoken = KEYPAD_MENU_TEXT
        return self._listen(before + [KEYPAD_MENU_TEXT], nxt)

    def _repeat(self, state: CallState, nxt: str) -> VoicePlan:
        if not state.last_spoken:
            return self._listen([NOTHING_TO_REPEAT], nxt)
        return self._listen([REPEATING, state.last_spoken], nxt,
                            number_entry=state.awaiting == "digits")

    def _silence(self, state: CallState, nxt: str) -> VoicePlan:
        state.silence_count += 1
        if state.silence_count == 1:
            return self._listen([NOT_HEARD, state.last_spoken or NOTHING_TO_REPEAT], nxt,
                                number_entry=state.awaiting == "digits")
        if state.silence_count < MAX_SILENCES:
            return self._menu(state, [NOT_HEARD_AGAIN], nxt)
        state.outcome = state.outcome or "no_input"
        hotline = read_digits(self.settings.hotline_number)
        return VoicePlan(say=[NO_INPUT_GOODBYE.format(hotline=hotline)], hangup=True)

    def _rating(self, state: CallState, event: VoiceEvent, nxt: str) -> VoicePlan | None:
        then_hang_up = state.awaiting == "rating_then_hangup"
        score = parse_rating(event)
        if score is not None:
            store.record_rating(state.call_sid, score, phone=state.from_number)
            state.rated, state.awaiting = True, None
            if then_hang_up:
                return VoicePlan(say=[RATING_THANKS + GOODBYE], hangup=True)
            state.last_spoken = ANYTHING_ELSE
            return self._listen([RATING_THANKS + ANYTHING_ELSE], nxt)
        if event.digits and event.digits[0] in "*0":
            return None  # repeat the question / a person: handled as usual
        if event.is_silence or event.digits:
            state.awaiting = None
            if then_hang_up:
                return VoicePlan(say=[GOODBYE], hangup=True)
            state.last_spoken = ANYTHING_ELSE
            return self._listen(["好的。" + ANYTHING_ELSE], nxt)
        state.awaiting = None  # the caller said something else: carry on with it
        return None

    # people -----------------------------------------------------------------------------
    def _transfer(self, state: CallState, said: list[str], nxt: str, urgent: bool = False,
                  hang_up_after_callback: bool = False, already_queued: bool = False,
                  crisis: bool = False) -> VoicePlan:
        """To an advisor now if one is on duty; otherwise a callback request in the queue."""
        state.awaiting = None
        if hang_up_after_callback and not urgent and store.has_open_callback(state.sender_id):
            # The assistant is down and an advisor already failed to answer: do not keep
            # the caller in a loop of transfers; the callback is in the queue.
            return VoicePlan(say=said + [CALLBACK_ALREADY, GOODBYE], hangup=True)
        if advisor_on_duty(self.settings):
            state.outcome = "emergency" if urgent else "transferred"
            log.info("transferring call sid=%s to the advisor line (%s)", state.call_sid,
                     "urgent" if urgent else "requested")
            say = list(said)
            if not any(w in "".join(said) for w in ("转接", "转人工")):
                say.append(TRANSFERRING)
            return VoicePlan(say=say, transfer_to=self.settings.advisor_phone_number,
                             transfer_result_url=nxt)
        # Nobody to put the caller through to: drop the promise of a transfer, keep the rest.
        kept = [s for text in said for s in _sentences(text)
                if not any(w in s for w in _TRANSFER_WORDS)]
        say = kept + [OFF_DUTY.format(hours=hours_spoken(self.settings)),
                      CALLBACK_TAKEN if already_queued else self._callback(state)]
        if urgent and crisis:
            # A person in crisis is not hung up on: the assistant stays on the line.
            state.outcome = "emergency"
            state.last_spoken = STAY_ON_LINE
            state.last_choices = {}
            return self._listen(say + [STAY_ON_LINE], nxt)
        if urgent:
            state.outcome = "emergency"
            return VoicePlan(say=say + [EMERGENCY_CALL_120], hangup=True)
        if hang_up_after_callback:
            return VoicePlan(say=say + [GOODBYE], hangup=True)
        state.last_spoken = ANYTHING_ELSE
        state.last_choices = {}
        return self._listen(say + [ANYTHING_ELSE], nxt)

    def _callback(self, state: CallState) -> str:
        if store.has_open_callback(state.sender_id):
            state.outcome = state.outcome if state.outcome == "emergency" else "callback"
            return CALLBACK_ALREADY
        hotline = read_digits(self.settings.hotline_number)
        try:
            handoff_id = handoff.create_handoff(
                "callback", sender_id=state.sender_id, channel="voice", phone=state.from_number,
                summary="电话来电需要顾问回电（转人工时无人接听或不在班）")
        except Exception:
            log.exception("could not queue a callback for call sid=%s phone=%s",
                          state.call_sid, mask_phone(state.from_number))
            return CALLBACK_FAILED.format(hotline=hotline)
        state.outcome = state.outcome if state.outcome == "emergency" else "callback"
        log.info("callback queued handoff=%s call sid=%s", handoff_id, state.call_sid)
        return CALLBACK_TAKEN

    def _after_transfer(self, state: CallState, event: VoiceEvent, nxt: str) -> VoicePlan:
        if event.transfer_status in ("completed", "answered"):
            return VoicePlan(hangup=True)
        log.info("advisor line did not answer (%s) for call sid=%s", event.transfer_status,
                 state.call_sid)
        urgent = state.outcome == "emergency"
        say = [ADVISOR_NO_ANSWER, self._callback(state)]
        if urgent:
            return VoicePlan(say=say + [EMERGENCY_CALL_120], hangup=True)
        state.last_spoken = ANYTHING_ELSE
        state.last_choices = {}
        return self._listen(say + [ANYTHING_ELSE], nxt)

    # -----------------------------------------------------------------------------------
    def _listen(self, say: list[str], nxt: str, number_entry: bool = False) -> VoicePlan:
        return VoicePlan(say=[s for s in say if s],
                         listen=Listen(result_url=nxt, hints=RECOGNITION_HINTS,
                                       timeout_seconds=self.input_timeout,
                                       max_digits=None if number_entry else 1))


# --- SMS ------------------------------------------------------------------------------

SMS_EMPTY = "您好，这里是12349养老服务热线。请直接发文字告诉我您想办什么事，比如：问政策、预约上门服务。"
SMS_TOO_LONG = "您发的内容有点长，麻烦您分几条发，一次说一件事。"
SMS_BUSY = "不好意思，系统现在有点忙，暂时没法回答。请稍后再发，或拨打12349找顾问。"
SMS_HANDOFF = "已经帮您转给人工顾问，顾问会尽快用这个号码联系您。"
SMS_OPTED_OUT = "好的，已为您退订，以后不再给您发通知短信。需要帮助请拨打12349。"
# What people reply to stop notices (the carriers' TD, and plain words)
SMS_STOP = re.compile(r"^(退订|TD|T|STOP|UNSUBSCRIBE|取消订阅|不要再发了?|别再发了?)[。.!！]*$", re.I)


def _reminder_reply(number: str, body: str) -> str | None:
    """The intent payload of a reply to a visit reminder, or None (also when the database
    cannot answer: the words then go to the conversation as they are)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.outreach.reminders import reminder_reply_payload

    try:
        return reminder_reply_payload(number, body.strip())
    except SQLAlchemyError as exc:
        log.warning("reminder reply lookup failed: %s", type(exc).__name__)
        return None


def sms_turn(event: SmsEvent, settings: Settings | None = None) -> tuple[str, dict[str, str]]:
    """One incoming SMS -> the reply text and the digits it offers ("回复1 …")."""
    settings = settings or get_settings()
    body = clean(event.body, MAX_SPEECH_CHARS + 1)
    if not body:
        return SMS_EMPTY, {}
    if len(body) > MAX_SPEECH_CHARS:
        return SMS_TOO_LONG, {}
    if SMS_STOP.match(body.strip()):
        from bot.sms import opt_out

        opt_out(event.from_number)
        return SMS_OPTED_OUT, {}
    message = body
    reply_payload = _reminder_reply(event.from_number, body)
    if reply_payload:
        message = reply_payload  # 改时间 / 取消 after a visit reminder (bot/outreach/)
    elif re.fullmatch(r"[0-9]", body):
        message = store.last_sms_choices(event.from_number).get(body) \
            or keypad_choices().get(body) or body
    result = rasa_client.send_message(event.from_number, message,
                                      {"channel": "sms", "phone": event.from_number})
    if result.degraded or "unavailable" in result.actions:
        return SMS_BUSY, {}
    replies = [(r.text, r.buttons) for r in result.replies]
    if "handoff" in result.actions:
        # "转接…请稍等" is for the phone; by SMS the advisor gets back to the person.
        replies = [("".join(s for s in _sentences(text) if not any(w in s for w in _TRANSFER_WORDS)),
                    buttons) for text, buttons in replies]
        replies.append((SMS_HANDOFF, []))
    return sms_text(replies, hotline=settings.hotline_number)
