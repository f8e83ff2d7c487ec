"""The phone line's flow for older callers (issue 19), against a stand-in that plays Rasa's
HTTP side (the REST channel, /model/parse, the tracker) with scripted replies and the
reply contract's flags. The real assistant end to end: tests/test_twilio_e2e.py.

First prompt, read-backs heard to the end and answered by 1/2, the rating only at the end
(1/2/3 or 满意/一般/不满意, nothing else), 再说一遍 after a booking, 说慢点 / 大声点 for the
rest of the call, "您是说……吗？" below the confidence threshold, hints per step, a second
misunderstanding inside a form, an ID ending in X keyed with *, the reference said twice;
number entry and transfer promises decided by the reply flags alone, never by the words."""

from __future__ import annotations

import json

import pytest

from server.speech import say_reference
from tests.local_http import JsonHandler, LocalServer
from tests.test_twilio_support import ADVISOR, Call, TwilioSide, phone_line_app
from tests.stack import rows


def rest_messages(replies: list[dict]) -> list[dict]:
    """What Rasa's REST channel sends for these replies: the text (with its buttons), then
    the custom payload as a message of its own."""
    sent: list[dict] = []
    for reply in replies:
        sent.append({k: v for k, v in reply.items() if k != "custom"})
        if reply.get("custom"):
            sent.append({"custom": reply["custom"]})
    return sent


class FakeRasa:
    """Answers /webhooks/rest/webhook from a queue of scripted replies (default: a plain
    answer) sent the way the REST channel sends them, records the messages, and reports
    `active_loop` for the tracker."""

    def __init__(self):
        self.messages: list[str] = []
        self.queue: list[list[dict]] = []
        self.active_loop: str | None = None
        fake = self

        class Handler(JsonHandler):
            def _send(self, body) -> None:
                self.send_json(body)

            def do_POST(self):  # noqa: N802
                body = json.loads(self.read_body())
                if self.path.startswith("/model/parse"):
                    return self._send({"text": body["text"], "intent": {"name": "inform", "confidence": 0.9}})
                fake.messages.append(body["message"])
                if body["message"] == "/greet":
                    return self._send([{"text": "您好，这里是12349养老服务热线。请问您想办什么事？"}])
                if fake.queue:
                    return self._send(rest_messages(fake.queue.pop(0)))
                return self._send([{"text": "好的，我知道了。还有别的事吗？"}])

            def do_GET(self):  # noqa: N802
                if "/tracker" in self.path:
                    return self._send({"active_loop": {"name": fake.active_loop} if fake.active_loop else {}})
                return self._send({"status": "ok"})

        self.local = LocalServer(Handler)
        self.url = self.local.url

    def close(self):
        self.local.close()


@pytest.fixture
def rasa():
    fake = FakeRasa()
    yield fake
    fake.close()


@pytest.fixture
def side(db_url, monkeypatch, rasa):
    return TwilioSide("http://localhost", post=phone_line_app(monkeypatch, rasa.url).test_client().post)


def speech(call: Call, words: str, confidence: str = "0.92"):
    call.last = call.side.post(
        call.last.next_path,
        {
            "CallSid": call.sid,
            "From": call.caller,
            "To": "+8612349",
            "CallStatus": "in-progress",
            "SpeechResult": words,
            "Confidence": confidence,
        },
    )
    return call.last


def test_first_prompt_is_short_says_automated_recording_and_zero(side):
    call = Call(side)
    first = call.start()
    assert "自动语音助手" in first.said and "录音" in first.said and "人工服务请按0" in first.said
    assert len(first.said) <= 80, first.said
    gather = first.gather
    assert gather.get("speechTimeout") == "3" and gather.get("speechModel")
    assert call.press("0").dialled == ADVISOR


def test_recording_notice_can_be_switched_off(side, monkeypatch):
    monkeypatch.setenv("VOICE_RECORDING_NOTICE", "off")
    assert "录音" not in Call(side).start().said


def test_read_back_is_heard_to_the_end_and_1_answers_it(side, rasa):
    call = Call(side)
    call.start()
    rasa.queue.append([{"text": "给张桂兰预约明天上午助浴，对吗？", "custom": {"yes_no": True}}])
    readback = call.say("我要预约洗澡")
    root = readback.root
    said_before_gather = [el for el in root if el.tag == "Say"]
    assert said_before_gather and "对吗" in "".join(said_before_gather[0].itertext())
    assert "对的请按1" in "".join(readback.gather.itertext())  # only the short prompt inside
    assert "对" in readback.gather.get("hints")
    call.press("1")
    assert rasa.messages[-1] == "对"


def test_rating_only_at_the_end_and_only_three_answers_count(side, rasa, db_url):
    call = Call(side)
    call.start()
    rasa.queue.append(
        [
            {
                "text": "预约好了，预约号148832。还有别的事吗？",
                "custom": {"task_completed": True, "reference": "148832"},
            }
        ]
    )
    done = call.say("预约助浴")
    assert "打个分" not in done.said, "no rating in the middle of the call"
    assert f"预约号是{say_reference('148832')}" in done.said, "the reference is said again"
    assert done.said.endswith("还有别的事吗？") or "还有别的事吗" in done.said[-12:]
    again = call.say("再说一遍")
    assert "预约号" in again.said and "打个分" not in again.said
    rasa.queue.append([{"text": "不客气，再见！", "custom": {"end": True}}])
    bye = call.say("没有了再见")
    assert "满意请按1，一般请按2，不满意请按3" in bye.said and not bye.hung_up
    repeat = call.say("再说一遍")
    assert "满意请按1" in repeat.said and not repeat.hung_up
    assert rows(db_url, "select score from satisfaction_ratings where call_sid=:s", s=call.sid) == []
    end = call.press("2")
    assert end.hung_up
    assert [
        r.score for r in rows(db_url, "select score from satisfaction_ratings where call_sid=:s", s=call.sid)
    ] == [3]


def test_a_sentence_with_a_number_is_not_a_rating(side, rasa, db_url):
    call = Call(side)
    call.start()
    rasa.queue.append([{"text": "好的，再见！", "custom": {"end": True}}])
    call.say("再见")
    rasa.queue.append([{"text": "您请说第一个问题。"}])
    going_on = call.say("我还有两个问题")
    assert not going_on.hung_up and "第一个问题" in going_on.said
    assert rows(db_url, "select score from satisfaction_ratings where call_sid=:s", s=call.sid) == []


def test_slower_and_louder_last_for_the_rest_of_the_call(side, rasa):
    call = Call(side)
    call.start()
    slow = call.say("您说慢点")
    assert '<prosody rate="75%">' in slow.body and "我说慢一点" in slow.said
    slower = call.say("再慢一点")
    assert '<prosody rate="65%"' in slower.body
    floor = call.say("说慢点")
    assert '<prosody rate="65%"' in floor.body, "65% is the floor"
    loud = call.say("大声点")
    assert 'volume="loud"' in loud.body and 'rate="65%"' in loud.body
    later = call.say("我想问问政策")
    assert 'rate="65%"' in later.body and 'volume="loud"' in later.body


def test_low_confidence_asks_before_acting(side, rasa):
    call = Call(side)
    call.start()
    asked = speech(call, "我想取消预约", confidence="0.31")
    assert "您是说“我想取消预约”吗？" in asked.said
    assert "/greet" in rasa.messages and "我想取消预约" not in rasa.messages
    call.press("1")
    assert rasa.messages[-1] == "我想取消预约"
    asked = speech(call, "我想问补贴", confidence="0.2")
    assert "您是说" in asked.said
    again = call.press("2")
    assert "请您再说一遍" in again.said and rasa.messages[-1] == "我想取消预约"


def test_low_confidence_danger_is_acted_on_at_once(side, rasa):
    call = Call(side)
    call.start()
    rasa.queue.append([{"text": "请马上拨打120急救电话。", "custom": {"urgent": True, "kind": "emergency"}}])
    answer = speech(call, "我老伴摔倒了起不来", confidence="0.2")
    assert "您是说" not in answer.said and rasa.messages[-1] == "我老伴摔倒了起不来"


def test_hints_follow_the_step(side, rasa):
    call = Call(side)
    call.start()
    rasa.queue.append(
        [
            {
                "text": "请问老人住在哪个街道？",
                "buttons": [
                    {"title": "五老村", "payload": "五老村"},
                    {"title": "夫子庙", "payload": "夫子庙"},
                ],
            }
        ]
    )
    asked = call.say("预约助浴")
    hints = asked.gather.get("hints")
    assert "五老村" in hints and "夫子庙" in hints and "转人工" in hints
    rasa.queue.append([{"text": "好的。您还想了解什么？"}])
    open_question = call.say("五老村")
    assert "助浴" in open_question.gather.get("hints")  # services, streets, programs


def test_second_misunderstanding_inside_a_form_keeps_the_form(side, rasa):
    call = Call(side)
    call.start()
    rasa.active_loop = "book_service_form"
    for _ in range(2):  # the booking form's own "not understood", flagged where it is decided
        rasa.queue.append(
            [{"text": "不好意思，我没听清是哪天。请问想约哪天？", "custom": {"misunderstood": True}}]
        )
    call.say("嗯那个")
    second = call.say("就是那个啥")
    assert "按0转人工" in second.said and "政策咨询，请按1" not in second.said
    assert second.dialled is None
    assert call.press("0").dialled == ADVISOR


def test_second_misunderstanding_outside_a_form_offers_the_menu(side, rasa):
    call = Call(side)
    call.start()
    for _ in range(2):
        rasa.queue.append([{"text": "不好意思，我没听明白。", "custom": {"fallback": True}}])
    call.say("嗯那个")
    assert "政策咨询，请按1" in call.say("就是那个啥").said


def test_an_id_ending_in_x_is_keyed_with_star(side, rasa):
    call = Call(side)
    call.start()
    rasa.queue.append(
        [
            {
                "text": "请说一下老人身份证号的最后四位。",
                "custom": {"expects_digits": 4, "digits_allow_x": True},
            }
        ]
    )
    asked = call.say("预约助浴")
    assert "星号键" in asked.said and asked.gather.get("finishOnKey") == "#"
    call.press("002*#")
    assert rasa.messages[-1] == "002X"


def test_x_by_star_only_where_the_number_may_end_in_x(side, rasa):
    call = Call(side)
    call.start()
    rasa.queue.append([{"text": "请您说一下身份证上的那串验证数字。", "custom": {"expects_digits": 6}}])
    asked = call.say("预约助浴")
    assert "按完请按井号键" in asked.said and "星号键" not in asked.said
    call.press("123456#")
    assert rasa.messages[-1] == "123456"


def test_the_line_acts_on_flags_not_on_words(side, rasa):
    call = Call(side)
    call.start()
    rasa.queue.append([{"text": "老年大学的课，学员说声再见就下课了。还有别的事吗？"}])
    answer = call.say("老年大学怎么上课")
    assert not answer.hung_up and "打个分" not in answer.said, "再见 in words is not a goodbye"
    for _ in range(2):
        rasa.queue.append([{"text": "您说的情况我记下了。"}])
        call.say("嗯")
    assert "政策咨询，请按1" not in call.last.said, "no misunderstanding flag: no menu"


def test_number_entry_comes_from_the_flag_not_from_the_words(side, rasa):
    """手机号 in a reply without the flag does not turn the keypad into number entry; a
    flagged question without any of those words does."""
    call = Call(side)
    call.start()
    rasa.queue.append([{"text": "短信会发到您登记的手机号上。还有别的事吗？"}])
    told = call.say("结果发短信给我")
    assert "按完请按井号键" not in told.said and "星号键" not in told.said
    assert told.gather.get("numDigits") == "1"
    rasa.queue.append([{"text": "请说一下短信里的数字。", "custom": {"expects_digits": 6}}])
    asked = call.say("好的")
    assert "按完请按井号键" in asked.said
    assert asked.gather.get("numDigits") is None and asked.gather.get("finishOnKey") == "#"
    call.press("307300#")
    assert rasa.messages[-1] == "307300"
    rasa.queue.append([{"text": "预约号是多少都行，您也可以说日子。", "custom": {"expects_digits": [1, 0]}}])
    malformed = call.say("我想查预约")
    assert malformed.gather.get("numDigits") == "1", "a malformed flag is not a number question"


HANDOFF = {"action": "handoff", "handoff_id": 7}
PROMISE = "马上为您转接人工顾问，请稍等。"


def test_a_flagged_promise_is_dropped_off_duty_and_words_alone_are_kept(side, rasa, monkeypatch):
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", "")  # nobody to take the call
    call = Call(side)
    call.start()
    rasa.queue.append(
        [
            {"text": "这件事要转接到街道办，请稍等几天就有结果。", "custom": HANDOFF},
            {"text": PROMISE, "custom": {"transfer_promise": True}},
        ]
    )
    answer = call.say("我要找人")
    assert answer.dialled is None and "不在班" in answer.said and "回电话" in answer.said
    assert "转接到街道办" in answer.said, "an unflagged sentence is kept, whatever its words"
    assert PROMISE not in answer.said and "正在为您转接" not in answer.said
    # a promise with no transfer on the turn is not said either
    rasa.queue.append(
        [{"text": "好的。", "custom": {}}, {"text": PROMISE, "custom": {"transfer_promise": True}}]
    )
    assert PROMISE not in call.say("嗯").said


def test_on_duty_the_line_says_transferring_unless_the_reply_ends_with_a_promise(side, rasa):
    from server.telephony.dialogue import TRANSFERRING

    call = Call(side)
    call.start()
    rasa.queue.append(
        [{"text": "好的。", "custom": HANDOFF}, {"text": PROMISE, "custom": {"transfer_promise": True}}]
    )
    promised = call.say("转人工")
    assert promised.dialled == ADVISOR
    assert PROMISE in promised.said and TRANSFERRING not in promised.said
    call = Call(side)
    call.start()
    rasa.queue.append([{"text": "我帮您转接。", "custom": HANDOFF}])
    worded = call.say("转人工")
    assert worded.dialled == ADVISOR and worded.said.endswith(TRANSFERRING), (
        "转接 in the words is no promise: the line says its own"
    )
    call = Call(side)
    call.start()
    rasa.queue.append(
        [
            {
                "text": "请马上拨打120急救电话。",
                "custom": {"action": "handoff", "urgent": True, "kind": "crisis", "handoff_id": 3},
            },
            {"text": "我已经请值班顾问马上联系您。", "custom": {"transfer_promise": True}},
            {"text": "您现在身边有家人吗？"},
        ]
    )
    crisis = call.say("我不想活了")
    assert crisis.dialled == ADVISOR and "值班顾问" in crisis.said
    assert crisis.said.endswith(TRANSFERRING), "a question after the promise: the line says it"


def test_sms_drops_flagged_promises_and_keeps_words(side, rasa):
    rasa.queue.append(
        [
            {"text": "这件事要转接到街道办。", "custom": HANDOFF},
            {"text": PROMISE, "custom": {"transfer_promise": True}},
        ]
    )
    reply = side.sms("找人工")
    body = "".join(reply.first("Message").itertext())
    assert "转接到街道办" in body and PROMISE not in body
    assert "顾问会尽快用这个号码联系您" in body
