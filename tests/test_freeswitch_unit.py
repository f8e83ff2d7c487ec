"""FreeSWITCH mod_httapi adapter without Rasa: basic auth, golden httapi documents, what
mod_httapi posts (speech results, keys, bridge results, exiting), bad posts, and the line
when Rasa is down (really down: nothing listens on its port), through the same turn engine
as Twilio. The Flask app runs in-process against a real migrated database."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.config import get_settings
from server.telephony import engine as telephony_engine
from server.telephony.base import Listen, VoicePlan
from server.telephony.dialogue import advisor_on_duty
from server.telephony.freeswitch_adapter import FreeswitchAdapter, speech_result, turn_of
from tests.test_freeswitch_support import (
    CALLER,
    HTTAPI_TAGS,
    INPUT_NAME,
    PASSWORD,
    USER,
    FreeswitchSide,
    FsCall,
    basic_auth,
    nlsml,
)
from tests.test_twilio_support import ADVISOR, phone_line_app
from tests.test_twilio_support import Call as TwilioCall
from tests.test_twilio_support import TwilioSide
from tests.test_voice_flow import rasa  # noqa: F401  (the scripted Rasa fixture)
from tests.stack import rows

GOLDEN = Path(__file__).parent / "freeswitch_golden"


@pytest.fixture
def fs_env(monkeypatch):
    for name in (
        "FREESWITCH_TTS_ENGINE",
        "FREESWITCH_TTS_VOICE",
        "FREESWITCH_ASR_ENGINE",
        "FREESWITCH_ASR_GRAMMAR",
        "FREESWITCH_BRIDGE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FREESWITCH_HTTAPI_USER", USER)
    monkeypatch.setenv("FREESWITCH_HTTAPI_PASSWORD", PASSWORD)


@pytest.fixture
def app(db_url, monkeypatch, fs_env):
    return phone_line_app(monkeypatch)


@pytest.fixture
def side(app):
    return FreeswitchSide("http://localhost", post=app.test_client().post)


def only_httapi_tags(doc) -> bool:
    return (
        all(tag.tag in HTTAPI_TAGS for tag in doc.work)
        and doc.root.tag == "document"
        and doc.root.get("type") == "xml/freeswitch-httapi"
    )


# --- basic auth ------------------------------------------------------------------------


@pytest.mark.parametrize("unset", ["FREESWITCH_HTTAPI_USER", "FREESWITCH_HTTAPI_PASSWORD"])
def test_route_is_not_served_without_configured_credentials(app, monkeypatch, unset):
    monkeypatch.delenv(unset)
    side = FreeswitchSide("http://localhost", post=app.test_client().post)
    call = FsCall(side)
    assert call.start().status == 404
    anonymous = side.post(call.form(), auth=None)
    assert anonymous.status == 404
    assert rows(get_settings().database_url, "select id from call_turns") == []


def test_unconfigured_route_is_logged_at_start(db_url, monkeypatch, caplog):
    monkeypatch.delenv("FREESWITCH_HTTAPI_USER", raising=False)
    monkeypatch.delenv("FREESWITCH_HTTAPI_PASSWORD", raising=False)
    from server import create_app

    with caplog.at_level("INFO", logger="server.channels.freeswitch"):
        create_app({"TESTING": True})
    assert any("not served" in r.getMessage() for r in caplog.records)


def test_basic_auth_is_required(side, db_url):
    call = FsCall(side)
    form = call.form()
    for auth in (
        None,
        basic_auth(USER, "wrong"),
        basic_auth("someone", PASSWORD),
        basic_auth(USER, PASSWORD + "x"),
        "Basic !!!not-base64",
        "Bearer " + PASSWORD,
        "Basic " + "dXNlcg==",
        basic_auth(USER.upper(), PASSWORD),
    ):
        answer = side.post(form, auth=auth)
        assert answer.status == 401, auth
        assert answer.root is None  # nothing of the conversation
    unauthorised = side._post("/freeswitch/voice", data=form)
    assert unauthorised.headers["WWW-Authenticate"].startswith("Basic ")
    assert rows(db_url, "select id from call_turns") == []  # nothing ran
    assert side.post(form).status == 200


def test_credentials_are_never_taken_from_the_form(side):
    call = FsCall(side)
    forged = dict(
        call.form(),
        FREESWITCH_HTTAPI_USER=USER,
        FREESWITCH_HTTAPI_PASSWORD=PASSWORD,
        user=USER,
        password=PASSWORD,
    )
    assert side.post(forged, auth=None).status == 401


# --- golden documents ------------------------------------------------------------------

GREETING = ["您好，这里是幺二三四九养老服务热线，我是智能助手。", "请问您想办什么事？"]
WHISPER = "幺二三四九转接：紧急求助，来电尾号零零零幺，老人张桂兰（已核实）。"


def _golden_cases():
    speech = FreeswitchAdapter(USER, PASSWORD)
    keypad = FreeswitchAdapter(
        USER,
        PASSWORD,
        tts_engine="tts_commandline",
        tts_voice="xiaoyan",
        asr_engine="none",
        bridge="sofia/gateway/cmcc/{number}",
    )
    listen = Listen("/freeswitch/voice?turn=1", hints=("转人工",))
    number = Listen("/freeswitch/voice?turn=5", max_digits=None)
    return {
        "listen_speech.xml": speech.render_voice(VoicePlan(say=GREETING, listen=listen)),
        "listen_keypad.xml": keypad.render_voice(VoicePlan(say=GREETING, listen=listen)),
        "number_entry_speech.xml": speech.render_voice(
            VoicePlan(
                say=["请说出身份证号码的最后四位。", "您也可以在电话上按数字，按完请按井号键。"],
                listen=number,
            )
        ),
        "number_entry_keypad.xml": keypad.render_voice(
            VoicePlan(
                say=["请说出身份证号码的最后四位。", "您也可以在电话上按数字，按完请按井号键。"],
                listen=number,
            )
        ),
        "transfer.xml": speech.render_voice(
            VoicePlan(
                say=["好的，正在为您转接人工顾问，请不要挂机。"],
                transfer_to="+8613912349000",
                transfer_result_url="/freeswitch/voice?turn=3",
            )
        ),
        "transfer_keypad.xml": keypad.render_voice(
            VoicePlan(
                say=["正在为您转接人工顾问，请不要挂机。"],
                transfer_to="013912349000",
                transfer_result_url="/freeswitch/voice?turn=3",
            )
        ),
        # the advisor hears who calls and why before the bridge (group_confirm_key=exec)
        "transfer_whisper.xml": speech.render_voice(
            VoicePlan(
                say=["好的，正在为您转接人工顾问，请不要挂机。"],
                transfer_to="+8613912349000",
                transfer_result_url="/freeswitch/voice?turn=3",
                transfer_whisper=WHISPER,
            )
        ),
        "transfer_sip_whisper_keypad.xml": keypad.render_voice(
            VoicePlan(
                say=["正在为您转接人工顾问，请不要挂机。"],
                transfer_to="sip:advisors@pbx.example.cn",
                transfer_result_url="/freeswitch/voice?turn=3",
                transfer_whisper=WHISPER,
            )
        ),
        "hold.xml": speech.render_voice(
            VoicePlan(say=["请稍等。"], pause_seconds=2, redirect_url="/freeswitch/voice?turn=4&wait=1")
        ),
        "hangup.xml": speech.render_voice(VoicePlan(say=["谢谢您的评价！祝您身体健康，再见！"], hangup=True)),
        "exit.xml": speech.render_exit(),
    }


@pytest.mark.parametrize("name", sorted(_golden_cases()))
def test_golden_httapi_documents(name):
    rendered = _golden_cases()[name]
    assert rendered == (GOLDEN / name).read_text(encoding="utf-8"), rendered
    root = ET.fromstring(rendered.encode("utf-8"))
    assert root.tag == "document" and root.get("type") == "xml/freeswitch-httapi"
    assert {child.tag for child in root} <= {"params", "variables", "work"}
    work = root.find("work")
    assert work is not None and len(work) >= 1  # an empty <work> stops mod_httapi
    assert all(tag.tag in HTTAPI_TAGS for tag in work)
    # no FreeSWITCH variable expansion (<execute> data with '$' needs expand-vars, and the
    # call is hung up without it); '$' only ends the regular expressions of <bind>
    for tag in root.iter():
        if tag.tag != "bind":
            assert "$" not in (tag.text or "") + "".join(tag.attrib.values()), tag.tag


def test_golden_documents_are_all_checked():
    assert sorted(p.name for p in GOLDEN.glob("*.xml")) == sorted(_golden_cases())


def test_text_is_escaped_and_file_strings_stay_whole():
    adapter = FreeswitchAdapter(USER, PASSWORD)
    xml = adapter.render_voice(
        VoicePlan(say=['请说"是"或<不是>&其他: 例如 A!B'], listen=Listen("/freeswitch/voice?turn=2"))
    )
    playback = ET.fromstring(xml.encode()).find("work/playback")
    assert playback.get("file") == 'say:请说"是"或<不是>&其他， 例如 A！B'


def test_turn_references():
    assert turn_of("/freeswitch/voice?turn=7") == (7, 0)
    assert turn_of("/freeswitch/voice?turn=7&wait=2") == (7, 2)
    assert turn_of(None) == (0, 0)


def test_bridge_data_takes_only_dialable_characters():
    adapter = FreeswitchAdapter(USER, PASSWORD, bridge="sofia/gateway/gw1/{number}")
    assert (
        adapter.bridge_data("+86 139-1234-9000;x=$y", 25)
        == "{originate_timeout=25}sofia/gateway/gw1/+8613912349000"
    )


# --- what mod_httapi posts ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, words, confidence",
    [
        (nlsml("我想预约上门洗澡", 0.87), "我想预约上门洗澡", 0.87),
        (
            '<?xml version="1.0"?><result xmlns="http://www.ietf.org/xml/ns/mrcpv2">'
            '<interpretation confidence="91"><instance/><input mode="speech">转人工</input>'
            "</interpretation></result>",
            "转人工",
            0.91,
        ),
        (
            '<interpretation grammar="g" score="80"><result name="match">再见</result>'
            "<input>再见</input></interpretation>",
            "再见",
            None,
        ),
        ('{"text": "后天上午", "confidence": 0.8}', "后天上午", 0.8),
        ('{"result": "对"}', "对", None),
        ("第一个", "第一个", None),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><result><input>&a;</input></result>', "", None),
        ("<result><input>", "", None),
        ("[1, 2]", "[1, 2]", None),
        ("", "", None),
    ],
)
def test_speech_results_as_recognisers_return_them(raw, words, confidence):
    assert speech_result(raw) == (words, confidence)


def test_posts_become_events():
    adapter = FreeswitchAdapter(USER, PASSWORD)
    base = {
        "session_id": "0f6c3e2a-1b7d-4c1e-9f3a-2d4b5c6d7e8f",
        "Caller-Caller-ID-Number": CALLER,
        "Caller-Destination-Number": "12349",
        "turn": "3",
        "turn_wait": "0",
        "turn_after": "listen",
    }
    start = adapter.voice_event(base)
    assert (start.call_id, start.from_number, start.to_number) == (base["session_id"], CALLER, "12349")
    assert start.is_silence and start.transfer_status is None
    keys = adapter.voice_event(dict(base, **{INPUT_NAME: "1234", "input_type": "dtmf"}))
    assert keys.digits == "1234" and keys.speech is None
    spoken = adapter.voice_event(dict(base, **{INPUT_NAME: nlsml("转人工"), "input_type": "detected_speech"}))
    assert spoken.speech == "转人工" and spoken.confidence == 0.92 and spoken.digits is None
    invalid = adapter.voice_event(dict(base, **{INPUT_NAME: "invalid", "input_type": "invalid"}))
    assert invalid.is_silence
    after = dict(base, turn_after="transfer")
    assert adapter.voice_event(after).transfer_status == "no-answer"
    for disposition, status in (
        ("SUCCESS", "completed"),
        ("USER_BUSY", "busy"),
        ("NO_ANSWER", "no-answer"),
        ("NORMAL_TEMPORARY_FAILURE", "failed"),
    ):
        assert adapter.voice_event(dict(after, originate_disposition=disposition)).transfer_status == status
        assert (
            adapter.voice_event(dict(after, variable_originate_disposition=disposition)).transfer_status
            == status
        )
    # the caller ID falls back on the ANI; an odd one is dropped, never stored
    assert (
        adapter.voice_event({"session_id": "abc-1", "Caller-ANI": "13800000002"}).from_number == "13800000002"
    )
    assert adapter.voice_event({"session_id": "abc-1", "Caller-Caller-ID-Number": "<x>"}).from_number == ""
    ended = adapter.status_event(dict(base, exiting="true", variable_billsec="42"))
    assert (ended.status, ended.duration_seconds) == ("completed", 42)


# --- bad posts -------------------------------------------------------------------------


def test_malformed_posts_get_a_polite_document_never_500(side, app):
    call = FsCall(side)
    for form in (
        {"Caller-Caller-ID-Number": CALLER},  # no session_id
        dict(call.form(), session_id="<script>"),
        dict(call.form(), turn="abc"),
        dict(call.form(), turn="99999999999999999999"),
        dict(call.form(), turn_wait="-1"),
    ):
        answer = side.post(form)
        assert answer.status == 200, form  # anything else stops mod_httapi
        assert "不好意思" in answer.said and only_httapi_tags(answer)
        assert answer.content_type.startswith("text/xml")
    client = app.test_client()
    huge = client.post(
        "/freeswitch/voice",
        data={"session_id": "abc-1", INPUT_NAME: "长" * 300_000},
        headers={"Authorization": basic_auth(USER, PASSWORD)},
    )
    assert huge.status_code == 413
    assert (
        client.put("/freeswitch/voice", headers={"Authorization": basic_auth(USER, PASSWORD)}).status_code
        == 405
    )


def test_params_in_the_query_string_are_read_too(app, db_url):
    """Older mod_httapi builds send the params in the query string (GET, or POST with an
    empty body); the same call then goes on the same way."""
    client = app.test_client()
    auth = {"Authorization": basic_auth(USER, PASSWORD)}
    call = FsCall(FreeswitchSide("http://localhost", post=client.post))
    by_form = call.start()
    query = FsCall(FreeswitchSide("http://localhost", post=client.post)).form()
    by_get = client.get("/freeswitch/voice", query_string=query, headers=auth)
    by_post = client.post("/freeswitch/voice", query_string=dict(query, session_id="q-2"), headers=auth)
    for answer in (by_get, by_post):
        assert answer.status_code == 200
        assert "系统现在有点忙" in answer.get_data(as_text=True)
    assert "系统现在有点忙" in by_form.said
    assert {r.call_sid for r in rows(db_url, "select call_sid from calls")} == {
        call.session_id,
        query["session_id"],
        "q-2",
    }


def test_weird_but_authenticated_input_still_gets_an_answer(side):
    call = FsCall(side)
    assert call.start().status == 200
    odd = side.post(
        dict(call.form(), **{INPUT_NAME: "\x00\u202e" + "喂" * 600, "input_type": "detected_speech"})
    )
    assert odd.status == 200 and odd.said and only_httapi_tags(odd)


# --- Rasa down: the line never goes silent, through the shared engine -----------------


def test_rasa_down_call_is_bridged_to_an_advisor_and_a_retry_is_identical(side, db_url):
    call = FsCall(side)
    answer = call.start()
    assert answer.status == 200 and answer.content_type.startswith("text/xml")
    assert "系统现在有点忙" in answer.said
    # the advisor first hears why (tests/test_telephony_people.py has the whole string)
    assert answer.bridged.endswith("}[leg_timeout=25]sofia/gateway/carrier/" + ADVISOR)
    assert "group_confirm_key=exec" in answer.bridged and "系统故障" in answer.bridged
    assert answer.params == {"turn": "1", "turn_wait": "0", "turn_after": "transfer"}
    assert answer.variables["hangup_after_bridge"] == "true"
    assert answer.variables["continue_on_fail"] == "true"
    retry = side.post(FsCall(side, session_id=call.session_id).form())
    assert retry.body == answer.body
    turns = rows(
        db_url,
        "select turn_no, input_kind, response_body from call_turns where call_sid=:s",
        s=call.session_id,
    )
    assert [(t.turn_no, t.input_kind) for t in turns] == [(0, "start")]
    assert turns[0].response_body == answer.body
    record = rows(
        db_url,
        "select provider, from_number, to_number, sender_id from calls where call_sid=:s",
        s=call.session_id,
    )[0]
    assert tuple(record) == ("freeswitch", CALLER, "12349", "voice-" + call.session_id)
    # the bridge returns: nobody took the call, a callback lands in the advisor queue
    after = call.bridge_failed()
    assert "回电话" in after.said and only_httapi_tags(after)
    queued = rows(
        db_url, "select kind, channel, phone from handoffs where sender_id=:s", s="voice-" + call.session_id
    )
    assert [(q.kind, q.channel, q.phone) for q in queued] == [("callback", "voice", CALLER)]


def test_a_busy_advisor_line_reported_by_freeswitch_becomes_a_callback(side, db_url):
    call = FsCall(side)
    call.start()
    after = call.bridge_failed("USER_BUSY")
    assert "回电话" in after.said
    assert (
        rows(db_url, "select input_kind from call_turns where call_sid=:s and turn_no=1", s=call.session_id)[
            0
        ].input_kind
        == "dial_result"
    )


def test_rasa_down_out_of_hours_takes_a_callback_and_hangs_up(side, db_url, monkeypatch, pin_clock):
    pin_clock("2026-11-23T21:30")
    monkeypatch.setenv("ADVISOR_HOURS", "08:00-20:00")
    assert not advisor_on_duty(get_settings())
    call = FsCall(side)
    answer = call.start()
    assert answer.bridged is None and answer.hung_up
    assert "不在班" in answer.said and "回电话" in answer.said
    assert (
        rows(db_url, "select kind from handoffs where sender_id=:s", s="voice-" + call.session_id)[0].kind
        == "callback"
    )


def test_both_adapters_say_the_same_through_the_one_engine(side, app):
    """The same situation over Twilio and FreeSWITCH: the same words (the engine and the
    bridge decide; the adapters only render)."""
    fs = FsCall(side).start()
    twilio = TwilioCall(TwilioSide("http://localhost", post=app.test_client().post)).start()
    assert fs.said == twilio.said and fs.said
    assert twilio.dialled == ADVISOR and fs.bridged.endswith(ADVISOR)


def test_a_retry_of_a_turn_still_running_holds_then_apologises(side, db_url, monkeypatch):
    monkeypatch.setattr(telephony_engine, "RUNNING_WAIT_SECONDS", 0.3)
    call = FsCall(side)
    call.start()
    # turn 1 claimed by a request that has not answered yet (it is still running)
    with create_engine(db_url).begin() as c:
        c.execute(
            text(
                "insert into call_turns (call_sid, turn_no, channel, sender_id, input_kind, "
                "created_at) values (:s, 1, 'voice', :v, 'speech', CURRENT_TIMESTAMP)"
            ),
            {"s": call.session_id, "v": "voice-" + call.session_id},
        )
    call.params.update(turn="1", turn_after="listen")
    for expected_wait in ("1", "2", "3"):
        hold = call.silence()  # the pause ran out: mod_httapi posts the same turn again
        assert hold.said == "请稍等。" and [t.tag for t in hold.work] == ["speak", "pause"]
        assert hold.params == {"turn": "1", "turn_wait": expected_wait, "turn_after": "hold"}
    sorry = call.silence()
    assert "系统出了点问题" in sorry.said and only_httapi_tags(sorry)


def test_the_exiting_post_ends_the_call_record(side, db_url):
    call = FsCall(side)
    call.start()
    done = call.hang_up(duration=37)
    assert done.status == 200 and [t.tag for t in done.work] == ["break"]
    row = rows(
        db_url,
        "select provider, status, duration_seconds, ended_at, outcome from calls where call_sid=:s",
        s=call.session_id,
    )[0]
    assert (row.provider, row.status, row.duration_seconds) == ("freeswitch", "completed", 37)
    assert row.ended_at is not None and row.outcome == "transferred"
    # an exiting post of a call never seen creates the record
    unknown = FsCall(side)
    unknown.hang_up()
    assert (
        rows(db_url, "select status, outcome from calls where call_sid=:s", s=unknown.session_id)[0].outcome
        == "caller_hung_up"
    )


def test_slower_and_louder_reach_the_tts_engine_as_ssml():
    from server.telephony.base import Listen, VoicePlan
    from server.telephony.freeswitch_adapter import FreeswitchAdapter

    adapter = FreeswitchAdapter("u", "p", asr_engine="none")
    plain = adapter.render_voice(VoicePlan(say=["好的。"], listen=Listen("/freeswitch/voice?turn=1")))
    assert "prosody" not in plain
    slow = adapter.render_voice(
        VoicePlan(say=["好的。"], listen=Listen("/freeswitch/voice?turn=1"), rate="75%", volume="loud")
    )
    assert 'text="&lt;speak&gt;&lt;prosody rate=&quot;75%&quot; volume=&quot;loud&quot;&gt;好的。' in slow


# --- the reply contract through mod_httapi ------------------------------------------------


@pytest.fixture
def fs_line(db_url, monkeypatch, fs_env, rasa):
    return FreeswitchSide("http://localhost", post=phone_line_app(monkeypatch, rasa.url).test_client().post)


def test_number_entry_and_transfer_promises_follow_the_flags_over_freeswitch(fs_line, rasa, monkeypatch):
    call = FsCall(fs_line)
    call.start()
    rasa.queue.append([{"text": "结果会发到您登记的手机号上。还有别的事吗？"}])
    told = call.say("发短信给我")
    assert not told.number_entry and "井号键" not in told.said
    rasa.queue.append(
        [{"text": "请说一下老人证件的最后几位。", "custom": {"expects_digits": 4, "digits_allow_x": True}}]
    )
    asked = call.say("好")
    assert asked.number_entry and "按完请按井号键" in asked.said and "星号键" in asked.said
    typed = call.press("0027#")
    assert rasa.messages[-1] == "0027" and only_httapi_tags(typed)
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", "")  # nobody on duty from now on
    rasa.queue.append(
        [
            {"text": "这件事可以转接到街道。", "custom": {"action": "handoff"}},
            {"text": "马上为您转接人工顾问，请稍等。", "custom": {"transfer_promise": True}},
        ]
    )
    off = call.say("转人工")
    assert off.bridged is None and "不在班" in off.said
    assert "转接到街道" in off.said and "马上为您转接" not in off.said
