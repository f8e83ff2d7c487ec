"""SMS only to numbers on file, on every path (bot/contact/sms.py is the one door: identity codes,
booking notices, eligibility results), and no SMS bombing through the one-time codes:
at most 5 unused codes an hour per conversation and per elder (never turned off)."""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from bot import identity
from bot.booking import ledger as booking
from bot.db import session_scope
from bot.models import Elder, SmsOutbox
from bot.contact.sms import send_sms
from tests.test_booking import morning

ZHANG, LI = 1, 2
STRANGER = "13912345678"


def outbox(number: str | None = None) -> int:
    with session_scope() as s:
        q = select(func.count(SmsOutbox.id))
        if number:
            q = q.where(SmsOutbox.to_number == "+86" + number)
        return s.execute(q).scalar_one()


def test_a_number_nobody_registered_gets_no_sms(db_url, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.contact.sms"):
        assert send_sms(STRANGER, "【12349养老服务】通知") is None
        assert send_sms(STRANGER, "【12349养老服务】验证码123456", requested=True) is None
    assert outbox() == 0
    assert any(
        "not a number on file" in r.getMessage() and "139****5678" in r.getMessage() for r in caplog.records
    )
    assert STRANGER not in caplog.text


def test_the_elders_and_her_family_contacts_mobiles_get_them(db_url):
    with session_scope() as s:
        s.get(Elder, ZHANG).emergency_contact_phone = STRANGER
    assert send_sms("13800000001", "【12349养老服务】通知") is not None
    assert send_sms("+86 139-1234-5678", "【12349养老服务】通知") is not None
    assert outbox(STRANGER) == 1


def test_booking_notices_go_to_the_number_on_file(db_url):
    result = booking.book(ZHANG, "bath", morning(3), "web", "sms-on-file-1")
    assert result.ok and outbox("13800000001") == 1 and outbox() == 1


def test_the_eligibility_result_is_not_texted_to_an_unregistered_caller(db_url):
    """On the phone the caller's number comes from the carrier (it can be spoofed): an
    unregistered caller ID gets no SMS from the hotline either."""
    from actions.eligibility import ActionEligibilitySendSms

    slots = {
        "elig_summary": "【12349养老服务】您可以申请：高龄津贴。",
        "elig_sms_phone": None,
        "channel": "voice",
        "caller_phone": "+86" + STRANGER,
    }
    tracker = Tracker(
        "call-unregistered",
        slots,
        {"text": "发短信", "metadata": {"channel": "voice", "phone": "+86" + STRANGER}},
        [],
        False,
        None,
        {},
        "action_listen",
    )
    asyncio.run(ActionEligibilitySendSms().run(CollectingDispatcher(), tracker, {}))
    assert outbox() == 0


def test_codes_per_conversation_are_limited(db_url):
    results = [identity.send_code("conv-bomb", LI, "web").code for _ in range(6)]
    assert results == ["sent"] * 5 + ["locked"]
    assert outbox("13800000002") == 5


def test_codes_to_one_elder_an_hour_are_limited_across_conversations(db_url, pin_clock):
    pin_clock("2026-11-23T10:00:00")
    results = [identity.send_code(f"conv-{n}", LI, "web").code for n in range(6)]
    assert results == ["sent"] * 5 + ["locked"]
    assert identity.send_code("conv-other", ZHANG, "web").ok  # another elder is not affected
    pin_clock("2026-11-23T11:00:01")  # an hour later she can be reached again
    assert identity.send_code("conv-later", LI, "web").ok


def test_codes_that_proved_someone_do_not_count_against_her(db_url):
    from tests.stack import latest_code

    for n in range(7):  # a busy family: seven calls, each proven with its code
        assert identity.send_code(f"conv-ok-{n}", LI, "web").ok
        assert identity.verify(f"conv-ok-{n}", latest_code(db_url, "13800000002"), "web").ok


def _sms_tracker(text: str) -> Tracker:
    slots = {
        "elig_summary": "【12349养老服务】您可以申请：高龄津贴。",
        "elig_sms_phone": "13800000001",  # a number on file
        "channel": "web",
        "caller_phone": "+8613800000001",
    }
    return Tracker(
        "conv-decline", slots, {"text": text, "metadata": {}}, [], False, None, {}, "action_listen"
    )


def test_a_no_to_the_sms_read_as_asking_for_it_sends_nothing(db_url):
    """ "那个短信甭给我发了" may be classified as send_result_sms: the words say no, so nothing
    is texted (even to a number on file) and the caller hears that it is not sent."""
    from actions.eligibility import ActionEligibilitySendSms, ValidateEligibilitySmsForm

    for text in ("那个短信甭给我发了", "用不着发短信", "发过来就算了，我记住了"):
        tracker = _sms_tracker(text)
        assert (
            asyncio.run(ValidateEligibilitySmsForm().required_slots(["elig_sms_phone"], None, tracker, {}))
            == []
        )
        dispatcher = CollectingDispatcher()
        asyncio.run(ActionEligibilitySendSms().run(dispatcher, tracker, {}))
        assert "不发" in dispatcher.messages[0]["text"], text
    assert outbox() == 0
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEligibilitySendSms().run(dispatcher, _sms_tracker("发到我手机上吧"), {}))
    assert outbox("13800000001") == 1 and "尾号0001" in dispatcher.messages[0]["text"]


def test_asking_for_the_sms_in_other_words_is_no_decline():
    from actions.eligibility import declines_sms

    for text in ("别忘了发短信给我", "用别的号码发行不行", "是免费发的吗", "发到我闺女手机上吧"):
        assert not declines_sms(text), text
