"""The 12349 line through FreeSWITCH (mod_httapi) end to end: real Rasa, action server and
web server; the tests play mod_httapi's side over real HTTP with basic auth (what it posts:
session_id, the Caller-* profile, the params of the last document, the input results,
exiting) and read the httapi documents that come back.

The same web server also serves Twilio, so the booking conversation is played over both
and compared sentence by sentence: one engine, two thin adapters.
"""

from __future__ import annotations

import re

import pytest
import requests


from tests.stack import db_rows, latest_code, new_stack, started
from tests.test_freeswitch_support import INPUT_NAME, PASSWORD, USER, FreeswitchSide, FsCall
from tests.test_twilio_e2e import PHONE_ENV, _answer_for, asked_for_the_last_four
from tests.test_twilio_support import ADVISOR
from tests.test_twilio_support import Call as TwilioCall
from tests.test_twilio_support import TwilioSide

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fs_stack(tmp_path_factory):
    stack = new_stack(
        tmp_path_factory,
        "freeswitch",
        extra_env={
            "FREESWITCH_HTTAPI_USER": USER,
            "FREESWITCH_HTTAPI_PASSWORD": PASSWORD,
            **PHONE_ENV,
        },
    )
    with started(stack):
        yield stack


@pytest.fixture
def fs(fs_stack):
    return FreeswitchSide(fs_stack.web_url)


# --- the first seconds of a call -------------------------------------------------------


def test_the_line_needs_basic_auth_and_greets_listening_for_speech_and_keys(fs, fs_stack):
    call = FsCall(fs)
    refused = requests.post(fs_stack.web_url + "/freeswitch/voice", data=call.form(), timeout=30)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    wrong = FreeswitchSide(fs_stack.web_url, password="not-it").post(call.form())
    assert wrong.status == 401
    greeting = call.start()
    assert greeting.status == 200 and greeting.content_type.startswith("text/xml")
    assert "幺二三四九" in greeting.said and "12349" not in greeting.said
    assert "自动语音助手" in greeting.said and "人工服务请按0" in greeting.said
    listen = greeting.listen
    assert listen.tag == "playback" and listen.get("file").startswith("say:")
    assert greeting.speech_input and listen.get("name") == INPUT_NAME
    assert listen.get("input-timeout") == "8000"
    assert greeting.binds == ["~^[0-9*#]$"]  # one key ends the prompt
    assert greeting.params == {"turn": "1", "turn_wait": "0", "turn_after": "listen"}
    assert greeting.variables["tts_engine"]
    record = db_rows(
        fs_stack, "select provider, from_number from calls where call_sid=:s", s=call.session_id
    )[0]
    assert tuple(record) == ("freeswitch", "13800000001")


def test_silence_then_the_keypad_menu_then_a_key(fs):
    call = FsCall(fs)
    call.start()
    first = call.silence()
    assert "没听到" in first.said and "请直接说您想办的事" in first.said
    assert first.params["turn"] == "2"
    menu = call.silence()
    for option in ("政策咨询，请按1", "预约上门服务，请按3", "转人工，请按0"):
        assert option in menu.said
    booking = call.press("3")
    assert booking.status == 200 and booking.listen is not None
    assert "哪一天" in booking.said or "哪一种服务" in booking.said, booking.said
    assert "政策咨询，请按1" not in booking.said


# --- people ----------------------------------------------------------------------------


def test_zhuan_ren_gong_bridges_to_the_advisor_and_a_failed_bridge_becomes_a_callback(fs, fs_stack):
    call = FsCall(fs)
    call.start()
    transfer = call.say("转人工")
    # the advisor first hears who calls and why (answer confirmation, before the bridge)
    assert transfer.bridged.endswith("}[leg_timeout=25]sofia/gateway/carrier/" + ADVISOR)
    assert "group_confirm_file='playback say:幺二三四九转接：" in transfer.bridged
    assert "转接" in transfer.said and transfer.listen is None and not transfer.hung_up
    assert transfer.params["turn_after"] == "transfer"
    missed = call.bridge_failed("NO_ANSWER")
    assert "没能接通" in missed.said and "回电话" in missed.said and missed.listen is not None
    kinds = sorted(
        r.kind
        for r in db_rows(
            fs_stack, "select kind from handoffs where sender_id=:s", s="voice-" + call.session_id
        )
    )
    assert kinds == ["callback", "request_human"]
    call.hang_up(duration=40)
    row = db_rows(
        fs_stack, "select status, outcome, duration_seconds from calls where call_sid=:s", s=call.session_id
    )[0]
    assert tuple(row) == ("completed", "callback", 40)


# --- a whole booking: the same conversation as over Twilio -----------------------------


def _book_by_phone(call, id_last4: str) -> list[tuple[str, str, object]]:
    """Plays the booking form with the Twilio tests' caller script; returns the turns as
    (what the caller said, what the line said, the post that answered it)."""
    answer = call.say("我想预约上门帮忙洗澡")
    turns = [("我想预约上门帮忙洗澡", answer.said, answer)]
    for _ in range(8):
        reply = _answer_for(answer.said, id_last4)
        if reply is None:
            break
        answer = call.say(reply)
        turns.append((reply, answer.said, answer))
    return turns


def _neutral(said: str, name: str, address: str) -> str:
    """What the line said without what differs between two elders."""
    said = re.sub(r"预约号(是)?[零幺一二三四五六七八九，]+", r"预约号\1…", said)
    return said.replace(name, "〈名字〉").replace(address, "〈地址〉")


def test_the_same_booking_conversation_over_freeswitch_as_over_twilio(fs, fs_stack):
    twilio_elder = db_rows(fs_stack, "select id, id_number_last4 from elders where phone='13800000001'")[0]
    fs_elder = db_rows(fs_stack, "select id, id_number_last4 from elders where phone='13800000005'")[0]

    over_twilio = TwilioCall(TwilioSide(fs_stack.web_url), caller="+8613800000001")
    over_twilio.start()
    twilio_turns = _book_by_phone(over_twilio, twilio_elder.id_number_last4)

    call = FsCall(fs, caller="13800000005")  # 刘淑芬, as a domestic carrier gives her number
    call.start()
    fs_turns = _book_by_phone(call, fs_elder.id_number_last4)

    assert [c for c, _, _ in fs_turns] == [c for c, _, _ in twilio_turns]
    for (caller, by_twilio, _), (_, by_fs, _) in zip(twilio_turns, fs_turns):
        assert _neutral(by_fs, "刘淑芬", "秦虹街道秦虹路一百号") == _neutral(
            by_twilio, "张桂兰", "五老村街道文昌巷十二号三楼"
        ), caller
    said = fs_turns[-1][1]
    assert "预约好了" in said and "我再说一遍，预约号是" in said and "打个分" not in said, said
    bookings = db_rows(fs_stack, "select channel, status from bookings where elder_id=:e", e=fs_elder.id)
    assert [tuple(b) for b in bookings] == [("voice", "booked")]

    # mod_httapi posts the confirmation again (a proxy retried it): same document, one booking
    confirm = max(i for i, (c, _, _) in enumerate(fs_turns) if c == "对")
    previous = fs_turns[confirm - 1][2]
    again = fs.post(
        {
            "session_id": call.session_id,
            **call.profile,
            **previous.params,
            INPUT_NAME: "对",
            "input_type": "detected_speech",
        }
    )
    assert again.body == fs_turns[confirm][2].body
    assert len(db_rows(fs_stack, "select id from bookings where elder_id=:e", e=fs_elder.id)) == 1

    # goodbye, the rating by key (only at the end of the call), then the exiting post
    rated = call.say("没有了，再见")
    assert "满意请按1" in rated.said, rated.said
    rated = call.press("1")
    assert rated.hung_up, rated.body
    call.hang_up(duration=95)
    assert db_rows(
        fs_stack,
        "select score, channel, phone from satisfaction_ratings where call_sid=:s",
        s=call.session_id,
    )[0] == (5, "voice", "13800000005")
    row = db_rows(fs_stack, "select status, outcome from calls where call_sid=:s", s=call.session_id)[0]
    assert (row.status, row.outcome) == ("completed", "goodbye")
    assert (
        db_rows(fs_stack, "select id from handoffs where sender_id=:s", s="voice-" + call.session_id) == []
    )  # ended normally: nobody calls back


def test_a_number_can_be_typed_on_the_keypad_ended_by_hash(fs, fs_stack):
    """A caller whose number is not on file: name, then the last four ID digits typed
    (the document collects a number, # ends it), then the texted code typed too."""
    elder = db_rows(fs_stack, "select id_number_last4 from elders where phone='13800000001'")[0]
    call = FsCall(fs, caller="02584001234")  # a landline not on file
    call.start()
    answer = asked_for_the_last_four(call, call.say("我想预约上门帮忙洗澡"))
    assert "最后四位" in answer.said and "按完请按井号键" in answer.said
    assert answer.number_entry and answer.binds == ["~^[0-9]+$", "~^[*]$"]
    typed = call.press(elder.id_number_last4 + "#")
    assert "验证码" in typed.said and "尾号零零零幺" in typed.said, typed.said
    assert typed.number_entry  # the code can be keyed in too
    proven = call.press(latest_code(fs_stack.database_url, "13800000001") + "#")
    assert "哪一天" in proven.said, proven.said


def test_a_call_cut_off_in_the_middle_of_a_booking_is_called_back(fs, fs_stack):
    call = FsCall(fs, caller="13800000002")  # 李建国
    call.start()
    asked = call.say("我想预约上门帮忙洗澡")
    assert "哪一天" in asked.said, asked.said  # caller ID proved who he is: the form runs
    done = call.hang_up(duration=20)  # the line dropped: mod_httapi's exiting post
    assert done.status == 200
    queued = db_rows(
        fs_stack,
        "select kind, channel, phone, summary from handoffs where sender_id=:s",
        s="voice-" + call.session_id,
    )
    assert [(q.kind, q.channel, q.phone) for q in queued] == [("callback", "voice", "13800000002")]
    assert "中途挂断" in queued[0].summary
