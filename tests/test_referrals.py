"""Referrals (policies/national/referrals.yml via bot/referrals.py): what another office
handles is referred there with a source; our own escort service is offered for hospital
registration; the file is checked when it loads."""

from __future__ import annotations

import re

import pytest

from bot import referrals
from bot.text.norm import normalize


def found(text: str) -> str | None:
    r = referrals.find(normalize(text))
    return r.id if r else None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("俺的退休工资这个月咋少了两百", "pension"),
        ("社保卡密码忘了找谁", "pension"),
        ("住院报销的钱啥时候能到", "medical_insurance"),
        ("想给我妈挂个眼科的号", "hospital_registration"),
        ("楼上天天半夜噪音，吵得睡不着", "city_services"),
        ("我儿子不给赡养费，我能告他吗", "legal_aid"),
        ("长期护理保险的钱怎么报销", None),  # 长护险 is ours, not 医保's
        ("帮我订一张去北京的火车票", "travel_tickets"),  # 12306 since issue 15's dev_scripts7
        ("腿疼想去人民医院看骨科，你能替我挂上吗", "hospital_registration"),
        ("小叔子借了我的钱三年都不还", "legal_aid"),
        ("我妈的身份证到期了，去哪儿换新的", "id_card"),
        ("请说一下老人身份证的后四位", None),  # the booking's identity check, not the card
        ("这个月电费涨了，到哪交", "utility_bills"),
        ("家里突然停电了，整栋楼都黑了", "city_services"),  # a fault, not a bill
        # issue 15, dev_scripts7: other words for the same offices' business
        ("俺那养老钱咋又少了", "pension"),
        ("他的退休费发到哪张卡上了", "pension"),
        ("高龄老人的养老钱是不是叫高龄津贴", None),  # our allowance, not the pension
        ("老伴的身份证找不着了，要去哪办", "id_card"),
        ("身份证不见了怎么弄", "id_card"),
        ("卫生间水管裂了一直滴水", "city_services"),
        ("厨房水龙头拧不紧", "city_services"),
        ("隔壁邻居天天半夜吵架，睡不成觉", "city_services"),
        ("跟楼下为占楼道的事闹了矛盾", "city_services"),
        ("想买张回老家的高铁票", "travel_tickets"),
        ("下周三会不会下雨", "weather"),
        ("这两天天气冷不冷", "weather"),
        ("出门要不要带伞", "weather"),
        ("下雨天阿姨还来不来打扫", None),  # a visit, not the forecast
        ("老人换了新手机，登记的号码帮我改一下", "registry_change"),
        ("我们搬家了，留的地址得换", "registry_change"),
        ("想把预约的时间改到下午", None),  # moving a visit is a booking
        ("请说一下老人登记的手机号", None),  # the identity check asks for it
    ],
)
def test_each_message_gets_the_office_that_handles_it(text, expected):
    assert found(text) == expected


def test_every_sentence_names_its_source_and_every_program_exists():
    from bot.policy import kb as policy_kb

    kb = policy_kb.get_kb()
    for r in referrals.load():
        if r.say:
            assert r.source and r.source.get("title") and r.source.get("section"), r.id
        else:
            assert kb.resolve_program(r.program) == r.program, r.id


def test_the_escort_offer_is_a_booking_payload():
    r = next(r for r in referrals.load() if r.id == "hospital_registration")
    assert referrals.offer_payload(r) == '/book_service{"service_type": "陪诊"}'


def test_a_change_of_the_register_offers_an_advisor():
    r = next(r for r in referrals.load() if r.id == "registry_change")
    assert referrals.offer_payload(r) == "/request_human"


def test_a_malformed_file_fails_at_load_time(tmp_path):
    bad = tmp_path / "referrals.yml"
    bad.write_text("referrals:\n  - id: x\n    cues: ['a']\n    say: 'hi'\n", encoding="utf-8")
    with pytest.raises(referrals.ReferralFileError, match="source"):
        referrals.load(bad)
    bad.write_text("referrals:\n  - id: x\n    cues: ['(']\n    program: p\n", encoding="utf-8")
    with pytest.raises(referrals.ReferralFileError, match="bad pattern"):
        referrals.load(bad)


def test_a_broken_policy_pack_on_a_program_referral_is_a_polite_sentence(monkeypatch):
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.common import DB_DOWN_TEXT, say_referral
    from bot.policy import kb as policy_kb

    def broken():
        raise RuntimeError("pack unreadable")

    # no shipped referral names a program now (legal aid says the 12348 hotline itself):
    # one that does is given here
    program_referral = referrals.Referral(
        id="legal_aid_program",
        cues=(re.compile("打官司"),),
        unless=(),
        say=None,
        program="legal_aid_12348",
        offer=None,
        source=None,
    )
    monkeypatch.setattr(referrals, "load", lambda path=None: (program_referral,))
    monkeypatch.setattr(policy_kb, "get_kb", broken)
    dispatcher = CollectingDispatcher()
    tracker = Tracker("unit", {}, {"text": "儿子不给赡养费"}, [], False, None, {}, "action_listen")
    assert say_referral(dispatcher, tracker, "儿子不给赡养费，我想打官司") is True
    assert [m["text"] for m in dispatcher.messages] == [DB_DOWN_TEXT]
