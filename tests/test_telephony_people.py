"""People behind the line (issue 19, point 2), without Rasa: the transfer target (a number,
a queue number or a SIP address), the whisper the advisor hears before the caller is put
through (Twilio's signed /twilio/whisper route, FreeSWITCH's answer confirmation), the
advisor calendar (weekly hours, public holidays, 调休, ADVISOR_HOURS), a withheld caller ID
(a callback number typed on the keypad and read back), and Twilio's answers when
something fails (a 200 with Chinese TwiML, 403 for a bad signature, the fallback URL).

The Flask app runs in-process against a real migrated database; Rasa's port is dead, so a
call starts with "系统现在有点忙" and a transfer (or, off duty, a callback)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import create_engine, text

from bot.contact import advisor_calendar
from bot.clock import CHINA_TZ
from bot.config import get_settings
from server.telephony import dialogue
from server.telephony.advisor_line import (
    caller_id_withheld,
    callback_number,
    digits_said,
    transfer_target,
    whisper,
)
from server.telephony.base import VoicePlan
from server.telephony.dialogue import VoiceBridge, advisor_on_duty, hours_spoken
from server.telephony.freeswitch_adapter import FreeswitchAdapter
from server.telephony.store import CallState
from server.telephony.twilio_adapter import TwilioAdapter
from tests.test_freeswitch_support import PASSWORD, USER, FreeswitchSide, FsCall
from tests.test_twilio_support import (
    ADVISOR,
    CALLER,
    TOKEN,
    Call,
    TwiML,
    TwilioSide,
    new_call_sid,
    phone_line_env,
)
from tests.stack import rows

TWILIO_GOLDEN = Path(__file__).parent / "twilio_golden"
WHISPER = "幺二三四九转接：紧急求助，来电尾号零零零幺，老人张桂兰（已核实）。"
SIP_ADVISORS = "sip:advisors@pbx.example.cn"


@pytest.fixture
def app(db_url, monkeypatch):
    phone_line_env(monkeypatch)
    monkeypatch.setenv("FREESWITCH_HTTAPI_USER", USER)
    monkeypatch.setenv("FREESWITCH_HTTAPI_PASSWORD", PASSWORD)
    for name in (
        "PUBLIC_BASE_URL",
        "TWILIO_VALIDATE_SIGNATURE",
        "FREESWITCH_TTS_ENGINE",
        "FREESWITCH_TTS_VOICE",
        "FREESWITCH_ASR_ENGINE",
        "FREESWITCH_ASR_GRAMMAR",
        "FREESWITCH_BRIDGE",
        "FREESWITCH_SIP_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    from server import create_app

    return create_app({"TESTING": True})


@pytest.fixture
def side(app):
    return TwilioSide("http://localhost", post=app.test_client().post)


@pytest.fixture
def calendar_hours(monkeypatch):
    """The region's advisor calendar decides (ADVISOR_HOURS unset)."""
    monkeypatch.delenv("ADVISOR_HOURS", raising=False)
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", ADVISOR)
    advisor_calendar._warned.clear()


@pytest.fixture
def night(monkeypatch, pin_clock):
    """Out of hours: 21:30 on a Monday, advisors until 20:00."""
    pin_clock("2026-11-23T21:30")
    monkeypatch.setenv("ADVISOR_HOURS", "08:00-20:00")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def dial_target(answer: TwiML) -> ET.Element:
    dial = answer.first("Dial")
    assert dial is not None, answer.body
    return list(dial)[0]


# --- 1. the transfer target --------------------------------------------------------------


@pytest.mark.parametrize(
    "value, kind, address",
    [
        ("+8613912349000", "number", "+8613912349000"),
        ("+86 139-1234-9000", "number", "+8613912349000"),
        ("013912349000", "number", "013912349000"),
        ("8001", "number", "8001"),  # a queue / extension of the district's switch
        (SIP_ADVISORS, "sip", SIP_ADVISORS),
        ("SIP:advisors@pbx.example.cn:5060", "sip", "sip:advisors@pbx.example.cn:5060"),
        ("sips:queue-12349@pbx.example.cn", "sip", "sips:queue-12349@pbx.example.cn"),
    ],
)
def test_transfer_targets(value, kind, address):
    target = transfer_target(value)
    assert (target.kind, target.address) == (kind, address)


@pytest.mark.parametrize(
    "value",
    ["", "王顾问", "sip:advisors@pbx.example.cn;transport=tcp", "sip:a@b,c", "+86 139 1234 9000;x=$y", "1"],
)
def test_what_cannot_be_dialled_is_no_target(value):
    assert transfer_target(value) is None


def test_an_undiallable_advisor_number_means_callbacks_not_transfers(monkeypatch, caplog):
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", "王顾问的手机")
    monkeypatch.setenv("ADVISOR_HOURS", "00:00-24:00")
    with caplog.at_level("ERROR"):
        assert not advisor_on_duty(get_settings())
    assert any("ADVISOR_PHONE_NUMBER" in r.getMessage() for r in caplog.records)
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", SIP_ADVISORS)
    assert advisor_on_duty(get_settings())


# --- 2. the whisper: golden TwiML ---------------------------------------------------------


def _golden_twilio() -> dict[str, str]:
    adapter = TwilioAdapter(TOKEN)
    adapter.whisper_url = lambda said: (
        "https://hotline.example.org/twilio/whisper?" + urlencode({"text": said})
    )
    return {
        "transfer_whisper_number.xml": adapter.render_voice(
            VoicePlan(
                say=["好的，正在为您转接人工顾问，请不要挂机。"],
                transfer_to=ADVISOR,
                transfer_result_url="/twilio/voice?turn=3",
                transfer_whisper=WHISPER,
            )
        ),
        "transfer_whisper_sip.xml": adapter.render_voice(
            VoicePlan(
                say=["正在为您转接人工顾问，请不要挂机。"],
                transfer_to=SIP_ADVISORS,
                transfer_result_url="/twilio/voice?turn=3",
                transfer_whisper=WHISPER,
            )
        ),
        "whisper.xml": adapter.render_whisper(WHISPER),
    }


@pytest.mark.parametrize("name", sorted(_golden_twilio()))
def test_golden_twiml(name):
    rendered = _golden_twilio()[name]
    assert rendered == (TWILIO_GOLDEN / name).read_text(encoding="utf-8").rstrip("\n"), rendered


def test_golden_twiml_files_are_all_checked():
    assert sorted(p.name for p in TWILIO_GOLDEN.glob("*.xml")) == sorted(_golden_twilio())


def test_the_whisper_rides_on_the_number_or_the_sip_address_and_never_reaches_the_caller():
    for name, tag, address in (
        ("transfer_whisper_number.xml", "Number", ADVISOR),
        ("transfer_whisper_sip.xml", "Sip", SIP_ADVISORS),
    ):
        answer = TwiML.parse(200, _golden_twilio()[name])
        target = dial_target(answer)
        assert (target.tag, target.text) == (tag, address)
        assert target.get("method") == "POST"
        assert parse_qs(urlsplit(target.get("url")).query)["text"] == [WHISPER]
        assert WHISPER not in answer.said  # the caller hears the transfer, not the whisper
        assert answer.first("Dial").get("answerOnBridge") == "true"  # she hears it ring
    # without a whisper, or without a whisper route, a plain <Number> as before
    plain = TwilioAdapter(TOKEN).render_voice(VoicePlan(transfer_to=ADVISOR, transfer_whisper=WHISPER))
    assert f"<Number>{ADVISOR}</Number>" in plain


def test_whisper_words():
    settings = get_settings()
    assert (
        whisper("urgent", caller=None, sender_id=None, settings=settings)
        == "幺二三四九转接：紧急求助，来电没有显示号码。"
    )
    assert (
        whisper("crisis", caller="anonymous", sender_id=None, settings=settings)
        == "幺二三四九转接：心理危机，来电没有显示号码。"
    )
    assert (
        whisper("requested", caller="+8613900000009", sender_id=None, settings=settings)
        == "幺二三四九转接：来电人要求转人工，来电尾号零零零九。"
    )


def test_whisper_names_the_elder_only_as_far_as_she_is_known(db_url):
    settings = get_settings()
    sender = "voice-CA" + "1" * 32
    # caller ID is her registered phone, nothing proved in the conversation
    assert (
        whisper("trouble", caller=CALLER, sender_id=sender, settings=settings)
        == "幺二三四九转接：系统故障，来电人需要人工，来电尾号零零零幺，老人张桂兰（按来电号码，未核实）。"
    )
    elder_id = rows(db_url, "select id from elders where name='张桂兰'")[0].id
    with create_engine(db_url).begin() as c:
        c.execute(
            text(
                "insert into identity_proofs (sender_id, elder_id, method, channel, acting_for, "
                "relation, proved_with, at) values (:s, :e, 'caller_id', 'voice', 0, NULL, "
                "'138****0001', CURRENT_TIMESTAMP)"
            ),
            {"s": sender, "e": elder_id},
        )
        c.execute(
            text(
                "insert into handoffs (kind, priority, sender_id, channel, phone, status, "
                "created_at) values ('complaint', 4, :s, 'voice', :p, 'open', CURRENT_TIMESTAMP)"
            ),
            {"s": sender, "p": CALLER},
        )
    assert (
        whisper("requested", caller=CALLER, sender_id=sender, settings=settings)
        == "幺二三四九转接：投诉，来电尾号零零零幺，老人张桂兰（已核实）。"
    )
    relative = "voice-CA" + "2" * 32
    with create_engine(db_url).begin() as c:
        c.execute(
            text(
                "insert into identity_proofs (sender_id, elder_id, method, channel, acting_for, "
                "relation, proved_with, at) values (:s, :e, 'sms_code', 'voice', 1, '女儿', "
                "'139****0000', CURRENT_TIMESTAMP)"
            ),
            {"s": relative, "e": elder_id},
        )
    said = whisper("urgent", caller="+8613700000007", sender_id=relative, settings=settings)
    assert said == "幺二三四九转接：紧急求助，来电尾号零零零七，老人张桂兰的女儿来电（已核实）。"
    for secret in ("13800000001", "320", "五老村"):  # no number, no ID, no address
        assert secret not in said


def test_a_database_failure_leaves_the_elder_out_of_the_whisper(monkeypatch):
    import bot.db

    def broken(*_a, **_k):
        raise RuntimeError("database down")

    monkeypatch.setattr(bot.db, "session_scope", broken)
    assert (
        whisper("urgent", caller=CALLER, sender_id="voice-x", settings=get_settings())
        == "幺二三四九转接：紧急求助，来电尾号零零零幺。"
    )


# --- 2. the whisper on the line -----------------------------------------------------------


def test_twilio_transfer_carries_a_signed_whisper_route(side, db_url):
    call = Call(side)
    answer = call.start()
    target = dial_target(answer)
    assert target.tag == "Number" and target.text == ADVISOR
    url = target.get("url")
    assert url.startswith("http://localhost/twilio/whisper?")  # absolute: the advisor's leg
    # Twilio fetches it for the advisor's leg, signed like every webhook
    advisor_leg = {
        "CallSid": new_call_sid(),
        "ParentCallSid": call.sid,
        "From": CALLER,
        "To": ADVISOR,
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
    }
    heard = side.post(path_of(url), advisor_leg)
    assert heard.status == 200
    assert heard.said == (
        "幺二三四九转接：系统故障，来电人需要人工，来电尾号零零零幺，老人张桂兰（按来电号码，未核实）。"
    )
    assert heard.first("Dial") is None and not heard.hung_up and heard.gather is None
    assert side.post(path_of(url), advisor_leg, signature=None).status == 403
    forged = path_of(url).split("?")[0] + "?" + urlencode({"text": "请挂断"})
    assert side.post(forged, advisor_leg, signature=side.signature(path_of(url), advisor_leg)).status == 403


def test_whisper_route_behind_a_proxy_uses_the_public_url(app, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hotline.example.org")
    public = TwilioSide(
        "http://localhost", public_url="https://hotline.example.org", post=app.test_client().post
    )
    answer = Call(public).start()
    url = dial_target(answer).get("url")
    assert url.startswith("https://hotline.example.org/twilio/whisper?")
    assert public.post(path_of(url), {"CallSid": new_call_sid()}).status == 200


def test_whisper_route_says_something_sensible_whatever_it_gets(side):
    empty = side.post("/twilio/whisper", {"CallSid": new_call_sid()})
    assert empty.status == 200 and empty.said == "幺二三四九转接来电。"
    odd = side.post(
        "/twilio/whisper?" + urlencode({"text": "\x00\u202e转接" + "长" * 500}), {"CallSid": new_call_sid()}
    )
    assert odd.status == 200 and odd.said.startswith("转接") and len(odd.said) <= 200


def test_twilio_sip_address_gets_sip(app, monkeypatch):
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", SIP_ADVISORS)
    answer = Call(TwilioSide("http://localhost", post=app.test_client().post)).start()
    target = dial_target(answer)
    assert (target.tag, target.text) == ("Sip", SIP_ADVISORS) and "/twilio/whisper?" in target.get("url")


def test_freeswitch_bridge_document_with_whisper(app, db_url):
    fs = FreeswitchSide("http://localhost", post=app.test_client().post)
    answer = FsCall(fs).start()
    assert answer.bridged == (
        "{originate_timeout=55,group_confirm_key=exec,group_confirm_file='playback say:"
        "幺二三四九转接：系统故障，来电人需要人工，来电尾号零零零幺，老人张桂兰（按来电号码，未核实）。',"
        "group_confirm_cancel_timeout=true,tts_engine=unimrcp}[leg_timeout=25]"
        "sofia/gateway/carrier/" + ADVISOR
    )
    assert "幺二三四九转接" not in answer.said  # the caller does not hear it


def test_freeswitch_bridges_a_sip_address_through_its_profile(app, monkeypatch):
    monkeypatch.setenv("ADVISOR_PHONE_NUMBER", SIP_ADVISORS)
    monkeypatch.setenv("FREESWITCH_SIP_PROFILE", "internal")
    answer = FsCall(FreeswitchSide("http://localhost", post=app.test_client().post)).start()
    assert answer.bridged.endswith("}[leg_timeout=25]sofia/internal/" + SIP_ADVISORS)


def test_freeswitch_queue_number_through_the_bridge_template():
    adapter = FreeswitchAdapter(USER, PASSWORD, bridge="user/{number}")
    assert adapter.bridge_data("8001", 20) == "{originate_timeout=20}user/8001"
    assert adapter.bridge_data("8001", 20, "转接：求助") == (
        "{originate_timeout=50,group_confirm_key=exec,group_confirm_file='playback say:转接：求助',"
        "group_confirm_cancel_timeout=true,tts_engine=unimrcp}[leg_timeout=20]user/8001"
    )


def test_whisper_cannot_break_out_of_the_dial_string():
    adapter = FreeswitchAdapter(USER, PASSWORD)
    data = adapter.bridge_data(ADVISOR, 25, "a',b}{c[d]|e$f\\g: h!i^j=k")
    assert "group_confirm_file='playback say:a，bcdefg， h！ijk'," in data
    assert data.endswith("}[leg_timeout=25]sofia/gateway/carrier/" + ADVISOR)
    assert "$" not in data and data.count("{") == 1 and data.count("}") == 1


# --- 3. the advisor calendar --------------------------------------------------------------


@pytest.mark.parametrize(
    "moment, on_duty, kind",
    [
        ("2026-11-23T10:00", True, "weekday"),  # a Monday in hours
        ("2026-11-23T20:30", False, "weekday"),  # the same Monday after hours
        ("2026-11-22T10:00", False, "weekday"),  # a Sunday: closed
        ("2026-10-17T10:00", True, "weekday"),  # an ordinary Saturday: 09:00-17:00
        ("2026-10-17T19:00", False, "weekday"),
        ("2026-10-01T10:00", False, "public_holiday"),  # 国庆节
        ("2026-02-17T10:00", False, "public_holiday"),  # 春节
        ("2026-10-08T10:00", True, "weekday"),  # back to work after 国庆
        ("2026-10-10T19:00", True, "make_up_working_day"),  # 调休 Saturday: a working day's hours
        ("2026-02-14T19:00", True, "make_up_working_day"),
        ("2026-09-20T10:00", True, "make_up_working_day"),  # 调休 Sunday
    ],
)
def test_the_calendar_decides_duty(calendar_hours, moment, on_duty, kind):
    pinned = dt.datetime.fromisoformat(moment).replace(tzinfo=CHINA_TZ)
    assert advisor_on_duty(get_settings(), pinned) is on_duty
    assert advisor_calendar.hours_on(pinned.date()).kind == kind


def test_the_calendar_reads_the_pinned_clock(calendar_hours, pin_clock):
    pin_clock("2026-10-01T10:00")
    assert not advisor_on_duty(get_settings())
    pin_clock("2026-10-10T10:00")
    assert advisor_on_duty(get_settings())


def test_advisor_hours_override_the_calendar(calendar_hours, monkeypatch):
    holiday = dt.datetime(2026, 10, 1, 10, 0, tzinfo=CHINA_TZ)
    assert not advisor_on_duty(get_settings(), holiday)
    monkeypatch.setenv("ADVISOR_HOURS", "00:00-24:00")
    assert advisor_on_duty(get_settings(), holiday)
    assert advisor_calendar.hours_on(holiday.date()).kind == "override"
    monkeypatch.setenv("ADVISOR_HOURS", "08:00-12:00,13:30-20:00")
    assert not advisor_on_duty(get_settings(), dt.datetime(2026, 11, 22, 12, 30, tzinfo=CHINA_TZ))
    assert advisor_on_duty(get_settings(), dt.datetime(2026, 11, 22, 14, 0, tzinfo=CHINA_TZ))
    assert hours_spoken(get_settings()) == "上午八点到中午十二点，下午一点半到晚上八点"


def test_hours_are_said_as_people_say_them(calendar_hours):
    assert (
        hours_spoken(get_settings())
        == "周一到周五上午八点到晚上八点，周六上午九点到下午五点，周日和法定节假日休息"
    )


def test_a_year_without_the_state_councils_schedule_is_used_and_logged(calendar_hours, caplog):
    with caplog.at_level("WARNING", logger="bot.contact.advisor_calendar"):
        # 2027: the statutory days alone (除夕 is 5 February)
        assert advisor_calendar.hours_on(dt.date(2027, 2, 5)).kind == "public_holiday"
        assert advisor_calendar.hours_on(dt.date(2027, 2, 9)).kind == "weekday"
        # 2028 is not in the file: weekly hours
        assert advisor_calendar.hours_on(dt.date(2028, 1, 3)).kind == "weekday"
    messages = [r.getMessage() for r in caplog.records]
    assert any("2027" in m and "statutory days only" in m for m in messages)
    assert any("2028" in m and "not in" in m for m in messages)


def test_a_broken_calendar_never_fails_a_call(calendar_hours, monkeypatch, tmp_path, caplog):
    region = tmp_path / "demo_district"
    region.mkdir()
    (region / "advisor_calendar.yml").write_text("weekly: [oops\n", encoding="utf-8")
    monkeypatch.setenv("POLICIES_DIR", str(tmp_path))
    with caplog.at_level("ERROR", logger="bot.contact.advisor_calendar"):
        assert advisor_on_duty(get_settings(), dt.datetime(2026, 10, 1, 10, 0, tzinfo=CHINA_TZ))
    assert any(
        "advisor_calendar.yml" in r.getMessage() and "not valid YAML" in r.getMessage()
        for r in caplog.records
    )
    assert hours_spoken(get_settings()) == "上午八点到晚上八点"


def test_calendar_errors_name_the_file_and_the_key(tmp_path):
    path = tmp_path / "public_holidays.yml"
    bad = {
        "years": {
            2026: {
                "status": "published",
                "reference": {"title": "通知"},
                "holidays": [{"name": "春节", "from": "2026-02-30", "to": "2026-02-23"}],
            }
        }
    }
    with pytest.raises(advisor_calendar.AdvisorCalendarError, match=r"years\.2026\.holidays\[0\]\.from"):
        advisor_calendar.parse_holidays(bad, path)
    overlap = {
        "years": {
            2026: {
                "status": "published",
                "reference": {"title": "通知"},
                "holidays": [{"name": "国庆节", "from": dt.date(2026, 10, 1), "to": dt.date(2026, 10, 7)}],
                "make_up_working_days": [{"date": dt.date(2026, 10, 3)}],
            }
        }
    }
    with pytest.raises(advisor_calendar.AdvisorCalendarError, match="is a day off"):
        advisor_calendar.parse_holidays(overlap, path)
    with pytest.raises(advisor_calendar.AdvisorCalendarError, match="weekly must name"):
        advisor_calendar.parse_calendar({"weekly": {"mon": "08:00-20:00"}}, path, {}, path)


def test_the_shipped_calendar_checks(capsys):
    assert advisor_calendar.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert "2026: published, 7 holidays (33 days off), 6 make-up working days" in out
    assert "WARNING 2027" in out


def test_a_call_on_a_public_holiday_takes_a_callback(side, db_url, calendar_hours, pin_clock):
    pin_clock("2026-10-01T10:00")
    call = Call(side)
    answer = call.start()
    assert answer.dialled is None and answer.hung_up
    assert "不在班" in answer.said and "周日和法定节假日休息" in answer.said
    assert "打到您现在用的这个号码" in answer.said
    assert rows(db_url, "select kind, phone from handoffs where sender_id=:s", s="voice-" + call.sid) == [
        ("callback", CALLER)
    ]


# --- 4. a withheld caller ID ----------------------------------------------------------------


@pytest.mark.parametrize(
    "number, withheld",
    [
        ("", True),
        (None, True),
        ("anonymous", True),
        ("Anonymous", True),
        ("Restricted", True),
        ("+266696687", True),
        ("+7378742833", True),
        ("+86282452253", True),
        ("0000000000", True),
        ("client:bob", True),
        ("sip:someone@example.org", True),
        ("123", True),
        ("+8613800000001", False),
        ("13800000001", False),
        ("02584000000", False),
        ("84000000", False),
    ],
)
def test_withheld_caller_ids(number, withheld):
    assert caller_id_withheld(number) is withheld


@pytest.mark.parametrize(
    "typed, number",
    [
        ("13900000009", "13900000009"),
        ("8613900000009", "13900000009"),
        ("02584000000", "02584000000"),
        ("84000000", "02584000000"),
        ("1234567", None),
        ("1390000000", None),
        ("123", None),
        ("", None),
    ],
)
def test_callback_numbers(typed, number):
    assert callback_number(typed, get_settings()) == number


def test_digits_said_one_by_one():
    assert digits_said("幺三九零零零零零零零九") == "13900000009"
    assert digits_said("我的号码是139 0000 0009") == "13900000009"


def test_withheld_caller_types_a_number_hears_it_back_and_gets_a_callback(side, db_url, night):
    call = Call(side, caller="anonymous")
    first = call.start()
    assert "不在班" in first.said and "您的来电没有显示号码" in first.said
    assert "请输入您的电话号码，按井号键结束。" in first.said
    assert "打到您现在用的这个号码" not in first.said and not first.hung_up
    gather = first.gather
    assert gather.get("numDigits") is None and gather.get("finishOnKey") == "#"
    wrong = call.press("13900000008")
    assert "您输入的是幺三九零零零零零零零八，" in wrong.said and "对请按1，不对请按2。" in wrong.said
    assert wrong.gather.get("numDigits") == "1"
    # the read-back is heard to the end; only the 1/2 question is inside the Gather
    assert "您输入的是" not in "".join("".join(s.itertext()) for s in wrong.gather.iter("Say"))
    again = call.press("2")
    assert "请重新输入" in again.said and again.gather.get("numDigits") is None
    right = call.press("13900000009")
    assert "幺三九零零零零零零零九" in right.said
    done = call.press("1")
    assert "顾问会尽快打幺三九零零零零零零零九给您回电话" in done.said and done.hung_up
    queued = rows(
        db_url, "select kind, phone, summary from handoffs where sender_id=:s", s="voice-" + call.sid
    )
    assert [(q.kind, q.phone) for q in queued] == [("callback", "13900000009")]
    assert "按键留了回电号码" in queued[0].summary
    state = rows(db_url, "select awaiting, outcome from calls where call_sid=:s", s=call.sid)[0]
    assert (state.awaiting, state.outcome) == (None, "callback")


def test_a_withheld_caller_who_gives_no_number_hears_the_truth(side, db_url, night):
    call = Call(side, caller="+266696687")
    call.start()
    once = call.silence()
    assert "我没有收到号码" in once.said and "请输入您的电话号码" in once.said
    twice = call.silence()
    assert "没有您的号码，顾问没法给您回电话" in twice.said
    assert "请您在顾问上班时间再打幺二三四九，上班时间是上午八点到晚上八点" in twice.said
    assert twice.hung_up  # the line's own trouble: goodbye after the truth
    assert rows(db_url, "select id from handoffs where sender_id=:s", s="voice-" + call.sid) == []
    assert rows(db_url, "select outcome from calls where call_sid=:s", s=call.sid)[0].outcome == "no_callback"


def test_a_wrong_length_number_is_asked_again_then_given_up(side, db_url, night):
    call = Call(side, caller="Restricted")
    call.start()
    short = call.press("12345")
    assert "这个号码的位数不对" in short.said and "请输入您的电话号码" in short.said
    call.press("99")
    last = call.press("123")
    assert "顾问没法给您回电话" in last.said
    assert rows(db_url, "select id from handoffs where sender_id=:s", s="voice-" + call.sid) == []


def test_saying_no_to_a_number_gives_up_at_once(side, night):
    call = Call(side, caller="anonymous")
    call.start()
    assert "顾问没法给您回电话" in call.say("不用了").said


def test_a_number_said_digit_by_digit_works_too(side, db_url, night):
    call = Call(side, caller="anonymous")
    call.start()
    heard = call.say("幺三九零零零零零零零九")
    assert "您输入的是幺三九零零零零零零零九" in heard.said
    assert "顾问会尽快打" in call.say("对").said
    assert (
        rows(db_url, "select phone from handoffs where sender_id=:s", s="voice-" + call.sid)[0].phone
        == "13900000009"
    )


def test_an_unanswered_transfer_with_caller_id_withheld_asks_for_a_number(side, db_url):
    call = Call(side, caller="anonymous")
    assert call.start().dialled == ADVISOR
    missed = call.dial_result("no-answer")
    assert "没能接通" in missed.said and "请输入您的电话号码" in missed.said
    assert "打到您现在用的这个号码" not in missed.said
    call.press("84000000")  # a local landline: the area code is added
    done = call.press("1")
    assert "顾问会尽快打零二五八四零零零零零零给您回电话" in done.said  # as it will be dialled
    assert "还有别的事需要帮忙吗" in done.said and not done.hung_up
    assert (
        rows(db_url, "select phone from handoffs where sender_id=:s", s="voice-" + call.sid)[0].phone
        == "02584000000"
    )


def test_withheld_over_freeswitch_too(app, db_url, night):
    fs = FreeswitchSide("http://localhost", post=app.test_client().post)
    call = FsCall(fs, caller="anonymous")
    first = call.start()
    assert "请输入您的电话号码，按井号键结束。" in first.said and first.number_entry
    read_back = call.press("13900000009#")
    assert "您输入的是幺三九零零零零零零零九" in read_back.said and not read_back.number_entry
    assert "顾问会尽快打" in call.press("1").said
    assert (
        rows(db_url, "select phone from handoffs where sender_id=:s", s="voice-" + call.session_id)[0].phone
        == "13900000009"
    )


def test_in_danger_nobody_is_asked_to_type(db_url, night):
    bridge = VoiceBridge(lambda n, **_: f"/twilio/voice?turn={n}")
    state = CallState(
        call_sid="CA" + "3" * 32, sender_id="voice-CA" + "3" * 32, from_number="anonymous", persisted=False
    )
    plan = bridge._transfer(
        state, ["我们已经通知了顾问。"], "/twilio/voice?turn=2", urgent=True, already_queued=True
    )
    said = "".join(plan.say)
    assert plan.hangup and "没法给您回电话" in said and "幺二零" in said
    assert "打到您现在用的这个号码" not in said and plan.listen is None
    crisis = bridge._transfer(
        state, ["我在这里陪着您。"], "/twilio/voice?turn=2", urgent=True, crisis=True, already_queued=True
    )
    assert not crisis.hangup and crisis.listen is not None and crisis.listen.max_digits == 1
    assert dialogue.STAY_ON_LINE in crisis.say


def test_a_cut_off_anonymous_call_is_not_called_back(side, db_url, monkeypatch):
    from server import rasa_client

    monkeypatch.setattr(rasa_client, "active_form", lambda sender, timeout=3.0: "book_service_form")
    anonymous, known = new_call_sid(), new_call_sid()
    side.status(anonymous, "completed", duration=40, caller="anonymous")
    side.status(known, "completed", duration=40)
    kinds = {r.sender_id: r.phone for r in rows(db_url, "select sender_id, phone from handoffs")}
    assert kinds == {"voice-" + known: CALLER}


# --- 5. Twilio hears Chinese TwiML with a 200, except for a bad signature -------------------


def test_fallback_url_answers_the_trouble_plan(side):
    failed = {
        "CallSid": new_call_sid(),
        "From": CALLER,
        "To": "+8612349",
        "ErrorCode": "11200",
        "ErrorUrl": "https://hotline.example.org/twilio/voice?turn=3",
    }
    answer = side.post("/twilio/fallback", failed)
    assert answer.status == 200 and "系统出了点问题" in answer.said and answer.dialled == ADVISOR
    assert "/twilio/whisper?" in dial_target(answer).get("url")
    assert side.post("/twilio/fallback", failed, signature=None).status == 403
    sms = side.post(
        "/twilio/fallback",
        {"MessageSid": "SM" + "1" * 32, "From": CALLER, "Body": "你好", "ErrorCode": "11200"},
    )
    assert sms.status == 200 and "系统出了点问题" in "".join(sms.first("Message").itertext())


def test_fallback_out_of_hours_apologises_and_hangs_up(side, night):
    answer = side.post("/twilio/fallback", {"CallSid": new_call_sid(), "From": CALLER})
    assert answer.status == 200 and answer.hung_up and answer.dialled is None
    assert "幺二三四九" in answer.said


def test_http_errors_inside_a_webhook_still_answer_200_with_chinese(side, monkeypatch):
    from werkzeug.exceptions import BadRequest, ServiceUnavailable

    from server.channels import twilio as twilio_bp
    from server.telephony.engine import TelephonyService

    def unavailable(*_a, **_k):
        raise ServiceUnavailable()

    def bad_request(*_a, **_k):
        raise BadRequest()

    monkeypatch.setattr(TelephonyService, "voice_turn", unavailable)
    answer = side.start(new_call_sid())
    assert answer.status == 200 and "系统出了点问题" in answer.said
    monkeypatch.setattr(TelephonyService, "sms", bad_request)
    sms = side.sms("你好")
    assert sms.status == 200 and "系统出了点问题" in "".join(sms.first("Message").itertext())
    # a status callback keeps its code: nobody hears it, Twilio's debugger shows it
    monkeypatch.setattr(TelephonyService, "call_status", unavailable)
    assert side.status(new_call_sid(), "completed").status == 503
    # the whisper's failure: a generic whisper, never the caller's trouble plan
    monkeypatch.setattr(twilio_bp, "_UNSPEAKABLE", None)
    whisper_answer = side.post("/twilio/whisper?text=x", {"CallSid": new_call_sid()})
    assert whisper_answer.status == 200 and whisper_answer.said == "幺二三四九转接来电。"
    assert whisper_answer.first("Dial") is None and not whisper_answer.hung_up
    # a bad signature is still a 403
    assert side.post("/twilio/voice", {"CallSid": new_call_sid()}, signature="nope").status == 403
