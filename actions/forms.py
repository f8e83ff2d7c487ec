"""One base for the form validators, and the one "N misses, then offer a person" decision.

`FormValidation` owns what may come instead of an answer to any form question: "等一下"
(the question stays open), a why-question (the form's reason, as data: `why_response`,
`why_at`) and a side question (a hook the form overrides); each is said and counts no miss.

`count_miss` is the only place that decides when unusable answers in a row offer a person:
the booking forms, the eligibility form and `action_misunderstood` (actions/core.py) each
keep their own count (an int slot, a dict per question) and give it to this function with
their `MissPolicy`: what a miss says, and on the Nth (`offer_after`, 2 today) the offer of a
person, as data. The phone line counts the `misunderstood` flag per call by itself
(server/telephony/dialogue.py): a channel-level keypad menu, not this counter.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.common import STOP_BUTTON, is_voice
from bot.booking import text as bt
from bot.text import facts as factlib

# The Nth unusable answer in a row offers a person.
OFFER_PERSON_AFTER = 2


@dataclass(frozen=True)
class Reply:
    """One reply as data: a domain response or a text (its `{placeholders}` filled when
    said), with buttons and reply-contract flags. `form_question`: the reply asks the form's
    question again, so on the web it offers the way out of the form too (STOP_BUTTON)."""

    text: Optional[str] = None
    response: Optional[str] = None
    buttons: tuple[Mapping[str, Any], ...] = ()
    custom: Optional[Mapping[str, Any]] = None
    form_question: bool = False

    def say(self, dispatcher: CollectingDispatcher, tracker: Optional[Tracker] = None, **values: Any) -> None:
        buttons = [dict(b) for b in self.buttons]
        if self.form_question and tracker is not None and not is_voice(tracker):
            buttons.append(STOP_BUTTON)
        text = self.text.format(**values) if self.text is not None and values else self.text
        dispatcher.utter_message(
            text=text,
            response=self.response,
            buttons=buttons,
            json_message=dict(self.custom) if self.custom is not None else None,
        )


@dataclass(frozen=True)
class MissPolicy:
    """What unusable answers in a row do: `again` is said at a miss before the Nth (None
    when the reader has already said what was wrong), `offer` at the Nth offers a person."""

    offer: Reply
    again: Optional[Reply] = None
    offer_after: int = OFFER_PERSON_AFTER

    def offered(self, misses: int) -> bool:
        """Whether a count that was kept after the Nth miss means a person was offered."""
        return misses >= self.offer_after


def count_miss(
    dispatcher: CollectingDispatcher,
    tracker: Optional[Tracker],
    misses: int,
    policy: MissPolicy,
    **values: Any,
) -> tuple[int, bool]:
    """One more unusable answer: on the Nth in a row says the policy's offer of a person,
    else its `again`. Returns (the misses now, whether a person was offered); the caller
    stores the count (it starts again at 0 after an offer, or is kept to read the answer to
    it) and resets it to 0 on an understood answer. `values` fill the replies' texts."""
    misses += 1
    if policy.offered(misses):
        policy.offer.say(dispatcher, tracker, **values)
        return misses, True
    if policy.again is not None:
        policy.again.say(dispatcher, tracker, **values)
    return misses, False


class Interruption(enum.Enum):
    """What came instead of an answer to a form question; none counts as a miss."""

    WAIT = "wait"  # "等一下": the question stays open, not asked again
    WHY = "why"  # "为什么要身份证？": the reason, then the same question again
    SIDE_QUESTION = "side_question"  # answered, then the same question again

    @property
    def asks_again(self) -> bool:
        return self is not Interruption.WAIT


class FormValidation(FormValidationAction, abc.ABC):
    """The base of the form validators: the interruptions common to every form question,
    and the form's miss policy (`misses`, given to `count_miss`)."""

    @abc.abstractmethod
    def name(self) -> Text:
        """validate_<form name>."""

    # the reason given to a why-question ("问我年纪干什么？"), and at which questions (None:
    # all of them); no `why_response`: a why-question is read as an answer
    why_response: ClassVar[Optional[str]] = None
    why_at: ClassVar[Optional[tuple[str, ...]]] = None
    # questions where "等一下" is read as an answer / where no side question is taken
    no_wait_at: ClassVar[tuple[str, ...]] = ()
    no_side_question_at: ClassVar[tuple[str, ...]] = ()
    # unusable answers in a row: what they say and when a person is offered
    misses: ClassVar[MissPolicy]

    def explains(self, requested: Optional[str]) -> Optional[str]:
        """The response that says why the form asks `requested`, or None."""
        if self.why_response and (self.why_at is None or requested in self.why_at):
            return self.why_response
        return None

    def interruption(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        requested: str,
        text: str,
        answered: bool = False,
    ) -> Optional[Interruption]:
        """Says the reply to what came instead of an answer to `requested` and tells which
        it was; None when `text` is to be read as the answer. `answered`: a value was read
        from it already (then only a side question interrupts, as the form's hook decides)."""
        if not answered and requested not in self.no_wait_at and bt.asks_to_wait(text):
            dispatcher.utter_message(response="utter_take_your_time")
            return Interruption.WAIT
        why = self.explains(requested)
        if not answered and why and factlib.is_why_question(text):
            dispatcher.utter_message(response=why)
            return Interruption.WHY
        if requested not in self.no_side_question_at and self.side_question(
            dispatcher, tracker, requested, text, answered
        ):
            return Interruption.SIDE_QUESTION
        return None

    def side_question(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str, text: str, answered: bool
    ) -> bool:
        """Answers a question asked instead of an answer (then returns True); none by default."""
        return False


def form_validators() -> list[type[FormValidation]]:
    """The concrete form validators loaded (every module of actions/ is, in the action server)."""
    found: list[type[FormValidation]] = []
    todo: list[type] = [FormValidation]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if not getattr(sub, "__abstractmethods__", None):
                found.append(sub)
    return found


def why_response(form: Optional[str], requested: Optional[str]) -> Optional[str]:
    """The reason `form` gives when asked why it asks `requested` (its own data), or None."""
    for cls in form_validators():
        validator = cls()
        if validator.form_name() == form:
            return validator.explains(requested)
    return None


class AskSlotAction(Action, abc.ABC):
    """The base of a form's `action_ask_<slot>` actions: `slot` is the question asked; the
    form's subclass says how (`run`). `ask_actions` makes one class per slot."""

    slot: ClassVar[str] = ""

    @abc.abstractmethod
    def name(self) -> Text:
        """action_ask_<slot>, given by `ask_actions` (abstract: rasa-sdk registers no base)."""


def ask_actions(base: type[AskSlotAction], slots: Iterable[str], module: str) -> list[type[AskSlotAction]]:
    """One `action_ask_<slot>` class per slot, on the form's base (registered by rasa-sdk
    as subclasses of Action; `module` is where they are said to live)."""
    return [
        type(
            f"ActionAsk_{slot}",
            (base,),
            {"slot": slot, "name": lambda self, _slot=slot: f"action_ask_{_slot}", "__module__": module},
        )
        for slot in slots
    ]
