"""Booking conversations: book_service_form, query_booking_form, cancel_booking_form,
reschedule_booking_form. Thin: parsing is in bot/booking/text.py and bot/text/timeparse.py, the
database work in bot/booking/ledger.py (one transaction per call).

Every form identifies the elder the same way (bot/identity.py): a phone number said in the
conversation, or name + last four digits of the ID number, says *which* elder is meant; the
caller then proves control of her registered mobile with a one-time SMS code. On the phone,
a caller ID matching her registered number is the proof. Nothing on file is read out and
nothing is booked, changed or cancelled before that. One question at a time; a second
unusable answer in a row offers a human.
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    HUMAN_BUTTON,
    ID_LAST4_FLAGS,
    REFERENCE_FLAGS,
    STOP_BUTTON,
    caller_phone,
    channel,
    entity_values,
    form_buttons,
    guarded,
    is_voice,
    last_bot_action,
    latest_text,
    say_referral,
    with_anything_else,
)
from actions.forms import AskSlotAction, FormValidation, MissPolicy, Reply, ask_actions, count_miss
from actions.policy import answer_price_question, is_service_price_question
from bot import identity, referrals, safety
from bot.booking import ledger as booking
from bot.policy import search as policy_search
from bot.booking import text as bt
from bot.booking.wording import WORDING
from bot.text import facts as factlib
from bot.db import session_scope
from bot.text.masking import mask_phone
from bot.text.norm import normalize
from bot.models import Elder
from bot.clock import today
from bot.text.timeparse import (
    PART_HOURS,
    SERVICE_HOURS_TEXT,
    TimeParseError,
    after_correction,
    bare_weekday,
    day_named,
    parse_time,
    part_of,
    say_day,
    shift_days,
    weekday_in_week_of,
    say_window,
    say_window_with_hours,
    window_start,
)

log = logging.getLogger(__name__)
# "I did not get it", "send it again": a new code rather than a wrong one
_RESEND = re.compile(r"没收到|没有收到|收不到|重新发|再发|重发|再来一个")

IDENTITY_SLOTS = ("booking_elder_id", "booking_person_name", "booking_id_last4", "booking_candidate")
# the form's questions that prove who is calling ("为什么要身份证？" is answered at these)
IDENTITY_QUESTIONS = ("booking_person_name", "booking_id_last4", "booking_code")
TASK_SLOTS = (
    "booking_service",
    "booking_time",
    "booking_address",
    "booking_address_ok",
    "booking_confirm",
    "booking_reference",
    "booking_summary",
    "booking_failures",
    "booking_aborted",
    "booking_phone_checked",
    "booking_question_asked",
    "booking_time_options",
    "booking_request",
    "booking_day_said",
)
# The booking a caller named after hearing her list ("洗澡那个"), for the change or cancel she
# asks for next; any new request forgets it.
POINTED_SLOT = "booking_pointed"
# Intents that leave a booking form for a rule of their own (human, emergency, scam).
INTERRUPT_INTENTS = {"request_human"} | safety.LAYER_INTENTS
YES_NO_SLOTS = ("booking_confirm", "booking_address_ok")
# The answers to a read-back offered as buttons on the web, in the caller's own words (a tap
# is read like typing: "不对" asks which part is wrong).
READ_BACK_ANSWERS = ("对", "不对")
TOO_MANY_TRIES = WORDING.text("identity.too_many_tries")
# Asked when the caller cannot give the ID number's last four: her registered phone instead
PHONE_INSTEAD = WORDING.text("identity.phone_instead")
PHONE_OFFERED = "phone_offered"  # booking_id_last4 while the phone is offered instead
OFFER_HUMAN_TEXT = WORDING.text("offer_human")
HUMAN_BUTTONS = [HUMAN_BUTTON]
# Relative day words a caller says (bot/timeparse reads them), for the time buttons.
_NEAR_DAYS = {1: "明天", 2: "后天"}
TIME_BUTTONS = 4
# "不对" at a read-back says something is wrong, not "cancel it" (不要了, 算了 do)
_WRONG = re.compile(r"不对|错了|不是|搞错|弄错|说错")
WHICH_PART_WRONG = WORDING.text("confirm.which_part_wrong")
# "越快越好", "哪天都行": no day named, the nearest free times are offered
_ANY_DAY = re.compile(
    r"越快越好|越早越好|尽快|尽早|早点|最近|最早|哪天都|随便|都可以|都行|你们定|你们安排|"
    r"看着办|看着安排|有空就|什么时候都|啥时候都|哪天有空|什么时候有空|啥时候有空"
)
# "下礼拜" with no weekday: the nearest free times from next Monday
_NEXT_WEEK = re.compile(r"下个?(?:礼拜|星期|周)(?![一二三四五六日天1-7])")
OFFERED_TIMES = 3


def _code_we_asked_for(requested: str, tracker: Tracker) -> bool:
    """The one-time code this form asked for, said with words the classifier alone reads as
    a scam ("验证码收到了，要告诉你是吧？是307300"): an answer, not a scam to ask about. A
    concrete scam cue (someone else asking for it) still interrupts: that is `scam_report`."""
    message = tracker.latest_message or {}
    assessment = message.get("safety") or {}
    return (
        requested == "booking_code"
        and (message.get("intent") or {}).get("name") == "safety_check"
        and assessment.get("suspected") == "scam"
    )


def _identity_answer_read_as_alarm(requested: Optional[str], tracker: Tracker) -> bool:
    """An answer to who-is-it ("她身份证号我不知道啊", "手机尾号0003") that only the
    classifier read as a possible emergency: no alarm word in it (the safety layer's cues
    matched nothing), so it is the answer; a real alarm still interrupts."""
    if requested not in ("booking_person_name", "booking_id_last4"):
        return False
    message = tracker.latest_message or {}
    assessment = message.get("safety") or {}
    if (message.get("intent") or {}).get("name") != "safety_check":
        return False
    text = latest_text(tracker)
    if assessment.get("kind") != "unsure" or safety.assess(text).kind != "none":
        return False
    return bool(
        bt.id_unknown(text)
        or bt.id_last4_from_text(text)
        or bt.phone_from_text(text)
        or bt.phone_last4_from_text(text)
    )


@dataclass
class Turn:
    """One user turn inside a booking form: what we know and what changes."""

    dispatcher: CollectingDispatcher
    tracker: Tracker
    form: str
    slots: Dict[str, Any]
    updates: Dict[str, Any] = field(default_factory=dict)
    requested: Optional[str] = None  # the question this turn answers (None at activation)

    def get(self, name: str) -> Any:
        return self.updates[name] if name in self.updates else self.slots.get(name)

    def set(self, name: str, value: Any) -> None:
        self.updates[name] = value

    def say(
        self, text: str, buttons: list | None = None, asks: bool = True, custom: dict | None = None
    ) -> None:
        """Says something; `asks` when it already asks the question again (then the form's
        own question is skipped: one question at a time). `custom` carries reply-contract
        flags (e.g. expects_digits) for the channels."""
        buttons = list(buttons or [])
        # a question of the form offers the way out too (on the web; a turn without a
        # tracker is a bare validator call)
        if asks and self.tracker is not None and not is_voice(self.tracker):
            buttons.append(STOP_BUTTON)
        self.dispatcher.utter_message(text=text, buttons=buttons, json_message=custom)
        if asks:
            self.updates["booking_question_asked"] = True

    @property
    def elder_id(self) -> int | None:
        value = self.get("booking_elder_id")
        return int(value) if value not in (None, "") else None


def _elder_identified(turn: Turn, elder: Elder) -> None:
    turn.set("booking_elder_id", str(elder.id))
    turn.set("booking_person_name", elder.name)
    turn.set("booking_id_last4", "ok")
    if turn.get("booking_address") is None and elder.address:
        turn.set("booking_address", elder.address)


def _fresh_user_answer(tracker: Tracker, form: str) -> bool:
    """True when the form runs right after the caller said something (not after an action
    of ours re-opened it)."""
    events = list(tracker.events)
    skipped_form = False
    for event in reversed(events):
        kind = event.get("event")
        if kind in ("slot", "active_loop", "user_featurization", "loop_interrupted"):
            continue
        if kind == "action" and event.get("name") == form and not skipped_form:
            skipped_form = True
            continue
        if kind == "user":
            return True
        if kind == "action":
            return event.get("name") == "action_listen"
        return False
    return False


def _request_key(tracker: Tracker, what: str) -> str:
    """The idempotency key of this request: the sender plus the id Rasa gave the message that
    confirmed it (unique per message, so a later booking in a later session is never answered
    with an earlier one); the database's active-visit constraint stops duplicates besides."""
    message_id = (tracker.latest_message or {}).get("message_id") or ""
    if not message_id:
        users = sum(1 for e in tracker.events if e.get("event") == "user")
        started = next(
            (e.get("timestamp") for e in reversed(tracker.events) if e.get("event") == "session_started"), 0
        )
        message_id = f"{started}:{users}"
    return f"{what}:{tracker.sender_id}:{message_id}"[:160]


class BookingFormValidation(FormValidation):
    """Shared validation of the booking forms. Overrides `run` so that each answer is
    understood in the context of the question just asked (requested_slot)."""

    @abc.abstractmethod
    def name(self) -> Text:
        """validate_<form name>."""

    # the booking forms explain only why they ask who is calling
    why_response = "utter_why_identity_check"
    why_at = IDENTITY_QUESTIONS
    # "等一下" at the read-back is no wait; the code is never a side question
    no_wait_at = ("booking_confirm",)
    no_side_question_at = ("booking_code",)
    # the reader of each answer says what was wrong; the second miss in a row offers a person
    misses = MissPolicy(offer=Reply(text=OFFER_HUMAN_TEXT, buttons=tuple(HUMAN_BUTTONS), form_question=True))

    # the order in which a form asks; subclasses list their task slots
    task_order: tuple[str, ...] = ()
    # whether a day in the request picks the booking (cancel: yes; reschedule: the new day)
    day_names_booking = False
    # whether a question about what a service costs is answered instead of starting the form
    answers_price_questions = False

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        form = self.form_name()
        active = (tracker.active_loop or {}).get("name")
        requested = tracker.get_slot("requested_slot") if active == form else None
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        text = latest_text(tracker)
        if (
            requested
            and intent in INTERRUPT_INTENTS
            and not _code_we_asked_for(requested, tracker)
            and not _identity_answer_read_as_alarm(requested, tracker)
        ):
            return []  # rejected: the rules for a human / an emergency take over
        slots = {name: tracker.get_slot(name) for name in IDENTITY_SLOTS + TASK_SLOTS + (POINTED_SLOT,)}
        turn = Turn(dispatcher, tracker, form, slots, requested=requested)
        if requested and not _fresh_user_answer(tracker, form):
            # back in the form after an action (e.g. the time was taken meanwhile): no answer
            # to read, just ask the next question again
            return [
                SlotSet("booking_failures", slots.get("booking_failures") or 0),
                SlotSet("requested_slot", requested),
            ]
        # "不知道，你就停了吧" to the ID question: not knowing is answered (why we ask, and a
        # person), not taken for leaving; only the classifier read it as "stop"
        dont_know_who = requested in IDENTITY_QUESTIONS and factlib.is_dont_know(text)
        if (
            requested
            and (bt.wants_to_stop(text) or (intent in ("goodbye", "stop") and not dont_know_who))
            and not self.says_the_wish(requested, text)
            and not bt.replaces_request(text)
        ):
            # the booking forms' own way out ("先不约了"); other forms: rules.yml `stop`
            return [SlotSet("booking_aborted", "user"), SlotSet("requested_slot", None)]
        interrupted = self.interruption(dispatcher, tracker, requested, text) if requested else None
        if interrupted:
            # "等一下，有人敲门" (the question stays open), "为什么要身份证？" (the reason, then the
            # same question again), "洗一次澡要多少钱？" instead of a day (answered, then the
            # same question again with everything said so far kept): no miss counted
            return [
                SlotSet("booking_failures", slots.get("booking_failures") or 0),
                SlotSet("booking_question_asked", None if interrupted.asks_again else True),
                SlotSet("requested_slot", requested),
            ]
        if (
            requested is None
            and self.answers_price_questions
            and is_service_price_question(text, entity_values(tracker, "service_type"))
        ):
            # 上门洗澡要自己出钱吗 read as a booking: the price list answers, 帮我预约 offers
            if answer_price_question(dispatcher, tracker, text):
                return [SlotSet("booking_aborted", "question"), SlotSet("requested_slot", None)]
        pointed = self.listed_booking_named(tracker, text) if requested is None else None
        if pointed is not None:
            # "陪诊那个" just after her bookings were read out: that one, not a new booking
            return [
                *_ask_what_to_do(dispatcher, pointed),
                SlotSet("booking_aborted", "question"),
                SlotSet("requested_slot", None),
            ]
        if (
            requested is None
            and not text.startswith("/")
            and (self.another_office(text) if self.answers_price_questions else self.not_a_booking(text))
            and say_referral(dispatcher, tracker, text)
        ):
            # "帮我挂个专家号" read as a booking: another office's business, said with the
            # referral (and the button of our own service where one fits)
            return [SlotSet("booking_aborted", "question"), SlotSet("requested_slot", None)]
        try:
            if requested is None:
                self.prefill(turn, text)
            else:
                understood = self.handle_answer(turn, requested, text, intent)
                failures = int(turn.get("booking_failures") or 0)
                if understood:
                    turn.set("booking_failures", 0)
                elif understood is False:
                    failures, offered = count_miss(dispatcher, tracker, failures, self.misses)
                    turn.set("booking_failures", failures)
                    if offered:
                        turn.set("booking_question_asked", True)
                        turn.set("booking_failures", 0)
                else:  # None: not the caller's fault (e.g. the time was full)
                    turn.set("booking_failures", failures)
            next_slot = self.next_slot(turn)
        except Exception:  # database down: say so politely and end the form, nothing written
            log.exception("booking form %s failed", form)
            dispatcher.utter_message(text=_db_down_text())
            return [
                SlotSet("booking_aborted", "error"),
                SlotSet("booking_failures", 0),
                SlotSet("requested_slot", None),
            ]
        events: List[EventType] = [SlotSet(k, v) for k, v in turn.updates.items()]
        events.append(SlotSet("requested_slot", next_slot))
        return events

    def says_the_wish(self, requested: str, text: str) -> bool:
        """Whether "不用来了" at this question is the answer rather than a way out."""
        return False

    @staticmethod
    def another_office(text: str) -> bool:
        """Whether a booking request is for what another office does (hospital registration,
        a pension, a burst pipe): a referral fits and either it offers our own service
        instead or none of ours is named."""
        referral = referrals.find(text)
        return referral is not None and (referral.offer is not None or bt.service_from_text(text) is None)

    @staticmethod
    def not_a_booking(text: str) -> bool:
        """Whether a request read as looking up, changing or cancelling a booking is about
        another office's business instead ("我的退休金怎么还没到，帮我查查"): a referral fits and
        it names no visit and no booking."""
        return (
            referrals.find(text) is not None
            and bt.service_from_text(text) is None
            and not _BOOKING_WORDS.search(text)
        )

    def side_question(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str, text: str, answered: bool
    ) -> bool:
        """A question about what the visit costs, asked in the middle of the form: answered
        from the price list (about the service being booked when it names none)."""
        if not text or text.startswith("/") or not policy_search.is_price_question(text):
            return False
        named = bt.service_from_text(text, entity_values(tracker, "service_type"))
        service = named or tracker.get_slot("booking_service")
        price = _price_sentence(service) if service else None
        if price:
            dispatcher.utter_message(text=price)
        elif not answer_price_question(dispatcher, tracker, text):
            return False
        dispatcher.utter_message(response="utter_back_to_form")
        return True

    # ----- identification ---------------------------------------------------------------

    def prefill(self, turn: Turn, text: str) -> None:
        """At activation: who is calling, and anything already said (service, time, the
        elder's name and ID digits): nothing said up front is asked for again."""
        turn.set("booking_request", (text or "")[:300] or None)
        pointed = turn.get(POINTED_SLOT)
        if pointed:
            turn.set(POINTED_SLOT, None)  # used by this request or by none
        self.forget_other_elder(turn, text)
        self.identify_from_phone(turn, text)
        if turn.elder_id is None and not turn.get("booking_candidate") and not turn.get("booking_aborted"):
            name = bt.name_said_upfront(text) or next(
                (e for e in entity_values(turn.tracker, "person_name") if bt.name_from_text(e) == e), None
            )
            if name and not turn.get("booking_person_name"):
                turn.set("booking_person_name", name)
            tail = bt.phone_last4_from_text(text)  # "手机尾号0001" is not the ID's
            last4 = None if tail else bt.id_last4_said_upfront(text)
            if tail and turn.get("booking_person_name"):
                self._check_phone_tail(turn, tail)
            elif last4 and turn.get("booking_person_name"):
                self._check_last4(turn, last4)
        if turn.elder_id is not None and turn.get("booking_address") is None:
            with session_scope() as s:
                elder = s.get(Elder, turn.elder_id)
                if elder is not None and elder.address:
                    turn.set("booking_address", elder.address)
        if "booking_service" in self.task_order and turn.get("booking_service") is None:
            service = bt.service_from_text(text, entity_values(turn.tracker, "service_type"))
            if service:
                turn.set("booking_service", service)
        if pointed and "booking_reference" in self.task_order and turn.elder_id is not None:
            self.take_pointed(turn, pointed)

    def take_pointed(self, turn: Turn, reference: str) -> None:
        """The booking she named after her list ("洗澡那个" -> "改到礼拜五"), unless this
        request names another one."""
        views = booking.list_bookings(turn.elder_id)
        named = _choose_booking(views, self.booking_words(turn), ordinals=False)
        if (named is None or named.reference == reference) and any(v.reference == reference for v in views):
            turn.set("booking_reference", reference)

    def listed_booking_named(self, tracker: Tracker, text: str) -> Optional[booking.BookingView]:
        """The booking a new-booking request names when it comes right after the caller
        heard her bookings and says no new day ("陪我去医院那个"): None otherwise."""
        if not self.answers_price_questions or text.startswith("/") or _NEW_AGAIN.search(text):
            return None
        elder_id = tracker.get_slot("booking_elder_id")
        if (
            not elder_id
            or day_named(text) is not None
            or last_bot_action(tracker) != "action_query_booking_submit"
        ):
            return None
        return _choose_booking(booking.list_bookings(int(elder_id)), text, ordinals=False)

    def elder_named(self, turn: Turn, text: str) -> Optional[str]:
        """The full name of the elder a request names, if it names one: said with a cue
        ("我妈张桂兰"), read by the classifier, or a registered elder's name in the text."""
        name = bt.name_said_upfront(text) or next(
            (e for e in entity_values(turn.tracker, "person_name") if bt.name_from_text(e) == e), None
        )
        if name:
            return name
        with session_scope() as s:
            found = booking.elder_names_in(s, text)
        return found[0] if found else None

    def forget_other_elder(self, turn: Turn, text: str) -> None:
        """A proof is for one elder. A new request in the same conversation that names
        someone else ("再帮我把李建国的洗澡取消掉", or another registered phone number)
        starts identification again for that person: nothing of hers is read or changed on
        the strength of the first proof, and the first elder's address is not reused."""
        if turn.elder_id is None and not turn.get("booking_candidate"):
            return
        current = turn.elder_id or int(turn.get("booking_candidate"))
        named = self.elder_named(turn, text)
        other = named is not None and named != turn.get("booking_person_name")
        phone = bt.phone_from_text(text)
        if phone and not other:
            with session_scope() as s:
                elder = booking.find_elder(s, phone=phone)
                other = elder is None or elder.id != current
        if not other:
            return
        log.info("booking form: the request names another elder than the one proven; proof needed again")
        for slot in ("booking_elder_id", "booking_candidate", "booking_id_last4", "booking_address"):
            turn.set(slot, None)
        if "booking_address_ok" in self.task_order:
            turn.set("booking_address_ok", None)
        turn.set("booking_person_name", named)

    def identify_from_phone(self, turn: Turn, text: str) -> None:
        if turn.elder_id is not None or turn.get("booking_candidate"):
            return
        said = bt.phone_from_text(text)
        trusted = caller_phone(turn.tracker)  # set by the voice/SMS channel only, never a client
        phone = said or (None if turn.get("booking_phone_checked") else trusted)
        if not phone:
            return
        turn.set("booking_phone_checked", True)
        with session_scope() as s:
            elder = booking.find_elder(s, phone=phone)
            found = (elder.id, elder.name) if elder is not None else None
        if found is None:
            log.info("booking form: phone %s is not an elder's", mask_phone(phone))
            turn.say(WORDING.format("identity.phone_not_registered", tail=phone[-4:]), asks=False)
            return
        if identity.caller_id_matches(found[0], trusted):
            # the carrier's caller ID is her registered number (voice and SMS only)
            identity.record_attempt(
                turn.tracker.sender_id,
                found[0],
                "caller_id",
                True,
                channel(turn.tracker),
                relation=identity.said_relation(turn.tracker.events),
                proved_by=trusted,
            )
            self.proven(turn, found[0])
            return
        log.info("booking form: phone %s names elder %s; proof needed", mask_phone(phone), found[0])
        self.challenge(turn, found[0])

    # ----- proof: a one-time code to her mobile on file ------------------------------------

    def challenge(self, turn: Turn, elder_id: int, again: bool = False) -> None:
        sent = identity.send_code(turn.tracker.sender_id, elder_id, channel(turn.tracker))
        if sent.ok:
            turn.set("booking_candidate", str(elder_id))
            whose = WORDING.text("identity.to_relative" if sent.to_relative else "identity.to_elder")
            text = WORDING.format(
                "identity.code_sent_again" if again else "identity.code_sent",
                whose=whose,
                phone=sent.sent_to_masked,
            )
            turn.say(text, custom={"expects_digits": identity.CODE_DIGITS})
            return
        self.to_a_person(
            turn, TOO_MANY_TRIES if sent.code == "locked" else WORDING.text("identity.no_mobile")
        )

    def to_a_person(self, turn: Turn, why: str) -> None:
        """Proof failed or cannot be given here: nothing more is tried, a person helps."""
        for slot in ("booking_candidate", "booking_person_name", "booking_id_last4"):
            turn.set(slot, None)
        turn.set("booking_aborted", "identity")
        turn.say(WORDING.format("identity.to_a_person", why=why), HUMAN_BUTTONS, asks=False)

    def proven(self, turn: Turn, elder_id: int) -> None:
        with session_scope() as s:
            elder = s.get(Elder, elder_id)
            if elder is not None:
                _elder_identified(turn, elder)
        turn.set("booking_candidate", None)

    def answer_code(self, turn: Turn, text: str, intent: Optional[str]) -> Optional[bool]:
        candidate = int(turn.get("booking_candidate"))
        if identity.code_from_text(text) is None and _RESEND.search(text or ""):
            self.challenge(turn, candidate, again=True)
            return None
        # who the caller said they are to her (我是她女儿) goes into the proof's record
        checked = identity.verify(
            turn.tracker.sender_id,
            text,
            channel(turn.tracker),
            relation=identity.said_relation(turn.tracker.events),
        )
        if checked.ok:
            self.proven(turn, candidate)
            return True
        if checked.code == "expired" or checked.code == "no_challenge":
            turn.say(WORDING.text("identity.code_expired"), asks=False)
            self.challenge(turn, candidate, again=True)
            return None
        if checked.code == "locked":
            self.to_a_person(turn, WORDING.text("identity.code_wrong") + TOO_MANY_TRIES)
            return None
        turn.say(
            WORDING.format("identity.code_wrong_try_again", tries=checked.tries_left),
            custom={"expects_digits": identity.CODE_DIGITS},
        )
        return None

    def handle_identity(self, turn: Turn, requested: str, text: str) -> bool:
        if bt.phone_from_text(text):
            self.identify_from_phone(turn, text)
            return turn.elder_id is not None or bool(turn.get("booking_candidate"))
        tail = bt.phone_last4_from_text(text)
        if tail:
            name = turn.get("booking_person_name")
            if requested == "booking_person_name":
                name = bt.name_from_text(text, entity_values(turn.tracker, "person_name")) or name
            if not name:
                turn.say(WORDING.text("identity.name_first"))
                return True
            turn.set("booking_person_name", name)
            return self._check_phone_tail(turn, tail)
        if requested == "booking_id_last4" and bt.id_unknown(text):
            if turn.get("booking_id_last4") != PHONE_OFFERED:
                # the registered phone is the other way to say who she is (the code proves it)
                turn.set("booking_id_last4", PHONE_OFFERED)
                turn.say(PHONE_INSTEAD, HUMAN_BUTTONS)
                return True
        if (
            factlib.is_dont_know(text)
            and len(re.sub(r"\W", "", text)) <= 12
            and not bt.id_last4_from_text(text)
            and not bt.name_from_text(text, entity_values(turn.tracker, "person_name"))
        ):
            # "我不知道名字" / "身份证号我不清楚": asking again cannot help; nothing is read
            # or changed without the proof, so say why and offer a person
            for slot in ("booking_candidate", "booking_person_name", "booking_id_last4"):
                turn.set(slot, None)
            turn.set("booking_aborted", "identity")
            turn.dispatcher.utter_message(response="utter_identity_unknown", buttons=HUMAN_BUTTONS)
            return True
        if requested == "booking_person_name":
            # a name alone, or inside a sentence ("取消王秀英的那个", "给我妈张桂兰")
            name = bt.name_from_text(text, entity_values(turn.tracker, "person_name")) or self.elder_named(
                turn, text
            )
            if not name:
                # no example name: any real name could be a registered elder's
                turn.say(WORDING.text("identity.name_not_heard"), custom={"misunderstood": True})
                return False
            turn.set("booking_person_name", name)
            last4 = bt.id_last4_from_text(text)
            if last4:
                return self._check_last4(turn, last4)
            return True
        last4 = bt.id_last4_from_text(text)
        if not last4:
            turn.say(WORDING.text("identity.ask_id_last4"), custom=dict(ID_LAST4_FLAGS))
            return False
        return self._check_last4(turn, last4)

    def _check_phone_tail(self, turn: Turn, tail: str) -> bool:
        """Her name and her registered phone's last four: a code to that phone proves it."""
        return self._identify(turn, "phone_last4", tail, WORDING.text("identity.phone_last4"))

    def _check_last4(self, turn: Turn, last4: str) -> bool:
        return self._identify(turn, "id_last4", last4, WORDING.text("identity.id_last4"))

    def _identify(self, turn: Turn, method: str, digits: str, what: str) -> bool:
        """Her name and four digits on file (ID or phone) say who is meant; the code sent to her
        mobile proves it. A miss is a failed attempt, and both answers are asked again."""
        sender = turn.tracker.sender_id
        if identity.locked(sender):
            log.warning("booking form: identification attempts over the limit for sender %s", sender[:32])
            self.to_a_person(turn, TOO_MANY_TRIES)
            return False
        with session_scope() as s:
            elder = booking.find_elder(s, name=turn.get("booking_person_name"), **{method: digits})
            elder_id = elder.id if elder is not None else None
        if elder_id is not None:
            self.challenge(turn, elder_id)
            return True
        identity.record_attempt(sender, None, method, False, channel(turn.tracker))
        log.info("booking form: name + %s did not match an elder", method)
        turn.set("booking_person_name", None)
        turn.set("booking_id_last4", None)
        turn.say(WORDING.format("identity.no_match", what=what), asks=False)
        return False

    # ----- answers ------------------------------------------------------------------------

    def handle_answer(self, turn: Turn, requested: str, text: str, intent: Optional[str]) -> Optional[bool]:
        if requested in ("booking_person_name", "booking_id_last4"):
            return self.handle_identity(turn, requested, text)
        if requested == "booking_code":
            return self.answer_code(turn, text, intent)
        handler = getattr(self, f"answer_{requested[len('booking_') :]}", None)
        if handler is None:
            log.warning("booking form %s asked for unknown slot %s", turn.form, requested)
            return False
        return handler(turn, text, intent)

    def answer_service(self, turn: Turn, text: str, intent: Optional[str]) -> bool:
        service = bt.service_from_text(text, entity_values(turn.tracker, "service_type"))
        with session_scope() as s:
            names = booking.service_names(s)
        if service not in names:
            turn.say(WORDING.format("service.not_bookable", names="、".join(names)))
            return False
        turn.set("booking_service", service)
        return True

    def answer_time(
        self, turn: Turn, text: str, intent: Optional[str], day_if_missing: Optional[dt.date] = None
    ) -> Optional[bool]:
        kept = turn.get("booking_day_said")
        if kept:
            turn.set("booking_day_said", None)
            if day_if_missing is None:  # "上午" after "大后天中午 has no visits"
                day_if_missing = dt.date.fromisoformat(kept)
        try:
            wanted = parse_time(text, day_if_missing=day_if_missing)
        except TimeParseError as exc:
            picked = self.pick_offered(turn, text, intent)
            if picked is not None:
                return picked
            first = self.open_request(text) if exc.code == "not_understood" else None
            if first is not None:
                return self.offer_nearest(turn, first)
            log.info("booking form: time not usable (%s)", exc.code)
            turn.say(exc.message, custom={"misunderstood": True} if exc.code == "not_understood" else None)
            return False
        service, street_id = self.service_and_street(turn)
        if service is None or street_id is None:
            return False
        parts = [wanted.part] if wanted.part else ["上午", "下午"]
        with session_scope() as s:
            for part in parts:
                start = window_start(wanted.day, part)
                # free, or full because she has it already (take_time then reads it back)
                if booking.window_is_free(s, service, street_id, start) or self.already_booked(
                    turn, s, service, start
                ):
                    return self.take_time(turn, s, service, start)
            around = window_start(wanted.day, parts[0])
            options = [
                o
                for o in booking.available_windows(s, service, street_id, around)
                if not self.already_booked(turn, s, service, o.start)
            ]
        asked = say_window(around) if wanted.part else wanted.spoken()
        gone = around <= booking.now_local()
        reason = WORDING.format("time.gone" if gone and wanted.part else "time.full", time=asked)
        if not options:
            turn.say(WORDING.format("time.nothing_free", reason=reason), HUMAN_BUTTONS)
            return False
        listed = "；".join(f"{i}，{o.spoken}" for i, o in enumerate(options, 1))
        turn.set("booking_time_options", _offered(options))
        turn.say(
            WORDING.format("time.offer_instead", reason=reason, listed=listed),
            [{"title": o.short, "payload": o.short} for o in options],
        )
        return None

    @staticmethod
    def open_request(text: str) -> Optional[dt.date]:
        """The first day to offer from when the caller names no day: "越快越好" (tomorrow),
        "下礼拜" (next Monday); None when the text is not such a request."""
        if _NEXT_WEEK.search(text or ""):
            day = today()
            return day + dt.timedelta(days=7 - day.weekday())
        if _ANY_DAY.search(text or ""):
            return today() + dt.timedelta(days=1)
        return None

    def offer_nearest(self, turn: Turn, first: dt.date) -> Optional[bool]:
        """Reads out the nearest free half days from `first` and asks which one."""
        service, street_id = self.service_and_street(turn)
        if service is None or street_id is None:
            return False
        around = window_start(first, "上午")
        with session_scope() as s:
            options = [
                o
                for o in booking.available_windows(s, service, street_id, around, limit=OFFERED_TIMES + 3)
                if o.start >= around and not self.already_booked(turn, s, service, o.start)
            ]
        options = options[:OFFERED_TIMES]
        if not options:
            turn.say(WORDING.text("time.nothing_free_soon"), HUMAN_BUTTONS)
            return False
        listed = "；".join(f"{i}，{o.spoken}" for i, o in enumerate(options, 1))
        turn.set("booking_time_options", _offered(options))
        turn.say(
            WORDING.format("time.offer_nearest", listed=listed),
            [{"title": o.short, "payload": o.short} for o in options],
        )
        return None

    def already_booked(self, turn: Turn, session: Any, service: str, start: dt.datetime) -> Optional[str]:
        """What to tell a caller who asks for a visit the elder already has (booking only)."""
        return None

    def take_time(self, turn: Turn, session: Any, service: str, start: dt.datetime) -> bool:
        """The one way a time is accepted, whether said as a date or chosen from a list;
        a visit the elder already has is read back instead."""
        turn.set("booking_time_options", None)
        already = self.already_booked(turn, session, service, start)
        if already:
            turn.say(WORDING.format("time.another_day", already=already))
            return False
        turn.set("booking_time", start.isoformat())
        turn.set("booking_confirm", None)
        return True

    def pick_offered(self, turn: Turn, text: str, intent: Optional[str]) -> Optional[bool]:
        """An answer to "最近有空的时间是：1，…；2，…。您要哪一个？": "第二个", "2", "最后那个",
        or "好" when only one time was offered. None when the answer is not about the list."""
        offered = [dt.datetime.fromisoformat(x) for x in turn.get("booking_time_options") or []]
        if not offered:
            return None
        n = bt.ordinal_from_text(text)
        if n is None and len(offered) == 1 and bt.yes_no(text, intent) is True:
            n = 1
        if n is None:
            if bt.yes_no(text, intent) is not None:
                turn.say(WORDING.text("time.which_one"))
                return False
            return None
        if not -len(offered) <= (n - 1 if n > 0 else n) < len(offered):
            turn.say(WORDING.format("time.only_so_many", n=len(offered)))
            return False
        start = offered[n - 1 if n > 0 else n]
        service, street_id = self.service_and_street(turn)
        if service is None or street_id is None:
            return False
        with session_scope() as s:
            if not booking.window_is_free(s, service, street_id, start):
                log.info("booking form: offered window was taken before the caller chose it")
                turn.set("booking_time_options", None)
                turn.say(WORDING.format("time.just_taken", time=say_window(start)))
                return False
            return self.take_time(turn, s, service, start)

    def answer_address(self, turn: Turn, text: str, intent: Optional[str]) -> bool:
        address = (text or "").strip()
        if len(address) < 4 or bt.yes_no(address, None) is not None:
            turn.say(WORDING.text("address.ask_full"))
            return False
        turn.set("booking_address", address[:200])
        turn.set("booking_address_ok", True)
        return True

    def answer_address_ok(self, turn: Turn, text: str, intent: Optional[str]) -> bool:
        answer = bt.yes_no(text, intent)
        if answer is None:
            turn.say(WORDING.text("address.say_yes_or_no"))
            return False
        if answer:
            turn.set("booking_address_ok", True)
        else:
            turn.set("booking_address", None)
            turn.set("booking_address_ok", None)
        return True

    # what to ask when the caller says only "不对" at the read-back
    which_part_wrong = WHICH_PART_WRONG

    def answer_confirm(self, turn: Turn, text: str, intent: Optional[str]) -> Optional[bool]:
        """对 confirms; 不要了 / 算了 ends without writing; "不对" says something is wrong:
        a correction said with it ("不对，要下午") is applied and read back again, a bare
        "不对" asks which part is wrong (it never throws the whole request away)."""
        answer = bt.yes_no(text, intent)
        if answer is True:
            turn.set("booking_confirm", True)
            return True
        wrong = answer is False and bool(_WRONG.search(text or ""))
        if answer is None or wrong:
            fixed = self.correct(turn, text, intent)
            if fixed is not None:
                turn.set("booking_confirm", None)
                return fixed
        if wrong:
            turn.set("booking_confirm", None)
            turn.say(self.which_part_wrong)
            return None
        if answer is None:
            turn.say(WORDING.text("confirm.say_yes_or_no"))
            return False
        turn.set("booking_confirm", False)
        return True

    def correct(self, turn: Turn, text: str, intent: Optional[str]) -> Optional[bool]:
        """Applies a correction said at the read-back; None when the text holds none."""
        return None

    def correct_time(self, turn: Turn, text: str, intent: Optional[str]) -> Optional[bool]:
        """A new day or half day said at the read-back ("不对，要下午": the same day)."""
        current = turn.get("booking_time")
        day = dt.datetime.fromisoformat(current).date() if current else None
        try:
            parse_time(text, day_if_missing=day)
        except TimeParseError as exc:
            if exc.code == "not_understood":
                if re.search(r"(时间|日子|哪天|日期|上午|下午)", text or ""):
                    turn.set("booking_time", None)  # "时间不对": asked again
                    return True
                return None
        turn.set("booking_time", None)
        return self.answer_time(turn, text, intent, day_if_missing=day)

    def answer_reference(self, turn: Turn, text: str, intent: Optional[str]) -> bool:
        bookings = booking.list_bookings(turn.elder_id)
        chosen = _choose_booking(bookings, text)
        service = bt.service_from_text(text, entity_values(turn.tracker, "service_type"))
        if chosen is None and service and not any(b.service_name == service for b in bookings):
            # "送饭那个" when she has no meal booked: said, and the list read out again
            turn.say(WORDING.format("reference.no_such_service", service=service), asks=False)
            return False
        if chosen is None:
            turn.say(WORDING.text("reference.not_heard"), custom={"misunderstood": True})
            return False
        turn.set("booking_reference", chosen.reference)
        return True

    # ----- what to ask next ---------------------------------------------------------------

    def service_and_street(self, turn: Turn) -> tuple[Optional[str], Optional[int]]:
        service = turn.get("booking_service")
        with session_scope() as s:
            elder = s.get(Elder, turn.elder_id) if turn.elder_id is not None else None
            if service is None and turn.get("booking_reference"):
                for view in booking.list_bookings(turn.elder_id):
                    if view.reference == turn.get("booking_reference"):
                        service = view.service_name
            return service, (elder.street_id if elder else None)

    def next_slot(self, turn: Turn) -> Optional[str]:
        if "booking_service" in self.task_order and turn.get("booking_service") is None:
            return "booking_service"
        if turn.get("booking_aborted"):
            return None
        if turn.elder_id is None:
            if turn.get("booking_candidate"):
                return "booking_code"
            return "booking_person_name" if not turn.get("booking_person_name") else "booking_id_last4"
        for slot in self.task_order:
            if slot == "booking_service":
                continue
            if slot == "booking_reference" and turn.get(slot) is None:
                if not self.preselect_booking(turn):
                    return None
                if turn.get(slot) is None:
                    return slot
                continue
            if slot == "booking_address_ok":
                if turn.get("booking_address") is None:
                    return "booking_address"
                if turn.get("booking_address_ok") is None:
                    return slot
                continue
            if slot == "booking_time" and turn.get(slot) is None and turn.get("booking_request"):
                # a time said with the request ("后天上午给我妈约个洗澡") is used once the
                # elder is known; it was read back or asked about if it could not be taken
                request = turn.get("booking_request")
                said = self.time_in_request(request)
                turn.set("booking_request", None)
                if said and self.answer_time(turn, said, None) and turn.get(slot) is not None:
                    continue
                if said is None:
                    self.keep_day_of_unusable_time(turn, request)
                return slot
            if slot == "booking_confirm" and turn.get(slot) is None:
                turn.set("booking_summary", self.summary(turn))
                return slot
            if turn.get(slot) is None:
                return slot
        return None

    def keep_day_of_unusable_time(self, turn: Turn, request: str) -> None:
        """ "大后天中午" with the request: no visits at noon, so the caller hears the hours and
        the day is kept (booking_day_said) for the half day she names next."""
        try:
            parse_time(request)
            return
        except TimeParseError as exc:
            if exc.code != "outside_hours":
                return
            message = exc.message
        day = day_named(request)
        if day is None or day < today():
            return
        turn.set("booking_day_said", day.isoformat())
        # what cannot be booked and the hours; the form's own question follows (one question)
        turn.say(f"{message.split('。')[0]}。{SERVICE_HOURS_TEXT}。", asks=False)

    def time_in_request(self, request: str) -> Optional[str]:
        """The words of the request that say when the visit should be, or None."""
        try:
            parse_time(request)
        except TimeParseError:
            return None
        return request

    def booking_words(self, turn: Turn) -> str:
        """What names the booking to change: the request ("礼拜四那个打扫"), else the
        latest answer."""
        request = turn.get("booking_request")
        if not request:
            return latest_text(turn.tracker)
        tail = after_correction(request)
        return request[: len(request) - len(tail)] if tail != request else request

    def preselect_booking(self, turn: Turn) -> bool:
        """Picks the booking when there is only one; False ends the form (none at all)."""
        bookings = booking.list_bookings(turn.elder_id)
        if not bookings:
            whom = turn.get("booking_person_name") or WORDING.text("you")
            turn.say(WORDING.format("reference.none_upcoming", whom=whom), asks=False)
            turn.set("booking_aborted", "no_bookings")
            return False
        text = self.booking_words(turn)
        # said once, when the request is first read (not again at every later answer)
        first_reading = turn.requested != "booking_reference"
        if self.day_names_booking:
            day = _said_day(text)
            named = _narrowed(_on_days(bookings, text), text)
            if len(named) == 1:  # 明天的不用来了: that one (read back before anything is done)
                turn.set("booking_reference", named[0].reference)
                return True
            if day is not None and not named and first_reading:
                service = bt.service_from_text(text) or ""
                turn.say(
                    WORDING.format("reference.none_that_day", day=say_day(day), service=service), asks=False
                )
                first_reading = False  # said once
        # one booking, or the one the request names by its number, day, half day, service or
        # as the one just made (never by a bare ordinal: "12月4号" is no "第1个"); read back
        # before anything is done. A request naming a service she has not booked picks none.
        service = bt.service_from_text(text)
        if service and not any(b.service_name == service for b in bookings):
            if first_reading:
                turn.say(WORDING.format("reference.no_such_service", service=service), asks=False)
            return True
        chosen = _choose_booking(bookings, text, ordinals=False)
        if chosen is None and len(bookings) == 1 and not _names_other(bookings[0], text):
            chosen = bookings[0]
        if chosen is not None:
            turn.set("booking_reference", chosen.reference)
        return True

    def summary(self, turn: Turn) -> str:  # pragma: no cover - per form
        return ""


# Words that speak of a booking of ours (the visit, its number, its time)
_BOOKING_WORDS = re.compile(r"约|订|上门|服务|来人|阿姨|师傅")  # 约 covers 预约, 预约号
# "再约一次", "另外约个", "还要约": a new booking even right after the list
_NEW_AGAIN = re.compile(r"再|另外|另约|新约|还要|还想|也要|也约|多约")


def _ask_what_to_do(dispatcher: CollectingDispatcher, view: booking.BookingView) -> List[EventType]:
    """One question about a booking she named after her list: change it or cancel it (the
    form she chooses next starts from it)."""
    dispatcher.utter_message(
        text=WORDING.format("reference.what_to_do", booking=view.spoken),
        buttons=[
            {"title": WORDING.text("reference.change_it"), "payload": "/reschedule_booking"},
            {"title": WORDING.text("reference.cancel_it"), "payload": "/cancel_booking"},
        ],
    )
    return [SlotSet(POINTED_SLOT, view.reference)]


def _days_meant(text: str) -> set[dt.date]:
    """The days a text may mean when it names a booking already made: the day it names,
    and for a weekday alone ("礼拜一那个") next week's too; empty when it names none."""
    day = _said_day(text)
    if day is None:
        return set()
    try:
        bare = bare_weekday(text)
    except TimeParseError:
        bare = False
    return {day, day + dt.timedelta(days=7)} if bare else {day}


def _on_days(views: list[booking.BookingView], text: str) -> list[booking.BookingView]:
    """The views on the day a text names (for a weekday alone, this week's or next week's)."""
    days = _days_meant(text)
    return [v for v in views if v.window_start.date() in days]


def _said_day(text: str) -> Optional[dt.date]:
    """The day a text names; None when it names none ("上午那个" names no day, not today)."""
    if day_named(text) is None:
        return None
    try:
        return parse_time(text).day
    except TimeParseError:
        return None


_HALF_DAY = re.compile(r"上午|下午")


def _narrowed(views: list[booking.BookingView], text: str) -> list[booking.BookingView]:
    """The views that fit a text's half day ("上午那个") and service ("洗澡的"); none when
    the text names a half day or service none of them has."""
    part = _HALF_DAY.search(text or "")
    if part:
        views = [v for v in views if part_of(v.window_start) == part.group(0)]
    service = bt.service_from_text(text)
    if service:
        views = [v for v in views if v.service_name == service]
    return views


def _names_other(view: booking.BookingView, text: str) -> bool:
    """Whether a request names a day, half day or service the booking does not have."""
    days = _days_meant(text)
    return (bool(days) and view.window_start.date() not in days) or not _narrowed([view], text)


def _choose_booking(
    bookings: list[booking.BookingView], text: str, ordinals: bool = True
) -> Optional[booking.BookingView]:
    """The booking a caller names: by its number (预约号), a position in the list just read
    out, its day and half day, its service, "上午那个", or as the one just made."""
    if not bookings:
        return None
    digits = "".join(ch for ch in normalize(text or "", fuzzy=False) if ch.isdigit())
    for view in bookings:
        if len(digits) >= len(view.reference) and view.reference in digits:
            return view
    n = bt.ordinal_from_text(text) if ordinals else None
    if n is not None and (n == -1 or 1 <= n <= len(bookings)):
        return bookings[n - 1] if n != -1 else bookings[-1]
    try:
        wanted = parse_time(text) if day_named(text) is not None else None
    except TimeParseError:
        wanted = None
    candidates = bookings
    if wanted is not None:
        days = _days_meant(text) or {wanted.day}
        same_day = [v for v in bookings if v.window_start.date() in days]
        if wanted.part is not None:
            same_day = [v for v in same_day if part_of(v.window_start) == wanted.part]
        if not same_day:
            return None
        candidates = same_day
    named = _narrowed(candidates, text)
    said_something = wanted is not None or len(named) < len(bookings)
    if len(named) == 1 and (said_something or len(bookings) == 1):
        return named[0]
    if named and bt.means_latest_booking(text):
        return max(named, key=lambda v: v.booked_seq)
    return None


def _db_down_text() -> str:
    from actions.common import DB_DOWN_TEXT

    return DB_DOWN_TEXT


def _price_sentence(service_name: str) -> Optional[str]:
    """What one visit of the service costs, from the catalogue (the price the read-back
    quotes): 助浴每次60分钟，50元，可以用每月的免费服务时长抵。"""
    try:
        with session_scope() as s:
            svc = booking.service_by_code_or_name(s, service_name)
            if svc is None:
                return None
            free = WORDING.text("service.price_free_hours") if svc.uses_free_hours else ""
            return WORDING.format(
                "service.price",
                service=svc.name,
                minutes=svc.duration_minutes,
                price=booking.yuan(svc.price_fen),
                free=free,
            )
    except Exception:  # the question is answered by the policy pack instead
        log.exception("booking form: price of %s not readable", service_name)
        return None


def _quote_sentence(elder_id: int, service_name: str, start: dt.datetime) -> str:
    with session_scope() as s:
        elder = s.get(Elder, elder_id)
        service = booking.service_by_code_or_name(s, service_name)
        free, cost = booking.quote(s, elder, service, start)
    if free and not cost:
        return WORDING.format("time.quote_all_free", hours=booking.hours_text(free))
    if free:
        return WORDING.format(
            "time.quote_free_hours", hours=booking.hours_text(free), cost=booking.yuan(cost)
        )
    return WORDING.format("time.quote", cost=booking.yuan(cost))


class ValidateBookServiceForm(BookingFormValidation):
    task_order = ("booking_service", "booking_time", "booking_address_ok", "booking_confirm")
    answers_price_questions = True

    def name(self) -> Text:
        return "validate_book_service_form"

    def prefill(self, turn: Turn, text: str) -> None:
        for slot in (
            "booking_time",
            "booking_confirm",
            "booking_address_ok",
            "booking_summary",
            "booking_aborted",
            "booking_reference",
            "booking_time_options",
        ):
            if turn.get(slot) is not None:
                turn.set(slot, None)
        turn.set("booking_failures", 0)
        super().prefill(turn, text)

    def handle_answer(self, turn: Turn, requested: str, text: str, intent: Optional[str]) -> Optional[bool]:
        """A change of service said at a later question ("理发不约了，换成洗澡，下周二上午")
        replaces the service first; the rest of the answer is then read as usual."""
        if requested == "booking_time" and self.switch_service(turn, text):
            if day_named(after_correction(text)) is None:
                return True  # the new service's day is asked next
        return super().handle_answer(turn, requested, text, intent)

    def switch_service(self, turn: Turn, text: str) -> bool:
        if not (bt.replaces_request(text) or after_correction(text) != text):
            return False
        service = bt.service_from_text(text, entity_values(turn.tracker, "service_type"))
        if not service or service == turn.get("booking_service"):
            return False
        with session_scope() as s:
            if service not in booking.service_names(s):
                return False
        turn.set("booking_service", service)
        turn.set("booking_time", None)
        turn.set("booking_confirm", None)
        turn.set("booking_time_options", None)
        return True

    def already_booked(self, turn: Turn, session: Any, service: str, start: dt.datetime) -> Optional[str]:
        svc = booking.service_by_code_or_name(session, service)
        same = (
            booking.same_visit_booked(session, turn.elder_id, svc.id, start)
            if svc is not None and turn.elder_id is not None
            else None
        )
        return booking.already_message(same) if same is not None else None

    def correct(self, turn: Turn, text: str, intent: Optional[str]) -> Optional[bool]:
        service = bt.service_from_text(text, entity_values(turn.tracker, "service_type"))
        if service and service != turn.get("booking_service"):
            with session_scope() as s:
                if service not in booking.service_names(s):
                    return None
            turn.set("booking_service", service)
            timed = self.correct_time(turn, text, intent)
            if timed is None and turn.get("booking_time") is not None:
                # the same half day for the new service, if it has a place then
                start = dt.datetime.fromisoformat(turn.get("booking_time"))
                turn.set("booking_time", None)
                return self.answer_time(turn, say_window(start), intent)
            return True if timed is None else timed
        if re.search(r"地址|住的地方|门牌|几号楼", text or ""):
            turn.set("booking_address", None)
            turn.set("booking_address_ok", None)
            return True
        if re.search(r"服务不对|不是这个服务|不是这项", text or ""):
            turn.set("booking_service", None)
            return True
        return self.correct_time(turn, text, intent)

    def summary(self, turn: Turn) -> str:
        start = dt.datetime.fromisoformat(turn.get("booking_time"))
        cost = _quote_sentence(turn.elder_id, turn.get("booking_service"), start)
        return WORDING.format(
            "confirm.book",
            name=turn.get("booking_person_name"),
            service=turn.get("booking_service"),
            when=say_window_with_hours(start),
            address=turn.get("booking_address"),
            cost=cost,
        )


class ValidateQueryBookingForm(BookingFormValidation):
    task_order = ()

    def name(self) -> Text:
        return "validate_query_booking_form"


class ValidateCancelBookingForm(BookingFormValidation):
    task_order = ("booking_reference", "booking_confirm")
    day_names_booking = True  # 周五的不用来了

    def name(self) -> Text:
        return "validate_cancel_booking_form"

    def prefill(self, turn: Turn, text: str) -> None:
        for slot in ("booking_reference", "booking_confirm", "booking_time", "booking_aborted"):
            turn.set(slot, None)
        turn.set("booking_failures", 0)
        super().prefill(turn, text)

    which_part_wrong = WORDING.text("confirm.which_part_wrong_cancel")

    def says_the_wish(self, requested: str, text: str) -> bool:
        # "对，不用来了" at the cancel read-back confirms the cancelling
        return requested == "booking_confirm" and bt.cancel_confirmation(text) is True

    def answer_confirm(self, turn: Turn, text: str, intent: Optional[str]) -> Optional[bool]:
        """The wish said instead of 对 / 不对 ("对，不要了", "别取消") decides; otherwise
        as in every form."""
        wish = bt.cancel_confirmation(text)
        if wish is True:
            turn.set("booking_confirm", True)
            return True
        if wish is False and not _WRONG.search(text or ""):
            turn.set("booking_confirm", False)
            return True
        return super().answer_confirm(turn, text, intent)

    def correct(self, turn: Turn, text: str, intent: Optional[str]) -> Optional[bool]:
        """ "不对，是打扫那个": the booking named instead; a bare "不对": asked which."""
        turn.set("booking_request", None)  # the request named the wrong one
        bookings = booking.list_bookings(turn.elder_id)
        chosen = _choose_booking(bookings, after_correction(text))
        if chosen is not None and chosen.reference != turn.get("booking_reference"):
            turn.set("booking_reference", chosen.reference)
            return True
        if len(bookings) > 1 and _WRONG.search(text or ""):
            turn.set("booking_reference", None)  # the list is read out and asked
            return True
        service = bt.service_from_text(after_correction(text))
        if bookings and service and not any(b.service_name == service for b in bookings):
            # none of that service: said, and the one read back is asked about again
            turn.say(WORDING.format("reference.no_such_service", service=service), asks=False)
            return True
        return None

    def summary(self, turn: Turn) -> str:
        view = _view(turn)
        return WORDING.format("confirm.cancel", booking=view.spoken, reference=view.reference) if view else ""


class ValidateRescheduleBookingForm(BookingFormValidation):
    task_order = ("booking_reference", "booking_time", "booking_confirm")
    day_names_booking = True  # 礼拜四那个打扫想换个日子: the day before 改到 names the booking
    which_part_wrong = WORDING.text("confirm.which_part_wrong_reschedule")

    def name(self) -> Text:
        return "validate_reschedule_booking_form"

    def time_in_request(self, request: str) -> Optional[str]:
        """Only the time after 改到 / 换到 is the new one; a day before it names the booking.
        "往后推一天" moves it from its own day (answer_time reads it)."""
        tail = after_correction(request)
        if tail == request:
            return request if shift_days(request) else None
        return super().time_in_request(tail)

    def correct(self, turn: Turn, text: str, intent: Optional[str]) -> Optional[bool]:
        timed = self.correct_time(turn, text, intent)
        if timed is not None:
            return timed
        bookings = booking.list_bookings(turn.elder_id)
        chosen = _choose_booking(bookings, after_correction(text)) if len(bookings) > 1 else None
        if chosen is not None and chosen.reference != turn.get("booking_reference"):
            turn.set("booking_reference", chosen.reference)
            return True
        return None

    def prefill(self, turn: Turn, text: str) -> None:
        for slot in (
            "booking_reference",
            "booking_confirm",
            "booking_time",
            "booking_service",
            "booking_aborted",
            "booking_time_options",
        ):
            turn.set(slot, None)
        turn.set("booking_failures", 0)
        super().prefill(turn, text)

    def answer_time(
        self, turn: Turn, text: str, intent: Optional[str], day_if_missing: Optional[dt.date] = None
    ) -> Optional[bool]:
        """A half day alone ("上午改成下午", "改下午") keeps the booking's own day; "往后推一天",
        "提前两天" count from it."""
        view = _view(turn)
        shift = shift_days(text)
        named = day_named(after_correction(text)) if shift else None
        if view is not None and shift and (named is None or view.window_start.date() in _days_meant(text)):
            turn.set("booking_service", view.service_name)
            own = view.window_start
            part = _HALF_DAY.search(after_correction(text))
            moved = window_start(
                own.date() + dt.timedelta(days=shift), part.group(0) if part else part_of(own)
            )
            return super().answer_time(turn, say_window(moved), intent)
        if view is not None:
            # "礼拜一那个改到礼拜二": the Tuesday of that visit's week, not this week's
            text = weekday_in_week_of(text, view.window_start.date())
            turn.set("booking_service", view.service_name)
            if day_if_missing is None and not turn.get("booking_day_said"):
                day_if_missing = view.window_start.date()
        return super().answer_time(turn, text, intent, day_if_missing)

    def summary(self, turn: Turn) -> str:
        view = _view(turn)
        start = dt.datetime.fromisoformat(turn.get("booking_time"))
        return (
            WORDING.format("confirm.reschedule", booking=view.spoken, when=say_window_with_hours(start))
            if view
            else ""
        )


def _offered(options: list) -> List[str]:
    """The times just read out, kept in booking_time_options so that "第二个" can choose one."""
    return [o.start.isoformat() for o in options]


def _view(turn: Turn) -> Optional[booking.BookingView]:
    ref = turn.get("booking_reference")
    if not ref or turn.elder_id is None:
        return None
    return next((v for v in booking.list_bookings(turn.elder_id) if v.reference == ref), None)


class AskBookingSlot(AskSlotAction):
    """Asks for a booking slot unless the validator has just asked it in its own words.
    Form-specific wording: response utter_booking_ask_<form>_<slot>, else utter_ask_<slot>."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if tracker.get_slot("booking_question_asked"):
            return [SlotSet("booking_question_asked", None)]
        form = (tracker.active_loop or {}).get("name")
        specific = f"utter_booking_ask_{form}_{self.slot}"
        responses = domain.get("responses", {}) if isinstance(domain, dict) else {}
        # read-backs are yes/no questions: the phone line offers 1 for yes and 2 for no
        flags = {"yes_no": True} if self.slot in YES_NO_SLOTS else None
        answers: List[str] | tuple[str, ...] = []
        if self.slot == "booking_time" and not is_voice(tracker):
            answers = time_choices(tracker)
        elif self.slot in YES_NO_SLOTS:
            answers = READ_BACK_ANSWERS  # on the web, a tap for each (form_buttons)
        dispatcher.utter_message(
            response=specific if specific in responses else f"utter_ask_{self.slot}",
            json_message=flags,
            buttons=form_buttons(tracker, answers),
        )
        return []


def _say_near(start: dt.datetime) -> str:
    """明天上午 / 后天下午 when near, else 11月26日上午: words bot/timeparse reads back."""
    word = _NEAR_DAYS.get((start.date() - today()).days)
    part = part_of(start)
    return f"{word}{part}" if word else f"{start.month}月{start.day}日{part}"


def time_choices(tracker: Tracker) -> List[str]:
    """The times to offer as buttons: the nearest free half days from tomorrow for the
    elder's street and the service (from the clock and the providers' places); the next
    two days' half days when those cannot be read."""
    elder_id = tracker.get_slot("booking_elder_id")
    service = tracker.get_slot("booking_service")
    reference = tracker.get_slot("booking_reference")
    tomorrow = dt.datetime.combine(today() + dt.timedelta(days=1), dt.time(0))
    try:
        with session_scope() as s:
            elder = s.get(Elder, int(elder_id)) if elder_id else None
            if service is None and reference and elder is not None:
                service = next(
                    (v.service_name for v in booking.list_bookings(elder.id) if v.reference == reference),
                    None,
                )
            options = (
                booking.available_windows(s, service, elder.street_id, tomorrow, limit=TIME_BUTTONS + 2)
                if elder is not None and service
                else []
            )
        options = [o for o in options if o.start >= tomorrow][:TIME_BUTTONS]  # from tomorrow
    except Exception:  # the question is asked all the same, with the plain choices
        log.exception("booking form: free times for the buttons not readable")
        options = []
    if options:
        return [_say_near(o.start) for o in options]
    return [
        _say_near(window_start(tomorrow.date() + dt.timedelta(days=d), part))
        for d in range(2)
        for part in PART_HOURS
    ][:TIME_BUTTONS]


ASK_ACTIONS = ask_actions(
    AskBookingSlot,
    (
        "booking_service",
        "booking_person_name",
        "booking_id_last4",
        "booking_code",
        "booking_time",
        "booking_address",
        "booking_address_ok",
        "booking_confirm",
    ),
    __name__,
)


class ActionAskBookingReference(Action):
    """Reads out the elder's upcoming bookings and asks which one."""

    def name(self) -> Text:
        return "action_ask_booking_reference"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        elder_id = tracker.get_slot("booking_elder_id")
        views = (
            guarded(dispatcher, "list bookings", lambda: booking.list_bookings(int(elder_id)))
            if elder_id
            else None
        )
        if tracker.get_slot("booking_question_asked"):
            return [SlotSet("booking_question_asked", None)]
        if not views:
            dispatcher.utter_message(
                text=WORDING.text("reference.ask"),
                json_message=dict(REFERENCE_FLAGS),
                buttons=form_buttons(tracker),
            )
            return []
        listed = "；".join(
            WORDING.format("reference.item", n=i, booking=v.spoken) for i, v in enumerate(views, 1)
        )
        dispatcher.utter_message(
            text=WORDING.format("reference.ask_listed", n=len(views), listed=listed),
            buttons=form_buttons(
                tracker, [WORDING.format("reference.ordinal", n=i) for i in range(1, len(views) + 1)]
            ),
        )
        return []


# ----- submit actions: write, tell the result, reset ----------------------------------------


def _reset_events(keep_identity: bool = True) -> List[EventType]:
    names = TASK_SLOTS + (() if keep_identity else IDENTITY_SLOTS)
    return [SlotSet(n, None) for n in names if n not in ("booking_phone_checked",)] + [
        SlotSet("booking_failures", 0)
    ]


# How a booking form ended without a confirmed request, when the caller has already heard
# why (an error, a refused identity check, a question answered, no booking to change).
_ENDS_ALREADY_EXPLAINED = ("error", "identity", "question", "no_bookings")


def _not_confirmed(
    dispatcher: CollectingDispatcher, tracker: Tracker, nothing_done: str, *needed: Any
) -> bool:
    """Whether the form ended without a confirmed, complete request (stopped, 不对, a slot
    missing); then the caller hears `nothing_done` unless she has heard why already."""
    if (
        tracker.get_slot("booking_aborted")
        or tracker.get_slot("booking_confirm") is not True
        or not all(needed)
    ):
        if tracker.get_slot("booking_aborted") not in _ENDS_ALREADY_EXPLAINED:
            dispatcher.utter_message(text=nothing_done)
        return True
    return False


def _other_times(
    dispatcher: CollectingDispatcher, result: Any, form: str, *also: EventType
) -> List[EventType]:
    """Someone took the last place while we talked: the nearest free times are offered and
    the form asks for the time again (the confirmed time and read-back are forgotten)."""
    dispatcher.utter_message(
        text=result.message,
        buttons=[{"title": o.short, "payload": o.short} for o in result.alternatives],
    )
    return [
        SlotSet("booking_time", None),
        SlotSet("booking_confirm", None),
        *also,
        SlotSet("booking_question_asked", True),
        SlotSet("booking_time_options", _offered(result.alternatives)),
        ActiveLoop(form),
        SlotSet("requested_slot", "booking_time"),
    ]


class ActionBookServiceSubmit(Action):
    def name(self) -> Text:
        return "action_book_service_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        needed = (tracker.get_slot("booking_time"), tracker.get_slot("booking_elder_id"))
        if _not_confirmed(dispatcher, tracker, WORDING.text("done.not_booked"), *needed):
            return _reset_events()
        key = _request_key(tracker, "book")
        start = dt.datetime.fromisoformat(tracker.get_slot("booking_time"))
        elder_id = int(tracker.get_slot("booking_elder_id"))
        to_family = identity.proved_through_family_contact(tracker.sender_id, elder_id)
        result = guarded(
            dispatcher,
            "book",
            lambda: booking.book(
                elder_id,
                tracker.get_slot("booking_service"),
                start,
                channel(tracker),
                key,
                address=tracker.get_slot("booking_address"),
                notify="family_contact" if to_family else "elder",
            ),
        )
        if result is None:
            return _reset_events()
        if result.ok:
            whose = WORDING.text("done.to_your_phone" if to_family else "done.to_registered_phone")
            sent = result.sms_outbox_id or result.code == "duplicate"
            sms = WORDING.format("done.sms_sent", whose=whose) if sent else ""
            dispatcher.utter_message(
                text=with_anything_else(result.message + sms),
                json_message={"task_completed": True, "reference": result.reference},
            )
            return _reset_events()
        if result.code == "full" and result.alternatives:
            return _other_times(dispatcher, result, "book_service_form", SlotSet("booking_summary", None))
        said = with_anything_else(result.message) if result.code == "already_booked" else result.message
        dispatcher.utter_message(text=said, buttons=HUMAN_BUTTONS if result.code == "full" else [])
        return _reset_events()


class ActionQueryBookingSubmit(Action):
    def name(self) -> Text:
        return "action_query_booking_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        elder_id = tracker.get_slot("booking_elder_id")
        if tracker.get_slot("booking_aborted") or not elder_id:
            dispatcher.utter_message(text=WORDING.text("done.query_stopped"))
            return _reset_events()

        def lookup():
            return (booking.list_bookings(int(elder_id)), booking.entitlement_summary(int(elder_id)))

        found = guarded(dispatcher, "query bookings", lookup)
        if found is None:
            return _reset_events()
        views, summary = found
        name = tracker.get_slot("booking_person_name") or ""
        if not views:
            text = WORDING.format("done.no_bookings", name=name)
        else:
            listed = "；".join(
                WORDING.format("done.listed_item", n=i, booking=v.spoken, reference=v.reference)
                for i, v in enumerate(views, 1)
            )
            text = WORDING.format("done.listed", name=name, n=len(views), listed=listed)
        if summary.granted_minutes:
            text += WORDING.format("done.free_hours_left", hours=booking.hours_text(summary.left_minutes))
        dispatcher.utter_message(text=with_anything_else(text))
        return _reset_events()


class ActionPointAtBooking(Action):
    """Right after her bookings were read out, a reply that is no request of its own
    ("洗澡那个", "第二个", read as yes or as information): the booking it names is asked
    about; anything else hears what the assistant can do, as a bare yes does."""

    def name(self) -> Text:
        return "action_point_at_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        elder_id = tracker.get_slot("booking_elder_id")
        text = latest_text(tracker)
        chosen = None
        names_one = bool(
            bt.service_from_text(text)
            or _HALF_DAY.search(text)
            or bt.ordinal_from_text(text) is not None
            or day_named(text) is not None
        )
        if elder_id and names_one and not _NEW_AGAIN.search(text):
            views = guarded(dispatcher, "point at booking", lambda: booking.list_bookings(int(elder_id)))
            if views is None:
                return []
            chosen = _choose_booking(views, text)
        if chosen is None:
            dispatcher.utter_message(response="utter_capabilities")
            return []
        return _ask_what_to_do(dispatcher, chosen)


class ActionCancelBookingSubmit(Action):
    def name(self) -> Text:
        return "action_cancel_booking_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        ref, elder_id = tracker.get_slot("booking_reference"), tracker.get_slot("booking_elder_id")
        if _not_confirmed(dispatcher, tracker, WORDING.text("done.not_cancelled"), ref, elder_id):
            return _reset_events()
        result = guarded(
            dispatcher,
            "cancel booking",
            lambda: booking.cancel(ref, int(elder_id), reason="电话/网页取消", channel=channel(tracker)),
        )
        if result is not None:
            dispatcher.utter_message(
                text=with_anything_else(result.message), json_message={"task_completed": True}
            )
        return _reset_events()


class ActionRescheduleBookingSubmit(Action):
    def name(self) -> Text:
        return "action_reschedule_booking_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        ref, elder_id = tracker.get_slot("booking_reference"), tracker.get_slot("booking_elder_id")
        when = tracker.get_slot("booking_time")
        if _not_confirmed(dispatcher, tracker, WORDING.text("done.not_rescheduled"), ref, elder_id, when):
            return _reset_events()
        result = guarded(
            dispatcher,
            "reschedule booking",
            lambda: booking.reschedule(
                ref, int(elder_id), dt.datetime.fromisoformat(when), channel=channel(tracker)
            ),
        )
        if result is None:
            return _reset_events()
        if result.code == "full" and result.alternatives:
            return _other_times(dispatcher, result, "reschedule_booking_form")
        dispatcher.utter_message(
            text=with_anything_else(result.message) if result.ok else result.message,
            json_message={"task_completed": True, "reference": result.reference} if result.ok else None,
        )
        return _reset_events()
