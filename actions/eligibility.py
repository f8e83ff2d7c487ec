"""The eligibility conversation: "what can I (or my mother) get?".

    check_eligibility -> action_eligibility_start -> eligibility_form -> action_eligibility_summary
                         (who, facts said already,  (asks only what     (top results, offer to
                          known caller by phone)     still matters)      book or send an SMS)

Thin: the facts are read by bot/text/facts.py, the rules are decided by bot/eligibility/rules.py.
Every fact slot is `from_text` (the classifier may call "八十五" anything); the validator
reads the answer itself, re-asks politely, and offers a human after two misses.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    HUMAN_BUTTON,
    MOBILE_NUMBER_FLAGS,
    queue_handoff,
    caller_phone,
    confident_policy_answer,
    entity_values,
    form_buttons,
    guarded,
    is_voice,
    uncovered_benefit_answer,
    latest_text,
    say_referral,
    with_anything_else,
)
from actions.forms import AskSlotAction, FormValidation, MissPolicy, Reply, ask_actions, count_miss
from bot import identity, referrals
from bot.eligibility import rules as eligibility
from bot.text import facts as factlib
from bot.clock import today
from bot.eligibility.caller import stored_facts_for_phone
from bot.eligibility.focus import asked_programs
from bot.eligibility.wording import WORDING
from bot.eligibility.summary import SCREEN_WHY, explanation, screen_summary, sms_text, spoken_summary
from bot.text.masking import mask_phone

log = logging.getLogger(__name__)

# Facts the conversation may ask for (every fact of Elder.facts(); the rule pack orders
# the questions), and their slots.
FACT_SLOTS = {fact: f"elig_{fact}" for fact in factlib.FACT_KEYS}
SLOT_FACTS = {slot: fact for fact, slot in FACT_SLOTS.items()}
EXTRA_SLOTS = ("elig_age_approximate",)
STATE_SLOTS = (
    "elig_use_stored",
    "elig_stored_facts",
    "elig_stored_name",
    "elig_failures",
    "elig_handoff",
    "elig_summary",
    "elig_sms_phone",
    "elig_sms_sent",
)
SKIPPED_TEXT = WORDING.text("skipped")

# A question back instead of an answer ("助餐点一般在哪里？"): a value reader may still find
# a word in it (一般 -> 普通), so a question that the knowledge base can answer is answered
# as a side question and the form's question is asked again.
_SIDE_QUESTION = re.compile(r"？|\?|哪里|哪儿|在哪|怎么|什么|多少|几点|几个|吗$|呢$")


def is_side_question(text: str) -> bool:
    return bool(_SIDE_QUESTION.search(text or ""))


# "不清楚，没听她说过吃低保", "不知道是不是特困": a don't-know whose words name a value only as
# what the caller has not heard of or cannot tell; the value is not taken.
_NOT_HEARD = re.compile(r"没听.{0,6}(说|讲|提)|没(说|讲|提)(过|起)|是不是|有没有|吃没吃|算不算|办没办")


def is_unsure_about(text: str) -> bool:
    """A don't-know that names a value only as a guess or as what the caller has not heard
    of ("应该算一般吧，我也不太清楚", "好像是低保吧，说不准", "不清楚是不是特困"): unknown,
    never the value."""
    if not factlib.is_dont_know(text):
        return False
    return bool(_NOT_HEARD.search(text or "") or _HEDGE.search(text or "") or _GUESS_BA.search(text or ""))


# "一般吧，不清楚": a 吧 that closes a clause is a guess too
_GUESS_BA = re.compile(r"吧(?=[\s，,。！!？?、…]|$)")


# What to say when an answer could not be used: an example of a good answer.
EXAMPLES = WORDING.keyed("examples")
_BOOL_SLOTS = tuple(FACT_SLOTS[fact] for fact in factlib.YES_NO_FACTS)

# The answers offered as buttons on the web, in the words a caller would use: a tap is read
# by the same validator as typing (普通家庭 -> 普通, 卧床 -> 重度失能, 不清楚 -> DONT_KNOW).
DONT_KNOW_ANSWER = "不清楚"
ANSWER_BUTTONS: dict[str, tuple[str, ...]] = {
    "elig_economic_status": ("普通家庭", "低保", "低保边缘", "特困", DONT_KNOW_ANSWER),
    "elig_care_level": ("能自己走动", "要人扶", "卧床", DONT_KNOW_ANSWER),
    "elig_living_situation": ("一个人住", "老两口住", "跟子女住"),
    **{slot: ("是", "不是", DONT_KNOW_ANSWER) for slot in _BOOL_SLOTS},
}


def answer_buttons(slot: str) -> tuple[str, ...]:
    """The usual answers to the question for `slot` (the streets from their one home)."""
    if slot == "elig_street":
        return factlib.DISTRICT_STREETS
    return ANSWER_BUTTONS.get(slot, ())


def who_phrase(relation: str | None) -> str:
    """How the questions refer to the person: 您 / 您母亲 / 老人家."""
    if not relation or relation == "本人":
        return WORDING.text("who.self")
    if relation == "亲友":
        return WORDING.text("who.friend")
    return WORDING.format("who.relative", relation=relation)


_CHOICES = {
    "economic_status": factlib.ECONOMIC_STATUSES,
    "care_level": factlib.CARE_LEVELS,
    "living_situation": factlib.LIVING_SITUATIONS,
    "street": (*factlib.DISTRICT_STREETS, factlib.OUTSIDE_DISTRICT),
}


def is_validated(fact: str, value: Any) -> bool:
    """True for values the validator produced; raw answers (the text of a from_text
    mapping, not yet read) are not facts yet."""
    if value == factlib.DONT_KNOW:
        return True
    if fact == "age":
        return isinstance(value, int) and not isinstance(value, bool)
    if fact == "birth_date":
        return isinstance(value, str) and len(value) == 10
    if fact in _CHOICES:
        return value in _CHOICES[fact]
    return isinstance(value, bool)


def collected_facts(tracker: Tracker) -> dict:
    """The validated facts gathered so far, in Elder.facts() keys (DONT_KNOW stays: the
    engine drops it, and the form does not ask again)."""
    out = {}
    for fact, slot in FACT_SLOTS.items():
        value = tracker.get_slot(slot)
        if value is not None and is_validated(fact, value):
            out[fact] = value
    approximate = tracker.get_slot("elig_age_approximate")
    if approximate:
        out["age_approximate"] = True
        upper = age_upper(approximate)
        if upper is not None:
            out["age_upper"] = upper
    return out


def age_upper(approximate: Any) -> int | None:
    """The top of an age said as a range: the slot elig_age_approximate holds True for an
    age said "about" (八十岁左右) and the range's highest age for 七八十岁 (the age slot holds
    its lowest)."""
    if isinstance(approximate, bool) or not isinstance(approximate, (int, float)):
        return None
    return int(approximate)


def approximate_slot(reading: factlib.AgeReading) -> bool | int | None:
    """What elig_age_approximate holds for an age reading (see age_upper)."""
    if reading.upper is not None:
        return reading.upper
    return True if reading.approximate else None


def fact_events(found: dict, only_empty: Tracker | None = None) -> dict:
    """Slot values for facts read from a sentence (never overwriting answered slots)."""
    slots: dict = {}
    if "age_upper" in found:  # a range: the slot holds its top (see age_upper)
        found = {k: (found["age_upper"] if k == "age_approximate" else v) for k, v in found.items()}
    for fact, value in found.items():
        if fact == "age_approximate":
            slot = "elig_age_approximate"
        else:
            slot = FACT_SLOTS.get(fact)
        if slot and (only_empty is None or only_empty.get_slot(slot) is None):
            slots[slot] = value
    return slots


def readback(slots: dict, who: str) -> str:
    """Numbers and choices read back, so a mishearing is caught at once."""
    parts = []
    upper = age_upper(slots.get("elig_age_approximate"))
    if slots.get("elig_age") not in (None, factlib.DONT_KNOW) and upper is not None:
        parts.append(WORDING.format("readback.age_range", who=who, low=slots["elig_age"], high=upper))
    elif slots.get("elig_age") not in (None, factlib.DONT_KNOW):
        approx = WORDING.text("readback.age_approximate") if slots.get("elig_age_approximate") else ""
        parts.append(WORDING.format("readback.age", who=who, age=slots["elig_age"], approx=approx))
    street = slots.get("elig_street")
    if street and street != factlib.DONT_KNOW:
        parts.append(
            WORDING.text("readback.outside_district")
            if street == factlib.OUTSIDE_DISTRICT
            else WORDING.format("readback.street", street=street)
        )
    for slot in ("elig_economic_status", "elig_care_level", "elig_living_situation"):
        if slots.get(slot) not in (None, factlib.DONT_KNOW):
            parts.append(str(slots[slot]))
    return "，".join(parts)


# A check whose first sentence the classifier also reads as a policy question (ask_policy
# at least this confident) gets the knowledge base's answer first, when the base is sure.
# "我妈一个人住，有没有人每个月来看看她" is both and scores ask_policy 0.2-0.3: the base's own
# threshold keeps the answer's precision, so a serious second reading is enough.
ALSO_POLICY_CONFIDENCE = 0.2


def _policy_answer_too(tracker: Tracker, text: str) -> str | None:
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    if not any(
        r.get("name") == "ask_policy" and (r.get("confidence") or 0.0) >= ALSO_POLICY_CONFIDENCE
        for r in ranking
    ):
        return None
    policy = confident_policy_answer(text)
    return policy[0] if policy else None


# Hedged negation ("应该不算低保吧", "好像不是吧"): the hedge words go and "不算 / 算不上" say
# "不是", so the fact readers see a plain "不是低保" / "不是" (stored as not, never as the
# positive). A hedged answer is still an answer; "不清楚" stays unknown.
_HEDGE = re.compile(r"好像|应该|可能|大概|估计|我觉得|我看|恐怕|似乎|也许|怕是|(?<=不是)吧|(?<=不算)吧|吧$")
_NOT_COUNTED = re.compile(r"不算|算不上|不属于|谈不上|够不上|称不上|不够")


def unhedged(text: str) -> str:
    """ "应该不算低保吧" -> "不是低保"; text without a negation is left as it is."""
    if not re.search(r"不|没", text or ""):
        return text
    flat = _HEDGE.sub("", _NOT_COUNTED.sub("不是", text or "")) or text
    # "不是特困" is no means-tested status at all: said the way the reader knows ("不是低保")
    return _NOT_A_STATUS.sub("不是低保", flat)


_NOT_A_STATUS = re.compile(r"(?:不是|没有|没)(?:特困户?|五保户?|特困供养)")
# A clause of a longer sentence that talks about money or about getting about: read with the
# answer readers of those questions ("住夫子庙，家里条件一般，…" -> 普通), so a fact said up
# front is not asked again.
_CLAUSE_READERS = (
    (
        "economic_status",
        re.compile(r"经济|条件|收入|家境|日子|低保|特困|五保|困难"),
        factlib.parse_economic_status,
    ),
    ("care_level", re.compile(r"走|卧床|瘫|扶|轮椅|自理|腿脚|拐"), factlib.parse_care_level),
)


# "她能不能算特困", "低保能申请吗", "特困供养她能办吗": the status (or the program named
# after it) is what the caller asks about, not a fact
# about the person; read as a fact it would answer its own question with a yes.
_ASKED_STATUS = re.compile(
    r"(能不能|能否|可不可以|可以|算不算|够不够|够得上|有没有资格|想|怎么|如何|能)"
    r"(算|评|评上|申请|办理?|吃上|当上?|够)?[^，,。；;？?]{0,3}(特困|五保|低保)|"
    r"(特困|五保|低保)(户|供养|人员)?(够不够|算不算|能不能评上?|怎么申请|怎么评)|"
    # the program named by the status ("特困供养她能不能办", "低保救助怎么申请")
    r"(特困|五保|低保)(供养|救助|认定|待遇|补助|补贴|金)[^，,。；;？?]{0,4}"
    r"(能|可以|可不可以|行不行|怎么|如何|有没有|够不够|吗)"
)


def _stated_status(plain: str) -> str | None:
    """The means-tested status the sentence states, leaving out the clauses that ask about
    one; None when it only asks ("她能不能算特困啊")."""
    clauses = [c for c in re.split(r"[，,。；;！!？?\s]+", plain) if c and not _ASKED_STATUS.search(c)]
    return next((v for v in map(factlib.parse_economic_status, clauses) if v is not None), None)


# "八十岁以上是不是每个月有…": an age with 以上/以下 is the program's threshold, not the
# person's age ("她八十以上了" still is one).
_THRESHOLD_AGE = re.compile(
    r"(?:\d{2,3}|[一二三四五六七八九十百]{1,4})\s*(?:周岁|岁)?\s*(?:及|或)?(?:以上|以下|往上|之上)(?!了)"
)
# A phone line's speech recognition splits a spoken age: "八十 三岁" comes as "80 3岁".
_SPLIT_AGE = (
    (re.compile(r"(?<![\d.])([1-9])0\s+([1-9])(?=\s*(?:周?岁|了|$))"), r"\1\2"),
    (re.compile(r"([一二三四五六七八九])十\s+([一二三四五六七八九])(?=\s*(?:周?岁|了|$))"), r"\1十\2"),
)
# A means-tested status said to have stopped ("低保去年就停了", "特困取消了") is not the
# status now: the words go, and what else the sentence says decides (or the form asks).
# A negated verb ("低保没有取消，还在吃") did not stop it; "没有了" only at a clause's end
# ("现在还没有了解清楚" is no stop).
_NOT_NEGATED = r"(?<![没不未])(?<!没有)"
_STOPPED_STATUS = re.compile(
    r"(?:低保边缘|低保|特困|五保)(?:户|供养)?(?:[^，,。；;！!？?]{0,6}"
    + _NOT_NEGATED
    + r"(?:停了|停掉了?|取消了?|没了(?!解)|不吃了|不领了|撤了|退了|断了)|"
    # in the next clause: "原来吃低保，后来撤了"
    r"[^，,。；;！!？?]{0,4}[，,](?:后来|现在|去年|前年|早就|已经)[^，,。；;！!？?]{0,4}"
    + _NOT_NEGATED
    + r"(?:停了|停掉了?|取消了?|不吃了|不领了|撤了|退了|断了|没有了(?=[，,。；;！!？?]|$)))"
)


def without_stopped_status(text: str) -> str:
    """ "低保去年就停了，现在就是普通家庭" -> "，现在就是普通家庭"."""
    return _STOPPED_STATUS.sub("", text or "")


def as_heard(text: str) -> str:
    """The sentence with a split spoken age joined again ("80 3岁" -> "83岁")."""
    for pattern, joined in _SPLIT_AGE:
        text = pattern.sub(joined, text or "")
    return text


def read_choice(parser: Any, text: str) -> Any:
    """A choice answer read as meant: hedges and a stopped status gone, and after a
    self-correction ("低保，哦不对，普通家庭") the corrected words first."""
    plain = without_stopped_status(unhedged(text))
    corrected = factlib.after_correction(plain)
    if corrected is not None:
        value = parser(corrected)
        if value is not None:
            return value
    return parser(plain)


def facts_said(text: str) -> dict:
    """The facts in a caller's sentence: the fact reader's, plus a money or mobility fact
    said in a clause of its own that the reader passed over (a status the caller only asks
    about is not taken as said). A threshold (八十岁以上) is no age, a stopped status no
    status, and after a self-correction ("低保……哦不对，普通家庭") the corrected fact counts."""
    plain = without_stopped_status(_THRESHOLD_AGE.sub("", as_heard(unhedged(text))))
    found = factlib.extract_facts(plain, today())
    corrected = factlib.after_correction(plain)
    if corrected is not None:
        # the age reader handles its own corrections; the other facts said again count
        found.update(
            {
                k: v
                for k, v in factlib.extract_facts(corrected, today()).items()
                if not k.startswith("age") and k != "birth_date"
            }
        )
    if found.get("economic_status") in ("低保", "特困") and _ASKED_STATUS.search(plain):
        stated = _stated_status(plain)
        if stated is None:
            found.pop("economic_status")
        else:
            found["economic_status"] = stated
    for clause in re.split(r"[，,。；;！!？?\s]+", plain):
        for fact, cue, reader in _CLAUSE_READERS:
            if fact == "economic_status" and _ASKED_STATUS.search(clause):
                continue
            if fact not in found and cue.search(clause):
                value = reader(clause)
                if value is not None:
                    found[fact] = value
    if factlib.is_dont_know(text):
        # "我妈八十三，好像是低保，我也不太清楚": a fact said only as a guess in a sentence
        # that also says "don't know" is not taken (the form asks it, and 不知道 skips it)
        for clause in re.split(r"[，,。；;！!？?\s]+", text):
            if _HEDGE.search(clause) or factlib.is_dont_know(clause):
                guessed = factlib.extract_facts(unhedged(clause), today())
                for fact in _GUESSABLE_FACTS:
                    if fact in guessed:
                        found.pop(fact, None)
    return found


# Facts a caller may guess at (a choice or yes/no read from words); an age said with 大概 is
# an approximate age instead, read as such.
_GUESSABLE_FACTS = ("economic_status", "care_level", "dementia", "living_situation", "special_family")


def opening_text(tracker: Tracker) -> str:
    """What the caller said that started the latest check (the message before
    action_eligibility_start, or before the policy answer that started the form), "" when
    it was a button."""
    said = ""
    before = ""  # the message before `said`
    opening = ""
    last_action = action_before = None
    loop = None
    for event in tracker.events:
        if event.get("event") == "user":
            before, said = said, event.get("text") or ""
        elif event.get("event") == "active_loop":
            loop = event.get("name")
        elif event.get("event") == "action":
            name = event.get("name")
            started_by = last_action if name == "eligibility_form" and loop != name else None
            if started_by == "action_safety_confirmed" or (
                # a no to the safety question that the classifier read as a policy question
                started_by == "action_answer_policy" and action_before == "action_safety_check"
            ):
                opening = before  # the check a safety question interrupted (start_interrupted)
            elif name == "action_eligibility_start" or started_by in (
                "action_answer_policy",
                "action_eligibility_from_facts",
            ):
                opening = said  # a policy question that started the check (wants_check)
            if name != "action_listen":
                action_before, last_action = last_action, name
    return "" if opening.startswith("/") else opening


def asked_with_rules(text: str) -> list[str]:
    """The programs a sentence asks about that the rules decide (a program without rules,
    such as 计划生育特殊家庭, leaves the usual full check)."""
    try:
        asked = asked_programs(text)
        ruled = {pid for pid, _ in eligibility.programs()}
    except Exception:  # the focus is a courtesy: the full check still works
        log.exception("eligibility: could not read the program asked about")
        return []
    return [pid for pid in asked if pid in ruled]


# "我妈七十七了，住朝天宫，家庭养老床位她能申请吗": whether a person said with her age or
# street can have a program the rules decide is a check, whichever intent the classifier
# chose; the cited answer still comes first (ActionEligibilityStart). "怎么申请" asks the way,
# not whether: it stays a policy question.
# A program or benefit noun: what "有没有" asks about in a check ("助餐点有没有开门" asks no
# such thing).
_BENEFIT = r"(补贴|补助|津贴|照料|照顾|护理|培训|床位|待遇|福利|优惠|资格|名额|免费)"
_CAN_THEY = re.compile(
    r"(能|可以|可不可以|能不能|能否|够不够|够格|有没有资格|符合)[^，,。；;？?]{0,6}"
    # "能不能有人帮忙" asks for a person, not whether she has a program
    r"(申请|享受|办|用|领|参加|报名|装|做|有(?!人))|"
    # "他每个月是不是有免费的上门照料", "护理培训是不是有免费的": whether there is one for him
    r"(是不是有|有没有)[^，,。；;？?]{0,6}"
    + _BENEFIT
    + "|"
    + _BENEFIT
    + r"[^，,。；;？?]{0,6}(是不是有|有没有)"
)
# How to apply, where, what it costs: the way, not whether ("想学怎么照顾老人" is no such
# question).
_HOW = re.compile(
    r"(怎么|如何|怎样)[^，,。；;？?]{0,3}(申请|办|弄|报名|报|收费|算|领|去|联系|预约|找)|"
    r"流程|手续|在哪|哪里|找谁|多少钱|材料"
)
# "她这种情况能有点什么帮助", "我爸能享受啥政策": what a person can get, with no program named.
_WHAT_FOR_THEM = re.compile(
    r"(能|可以)?(有|享受|得到|领|拿)(点|些)?(什么|啥|哪些)[^，,。；;？?]{0,4}"
    r"(帮助|照顾|帮扶|政策|补贴|补助|待遇|福利|服务)|"
    r"有没有(什么|啥)[^，,。；;？?]{0,4}(帮助|照顾|帮扶|补贴|补助|政策|待遇|福利)"
)

# Booking words: an opening about a visit is the booking form's, not a check.
_BOOKING = re.compile(r"预约|约个|约一下|订个|派人来|派个人|改时间|改到|上门来")
# What the office offers ("你们都有哪些服务"), not what a person can have.
_YOUR_SERVICES = re.compile(r"你们[^，,。；;？?]{0,6}服务")


def wants_check(text: str) -> bool:
    """True for a question whether a person (said with her age or street) can have a
    program that the eligibility rules decide, or what a person (said by kinship or by her
    situation) can get at all."""
    if not text:
        return False
    if _BOOKING.search(text):
        return False  # "他有什么服务可以预约": a visit, the booking form's
    said = facts_said(text)
    how = _HOW.search(text)
    # a person said only by kinship asks for herself only with a check's words, and "你们都有
    # 哪些服务" asks what the office offers
    for_them = said or (
        factlib.parse_relation(text) and _CHECK_WORDS.search(text) and not _YOUR_SERVICES.search(text)
    )
    if not how and _WHAT_FOR_THEM.search(text) and for_them:
        return True
    # "她能不能享受，怎么申请" asks both: the cited answer says the way, the check whether;
    # "怎么申请" alone stays a policy question
    if not _CAN_THEY.search(text) or not {"age", "street"} & said.keys():
        return False
    return bool(asked_with_rules(text))


def start_interrupted(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str
) -> List[EventType] | None:
    """After a "no" to the safety question ("是不是有人向您要钱？" "没有"), the check the
    interrupted message asked for, when the classifier read it as one; None otherwise."""
    users = [e for e in reversed(tracker.events) if e.get("event") == "user"]
    parsed = (users[1].get("parse_data") or {}) if len(users) > 1 else {}
    # the safety layer put its own reading on top; the classifier's are still ranked below it
    ranking = parsed.get("intent_ranking") or [parsed.get("intent") or {}]
    intent = next((r.get("name") for r in ranking if r.get("name") not in _NOT_ORDINARY), None)
    if not text:
        return None
    said = facts_said(text)
    if not (
        intent == "check_eligibility"
        or wants_check(text)
        or (_CHECK_WORDS.search(text) and {"age", "street"} & said.keys())
    ):
        return None
    log.info("eligibility: the check a safety question interrupted goes on")
    return start_check(dispatcher, tracker, text)


def start_check(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> List[EventType]:
    """Starts a check about `text` and opens the form, unless the start handed the caller
    on (another office's business: the start said where to go)."""
    events = ActionEligibilityStart().start(dispatcher, tracker, text)
    if any(e.get("name") == "elig_handoff" and e.get("value") for e in events):
        return events
    return events + [FollowupAction("eligibility_form")]


# The safety layer's readings and the fallback: not what an ordinary message asked for.
_NOT_ORDINARY = {
    "safety_check",
    "safety_denial",
    "scam_report",
    "crisis",
    "emergency",
    "privacy_request",
    "nlu_fallback",
}

# Words of a check ("能享受什么", "有没有补贴"): a sentence with none of them that another
# office handles ("借钱不还能不能告他") gets the referral instead of a check.
_CHECK_WORDS = re.compile(r"享受|补贴|补助|照顾|待遇|福利|资格|符合|能领|能拿|条件|帮扶|救助|政策")


# The next person of the same household ("那我妈呢，也住那儿"): lives where the last check's
# person lives ("他也住院了" is no home).
_SAME_HOME = re.compile(r"也住(?!院)|同一个(街道|小区|院)|同一个地方|也在(这|那)")
# "跟我爸住一起": with whom; the same home only when that is the last check's person.
_LIVES_WITH = re.compile(
    r"(?:跟|和|同)(?P<who>[^，,。；;！!？?\s]{1,4}?)(?:住(?:在)?一起|一起住|住一块|住一起)"
)
_SELF = {"我", "我们", "咱", "咱们", "俺", "俺们"}


def same_home(text: str, previous_subject: str | None) -> bool:
    """True when the next person lives with the last check's person: "也住那儿", or living
    with that person ("跟他住一起"; "跟我住一起" after a check about the caller herself)."""
    if _SAME_HOME.search(text):
        return True
    with_whom = _LIVES_WITH.search(text)
    if not with_whom or not previous_subject:
        return False
    who = with_whom.group("who")
    if who in {"他", "她", "ta", "TA"}:
        return True
    if who in _SELF:
        return previous_subject == "本人"
    return factlib.parse_relation(who) == previous_subject


class ActionEligibilityStart(Action):
    """Starts a check: who it is for, facts said in the first sentence, known caller."""

    def name(self) -> Text:
        return "action_eligibility_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        return self.start(dispatcher, tracker, latest_text(tracker))

    def start(self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> List[EventType]:
        """Starts a check about `text` (the latest message, or the one a safety question
        interrupted)."""
        if text.startswith("/"):
            text = ""
        if text and not _CHECK_WORDS.search(text) and referrals.find(text) is not None:
            # not a check at all: another office's business; the form ends at once
            say_referral(dispatcher, tracker, text)
            return [SlotSet(s, None) for s in STATE_SLOTS] + [SlotSet("elig_handoff", True)]
        relation = factlib.parse_relation(text) or "本人"
        who = who_phrase(relation)
        events: List[EventType] = [
            SlotSet(s, None) for s in (*FACT_SLOTS.values(), *EXTRA_SLOTS, *STATE_SLOTS)
        ]
        found = facts_said(text)
        previous_street = tracker.get_slot("elig_street")
        if (
            "street" not in found
            and previous_street in factlib.DISTRICT_STREETS
            and same_home(text, tracker.get_slot("elig_subject"))
        ):
            found["street"] = previous_street  # "那我妈呢，她七十八，也住一起"
        events += [SlotSet(k, v) for k, v in fact_events(found).items()]
        events += [
            SlotSet("elig_subject", relation),
            SlotSet("elig_who", who),
            SlotSet("elig_failures", {}),
            SlotSet("requested_slot", None),
        ]
        phone = caller_phone(tracker)
        stored = (
            guarded(dispatcher, "look up caller by phone", lambda: stored_facts_for_phone(phone))
            if phone
            else None
        )
        if stored:
            name, stored_facts = stored
            desc = WORDING.format(
                "start.stored_elder", name=name, age=stored_facts["age"], street=stored_facts["street"]
            )
            events += [
                SlotSet("elig_stored_name", name),
                SlotSet("elig_stored_facts", stored_facts),
                SlotSet("elig_stored_desc", desc),
            ]
            log.info("eligibility: caller %s is a registered elder", mask_phone(phone))
        policy = _policy_answer_too(tracker, text)
        asked = asked_with_rules(text)
        if policy is None and asked:
            # "我妈九十二了，家里人能参加免费培训吗": a check about one program starts with the
            # cited rule of that program (the knowledge base's answer, when it is sure of it)
            cited = confident_policy_answer(text)
            policy = cited[0] if cited and cited[1] in asked else None
        uncovered = None if policy else uncovered_benefit_answer(text)
        if policy:
            # "我爸瘫在床上了，长护险的流程是什么" reads as both: the cited answer first,
            # then the check
            dispatcher.utter_message(text=policy)
        elif uncovered:
            # "我妈能领高龄补贴吗": a benefit the pack does not cover; where to ask first,
            # then the check of what it does cover (先不办了 leaves it)
            dispatcher.utter_message(text=uncovered)
        said = readback(fact_events(found), who)
        what = WORDING.text("start.what_all")
        if asked:  # "好的，我帮您查查您母亲是否符合高龄免费照料的条件" (no "不能享受" in it)
            from bot.policy import kb as policy_kb

            what = WORDING.format(
                "start.what_program", program=policy_kb.get_kb().program(asked[0]).short_name
            )
        intro = WORDING.format("start.intro_also" if uncovered else "start.intro", who=who, what=what)
        if said:
            intro += WORDING.format("start.noted", said=said)
        dispatcher.utter_message(text=intro)
        return events


# A caller who says she wants to ask ("我想给我爸问问", "替我外婆打听打听", "咨询一下").
_ASKS = re.compile(r"问问|问一下|打听|了解|咨询")


def opens_a_check(text: str) -> bool:
    """True for an opening that tells a person's situation (her age or street, and who she
    is or another fact) and that the caller wants to ask about it, with no booking in it:
    "我想给我爸问问，他八十四了，一个人住朝天宫"."""
    if not text or _BOOKING.search(text):
        return False
    said = facts_said(text)
    if not {"age", "street"} & said.keys():
        return False
    if len(said.keys() - {"age_approximate", "age_upper", "birth_date"}) < 2 and not factlib.parse_relation(
        text
    ):
        return False
    return bool(_ASKS.search(text) or _CHECK_WORDS.search(text) or _WHAT_FOR_THEM.search(text))


class ActionEligibilityFromFacts(Action):
    """The first message read as information (no question in it): a check when it tells a
    person's situation and asks about it (opens_a_check); otherwise "not understood", as
    the core fallback says."""

    def name(self) -> Text:
        return "action_eligibility_from_facts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        text = latest_text(tracker)
        if not opens_a_check(text):
            # not understood: what action_misunderstood does (a referral, a sure policy
            # answer, counting the misses and offering a person)
            from actions.core import ActionMisunderstood  # actions.core imports this module

            return await ActionMisunderstood().run(dispatcher, tracker, domain)
        log.info("eligibility: an opening that tells a person's facts starts a check")
        return start_check(dispatcher, tracker, text)


class ValidateEligibilityForm(FormValidation):
    """Asks only the facts that can still change a result; reads colloquial answers."""

    def name(self) -> Text:
        return "validate_eligibility_form"

    why_response = "utter_why_eligibility_questions"  # at every question
    # a miss says what a good answer is like; the second in a row at a question offers a
    # person (then yes: a person, no: the question again, anything else: skipped)
    misses = MissPolicy(
        again=Reply(text=WORDING.template("misses.again", "example"), custom={"misunderstood": True}),
        offer=Reply(
            text=WORDING.template("misses.offer", "example"),
            buttons=(HUMAN_BUTTON,),
            custom={"misunderstood": True},
        ),
    )

    def side_question(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str, text: str, answered: bool
    ) -> bool:
        """A question back that the knowledge base answers ("助餐点在哪儿？"), even when a
        value reader found a word in it."""
        side = (
            _policy_answer_too(tracker, text) if text and (not answered or is_side_question(text)) else None
        )
        if not side:
            return False
        log.info("eligibility: side question answered while asking %s", requested)
        dispatcher.utter_message(text=side)
        dispatcher.utter_message(response="utter_back_to_form")
        return True

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        if tracker.get_slot("elig_handoff"):
            return []
        slots: List[Text] = ["elig_subject"]
        if tracker.get_slot("elig_stored_facts") and tracker.get_slot("elig_use_stored") not in ("yes", "no"):
            slots.append("elig_use_stored")
            return slots
        facts = collected_facts(tracker)
        skip = [f for f, v in facts.items() if v == factlib.DONT_KNOW]
        asked = asked_with_rules(opening_text(tracker))
        try:
            # a check about one program asks only what decides that program (its tiers too);
            # the result then answers it first and names what else is already certain
            missing = eligibility.relevant_missing_facts(
                facts, on=today(), skip=skip, include_tiers=bool(asked), programs=asked or None
            )
        except eligibility.FactError:
            log.exception("eligibility: unusable collected facts %s", sorted(facts))
            missing = []
        slots += [FACT_SLOTS[f] for f in missing if f in FACT_SLOTS]
        # What was just said must be validated even if it answers the last open question; a
        # slot the validation has just cleared (the birth date an exact age made moot) is not
        # a question to ask.
        slots += [
            s
            for s in tracker.slots_to_validate()
            if s in SLOT_FACTS and s not in slots and tracker.get_slot(s) is not None
        ]
        return slots

    # -- shared handling of one answer -------------------------------------------------

    def _answer(
        self,
        slot: str,
        value: Any,
        parsed: Any,
        tracker: Tracker,
        dispatcher: CollectingDispatcher,
        extra: dict | None = None,
    ) -> Dict[Text, Any]:
        failures = dict(tracker.get_slot("elig_failures") or {})
        text = value if isinstance(value, str) else ""
        if parsed is not None and is_unsure_about(text):
            parsed = None  # "不清楚，没听她说过吃低保" names 低保 without saying it: unknown
        if parsed is None and text and factlib.is_dont_know(text):
            parsed = factlib.DONT_KNOW
            dispatcher.utter_message(text=WORDING.text("dont_know"))
        if self.interruption(dispatcher, tracker, slot, text, answered=parsed is not None):
            # "等一下，我找找户口本", "问我年纪干什么？", a side question ("助餐点在哪儿？"):
            # the question stays open with everything said so far kept; no miss counted
            return {slot: None, "elig_failures": failures}
        if parsed is None:
            offered = self.misses.offered(failures.get(slot, 0))
            if offered and factlib.parse_yes_no(text) is True:
                return self._handoff(tracker, dispatcher)
            if offered and factlib.parse_yes_no(text) is False:
                failures[slot] = 0
                dispatcher.utter_message(text=WORDING.text("misses.carry_on"))
                return {slot: None, "elig_failures": failures}
            if offered:
                # a third answer that is neither usable nor yes/no to the offer: the question
                # is skipped (unknown, 请社区认定) rather than asked for ever
                log.info("eligibility: %s skipped after %d misses", slot, failures[slot] + 1)
                failures.pop(slot, None)
                dispatcher.utter_message(text=SKIPPED_TEXT)
                return {slot: factlib.DONT_KNOW, "elig_failures": failures}
            # the count stays at the offer, to read the answer to it
            failures[slot], _ = count_miss(
                dispatcher, tracker, failures.get(slot, 0), self.misses, example=EXAMPLES.get(slot, "")
            )
            return {slot: None, "elig_failures": failures}
        failures.pop(slot, None)
        result = {slot: parsed, "elig_failures": failures}
        # Other facts said in the same breath (八十五了，住五老村) are kept too.
        if text:
            result.update({k: v for k, v in fact_events(facts_said(text), tracker).items() if k != slot})
        if extra:
            result.update(extra)
        said = readback(result, tracker.get_slot("elig_who") or "您")
        if said and parsed != factlib.DONT_KNOW:
            dispatcher.utter_message(text=WORDING.format("readback.said", said=said))
        return result

    def _handoff(self, tracker: Tracker, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
        handoff_id = guarded(
            dispatcher, "eligibility handoff", lambda: queue_handoff(tracker, "fallback", "eligibility: ")
        )
        if handoff_id is not None:
            dispatcher.utter_message(
                response="utter_handoff", json_message={"action": "handoff", "handoff_id": handoff_id}
            )
        return {"elig_handoff": True, "requested_slot": None}

    # -- one validator per slot --------------------------------------------------------

    def validate_elig_subject(self, value, dispatcher, tracker, domain):
        return {"elig_subject": value or "本人"}

    def validate_elig_use_stored(self, value, dispatcher, tracker, domain):
        if value in ("yes", "no"):
            return {"elig_use_stored": value}
        answer = factlib.parse_yes_no(value if isinstance(value, str) else "")
        if answer is None:
            return self._answer("elig_use_stored", value, None, tracker, dispatcher)
        if not answer:
            dispatcher.utter_message(text=WORDING.text("answers.one_by_one"))
            return {"elig_use_stored": "no", "elig_failures": {}}
        stored = tracker.get_slot("elig_stored_facts") or {}
        slots: Dict[Text, Any] = {"elig_use_stored": "yes", "elig_failures": {}}
        for fact, slot in FACT_SLOTS.items():
            if stored.get(fact) is not None:
                slots[slot] = stored[fact]
        if stored.get("birth_date"):
            slots["elig_birth_date"] = stored["birth_date"]
            slots["elig_age_approximate"] = None
        dispatcher.utter_message(text=WORDING.text("answers.use_stored"))
        return slots

    def validate_elig_age(self, value, dispatcher, tracker, domain):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"elig_age": int(value)}
        if value == factlib.DONT_KNOW:
            return {"elig_age": value}
        reading = factlib.read_age(str(value), today())
        if reading is None:
            return self._answer("elig_age", value, None, tracker, dispatcher)
        extra = {
            "elig_age_approximate": approximate_slot(reading),
            "elig_birth_date": reading.birth_date.isoformat() if reading.birth_date else None,
        }
        return self._answer("elig_age", value, reading.age, tracker, dispatcher, extra)

    def validate_elig_street(self, value, dispatcher, tracker, domain):
        if value in factlib.DISTRICT_STREETS or value in (factlib.OUTSIDE_DISTRICT, factlib.DONT_KNOW):
            return {"elig_street": value}
        return self._answer(
            "elig_street", value, read_choice(factlib.parse_street, str(value)), tracker, dispatcher
        )

    def _choice(self, slot, allowed, parser, value, dispatcher, tracker):
        if value in allowed or value == factlib.DONT_KNOW:
            return {slot: value}
        return self._answer(slot, value, read_choice(parser, str(value)), tracker, dispatcher)

    def validate_elig_economic_status(self, value, dispatcher, tracker, domain):
        return self._choice(
            "elig_economic_status",
            factlib.ECONOMIC_STATUSES,
            factlib.parse_economic_status,
            value,
            dispatcher,
            tracker,
        )

    def validate_elig_care_level(self, value, dispatcher, tracker, domain):
        result = self._choice(
            "elig_care_level", factlib.CARE_LEVELS, factlib.parse_care_level, value, dispatcher, tracker
        )
        return result

    def validate_elig_living_situation(self, value, dispatcher, tracker, domain):
        return self._choice(
            "elig_living_situation",
            factlib.LIVING_SITUATIONS,
            factlib.parse_living_situation,
            value,
            dispatcher,
            tracker,
        )

    def _yes_no(self, slot, value, dispatcher, tracker, specific=None):
        if isinstance(value, bool) or value == factlib.DONT_KNOW:
            return {slot: value}
        text = unhedged(str(value))
        parsed = specific(text) if specific else None
        if parsed is None and not factlib.is_dont_know(text):  # 不清楚 is not a 不
            parsed = factlib.parse_yes_no(text)
        return self._answer(slot, value, parsed, tracker, dispatcher)

    def validate_elig_dementia(self, value, dispatcher, tracker, domain):
        return self._yes_no("elig_dementia", value, dispatcher, tracker, factlib.parse_dementia)

    def validate_elig_special_family(self, value, dispatcher, tracker, domain):
        return self._yes_no("elig_special_family", value, dispatcher, tracker, factlib.parse_special_family)

    def validate_elig_disability_certificate(self, value, dispatcher, tracker, domain):
        return self._yes_no("elig_disability_certificate", value, dispatcher, tracker)

    def validate_elig_hukou_local(self, value, dispatcher, tracker, domain):
        return self._yes_no("elig_hukou_local", value, dispatcher, tracker)

    def validate_elig_veteran(self, value, dispatcher, tracker, domain):
        return self._yes_no("elig_veteran", value, dispatcher, tracker)

    def validate_elig_poverty_registered(self, value, dispatcher, tracker, domain):
        return self._yes_no("elig_poverty_registered", value, dispatcher, tracker)

    def validate_elig_severe_disability_family(self, value, dispatcher, tracker, domain):
        return self._yes_no("elig_severe_disability_family", value, dispatcher, tracker)

    def validate_elig_birth_date(self, value, dispatcher, tracker, domain):
        """Asked only when an approximate age (虚岁八十一, 八十岁左右) sits at a threshold: the
        year and month of birth decide; a year alone does not, and is not asked again."""
        if value == factlib.DONT_KNOW or (isinstance(value, str) and len(value) == 10 and value[4] == "-"):
            return {"elig_birth_date": value}
        text = str(value or "")
        reading = factlib.read_age(text, today())
        if reading is None or reading.birth_year is None:
            return self._answer("elig_birth_date", value, None, tracker, dispatcher)
        if reading.approximate:
            # the year alone leaves the age open at the threshold: 社区认定 instead of asking again
            dispatcher.utter_message(text=WORDING.text("answers.age_by_birth_date"))
            return {
                "elig_birth_date": factlib.DONT_KNOW,
                "elig_age": reading.age,
                "elig_age_approximate": True,
            }
        born = reading.birth_date.isoformat() if reading.birth_date else factlib.DONT_KNOW
        who = tracker.get_slot("elig_who") or WORDING.text("who.self")
        dispatcher.utter_message(text=WORDING.format("answers.age_now", who=who, age=reading.age))
        return {"elig_birth_date": born, "elig_age": reading.age, "elig_age_approximate": None}


class AskEligibilitySlot(AskSlotAction):
    """Asks a question of the eligibility forms (the domain's utter_ask_<slot>, with its
    phone variant), with its usual answers and the way out as buttons on the web."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(
            response=f"utter_ask_{self.slot}", buttons=form_buttons(tracker, answer_buttons(self.slot))
        )
        return []


ASK_ACTIONS = ask_actions(
    AskEligibilitySlot, ("elig_use_stored", *FACT_SLOTS.values(), "elig_sms_phone"), __name__
)


class ActionEligibilitySummary(Action):
    """The short spoken result, then the offer to book or to send it by SMS."""

    def name(self) -> Text:
        return "action_eligibility_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if tracker.get_slot("elig_handoff"):
            return []
        who = tracker.get_slot("elig_who") or WORDING.text("who.self")
        try:
            results = eligibility.evaluate(collected_facts(tracker), on=today())
        except Exception:
            log.exception("eligibility evaluation failed")
            dispatcher.utter_message(
                text=WORDING.text("result.not_computed"),
                buttons=[HUMAN_BUTTON],
            )
            return []
        question = opening_text(tracker)
        try:
            asked = asked_programs(question)
        except Exception:  # the focus is a courtesy: the whole result is still said
            log.exception("eligibility: could not read the program asked about")
            asked = []
        if asked:
            log.info("eligibility: the check asked about %s", asked)
        if is_voice(tracker):
            dispatcher.utter_message(text=spoken_summary(results, who, asked, question))
        else:  # a screen: the program asked about, then one line per benefit, "为什么" on demand
            text, listed = screen_summary(results, who, asked, question)
            dispatcher.utter_message(
                text=text,
                buttons=[
                    {
                        "title": WORDING.format("result.why_button", n=n),
                        "payload": "/explain_eligibility" + json.dumps({"program": r.program_id}),
                    }
                    for n, r in enumerate(listed[:SCREEN_WHY], 1)
                ],
            )
        dispatcher.utter_message(response="utter_eligibility_offer")
        name = tracker.get_slot("elig_stored_name") if tracker.get_slot("elig_use_stored") == "yes" else None
        return [
            SlotSet("elig_summary", sms_text(results, name or who)),
            SlotSet("elig_sms_phone", caller_phone(tracker)),
        ]


class ActionExplainEligibility(Action):
    """Why one benefit of the result: the conditions that held and the document (the
    "为什么" buttons under the list), from the same facts as the result."""

    def name(self) -> Text:
        return "action_explain_eligibility"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        wanted = {str(v) for v in entity_values(tracker, "program") if v}
        try:
            results = eligibility.evaluate(collected_facts(tracker), on=today())
        except Exception:
            log.exception("eligibility evaluation failed for an explanation")
            results = []
        found = next((r for r in results if r.program_id in wanted and r.status == "eligible"), None)
        if found is None:
            log.info("explain_eligibility: no eligible result for %s", sorted(wanted))
            dispatcher.utter_message(response="utter_explain_not_found")
            return []
        dispatcher.utter_message(
            text=explanation(found, tracker.get_slot("elig_who") or WORDING.text("who.self"))
        )
        return []


# "短信就不用发了", "别给我发了", "发短信就算了": a no to the SMS, which the classifier may
# still read as asking for it (the words around 发 decide, not the topic)
_DECLINES_SMS = re.compile(
    r"(不用|不要|别|甭|用不着|不必)(再)?(给我|给她|给他)?(发|短信)|"  # 不用发了, 甭给我发了
    r"短信(就)?(不用|不要|别|甭|免了|算了)|"  # 短信就不用了, 短信免了吧
    r"发(过来|短信|信息)?(就)?(算了|免了)"  # 发过来就算了
)


def declines_sms(text: str) -> bool:
    return bool(_DECLINES_SMS.search(text or ""))


class ValidateEligibilitySmsForm(FormValidationAction):
    """Gets a mobile number for the SMS when the caller's number is not known."""

    def name(self) -> Text:
        return "validate_eligibility_sms_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):
        if tracker.get_slot("elig_sms_refused") or declines_sms(latest_text(tracker)):
            return []
        return domain_slots

    def validate_elig_sms_phone(self, value, dispatcher, tracker, domain):
        phone = factlib.parse_phone(str(value or ""))
        if phone and not identity.number_on_file(phone):
            # the hotline's sender must not become a way to text strangers
            log.info("eligibility sms refused: %s is not a number on file", mask_phone(phone))
            dispatcher.utter_message(text=WORDING.text("sms.not_on_file"))
            return {"elig_sms_phone": None, "elig_sms_refused": True}
        if phone:
            return {"elig_sms_phone": phone}
        dispatcher.utter_message(
            text=WORDING.text("sms.number_not_heard"),
            json_message=dict(MOBILE_NUMBER_FLAGS),
        )
        return {"elig_sms_phone": None}


class ActionEligibilitySendSms(Action):
    def name(self) -> Text:
        return "action_eligibility_send_sms"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if tracker.get_slot("elig_sms_refused"):
            dispatcher.utter_message(response="utter_anything_else")
            return [SlotSet("elig_sms_refused", None)]
        if declines_sms(latest_text(tracker)):
            log.info("eligibility sms: the caller declined it")
            dispatcher.utter_message(text=with_anything_else(WORDING.text("sms.declined")))
            return []
        phone = tracker.get_slot("elig_sms_phone") or caller_phone(tracker)
        body = tracker.get_slot("elig_summary")
        if not body or not phone:
            dispatcher.utter_message(text=WORDING.text("sms.nothing_to_send"))
            return []
        from bot.contact.sms import send_sms

        sent = guarded(dispatcher, "eligibility sms", lambda: send_sms(phone, body))
        if sent is None:
            return []
        digits = "".join(ch for ch in phone if ch.isdigit())
        dispatcher.utter_message(text=WORDING.format("sms.sent", tail=digits[-4:]))
        return [SlotSet("elig_sms_sent", True)]
