"""SMS through a mainland provider's template API (SMS_PROVIDER=template), against a local
HTTP server that plays the provider: the JSON it gets (template code, parameters, sign
name, number), the auth header, timeouts and refusals (the row is marked failed, the
caller's booking stands). Then what holds for every sender: a number that replied 退订
gets nothing; the template catalogue is consistent; a landline elder's notices go to her
family contact's mobile, or to nobody and a note for the advisor."""

from __future__ import annotations

import json
import logging
import socket
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bot.booking import ledger as booking
from bot.contact import sms_templates
from bot.db import session_scope
from bot.models import Elder, Handoff, SmsOutbox
from bot.contact.sms import (
    FAMILY_MOBILE,
    NO_MOBILE,
    ELDER_MOBILE,
    configured_sender,
    note_sms_unsent,
    notice_number_for,
    opt_out,
    send_sms,
)
from bot.contact.sms_senders import SendResult, TemplateSender, TwilioSender
from tests.test_booking import ZHANG, key, morning
from tests.local_http import JsonHandler
from tests.test_sms_twilio import ACCOUNT, CommitWatchingFake, FakeTwilio, outbox

API_KEY = "test-provider-key"
CODE_CONFIRMED = "SMS_100000001"
CODE_IDENTITY = "SMS_100000005"
FAMILY = "13912345678"
LANDLINE = "02584000053"


class FakeProvider(CommitWatchingFake):
    """Records SendSms POSTs; answers like Aliyun: {"Code": "OK", "BizId": ...}, or
    `code` / `status` when told to refuse, after `delay` seconds."""

    def __init__(self, db_url: str):
        super().__init__(db_url)
        self.status, self.code, self.delay = 200, "OK", 0.0
        fake = self

        class Handler(JsonHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                raw = self.read_body()
                fake.requests.append(
                    {
                        "path": self.path,
                        "json": json.loads(raw),
                        "authorization": self.headers.get("Authorization"),
                        "content_type": self.headers.get("Content-Type"),
                        "bookings_visible": fake.bookings_visible(),
                    }
                )
                time.sleep(fake.delay)
                body = json.dumps(
                    {
                        "Code": fake.code,
                        "Message": "OK" if fake.code == "OK" else "业务限流",
                        "BizId": f"{len(fake.requests):06d}^0",
                        "RequestId": "F0000000-0000-0000-0000-000000000000",
                    }
                ).encode()
                self.send_json(body, fake.status)

        self.serve(Handler)
        self.url = self.local.url + "/sms/send"


@pytest.fixture
def provider(db_url, monkeypatch):
    fake = FakeProvider(db_url)
    monkeypatch.setenv("SMS_PROVIDER", "template")
    monkeypatch.setenv("SMS_TEMPLATE_API_URL", fake.url)
    monkeypatch.setenv("SMS_TEMPLATE_API_KEY", API_KEY)
    monkeypatch.setenv("SMS_TEMPLATE_CODE_BOOKING_CONFIRMED", CODE_CONFIRMED)
    monkeypatch.setenv("SMS_TEMPLATE_CODE_IDENTITY_CODE", CODE_IDENTITY)
    yield fake
    fake.close()


def outbox_count() -> int:
    with session_scope() as s:
        return s.execute(select(func.count(SmsOutbox.id))).scalar_one()


CONFIRMED = {
    "greeting": "张桂兰您好",
    "whom": "您",
    "service": "助浴",
    "time": "11月25日，星期三，上午8点到10点",
    "address": "五老村街道文昌巷12号3楼",
    "reference": "K7Q2M9",
    "cost": "这次需要付0元",
}


# --- the template provider ----------------------------------------------------------------


def test_a_templated_message_goes_as_template_code_and_parameters(provider, caplog):
    with caplog.at_level(logging.INFO, logger="bot.contact.sms"):
        sms_id = send_sms(
            "13800000001",
            "【12349养老服务】验证码483920，5分钟内有效。",
            requested=True,
            template=("identity_code", {"code": 483920}),
        )
    assert len(provider.requests) == 1
    sent = provider.requests[0]
    assert sent["path"] == "/sms/send" and sent["content_type"] == "application/json"
    assert sent["authorization"] == f"Bearer {API_KEY}"
    assert sent["json"] == {
        "PhoneNumbers": "13800000001",
        "SignName": "12349养老服务",
        "TemplateCode": CODE_IDENTITY,
        "TemplateParam": '{"code":"483920"}',
        "OutId": str(sms_id),
    }
    row = outbox(sms_id)
    assert (row.status, row.provider_sid, row.error) == ("sent", "000001^0", None)
    assert row.sent_at is not None and row.body.startswith("【12349养老服务】验证码483920")
    assert f"id={sms_id} kind=identity_code sender=template" in caplog.text  # the row has no kind column


def test_every_parameter_of_a_notice_reaches_the_provider(provider):
    sms_id = send_sms(
        "13800000001",
        "【12349养老服务】张桂兰您好，已为您预约：助浴……",
        template=("booking_confirmed", CONFIRMED),
    )
    sent = provider.requests[0]["json"]
    assert sent["TemplateCode"] == CODE_CONFIRMED
    assert json.loads(sent["TemplateParam"]) == CONFIRMED
    assert outbox(sms_id).status == "sent"


def test_a_message_without_a_template_goes_as_the_generic_one_and_the_log_says_so(provider, caplog):
    with caplog.at_level(logging.INFO):
        sms_id = send_sms("13800000005", "【12349养老服务】您的测算结果：高龄津贴可以申请。")
    sent = provider.requests[0]["json"]
    # no code configured for generic: the placeholder goes, and the log says what to set
    assert sent["TemplateCode"] == sms_templates.template_for("generic").code
    assert json.loads(sent["TemplateParam"]) == {"text": "您的测算结果：高龄津贴可以申请。"}
    assert outbox(sms_id).status == "sent"
    assert "has no template: sent as kind generic" in caplog.text
    assert "SMS_TEMPLATE_CODE_GENERIC" in caplog.text
    assert "13800000005" not in caplog.text


def test_a_booking_confirmation_goes_to_the_provider_after_the_booking_committed(provider):
    result = booking.book(ZHANG, "bath", morning(6), "voice", key())
    assert result.ok and result.sms_outbox_id
    assert len(provider.requests) == 1
    assert provider.requests[0]["bookings_visible"] >= 1, "sent before the booking was committed"
    params = json.loads(provider.requests[0]["json"]["TemplateParam"])
    assert params["reference"] == result.reference and params["service"] == "助浴"
    assert params["greeting"] == "张桂兰您好" and params["whom"] == "您"
    assert outbox(result.sms_outbox_id).status == "sent"


def test_a_rolled_back_transaction_sends_nothing_to_the_provider(provider):
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        with session_scope() as s:
            send_sms("13800000001", "不该发出的短信", session=s, template=("booking_confirmed", CONFIRMED))
            raise Abandoned
    assert provider.requests == [] and outbox_count() == 0


def test_a_provider_refusal_marks_the_sms_failed_and_leaves_the_booking(provider):
    provider.code = "isv.BUSINESS_LIMIT_CONTROL"
    result = booking.book(ZHANG, "cleaning", morning(6), "voice", key())
    assert result.ok, "a failed SMS must not undo the booking"
    row = outbox(result.sms_outbox_id)
    assert row.status == "failed" and row.provider_sid is None and row.sent_at is None
    assert row.error == "HTTP 200 isv.BUSINESS_LIMIT_CONTROL"
    with session_scope() as s:
        assert booking.count_bookings(s, reference=result.reference) == 1


def test_a_provider_outage_marks_the_sms_failed(provider):
    provider.status, provider.code = 503, "ServiceUnavailable"
    sms_id = send_sms("13800000001", "【12349养老服务】通知")
    assert outbox(sms_id).status == "failed" and outbox(sms_id).error.startswith("HTTP 503")


def test_provider_calls_time_out(provider, monkeypatch, caplog):
    provider.delay = 3
    monkeypatch.setenv("SMS_TEMPLATE_TIMEOUT_SECONDS", "0.5")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="bot.contact.sms_senders"):
        result = booking.book(ZHANG, "bath", morning(6), "voice", key())
    assert time.monotonic() - started < 2.5
    assert result.ok
    row = outbox(result.sms_outbox_id)
    assert row.status == "failed" and row.error == "ReadTimeout"
    assert "may still be delivered" in caplog.text  # providers are not idempotent


def test_a_provider_that_is_not_there_marks_the_sms_failed(db_url, monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("SMS_PROVIDER", "template")
    monkeypatch.setenv("SMS_TEMPLATE_API_URL", f"http://127.0.0.1:{port}/sms/send")
    monkeypatch.setenv("SMS_TEMPLATE_API_KEY", API_KEY)
    sms_id = send_sms("13800000001", "【12349养老服务】通知")
    assert outbox(sms_id).status == "failed" and outbox(sms_id).error == "ConnectionError"


def test_parameters_that_do_not_fit_the_catalogue_are_the_callers_mistake(db_url):
    """Checked whatever the sender (here: none, the embedded default), so the tests catch it."""
    wrong = dict(CONFIRMED, reference=None)
    for template in (
        ("booking_confirmed", wrong),
        ("booking_confirmed", {k: v for k, v in CONFIRMED.items() if k != "cost"}),
        ("booking_confirmed", dict(CONFIRMED, price="5元")),
        ("no_such_kind", {}),
    ):
        with pytest.raises(sms_templates.TemplateError):
            send_sms("13800000001", "【12349养老服务】通知", template=template)
    assert outbox_count() == 0


# --- which sender ---------------------------------------------------------------------------


def test_the_sender_follows_sms_provider_and_its_credentials(db_url, monkeypatch, caplog):
    assert configured_sender() is None  # embedded default: the outbox
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "fake-token")
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550006")
    assert isinstance(configured_sender(), TwilioSender)
    monkeypatch.setenv("SMS_PROVIDER", "template")  # chosen, but no address or key yet
    assert configured_sender() is None
    with caplog.at_level(logging.INFO, logger="bot.contact.sms"):
        assert send_sms("13800000001", "【12349养老服务】通知") is not None
    assert "kept in outbox" in caplog.text and "no SMS_TEMPLATE_API_URL" in caplog.text
    monkeypatch.setenv("SMS_TEMPLATE_API_URL", "http://127.0.0.1:9/sms")
    monkeypatch.setenv("SMS_TEMPLATE_API_KEY", API_KEY)
    assert isinstance(configured_sender(), TemplateSender)
    monkeypatch.setenv("SMS_PROVIDER", "aliyn")
    with caplog.at_level(logging.ERROR, logger="bot.contact.sms"):
        assert configured_sender() is None
    assert "SMS_PROVIDER='aliyn' is not one of twilio, template" in caplog.text


def test_a_sender_reports_instead_of_raising(db_url):
    sender = TemplateSender("http://127.0.0.1:9/sms", API_KEY, "12349养老服务", timeout=0.5)
    result = sender.send("+8613800000001", "通知", ("booking_confirmed", {"greeting": "您好"}))
    assert result == SendResult("failed", None, result.error) and result.error.startswith("template:")


# --- 退订 holds for every sender -------------------------------------------------------------


@pytest.fixture(params=["outbox", "twilio", "template"])
def any_sender(request, db_url, monkeypatch):
    """Each sender configured in turn; yields (its name, the requests its provider got)."""
    if request.param == "outbox":
        yield "outbox", []
        return
    if request.param == "twilio":
        fake = FakeTwilio(db_url)
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", "fake-token")
        monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550006")
        monkeypatch.setenv("TWILIO_API_URL", fake.url)
    else:
        fake = FakeProvider(db_url)
        monkeypatch.setenv("SMS_PROVIDER", "template")
        monkeypatch.setenv("SMS_TEMPLATE_API_URL", fake.url)
        monkeypatch.setenv("SMS_TEMPLATE_API_KEY", API_KEY)
    yield request.param, fake.requests
    fake.close()


def test_a_number_that_opted_out_gets_nothing_from_any_sender(any_sender):
    name, requests = any_sender
    assert (configured_sender() or SimpleNamespace(name="outbox")).name == name
    assert opt_out("13800000001")
    assert send_sms("13800000001", "【12349养老服务】提醒") is None
    assert send_sms("13800000001", "【12349养老服务】通知", template=("booking_confirmed", CONFIRMED)) is None
    with session_scope() as s:
        assert send_sms("13800000001", "【12349养老服务】提醒", session=s) is None
    result = booking.book(ZHANG, "bath", morning(6), "voice", key())
    assert result.ok and result.sms_outbox_id is None  # booked, not texted
    assert requests == [] and outbox_count() == 0
    # her family contact did not opt out: a notice to her still goes
    with session_scope() as s:
        s.get(Elder, ZHANG).emergency_contact_phone = FAMILY
    assert send_sms(FAMILY, "【12349养老服务】通知") is not None
    assert outbox_count() == 1 and len(requests) == (0 if name == "outbox" else 1)


# --- the catalogue ---------------------------------------------------------------------------


def test_the_catalogue_has_every_kind_and_nothing_a_provider_refuses():
    templates = sms_templates.catalogue()
    assert set(sms_templates.KINDS) <= set(templates)
    assert sms_templates.file_problems(templates) == []
    for t in templates.values():
        assert t.label and t.code.startswith(sms_templates.PLACEHOLDER_CODE_PREFIX)
        rendered = t.render({name: "某" for name in t.params})
        assert "$" not in rendered and "12349" in rendered


def test_a_catalogue_a_provider_would_refuse_is_not_loaded(tmp_path):
    bad = tmp_path / "templates.yml"
    bad.write_text(
        "templates:\n"
        "  booking_confirmed:\n    label: 预约确认\n    code: SMS_1\n"
        "    params: {greeting: x, when: y}\n    text: 【12349】${greeting}${time}\n"
        "  generic:\n    label: 通知\n    code: SMS_2\n    params: {text: x}\n"
        "    text: ${text}\n",
        encoding="utf-8",
    )
    with pytest.raises(sms_templates.TemplateError) as caught:
        sms_templates.load(bad)
    message = str(caught.value)
    for problem in (
        "kind visit_reminder is missing",
        "two variables side by side",
        "the text uses ['greeting', 'time'], params are ['greeting', 'when']",
        "generic: the text is only variables",
        "【】 in the text",
    ):
        assert problem in message


# --- landlines: the family contact's mobile, or a note for the advisor ----------------------


def _set_phones(phone: str | None, family: str | None) -> None:
    with session_scope() as s:
        elder = s.get(Elder, ZHANG)
        elder.phone, elder.emergency_contact_phone = phone, family


def _notice_number() -> tuple[str | None, str]:
    with session_scope() as s:
        return notice_number_for(s.get(Elder, ZHANG))


def test_her_own_mobile_first(db_url):
    _set_phones("13800000001", FAMILY)
    assert _notice_number() == ("13800000001", ELDER_MOBILE)


def test_a_landline_elders_notices_go_to_her_family_contacts_mobile(provider):
    _set_phones(LANDLINE, FAMILY)
    number, why = _notice_number()
    assert (number, why) == (FAMILY, FAMILY_MOBILE)
    sms_id = send_sms(
        number,
        "【12349养老服务】您好，张桂兰的预约……",
        template=("booking_confirmed", dict(CONFIRMED, greeting="您好", whom="张桂兰")),
    )
    assert outbox(sms_id).status == "sent" and provider.requests[0]["json"]["PhoneNumbers"] == FAMILY


def test_no_phone_of_her_own_is_like_a_landline(db_url):
    _set_phones(None, FAMILY)
    assert _notice_number() == (FAMILY, FAMILY_MOBILE)


@pytest.mark.parametrize("phone,family", [(LANDLINE, None), (LANDLINE, "025-84000054"), (None, None)])
def test_no_mobile_anywhere_gives_no_number_and_a_note_for_the_advisor(db_url, phone, family):
    _set_phones(phone, family)
    assert _notice_number() == (None, NO_MOBILE)
    note = note_sms_unsent(ZHANG, "booking_confirmed", booking_reference="K7Q2M9")
    with session_scope() as s:
        handoff = s.get(Handoff, note)
        assert (handoff.kind, handoff.priority, handoff.elder_id, handoff.status, handoff.phone) == (
            "sms_unsent",
            5,
            ZHANG,
            "open",
            None,
        )
        assert handoff.summary == (
            "短信未能发出（预约确认，预约号K7Q2M9）：长者编号1本人和家属都没有"
            "登记手机号。请电话告知，并核实联系方式。"
        )
    assert outbox_count() == 0


def test_the_note_names_nobody_and_is_not_repeated_while_open(db_url):
    _set_phones(LANDLINE, None)
    first = note_sms_unsent(ZHANG, "visit_reminder")
    assert note_sms_unsent(ZHANG, "visit_reminder") == first
    with session_scope() as s:  # in the caller's transaction
        other = note_sms_unsent(ZHANG, "booking_cancelled", session=s)
        summary = s.get(Handoff, other).summary
    assert other != first
    for personal in ("张桂兰", LANDLINE, "8400", "五老村", "320119"):
        assert personal not in summary
    with session_scope() as s:
        s.get(Handoff, first).status = "closed"
    assert note_sms_unsent(ZHANG, "visit_reminder") not in (first, other)


def test_the_identity_code_text_is_its_template_with_the_signature():
    """The code SMS's wording has one home, the identity_code template: the full text sent
    (outbox body, Twilio) is the signature and that template filled."""
    assert (
        sms_templates.full_text("identity_code", {"code": "483920"})
        == "【12349养老服务】验证码483920，5分钟内有效，只用于在12349核实身份。别人向您要这个码，请不要给。"
    )
    with pytest.raises(sms_templates.TemplateError):
        sms_templates.full_text("identity_code", {"pin": "483920"})
