"""The form-validation base (actions/forms.py): the interruptions every form question allows
(wait / why / side question, none a miss) and the one "N misses, then offer a person"
decision that the booking forms, the eligibility form and action_misunderstood share."""

from __future__ import annotations

from typing import Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import booking, core, eligibility
from actions.common import HUMAN_BUTTON, STOP_BUTTON
from actions.forms import (
    OFFER_PERSON_AFTER,
    FormValidation,
    Interruption,
    MissPolicy,
    Reply,
    count_miss,
    form_validators,
    why_response,
)


def _tracker(text: str = "", channel: str = "web", slots: dict | None = None) -> Tracker:
    latest = {"text": text, "intent": {"name": "inform", "confidence": 0.9}, "entities": [], "metadata": {}}
    return Tracker(
        "unit-form-base",
        {"channel": channel, **(slots or {})},
        latest,
        [{"event": "user", "text": text, "parse_data": latest}],
        False,
        None,
        {},
        "action_listen",
    )


class _Form(FormValidation):
    """A form of the test's own: explains only `q_why`, no wait at `q_nowait`."""

    why_response = "utter_why_test"
    why_at = ("q_why",)
    no_wait_at = ("q_nowait",)
    no_side_question_at = ("q_noside",)
    misses = MissPolicy(offer=Reply(text="offer"))

    def name(self) -> Text:
        return "validate_test_form"

    def side_question(self, dispatcher, tracker, requested, text, answered):
        if "多少钱" not in text:
            return False
        dispatcher.utter_message(text="side answer")
        return True


POLICY = MissPolicy(
    again=Reply(text="again {example}", custom={"misunderstood": True}),
    offer=Reply(text="offer {example}", buttons=(HUMAN_BUTTON,), custom={"misunderstood": True}),
)


def test_the_nth_miss_offers_a_person_and_earlier_ones_ask_again():
    dispatcher = CollectingDispatcher()
    misses, offered = count_miss(dispatcher, _tracker(), 0, POLICY, example="e.g.")
    assert (misses, offered) == (1, False)
    assert dispatcher.messages[-1]["text"] == "again e.g."
    assert dispatcher.messages[-1]["custom"] == {"misunderstood": True}
    misses, offered = count_miss(dispatcher, _tracker(), misses, POLICY, example="e.g.")
    assert (misses, offered) == (OFFER_PERSON_AFTER, True)
    assert dispatcher.messages[-1]["text"] == "offer e.g."
    assert dispatcher.messages[-1]["buttons"] == [HUMAN_BUTTON]
    assert len(dispatcher.messages) == 2
    assert POLICY.offered(misses) and not POLICY.offered(misses - 1)


def test_the_number_of_misses_before_the_offer_is_data():
    policy = MissPolicy(offer=Reply(text="offer"), offer_after=3)
    dispatcher = CollectingDispatcher()
    misses = 0
    for _ in range(2):
        misses, offered = count_miss(dispatcher, None, misses, policy)
        assert not offered
    assert dispatcher.messages == []  # no `again`: the reader has said what was wrong
    assert count_miss(dispatcher, None, misses, policy) == (3, True)
    assert [m["text"] for m in dispatcher.messages] == ["offer"]


def test_a_form_question_offer_carries_the_way_out_on_the_web_only():
    reply = Reply(text="offer", buttons=(HUMAN_BUTTON,), form_question=True)
    web, phone = CollectingDispatcher(), CollectingDispatcher()
    reply.say(web, _tracker())
    reply.say(phone, _tracker(channel="voice"))
    assert web.messages[0]["buttons"] == [HUMAN_BUTTON, STOP_BUTTON]
    assert phone.messages[0]["buttons"] == [HUMAN_BUTTON]


def test_a_response_reply_says_the_domain_response():
    dispatcher = CollectingDispatcher()
    Reply(response="utter_ask_rephrase").say(dispatcher)
    assert dispatcher.messages[0]["response"] == "utter_ask_rephrase"
    assert dispatcher.messages[0]["text"] is None
    assert dispatcher.messages[0]["custom"] == {}


def test_wait_why_and_side_questions_interrupt_without_a_miss():
    form = _Form()
    cases = [
        ("q_why", "等一下，有人敲门", Interruption.WAIT, "utter_take_your_time"),
        ("q_why", "问这个干什么？", Interruption.WHY, "utter_why_test"),
        ("q_why", "洗一次澡多少钱", Interruption.SIDE_QUESTION, None),
    ]
    for requested, text, kind, response in cases:
        dispatcher = CollectingDispatcher()
        assert form.interruption(dispatcher, _tracker(text), requested, text) is kind
        assert dispatcher.messages[0]["response"] == response
    assert not Interruption.WAIT.asks_again
    assert Interruption.WHY.asks_again and Interruption.SIDE_QUESTION.asks_again


def test_interruptions_follow_the_form_data():
    form = _Form()
    dispatcher = CollectingDispatcher()
    assert form.interruption(dispatcher, _tracker(), "q_other", "问这个干什么？") is None  # not explained
    assert form.interruption(dispatcher, _tracker(), "q_nowait", "等一下") is None
    assert form.interruption(dispatcher, _tracker(), "q_noside", "洗一次澡多少钱") is None
    assert dispatcher.messages == []


def test_an_answer_already_read_is_interrupted_only_by_a_side_question():
    form = _Form()
    dispatcher = CollectingDispatcher()
    assert form.interruption(dispatcher, _tracker(), "q_why", "等一下", answered=True) is None
    assert form.interruption(dispatcher, _tracker(), "q_why", "为什么问这个？", answered=True) is None
    got = form.interruption(dispatcher, _tracker(), "q_why", "多少钱？", answered=True)
    assert got is Interruption.SIDE_QUESTION


def test_the_real_forms_give_their_reasons_as_data():
    names = {cls().form_name() for cls in form_validators()}
    assert {"eligibility_form", "book_service_form", "cancel_booking_form"} <= names
    assert why_response("eligibility_form", "elig_age") == "utter_why_eligibility_questions"
    assert why_response("book_service_form", "booking_id_last4") == "utter_why_identity_check"
    assert why_response("book_service_form", "booking_time") is None
    assert why_response("eligibility_sms_form", "elig_sms_phone") is None


def test_booking_eligibility_and_misunderstanding_share_the_decision():
    policies = [
        booking.BookingFormValidation.misses,
        eligibility.ValidateEligibilityForm.misses,
        core.MISUNDERSTOOD,
    ]
    assert all(p.offer_after == OFFER_PERSON_AFTER for p in policies)
    assert core.MISUNDERSTOOD.offer.response == "utter_offer_human"
    assert core.MISUNDERSTOOD.again.response == "utter_ask_rephrase"
