"""Telephony without Rasa: voice wording, advisor hours, TwiML shape, signature checks,
bad webhooks, status callbacks, and the line when Rasa is down (really down: nothing
listens on its port). The Flask app runs in-process against a real migrated database."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.clock import CHINA_TZ
from bot.config import get_settings
from server.speech import sms_text, spoken_choices
from server.telephony.base import Listen, VoiceEvent, VoicePlan
from server.telephony.dialogue import (
    advisor_on_duty,
    is_repeat_request,
    number_asked,
    parse_hours,
    parse_rating,
    valid_expects_digits,
)
from server.telephony.twilio_adapter import TwilioAdapter
from tests.test_twilio_support import ADVISOR, TOKEN, Call, TwilioSide, new_call_sid, phone_line_app
from tests.stack import rows


@pytest.fixture
def app(db_url, monkeypatch):
    return phone_line_app(monkeypatch)


@pytest.fixture
def side(app):
    return TwilioSide("http://localhost", post=app.test_client().post)


# --- voice wording ---------------------------------------------------------------------

# The wording table (speakable) lives in tests/test_speech_wording.py.


def test_buttons_become_spoken_choices_with_keys_and_a_human_on_zero():
    said, keys = spoken_choices(
        [
            {"title": "转人工", "payload": "/request_human"},
            {"title": "问政策", "payload": "/ask_policy"},
            {"title": "官网", "payload": "https://example.org"},
            {"title": "预约上门服务", "payload": "/book_service"},
        ]
    )
    assert said == "您可以直接说，也可以按键：问政策，请按1；预约上门服务，请按2；转人工，请按0。"
    assert keys == {"1": "/ask_policy", "2": "/book_service", "0": "/request_human"}


def test_sms_text_is_short_and_offers_reply_digits():
    body, keys = sms_text(
        [
            (
                "这是一段很长的政策说明。" * 60,
                [
                    {"title": "问政策", "payload": "/ask_policy"},
                    {"title": "转人工", "payload": "/request_human"},
                ],
            )
        ]
    )
    assert len(body) <= 300
    assert body.endswith("回复1 问政策；回复0 转人工") and "12349" in body
    assert keys == {"1": "/ask_policy", "0": "/request_human"}


# --- small decisions -------------------------------------------------------------------


def test_advisor_hours(monkeypatch):
    assert parse_hours("08:00-12:00, 13:30-20:00") == [
        (dt.time(8), dt.time(12)),
        (dt.time(13, 30), dt.time(20)),
    ]
    assert parse_hours("garbage,25:00-26:00") == []
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", ADVISOR)
    monkeypatch.setenv("ADVISOR_HOURS", "08:00-20:00")
    settings = get_settings()
    assert advisor_on_duty(settings, dt.datetime(2026, 11, 23, 8, 0, tzinfo=CHINA_TZ))
    assert not advisor_on_duty(settings, dt.datetime(2026, 11, 23, 20, 0, tzinfo=CHINA_TZ))
    assert not advisor_on_duty(settings, dt.datetime(2026, 11, 23, 3, 0, tzinfo=CHINA_TZ))
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", "")
    assert not advisor_on_duty(get_settings(), dt.datetime(2026, 11, 23, 9, 0, tzinfo=CHINA_TZ))


@pytest.mark.parametrize(
    "moment, on_duty",
    [
        ("2026-11-23T19:59", True),
        ("2026-11-23T20:00", False),
        # 00:30 UTC on the 24th is 08:30 in China: on duty although it is still night in UTC
        ("2026-11-24T00:30:00Z", True),
        ("2026-11-23T23:59:00Z", False),
        ("2026-11-23T11:59:00Z", True),
        ("2026-11-23T12:00:00Z", False),
    ],
)
def test_advisor_duty_reads_the_clock_in_china_time(monkeypatch, pin_clock, moment, on_duty):
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", ADVISOR)
    monkeypatch.setenv("ADVISOR_HOURS", "08:00-20:00")
    pin_clock(moment)
    assert advisor_on_duty(get_settings()) is on_duty


@pytest.mark.parametrize(
    "speech, digits, score",
    [
        (None, "1", 5),
        (None, "2", 3),
        (None, "3", 1),
        (None, "5", None),
        (None, "7", None),
        ("满意", None, 5),
        ("很满意", None, 5),
        ("我觉得挺满意的", None, 5),
        ("一般吧", None, 3),
        ("不满意", None, 1),
        ("不太满意", None, 1),
        ("五分", None, None),
        ("4", None, None),
        ("再说一遍", None, None),
        ("我还有两个问题", None, None),
        ("我想问个政策", None, None),
    ],
)
def test_parse_rating(speech, digits, score):
    assert parse_rating(VoiceEvent("CA1", speech=speech, digits=digits)) == score


def test_repeat_requests_are_short_asks_only():
    assert is_repeat_request("再说一遍") and is_repeat_request("麻烦您再说一遍吧")
    assert is_repeat_request("没听清")
    assert not is_repeat_request("我没听清楚医生说的护理补贴怎么申请，帮我查一下")


# --- the reply contract: flags set where the question is asked ---------------------------

DOMAIN = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text(encoding="utf-8"))


def _response_flags() -> list[tuple[str, dict]]:
    return [
        (name, variant["custom"])
        for name, variants in DOMAIN["responses"].items()
        for variant in variants
        if isinstance(variant.get("custom"), dict)
    ]


@pytest.mark.parametrize(
    "value, valid",
    [
        (4, True),
        (11, True),
        ([7, 12], True),
        ((1, 1), True),
        ("any", True),
        (0, False),
        (True, False),
        ([12, 7], False),
        ([4], False),
        ("4", False),
        (None, False),
        ([True, 3], False),
        ({"min": 4}, False),
    ],
)
def test_expects_digits_is_a_length_a_range_or_any(value, valid):
    assert valid_expects_digits(value) is valid
    assert number_asked([{"expects_digits": value, "digits_allow_x": True}]) == (valid, valid)


def test_number_questions_in_the_domain_carry_the_actions_flags():
    from actions.common import ID_LAST4_FLAGS, MOBILE_NUMBER_FLAGS
    from bot.identity import CODE_DIGITS

    flags = dict(_response_flags())
    assert flags["utter_ask_booking_id_last4"] == ID_LAST4_FLAGS
    assert flags["utter_ask_booking_code"] == {"expects_digits": CODE_DIGITS}
    assert flags["utter_ask_elig_sms_phone"] == MOBILE_NUMBER_FLAGS
    for name, custom in _response_flags():
        if "expects_digits" in custom:
            assert valid_expects_digits(custom["expects_digits"]), name
        if "digits_allow_x" in custom:
            assert custom["digits_allow_x"] is True and "expects_digits" in custom, name


def test_the_actions_asking_again_for_a_number_flag_it():
    from actions.booking import Turn, ValidateBookServiceForm
    from actions.common import ID_LAST4_FLAGS, MOBILE_NUMBER_FLAGS
    from actions.eligibility import ValidateEligibilitySmsForm

    dispatcher = CollectingDispatcher()
    turn = Turn(dispatcher, None, "book_service_form", {})
    assert ValidateBookServiceForm().handle_identity(turn, "booking_id_last4", "蓝色的") is False
    ValidateEligibilitySmsForm().validate_elig_sms_phone("蓝色的", dispatcher, None, {})
    last4, mobile = dispatcher.messages
    assert "最后四位" in last4["text"] and last4["custom"] == ID_LAST4_FLAGS
    assert "手机号码" in mobile["text"] and mobile["custom"] == MOBILE_NUMBER_FLAGS


@pytest.mark.parametrize("kind, said", [("crisis", "我不想活了"), ("emergency", "我老伴摔倒了")])
def test_the_safety_promise_of_a_person_is_a_flagged_message_of_its_own(db_url, kind, said):
    from actions.safety import ActionCrisis, ActionEmergency
    from bot.safety import replies

    latest = {
        "text": said,
        "intent": {"name": kind},
        "metadata": {"channel": "voice"},
        "safety": {"kind": kind, "category": "fall" if kind == "emergency" else None},
    }
    tracker = Tracker(
        "voice-CAtest", {}, latest, [{"event": "user", "text": said}], False, None, {}, "action_listen"
    )
    dispatcher = CollectingDispatcher()
    action = ActionCrisis() if kind == "crisis" else ActionEmergency()
    asyncio.run(action.run(dispatcher, tracker, {}))
    messages = dispatcher.messages
    promise = replies()[kind]["handoff"]
    flagged = [m for m in messages if (m.get("custom") or {}).get("transfer_promise")]
    assert [(m["text"], m["custom"]) for m in flagged] == [(promise, {"transfer_promise": True})]
    assert messages[0]["custom"]["urgent"] is True and messages[0]["custom"]["kind"] == kind
    assert promise not in messages[0]["text"]  # the advice is kept whole, without it
    assert all(promise not in m["text"] for m in messages if m not in flagged)


# --- TwiML -----------------------------------------------------------------------------


def test_twiml_listen_speaks_slow_mandarin_and_gathers_speech_and_keys():
    xml = TwilioAdapter(TOKEN).render_voice(
        VoicePlan(say=["您好。"], listen=Listen("/twilio/voice?turn=1", hints=("转人工",)))
    )
    assert '<Gather action="/twilio/voice?turn=1"' in xml
    for attribute in (
        'input="speech dtmf"',
        'language="cmn-Hans-CN"',
        'speechTimeout="3"',
        'speechModel="googlev2_long"',
        'actionOnEmptyResult="true"',
        'numDigits="1"',
        'finishOnKey="#"',
        'hints="转人工"',
    ):
        assert attribute in xml
    assert (
        '<Say language="cmn-CN" voice="Polly.Zhiyu-Neural"><prosody rate="85%">您好。'
        "</prosody></Say></Gather>"
    ) in xml
    assert xml.endswith('<Redirect method="POST">/twilio/voice?turn=1</Redirect></Response>')


def test_twiml_transfer_and_hangup():
    adapter = TwilioAdapter(TOKEN)
    xml = adapter.render_voice(
        VoicePlan(say=["转接。"], transfer_to=ADVISOR, transfer_result_url="/twilio/voice?turn=3")
    )
    assert '<Dial action="/twilio/voice?turn=3"' in xml and f"<Number>{ADVISOR}</Number>" in xml
    assert adapter.render_voice(VoicePlan(say=["再见。"], hangup=True)).endswith(
        "再见。</prosody></Say><Hangup /></Response>"
    )


# --- signatures ------------------------------------------------------------------------


def test_unsigned_tampered_or_wrongly_signed_requests_get_403(side):
    params = {"CallSid": new_call_sid(), "From": "+8613800000001", "To": "+8612349"}
    assert side.post("/twilio/voice", params, signature=None).status == 403
    good = side.signature("/twilio/voice", params)
    tampered = dict(params, From="+8613800000009")
    assert side.post("/twilio/voice", tampered, signature=good).status == 403
    other = TwilioSide("http://localhost", token="not-the-token", post=side._post)
    assert other.post("/twilio/voice", params).status == 403
    for path in ("/twilio/sms", "/twilio/status"):
        assert side.post(path, params, signature=None).status == 403
    assert side.post("/twilio/voice", params).status == 200


def test_signature_checked_against_public_url_behind_a_proxy(app, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hotline.example.org")
    client = app.test_client()
    params = {"CallSid": new_call_sid(), "From": "+8613800000001", "To": "+8612349"}
    local = TwilioSide("http://localhost", post=client.post)
    assert local.post("/twilio/voice", params).status == 403
    public = TwilioSide("http://localhost", public_url="https://hotline.example.org", post=client.post)
    assert public.post("/twilio/voice", params).status == 200
    # the query string (turn number) is part of what is signed
    assert public.post("/twilio/voice?turn=1", params).status == 200
    sig = public.signature("/twilio/voice?turn=1", params)
    assert public.post("/twilio/voice?turn=2", params, signature=sig).status == 403


def test_validation_switch_off_for_local_development(app, monkeypatch):
    monkeypatch.setenv("TWILIO_VALIDATE_SIGNATURE", "false")
    side = TwilioSide("http://localhost", post=app.test_client().post)
    params = {"CallSid": new_call_sid(), "From": "+8613800000001", "To": "+8612349"}
    assert side.post("/twilio/voice", params, signature=None).status == 200


def test_switching_validation_off_is_logged_loudly_at_start(db_url, monkeypatch, caplog):
    monkeypatch.setenv("TWILIO_VALIDATE_SIGNATURE", "false")
    from server import create_app

    with caplog.at_level("WARNING", logger="server.channels.twilio"):
        create_app({"TESTING": True})
    assert any("NOT authenticated" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_no_token_configured_rejects_everything(app, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "")
    side = TwilioSide("http://localhost", token="", post=app.test_client().post)
    params = {"CallSid": new_call_sid(), "From": "+8613800000001", "To": "+8612349"}
    assert side.post("/twilio/voice", params).status == 403


# --- bad webhooks ----------------------------------------------------------------------


def test_malformed_webhooks_get_polite_chinese_twiml_never_500(side, app):
    """Signed but unusable requests: 200 with our own Chinese sentence, because on a 4xx
    Twilio plays its own English error message to the caller."""
    no_sid = side.post("/twilio/voice", {"From": "+8613800000001"})
    assert no_sid.status == 200 and "不好意思" in no_sid.said
    bad_sid = side.post("/twilio/voice", {"CallSid": "<script>", "From": "x"})
    assert bad_sid.status == 200 and bad_sid.said
    bad_turn = side.post("/twilio/voice?turn=abc", {"CallSid": new_call_sid()})
    assert bad_turn.status == 200 and bad_turn.said
    huge_turn = side.post("/twilio/voice?turn=99999999999999999999", {"CallSid": new_call_sid()})
    assert huge_turn.status == 200 and huge_turn.said
    no_sender = side.post("/twilio/sms", {"MessageSid": "SM1", "Body": "你好"})
    assert no_sender.status == 200 and no_sender.first("Message") is not None
    bad_status = side.post("/twilio/status", {"CallStatus": "completed"})
    assert bad_status.status == 400  # Twilio's own callback: no caller hears it
    client = app.test_client()
    huge = client.post("/twilio/voice", data={"CallSid": "CA1", "SpeechResult": "长" * 300_000})
    assert huge.status_code == 413
    json_body = client.post("/twilio/voice", json={"CallSid": "CA1"})
    assert json_body.status_code == 403  # not a signed Twilio form


def test_weird_but_signed_input_still_gets_an_answer(side):
    call_sid = new_call_sid()
    first = side.start(call_sid)
    assert first.status == 200
    odd = side.turn("/twilio/voice?turn=1", call_sid, speech="\x00\u202e" + "喂" * 600, digits="abc")
    assert odd.status == 200 and odd.said


# --- Rasa down: the line never goes silent ---------------------------------------------


def test_rasa_down_call_is_told_and_transferred_and_retry_is_identical(side, db_url):
    call = Call(side)
    answer = call.start()
    assert answer.status == 200
    assert "系统现在有点忙" in answer.said
    assert answer.dialled == ADVISOR
    retry = side.start(call.sid)
    assert retry.body == answer.body
    turns = rows(db_url, "select turn_no, response_body from call_turns where call_sid=:s", s=call.sid)
    assert len(turns) == 1 and turns[0].response_body == answer.body
    # the advisor does not pick up: a callback request lands in the advisor queue
    after = call.dial_result("no-answer")
    assert "回电话" in after.said
    queued = rows(
        db_url, "select kind, channel, phone from handoffs where sender_id=:s", s="voice-" + call.sid
    )
    assert [(q.kind, q.channel, q.phone) for q in queued] == [("callback", "voice", "+8613800000001")]


def test_rasa_down_out_of_hours_takes_a_callback_and_says_goodbye(side, db_url, monkeypatch, pin_clock):
    pin_clock("2026-11-23T21:30")
    monkeypatch.setenv("ADVISOR_HOURS", "08:00-20:00")
    assert not advisor_on_duty(get_settings())
    call = Call(side)
    answer = call.start()
    assert answer.status == 200 and answer.dialled is None
    assert "不在班" in answer.said and "回电话" in answer.said and answer.hung_up
    assert (
        rows(db_url, "select kind from handoffs where sender_id=:s", s="voice-" + call.sid)[0].kind
        == "callback"
    )


def test_rasa_down_sms_gets_a_polite_reply(side):
    reply = side.sms("你好")
    assert reply.status == 200 and "系统现在有点忙" in "".join(reply.first("Message").itertext())


# --- status callbacks ------------------------------------------------------------------


def test_status_callbacks_are_stored_with_the_call(side, db_url):
    call = Call(side)
    call.start()
    assert side.status(call.sid, "in-progress").status == 200
    assert side.status(call.sid, "completed", duration=73).status == 200
    row = rows(
        db_url,
        "select status, duration_seconds, ended_at, started_at, outcome, sender_id "
        "from calls where call_sid=:s",
        s=call.sid,
    )[0]
    assert row.status == "completed" and row.duration_seconds == 73
    assert row.ended_at is not None and row.started_at is not None
    assert row.outcome == "transferred"  # set by the bridge, kept by the callback
    assert row.sender_id == "voice-" + call.sid
    # a callback for a call we never saw creates the record
    unknown = new_call_sid()
    side.status(unknown, "no-answer", duration=0)
    row = rows(db_url, "select status, outcome from calls where call_sid=:s", s=unknown)[0]
    assert (row.status, row.outcome) == ("no-answer", "failed")
