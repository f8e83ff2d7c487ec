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
import re
from functools import lru_cache
from typing import Callable

from bot import clock
from bot.contact import advisor_calendar
from bot.contact import handoff
from bot.config import Settings, get_settings
from bot.text.masking import mask_phone
from bot.text.norm import clean
from server import rasa_client, wording
from server.speech import (
    HUMAN_PAYLOAD,
    KEYPAD_MENU_TEXT,
    keypad_choices,
    read_digits,
    sms_text,
    speakable,
    spoken_choices,
)
from server.speech import say_reference
from server.telephony import store
from server.telephony.advisor_line import (
    caller_id_withheld,
    callback_number,
    digits_said,
    transfer_target,
    whisper,
)
from server.telephony.base import Listen, SmsEvent, VoiceEvent, VoicePlan
from server.telephony.store import CallState

log = logging.getLogger(__name__)

MAX_SPEECH_CHARS = 500
MAX_SILENCES = 4  # 1: ask again, 2-3: keypad menu, 4: goodbye
RECOGNITION_HINTS = wording.words("recognition_hints")
YES_NO_HINTS = wording.words("yes_no_hints")

# Said on the line by the bridge itself (server/wording.yml).
NOT_HEARD = wording.voice("not_heard")
NOT_HEARD_AGAIN = wording.voice("not_heard_again")
NO_INPUT_GOODBYE = wording.voice("no_input_goodbye")
REPEATING = wording.voice("repeating")
NOTHING_TO_REPEAT = wording.voice("nothing_to_repeat")
NO_SUCH_KEY = wording.voice("no_such_key")
NOT_UNDERSTOOD = wording.voice("not_understood")
SPEECH_TOO_LONG = wording.voice("speech_too_long")
TRANSFERRING = wording.voice("transferring")
SYSTEM_BUSY = wording.voice("system_busy")
GREETING_WHEN_BUSY = wording.voice("greeting_when_busy")
OFF_DUTY = wording.voice("off_duty")
CALLBACK_TAKEN = wording.voice("callback_taken")
CALLBACK_ALREADY = wording.voice("callback_already")
CALLBACK_FAILED = wording.voice("callback_failed")
# Caller ID withheld (server/telephony/advisor_line.py): a callback needs a typed number.
CALLER_ID_WITHHELD = wording.voice("caller_id_withheld")
ASK_CALLBACK_NUMBER = wording.voice("ask_callback_number")
TYPE_AGAIN = wording.voice("type_again")
READ_BACK_NUMBER = wording.voice("read_back_number")
CONFIRM_NUMBER_KEYS = wording.voice("confirm_number_keys")
NUMBER_NOT_HEARD = wording.voice("number_not_heard")
NUMBER_WRONG_LENGTH = wording.voice("number_wrong_length")
NUMBER_BY_KEYS = wording.voice("number_by_keys")
CALLBACK_TO_NUMBER = wording.voice("callback_to_number")
NO_CALLBACK_NUMBER = wording.voice("no_callback_number")
NO_NUMBER_TO_CALL = wording.voice("no_number_to_call")
CALLBACK_NUMBER, CALLBACK_CONFIRM = "callback_number", "callback_confirm"  # CallState.awaiting
MAX_CALLBACK_NUMBER_TRIES = 3
_NO_NUMBER_WORDS = wording.words("no_number")
ADVISOR_NO_ANSWER = wording.voice("advisor_no_answer")
EMERGENCY_CALL_120 = wording.voice("emergency_call_120")
STAY_ON_LINE = wording.voice("stay_on_line")
OK = wording.voice("ok")
ANYTHING_ELSE = wording.voice("anything_else")
GOODBYE = wording.voice("goodbye")
RATING_SCALE = wording.voice("rating_scale")
RATING_AT_GOODBYE = wording.voice("rating_at_goodbye").format(scale=RATING_SCALE)
RATING_THANKS = wording.voice("rating_thanks")
# The first thing a caller hears: who answers, that a person is one key away, and (when
# VOICE_RECORDING_NOTICE is on) that the call may be recorded.
FIRST_PROMPT = wording.voice("first_prompt")
RECORDING_NOTICE = wording.voice("recording_notice")
FIRST_QUESTION = wording.voice("first_question")
CONFIRM_SPEECH = wording.voice("confirm_speech")
SAY_AGAIN = wording.voice("say_again")
SLOWER_DONE = wording.voice("slower_done")
LOUDER_DONE = wording.voice("louder_done")
FORM_MISUNDERSTOOD = wording.voice("form_misunderstood")
REFERENCE_AGAIN = wording.voice("reference_again")
ID_X_BY_STAR = wording.voice("id_x_by_star")
TECHNICAL_TROUBLE = wording.voice("technical_trouble")
YES_NO_KEYS = wording.keyed("words", "yes_no_keys")
YES_NO_KEYS_TEXT = wording.voice("yes_no_keys")
NUMBER_BY_KEYPAD = wording.voice("number_by_keypad")
# CallState.awaiting while a number is keyed in (an ID number may end in X, keyed as *).
DIGITS, DIGITS_X = "digits", "digits_x"

# What a caller says to hear the last answer again (short utterances only).
REPEAT_PHRASES = wording.words("repeat")
# The rating: three answers, by key or by word; nothing else counts (a number said in a
# sentence is not a rating). Stored on the 1-5 scale of satisfaction_ratings: 5, 3, 1.
_RATING_KEYS = {"1": 5, "2": 3, "3": 1}
_RATING_WORDS = wording.scored_words("rating")
_RATING_FILLER = re.compile(r"[\s，。！？,.!?]|很|非常|挺|特别|比较|还|都|吧|啊|呀|嗯|的|我|觉得|打|分")
# 说慢点 / 大声点: the rest of the call is slower (down to a floor) or louder.
SLOWER_PHRASES = wording.words("slower")
LOUDER_PHRASES = wording.words("louder")
RATE_STEPS = (85, 75, 65)  # percent; the last is the floor
VOLUMES = ("loud", "x-loud")
CONFIRM_BELOW = 0.5  # recognition confidence below which "您是说……吗？" is asked
_YES_WORDS = wording.words("yes")
_NO_WORDS = wording.words("no")


# --- advisor hours --------------------------------------------------------------------


def parse_hours(spec: str) -> list[tuple[dt.time, dt.time]]:
    """'08:00-12:00,13:30-20:00' -> [(08:00, 12:00), (13:30, 20:00)] (bot/contact/advisor_calendar.py)."""
    return advisor_calendar.parse_hours(spec)


def advisor_on_duty(settings: Settings, now: dt.datetime | None = None) -> bool:
    """Is an advisor there to take a transfer now (China time)? The region's advisor
    calendar (weekly hours, public holidays, 调休) or ADVISOR_HOURS decides, and only when
    ADVISOR_PHONE_NUMBER can be dialled (a number or a SIP address)."""
    if not settings.advisor_phone_number:
        return False
    if transfer_target(settings.advisor_phone_number) is None:
        log.error(
            "ADVISOR_PHONE_NUMBER is neither a phone number nor a SIP address: "
            "callers get callbacks instead of transfers"
        )
        return False
    return advisor_calendar.on_duty(now or clock.now(), settings)


def hours_spoken(settings: Settings) -> str:
    """The advisor hours as a caller hears them: 周一到周五上午八点到晚上八点，周六上午九点到
    下午五点，周日和法定节假日休息 (or ADVISOR_HOURS' ranges, the same every day)."""
    parts = []
    for days, spec in advisor_calendar.weekly_summary(settings):
        if spec:
            parts.append(days + "，".join(speakable(r) for r in spec.split(",")))
        else:
            parts.append(wording.voice("hours_closed").format(days=days))
    return "，".join(parts) or wording.voice("hours_unknown")


# --- understanding what the caller gave us --------------------------------------------


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[str, ...]:
    """What callers name most: the services, the district's streets, the programs (read
    from the service database and the policy pack once per process)."""
    words: list[str] = []
    try:
        from bot.db import session_scope
        from bot.models.booking import ServiceType
        from bot.models.people import Street
        from sqlalchemy import select

        with session_scope() as s:
            words += list(s.execute(select(ServiceType.name)).scalars())
            words += list(s.execute(select(Street.name)).scalars())
    except Exception:  # noqa: BLE001 - hints are a help to recognition, never a failure
        log.warning("recognition hints: services and streets unavailable")
    try:
        from bot.policy.kb import get_kb

        words += [p.short_name for p in get_kb().programs()]
    except Exception:  # noqa: BLE001
        log.warning("recognition hints: policy programs unavailable")
    return tuple(dict.fromkeys(w for w in words if w and len(w) <= 20))


def step_hints(buttons: list[dict] | None = None) -> tuple[str, ...]:
    """Recognition hints for the question just asked: its choices when it offers some,
    otherwise what callers name (services, streets, programs); always the line's words."""
    titles = tuple(b.get("title", "") for b in (buttons or []) if b.get("title"))
    base = RECOGNITION_HINTS[:4]
    return tuple(dict.fromkeys(base + (titles or RECOGNITION_HINTS[4:] + _vocabulary())))[:100]


def is_repeat_request(text: str) -> bool:
    core = re.sub(r"[\s，。！？,.!?、]|请|麻烦|您|你|能|吗|吧|啊|呀|一下子", "", text)
    return len(core) <= 10 and any(p in text for p in REPEAT_PHRASES)


def parse_rating(event: VoiceEvent) -> int | None:
    """5, 3 or 1 from key 1/2/3 or the words 满意/一般/不满意; None for anything else."""
    if event.digits:
        return _RATING_KEYS.get(event.digits[0])
    core = _RATING_FILLER.sub("", event.speech or "")
    if not core or len(core) > 5:
        return None
    for word, score in _RATING_WORDS:
        if core == word:
            return score
    return None


def yes_or_no(event: VoiceEvent) -> bool | None:
    """Key 1/2 or a short 对/不对 (for "您是说……吗？"); None when it is neither."""
    if event.digits:
        return {"1": True, "2": False}.get(event.digits[0])
    return yes_or_no_said(event.speech)


def yes_or_no_said(text: str | None) -> bool | None:
    """A short spoken 对/是的 (True) or 不对/不是 (False); None for anything longer or else."""
    core = re.sub(r"[\s，。！？,.!?]", "", text or "")
    if core in _NO_WORDS:
        return False
    if core in _YES_WORDS:
        return True
    return None


def _asks(text: str, phrases: tuple[str, ...]) -> bool:
    core = re.sub(r"[\s，。！？,.!?]|请|麻烦|您|你|能|吗|吧|啊|呀|再|一下|可以", "", text)
    return len(core) <= 8 and any(p in text for p in phrases)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?])", text) if s.strip()]


def valid_expects_digits(value: object) -> bool:
    """Is `value` a well-formed `expects_digits` flag (server/rasa_client.py Reply): a
    length N >= 1, a [min, max] range, or "any"?"""
    if value == "any":
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 1
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in value)
        and 1 <= value[0] <= value[1]
    )


def number_asked(customs: list[dict]) -> tuple[bool, bool]:
    """(a number is asked for, it may end in X) from the replies' flags."""
    asked = allow_x = False
    for custom in customs:
        value = custom.get("expects_digits")
        if value is None:
            continue
        if not valid_expects_digits(value):
            log.warning("reply flag expects_digits=%r is not a length, a range or 'any'", value)
            continue
        asked = True
        allow_x = allow_x or bool(custom.get("digits_allow_x"))
    return asked, allow_x


def _heard(replies: list[rasa_client.Reply]) -> list[tuple[str, bool]]:
    """What of the replies can be said, each with its `transfer_promise` flag."""
    heard = [(speakable(r.text), bool((r.custom or {}).get("transfer_promise"))) for r in replies]
    return [(text, promise) for text, promise in heard if text]


# --- the voice bridge -----------------------------------------------------------------


class VoiceBridge:
    """Runs one turn of a call. `turn_url(n)` is where the provider reports turn n."""

    def __init__(self, turn_url: Callable[[int], str], settings: Settings | None = None):
        self.turn_url = turn_url
        self.settings = settings or get_settings()
        # Older callers take a moment to start speaking (8 s by default before a silence counts)
        self.input_timeout = self.settings.voice_input_timeout_seconds
        # A pause this long ends what the caller says (not "auto": it cuts off hesitant
        # speakers at their first pause).
        self.speech_end = self.settings.voice_speech_end_seconds
        confirm_below = self.settings.voice_confirm_below
        self.confirm_below = CONFIRM_BELOW if confirm_below is None else confirm_below

    # entry point ------------------------------------------------------------------------
    def handle(self, state: CallState, event: VoiceEvent, turn_no: int) -> VoicePlan:
        nxt = self.turn_url(turn_no + 1)
        if turn_no == 0 and event.is_silence and event.transfer_status is None:
            return self._start(state, nxt)
        if event.transfer_status is not None:
            return self._after_transfer(state, event, nxt)
        if state.awaiting in (CALLBACK_NUMBER, CALLBACK_CONFIRM):
            return self._callback_number(state, event, nxt)  # caller ID withheld
        if state.awaiting in ("rating", "rating_then_hangup"):
            plan = self._rating(state, event, nxt)
            if plan is not None:
                return plan
        if state.awaiting == "confirm_speech" and not event.is_silence:
            plan = self._confirmed_speech(state, event, nxt)
            if plan is not None:
                return plan
        if event.is_silence:
            return self._silence(state, nxt)
        state.silence_count = 0
        if event.digits:
            return self._keys(state, event.digits, nxt)
        text = clean(event.speech, MAX_SPEECH_CHARS + 1)
        if len(text) > MAX_SPEECH_CHARS:
            return self._listen([SPEECH_TOO_LONG], nxt)
        if _asks(text, SLOWER_PHRASES):
            return self._slower(state, nxt)
        if _asks(text, LOUDER_PHRASES):
            return self._louder(state, nxt)
        if is_repeat_request(text):
            return self._repeat(state, nxt)
        if self._unsure_heard(event, text):
            # Low recognition confidence: one question before acting on words we may have
            # misheard (never for words that may mean danger: those are acted on at once).
            state.pending_speech, state.awaiting = text, "confirm_speech"
            state.last_spoken = CONFIRM_SPEECH.format(text=text)
            return self._listen([state.last_spoken], nxt, hints=YES_NO_HINTS)
        return self._answer(state, self._send(state, text), nxt)

    # what the caller asked of the line itself -----------------------------------------
    def _unsure_heard(self, event: VoiceEvent, text: str) -> bool:
        if event.confidence is None or event.confidence >= self.confirm_below:
            return False
        from bot import safety

        return safety.assess(text).kind not in ("crisis", "emergency", "scam", "unsure")

    def _confirmed_speech(self, state: CallState, event: VoiceEvent, nxt: str) -> VoicePlan | None:
        """The answer to "您是说……吗？": yes acts on the words heard, no asks again;
        anything else is a new message (None: handled as usual)."""
        pending, answer = state.pending_speech, yes_or_no(event)
        state.pending_speech, state.awaiting = None, None
        if answer is True and pending:
            return self._answer(state, self._send(state, pending), nxt)
        if answer is False:
            state.last_spoken = SAY_AGAIN
            return self._listen([SAY_AGAIN], nxt)
        return None

    def _slower(self, state: CallState, nxt: str) -> VoicePlan:
        current = state.speech_rate or RATE_STEPS[0]
        state.speech_rate = next((r for r in RATE_STEPS if r < current), RATE_STEPS[-1])
        log.info("call sid=%s speech rate now %s%%", state.call_sid, state.speech_rate)
        return self._said_again(state, SLOWER_DONE, nxt)

    def _louder(self, state: CallState, nxt: str) -> VoicePlan:
        state.volume = (
            VOLUMES[min(VOLUMES.index(state.volume) + 1, len(VOLUMES) - 1)]
            if state.volume in VOLUMES
            else VOLUMES[0]
        )
        log.info("call sid=%s volume now %s", state.call_sid, state.volume)
        return self._said_again(state, LOUDER_DONE, nxt)

    def _said_again(self, state: CallState, done: str, nxt: str) -> VoicePlan:
        """After slower or louder: the change said, then the last prompt again in the new voice."""
        return self._listen(
            [done] + ([state.last_spoken] if state.last_spoken else []),
            nxt,
            number_entry=state.awaiting in (DIGITS, DIGITS_X),
        )

    def failure_plan(self, state: CallState, turn_no: int) -> VoicePlan:
        """When a turn fails unexpectedly: never silence, never a dropped caller."""
        return self._transfer(
            state, [TECHNICAL_TROUBLE], self.turn_url(turn_no + 1), hang_up_after_callback=True
        )

    # turns ------------------------------------------------------------------------------
    def _start(self, state: CallState, nxt: str) -> VoicePlan:
        """A short first prompt: an automated assistant, the recording notice, key 0."""
        result = self._send(state, "/greet")  # opens the conversation; its wording is the web's
        hotline = read_digits(self.settings.hotline_number)
        if result.degraded or not result.replies:
            return self._transfer(
                state,
                [GREETING_WHEN_BUSY.format(hotline=hotline), SYSTEM_BUSY],
                nxt,
                hang_up_after_callback=True,
            )
        first = FIRST_PROMPT.format(hotline=hotline)
        notice = RECORDING_NOTICE if self.settings.voice_recording_notice else ""
        state.last_spoken = FIRST_QUESTION
        state.last_choices = keypad_choices()
        return self._listen([first + notice, FIRST_QUESTION], nxt)

    def _send(self, state: CallState, message: str) -> rasa_client.ChatResult:
        return rasa_client.send_message(
            state.sender_id,
            message,
            {"channel": "voice", "phone": state.from_number, "call_sid": state.call_sid},
        )

    def _answer(
        self, state: CallState, result: rasa_client.ChatResult, nxt: str, forced_human: bool = False
    ) -> VoicePlan:
        """Speaks what the assistant answered and decides what the line does next."""
        if result.degraded or "unavailable" in result.actions:
            return self._transfer(state, [SYSTEM_BUSY], nxt, hang_up_after_callback=True)
        replies = result.replies
        customs = [r.custom for r in replies if r.custom]
        heard = _heard(replies)
        said, promises = [text for text, _ in heard], [promise for _, promise in heard]
        urgent = next((c for c in customs if c.get("urgent")), None)
        if urgent is not None:
            log.warning("emergency on call sid=%s: transferring at once", state.call_sid)
            # The emergency is already at the top of the advisor queue (safety event).
            return self._transfer(
                state,
                said,
                nxt,
                urgent=True,
                already_queued=urgent.get("handoff_id") is not None or bool(urgent.get("followup")),
                crisis=urgent.get("kind") == "crisis",
                promises=promises,
            )
        if "handoff" in result.actions or forced_human:
            return self._transfer(state, said, nxt, promises=promises)
        # No transfer on this turn: a promise of one is not said.
        said = [text for text, promise in heard if not promise]
        # reply-contract flags, set where the assistant decided (never read from its words)
        misunderstood = not said or any(c.get("fallback") or c.get("misunderstood") for c in customs)
        if not said:
            said = [NOT_UNDERSTOOD]
        state.misunderstood_count = state.misunderstood_count + 1 if misunderstood else 0
        if any(c.get("task_completed") for c in customs):
            state.task_completed += 1  # the rating waits for the end of the call
        reference = next((c["reference"] for c in customs if c.get("reference")), None)
        if reference and said:
            # A booking reference: said once more, in groups of three, before the reply's
            # closing question.
            again = REFERENCE_AGAIN.format(reference=say_reference(reference))
            last = _sentences(said[-1])
            if len(last) > 1 and last[-1].rstrip().endswith(("？", "?")):
                said = said[:-1] + ["".join(last[:-1]), again, last[-1]]
            else:
                said = said + [again]
        if any(c.get("end") for c in customs):
            state.outcome = "goodbye"
            if state.rated:
                return VoicePlan(say=said, hangup=True)
            state.awaiting = "rating_then_hangup"
            state.last_choices = {}
            state.last_spoken = RATING_AT_GOODBYE
            # The goodbye waits until the caller has rated (or not).
            kept = [
                s
                for s in (
                    speakable(r.text)
                    for r in replies
                    if not (r.custom or {}).get("end") and not (r.custom or {}).get("transfer_promise")
                )
                if s
            ] or [OK]
            return self._listen(kept + [RATING_AT_GOODBYE], nxt)
        buttons = next((r.buttons for r in reversed(replies) if r.buttons), [])
        choice_text, choices = spoken_choices(buttons)
        if misunderstood and state.misunderstood_count >= 2:
            # Two misses in a row: inside a form (a booking half done) the form goes on and
            # 0 reaches a person; elsewhere the keypad menu instead of more guessing.
            state.misunderstood_count = 0
            if rasa_client.active_form(state.sender_id):
                choice_text, choices = FORM_MISUNDERSTOOD, {"0": HUMAN_PAYLOAD}
            else:
                choice_text, choices = KEYPAD_MENU_TEXT, keypad_choices()
        state.last_choices = choices
        spoken = said + ([choice_text] if choice_text else [])
        state.last_spoken = "".join(spoken)
        if not choices and any(c.get("yes_no") for c in customs):
            # a read-back ("…对吗？"): heard to the end, then 1/2 or speech answers it
            state.last_choices = dict(YES_NO_KEYS)
            state.awaiting = None
            state.last_spoken = "".join(said + [YES_NO_KEYS_TEXT])
            plan = self._listen(said, nxt, hints=YES_NO_HINTS)
            plan.interruptible, plan.listen_prompt = False, [YES_NO_KEYS_TEXT]
            return plan
        asks_number, allow_x = number_asked(customs)
        if not choices and asks_number:
            # A number is asked for (ID digits, a phone, a code): keys are that number.
            state.awaiting = DIGITS_X if allow_x else DIGITS
            extra = [ID_X_BY_STAR] if allow_x else []
            return self._listen(spoken + [NUMBER_BY_KEYPAD] + extra, nxt, number_entry=True, hints=())
        state.awaiting = None
        return self._listen(spoken, nxt, hints=step_hints(buttons))

    def _keys(self, state: CallState, digits: str, nxt: str) -> VoicePlan:
        if state.awaiting == DIGITS_X and digits.rstrip("#").endswith("*") and len(digits.strip("#*")) >= 3:
            # an ID number ending in X: the * key stands for it
            digits = digits.rstrip("#")[:-1] + "X"
        number = digits.strip("#*")
        if len(number) > 1 or (state.awaiting in (DIGITS, DIGITS_X) and number and number != "0"):
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
        return self._listen(
            [REPEATING, state.last_spoken], nxt, number_entry=state.awaiting in (DIGITS, DIGITS_X)
        )

    def _silence(self, state: CallState, nxt: str) -> VoicePlan:
        state.silence_count += 1
        if state.silence_count == 1:
            return self._listen(
                [NOT_HEARD, state.last_spoken or NOTHING_TO_REPEAT],
                nxt,
                number_entry=state.awaiting in (DIGITS, DIGITS_X),
            )
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
        if event.speech and is_repeat_request(clean(event.speech, MAX_SPEECH_CHARS)):
            return self._listen([REPEATING, RATING_AT_GOODBYE], nxt)
        if event.is_silence or event.digits:
            state.awaiting = None
            if then_hang_up:
                return VoicePlan(say=[GOODBYE], hangup=True)
            state.last_spoken = ANYTHING_ELSE
            return self._listen([OK + ANYTHING_ELSE], nxt)
        state.awaiting = None  # the caller said something else: carry on with it
        return None

    # people -----------------------------------------------------------------------------
    def _transfer(
        self,
        state: CallState,
        said: list[str],
        nxt: str,
        urgent: bool = False,
        hang_up_after_callback: bool = False,
        already_queued: bool = False,
        crisis: bool = False,
        promises: list[bool] | None = None,
    ) -> VoicePlan:
        """To an advisor now if one is on duty (who first hears who calls and why);
        otherwise a callback request in the queue, to the caller's number or, when caller
        ID is withheld, to a number typed on the keypad and read back. `promises[i]`: said[i]
        promises the transfer (reply flag transfer_promise), kept only when one is made."""
        state.awaiting = None
        promises = list(promises or [])
        promises += [False] * (len(said) - len(promises))
        if hang_up_after_callback and not urgent and store.has_open_callback(state.sender_id):
            # The assistant is down and an advisor already failed to answer: do not keep
            # the caller in a loop of transfers; the callback is in the queue.
            return VoicePlan(say=said + [CALLBACK_ALREADY, GOODBYE], hangup=True)
        if advisor_on_duty(self.settings):
            state.outcome = "emergency" if urgent else "transferred"
            reason = (
                "crisis"
                if urgent and crisis
                else "urgent"
                if urgent
                else "trouble"
                if hang_up_after_callback
                else "requested"
            )
            log.info("transferring call sid=%s to the advisor line (%s)", state.call_sid, reason)
            say = list(said)
            if not (promises and promises[-1]):
                # the last thing heard before the ringing says what is happening
                say.append(TRANSFERRING)
            return VoicePlan(
                say=say,
                transfer_to=self.settings.advisor_phone_number,
                transfer_result_url=nxt,
                transfer_whisper=whisper(
                    reason, caller=state.from_number, sender_id=state.sender_id, settings=self.settings
                ),
            )
        # Nobody to put the caller through to: drop the promise of a transfer, keep the rest.
        kept = [text for text, promise in zip(said, promises) if not promise]
        say = kept + [OFF_DUTY.format(hours=hours_spoken(self.settings))]
        if caller_id_withheld(state.from_number) and not store.has_open_callback(state.sender_id):
            if not urgent:
                return self._ask_callback_number(
                    state, say, nxt, then="hangup" if hang_up_after_callback else "listen"
                )
            # In danger there is no time for typing a number: the truth, then 120 / stay.
            say.append(NO_NUMBER_TO_CALL)
        else:
            say.append(CALLBACK_TAKEN if already_queued else self._callback(state))
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

    def _callback(self, state: CallState, number: str | None = None) -> str:
        """Queues a callback to the caller's number, or to `number` (typed on the keypad when
        caller ID was withheld); returns what the caller is told."""
        if store.has_open_callback(state.sender_id):
            state.outcome = state.outcome if state.outcome == "emergency" else "callback"
            return CALLBACK_ALREADY
        hotline = read_digits(self.settings.hotline_number)
        phone = number or state.from_number
        summary = (
            "电话来电没有显示号码，来电人按键留了回电号码（转人工时无人接听或不在班）"
            if number
            else "电话来电需要顾问回电（转人工时无人接听或不在班）"
        )
        try:
            handoff_id = handoff.create_handoff(
                "callback", sender_id=state.sender_id, channel="voice", phone=phone, summary=summary
            )
        except Exception:
            log.exception(
                "could not queue a callback for call sid=%s phone=%s", state.call_sid, mask_phone(phone)
            )
            return CALLBACK_FAILED.format(hotline=hotline)
        state.outcome = state.outcome if state.outcome == "emergency" else "callback"
        log.info(
            "callback queued handoff=%s call sid=%s%s",
            handoff_id,
            state.call_sid,
            " (number typed by the caller)" if number else "",
        )
        if number:
            return CALLBACK_TO_NUMBER.format(digits=read_digits(number))
        return CALLBACK_TAKEN

    def _after_transfer(self, state: CallState, event: VoiceEvent, nxt: str) -> VoicePlan:
        if event.transfer_status in ("completed", "answered"):
            return VoicePlan(hangup=True)
        log.info("advisor line did not answer (%s) for call sid=%s", event.transfer_status, state.call_sid)
        urgent = state.outcome == "emergency"
        if caller_id_withheld(state.from_number) and not store.has_open_callback(state.sender_id):
            if not urgent:
                return self._ask_callback_number(state, [ADVISOR_NO_ANSWER], nxt, then="listen")
            return VoicePlan(say=[ADVISOR_NO_ANSWER, NO_NUMBER_TO_CALL, EMERGENCY_CALL_120], hangup=True)
        say = [ADVISOR_NO_ANSWER, self._callback(state)]
        if urgent:
            return VoicePlan(say=say + [EMERGENCY_CALL_120], hangup=True)
        state.last_spoken = ANYTHING_ELSE
        state.last_choices = {}
        return self._listen(say + [ANYTHING_ELSE], nxt)

    # a callback number typed on the keypad (caller ID withheld) ------------------------
    # The entry lives in the call's state: awaiting is CALLBACK_NUMBER, then CALLBACK_CONFIRM;
    # last_choices keeps what comes after ("then": hangup|listen), the tries and the number.
    def _ask_callback_number(self, state: CallState, before: list[str], nxt: str, then: str) -> VoicePlan:
        state.awaiting = CALLBACK_NUMBER
        state.last_choices = {"then": then, "tries": "0"}
        state.last_spoken = ASK_CALLBACK_NUMBER
        log.info("call sid=%s: caller ID withheld, asking for a callback number", state.call_sid)
        return self._listen(
            before + [CALLER_ID_WITHHELD, ASK_CALLBACK_NUMBER], nxt, number_entry=True, hints=()
        )

    def _callback_number(self, state: CallState, event: VoiceEvent, nxt: str) -> VoicePlan:
        memo = dict(state.last_choices or {})
        then = "hangup" if memo.get("then") == "hangup" else "listen"
        tries = int(memo["tries"]) if str(memo.get("tries", "")).isdigit() else 0
        keys = (event.digits or "").strip("#")
        text = clean(event.speech, MAX_SPEECH_CHARS)
        again = keys == "*" or (bool(text) and is_repeat_request(text))
        if state.awaiting == CALLBACK_CONFIRM:
            number, typed = memo.get("number", ""), memo.get("typed", "")
            if again:
                return self._read_back(state, typed, nxt)
            answer = yes_or_no(event)
            if answer is True and number:
                return self._callback_entry_done(state, [self._callback(state, number)], then, nxt)
            if tries + 1 >= MAX_CALLBACK_NUMBER_TRIES:
                return self._no_callback_number(state, then, nxt)
            state.last_choices = {"then": then, "tries": str(tries + 1)}
            if answer is False:
                state.awaiting, state.last_spoken = CALLBACK_NUMBER, ASK_CALLBACK_NUMBER
                return self._listen([TYPE_AGAIN, ASK_CALLBACK_NUMBER], nxt, number_entry=True, hints=())
            state.last_choices.update(number=number, typed=typed)
            return self._read_back(state, typed, nxt)
        # CALLBACK_NUMBER: the number, by key (or said digit by digit)
        if again:
            return self._listen([REPEATING, ASK_CALLBACK_NUMBER], nxt, number_entry=True, hints=())
        typed = re.sub(r"\D", "", keys) or digits_said(text)
        if not typed and (event.is_silence or any(w in text for w in _NO_NUMBER_WORDS)):
            if event.is_silence and tries == 0:
                state.last_choices = {"then": then, "tries": "1"}
                return self._listen([NUMBER_NOT_HEARD, ASK_CALLBACK_NUMBER], nxt, number_entry=True, hints=())
            return self._no_callback_number(state, then, nxt)
        dialled = callback_number(typed, self.settings)
        if dialled is None:
            if tries + 1 >= MAX_CALLBACK_NUMBER_TRIES:
                return self._no_callback_number(state, then, nxt)
            state.last_choices = {"then": then, "tries": str(tries + 1)}
            return self._listen(
                [NUMBER_WRONG_LENGTH if typed else NUMBER_BY_KEYS, ASK_CALLBACK_NUMBER],
                nxt,
                number_entry=True,
                hints=(),
            )
        state.awaiting = CALLBACK_CONFIRM
        state.last_choices = {"then": then, "tries": str(tries), "number": dialled, "typed": typed}
        return self._read_back(state, typed, nxt)

    def _read_back(self, state: CallState, typed: str, nxt: str) -> VoicePlan:
        """您输入的是……, heard to the end, then 1 (right) or 2 (wrong)."""
        read_back = READ_BACK_NUMBER.format(digits=read_digits(typed))
        state.last_spoken = read_back + CONFIRM_NUMBER_KEYS
        plan = self._listen([read_back], nxt, hints=YES_NO_HINTS)
        plan.interruptible, plan.listen_prompt = False, [CONFIRM_NUMBER_KEYS]
        return plan

    def _no_callback_number(self, state: CallState, then: str, nxt: str) -> VoicePlan:
        """No usable number: say honestly that nobody can call back, and when to call."""
        log.info("call sid=%s: no callback number given (caller ID withheld)", state.call_sid)
        if state.outcome != "emergency":
            state.outcome = "no_callback"
        told = NO_CALLBACK_NUMBER.format(
            hotline=read_digits(self.settings.hotline_number), hours=hours_spoken(self.settings)
        )
        return self._callback_entry_done(state, [told], then, nxt)

    def _callback_entry_done(self, state: CallState, say: list[str], then: str, nxt: str) -> VoicePlan:
        state.awaiting, state.last_choices = None, {}
        if then == "hangup":
            return VoicePlan(say=say + [GOODBYE], hangup=True)
        state.last_spoken = ANYTHING_ELSE
        return self._listen(say + [ANYTHING_ELSE], nxt)

    # -----------------------------------------------------------------------------------
    def _listen(
        self, say: list[str], nxt: str, number_entry: bool = False, hints: tuple[str, ...] | None = None
    ) -> VoicePlan:
        return VoicePlan(
            say=[s for s in say if s],
            listen=Listen(
                result_url=nxt,
                hints=RECOGNITION_HINTS if hints is None else hints,
                timeout_seconds=self.input_timeout,
                speech_end_seconds=self.speech_end,
                max_digits=None if number_entry else 1,
            ),
        )


def apply_voice(state: CallState, plan: VoicePlan) -> VoicePlan:
    """The caller's own rate and volume (说慢点 / 大声点) for everything the line says."""
    if state.speech_rate:
        plan.rate = f"{state.speech_rate}%"
    if state.volume:
        plan.volume = state.volume
    return plan


# --- SMS ------------------------------------------------------------------------------

SMS_EMPTY = wording.sms("empty")
SMS_TOO_LONG = wording.sms("too_long")
SMS_BUSY = wording.sms("busy")
SMS_HANDOFF = wording.sms("handoff")
SMS_OPTED_OUT = wording.sms("opted_out")
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
        from bot.contact.sms import opt_out

        opt_out(event.from_number)
        return SMS_OPTED_OUT, {}
    message = body
    reply_payload = _reminder_reply(event.from_number, body)
    if reply_payload:
        message = reply_payload  # 改时间 / 取消 after a visit reminder (bot/outreach/)
    elif re.fullmatch(r"[0-9]", body):
        message = store.last_sms_choices(event.from_number).get(body) or keypad_choices().get(body) or body
    result = rasa_client.send_message(
        event.from_number, message, {"channel": "sms", "phone": event.from_number}
    )
    if result.degraded or "unavailable" in result.actions:
        return SMS_BUSY, {}
    # A promise of a transfer ("马上为您转接…") is for the phone: SMS never transfers, the
    # advisor gets back to the person instead.
    replies = [(r.text, r.buttons) for r in result.replies if not (r.custom or {}).get("transfer_promise")]
    if "handoff" in result.actions:
        replies.append((SMS_HANDOFF, []))
    return sms_text(replies, hotline=settings.hotline_number)
