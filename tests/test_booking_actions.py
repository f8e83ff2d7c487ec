"""Booking actions with rasa-sdk trackers and CollectingDispatcher (no servers): the form
validator's answers and re-asks, and the chat idempotency key of the submit action."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.booking import (
    ASK_ACTIONS,
    ActionBookServiceSubmit,
    ValidateBookServiceForm,
    ValidateCancelBookingForm,
    ValidateQueryBookingForm,
    ValidateRescheduleBookingForm,
)
from bot import clock
from bot.booking import ledger as booking
from bot.booking import text as bt
from bot.db import session_scope
from bot.models.booking import Booking

DOMAIN = {"forms": {"book_service_form": {"required_slots": []}}, "responses": {}}


def tracker(
    text: str,
    slots: dict,
    *,
    form: str = "book_service_form",
    requested=None,
    intent: str = "inform",
    metadata: dict | None = None,
    events: list | None = None,
    sender: str = "unit-sender",
    message_id: str | None = None,
) -> Tracker:
    slots = dict(slots)
    slots["requested_slot"] = requested
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [],
        "metadata": metadata or {},
        "message_id": message_id,
    }
    if events is None:
        events = [{"event": "active_loop", "name": form}] if requested else []
        events += [
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": text, "parse_data": latest},
        ]
        if requested:
            events += [
                {"event": "slot", "name": "requested_slot", "value": requested},
                {"event": "action", "name": form},
            ]
    return Tracker(
        sender, slots, latest, events, False, None, {"name": form} if requested else {}, "action_listen"
    )


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, DOMAIN))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def texts(messages) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def zhang_known(service: str = "助浴", **extra) -> dict:
    """The slots of a booking form that knows whom it is for: 张桂兰 (elder 1 in the demo
    data), the service asked for and her address on file; `extra` adds slots."""
    return {
        "booking_elder_id": "1",
        "booking_person_name": "张桂兰",
        "booking_service": service,
        "booking_address": "五老村街道文昌巷12号3楼",
        **extra,
    }


def test_activation_identifies_caller_by_phone_and_keeps_the_service(db_url):
    messages, slots = run(
        ValidateBookServiceForm(),
        tracker("我想约个人来帮我洗澡", {}, metadata={"phone": "13800000001", "channel": "voice"}),
    )
    assert slots["booking_elder_id"] == "1" and slots["booking_person_name"] == "张桂兰"
    assert slots["booking_service"] == "助浴"
    assert slots["booking_address"] == "五老村街道文昌巷12号3楼"
    assert slots["requested_slot"] == "booking_time"
    assert messages == []


def test_unknown_phone_is_told_and_name_is_asked(db_url):
    messages, slots = run(
        ValidateBookServiceForm(),
        tracker("预约助浴", {}, metadata={"phone": "13912345678", "channel": "voice"}),
    )
    assert "没有登记" in texts(messages) and "5678" in texts(messages)
    assert slots.get("booking_elder_id") is None
    assert slots["requested_slot"] == "booking_person_name"


def test_impossible_then_past_date_reasks_then_offers_a_human(db_url):
    known = zhang_known(booking_failures=0)
    messages, slots = run(ValidateBookServiceForm(), tracker("2月30日", known, requested="booking_time"))
    assert "2月没有30号" in texts(messages)
    assert slots["booking_failures"] == 1 and slots["requested_slot"] == "booking_time"
    assert slots["booking_question_asked"] is True  # the form does not ask a second time
    known["booking_failures"] = 1
    messages, slots = run(ValidateBookServiceForm(), tracker("昨天上午", known, requested="booking_time"))
    assert "已经过去了" in texts(messages) and "转人工" in texts(messages)
    assert any(b["payload"] == "/request_human" for m in messages for b in m.get("buttons") or [])
    assert slots["booking_failures"] == 0


def test_good_time_leads_to_address_then_read_back(db_url):
    known = zhang_known()
    _, slots = run(ValidateBookServiceForm(), tracker("后天上午", known, requested="booking_time"))
    day = clock.today() + dt.timedelta(days=2)
    assert slots["booking_time"] == dt.datetime.combine(day, dt.time(8)).isoformat()
    assert slots["requested_slot"] == "booking_address_ok"
    known.update(booking_time=slots["booking_time"])
    _, slots = run(
        ValidateBookServiceForm(), tracker("对", known, requested="booking_address_ok", intent="affirm")
    )
    assert slots["requested_slot"] == "booking_confirm"
    summary = slots["booking_summary"]
    assert "张桂兰" in summary and "助浴" in summary and "星期" in summary
    assert "五老村街道文昌巷12号3楼" in summary and "30元" in summary and summary.endswith("对吗？")


def test_new_address_when_the_stored_one_is_wrong(db_url):
    known = zhang_known(
        booking_time=dt.datetime.combine(clock.today() + dt.timedelta(days=2), dt.time(8)).isoformat()
    )
    _, slots = run(
        ValidateBookServiceForm(), tracker("不对", known, requested="booking_address_ok", intent="deny")
    )
    assert slots["booking_address"] is None and slots["requested_slot"] == "booking_address"
    known.update(booking_address=None)
    _, slots = run(
        ValidateBookServiceForm(),
        tracker("女儿家，瑞金路街道瑞金新村5栋201", known, requested="booking_address"),
    )
    assert slots["booking_address"] == "女儿家，瑞金路街道瑞金新村5栋201"
    assert slots["requested_slot"] == "booking_confirm"


def test_stop_words_end_the_form_without_writing(db_url):
    _, slots = run(
        ValidateBookServiceForm(),
        tracker("算了，不约了", {"booking_elder_id": "1"}, requested="booking_time"),
    )
    assert slots == {"booking_aborted": "user", "requested_slot": None}


def _confirmed_slots(days: int) -> dict:
    return zhang_known(
        booking_address_ok=True,
        booking_confirm=True,
        booking_time=dt.datetime.combine(clock.today() + dt.timedelta(days=days), dt.time(13)).isoformat(),
    )


def _form_events(activated_after_users: int) -> list:
    events = []
    for i in range(activated_after_users):
        events += [{"event": "action", "name": "action_listen"}, {"event": "user", "text": f"u{i}"}]
    events += [
        {"event": "active_loop", "name": "book_service_form"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "对"},
        {"event": "active_loop", "name": None},
    ]
    return events


def test_a_retried_confirmation_turn_books_once(db_url):
    events = _form_events(3)
    first, _ = run(
        ActionBookServiceSubmit(),
        tracker("对", _confirmed_slots(3), events=events, sender="retry-sender", message_id="m-1"),
    )
    again, _ = run(
        ActionBookServiceSubmit(),
        tracker("对", _confirmed_slots(3), events=events, sender="retry-sender", message_id="m-1"),
    )
    assert "预约好了" in texts(first) and "预约好了" in texts(again)
    ref = lambda msgs: texts(msgs).split("预约号")[1][:11]  # noqa: E731
    assert ref(first) == ref(again)
    with session_scope() as s:
        assert (
            s.execute(
                select(func.count(Booking.id)).where(Booking.idempotency_key == "book:retry-sender:m-1")
            ).scalar_one()
            == 1
        )
    # a later confirmation (another message, e.g. in a later session) is a new booking,
    # never answered with the first one
    later, _ = run(
        ActionBookServiceSubmit(),
        tracker("对", _confirmed_slots(4), events=_form_events(9), sender="retry-sender", message_id="m-2"),
    )
    assert "预约好了" in texts(later) and ref(later) != ref(first)


def test_web_metadata_phone_is_not_trusted(db_url):
    messages, slots = run(
        ValidateBookServiceForm(),
        tracker("预约助浴", {}, metadata={"phone": "13800000001", "channel": "web"}),
    )
    assert slots.get("booking_elder_id") is None
    assert slots["requested_slot"] == "booking_person_name"


def test_a_said_number_needs_the_code(db_url):
    messages, slots = run(
        ValidateBookServiceForm(),
        tracker("13800000001", {"booking_service": "助浴"}, requested="booking_person_name"),
    )
    assert slots.get("booking_elder_id") is None and slots["booking_candidate"] == "1"
    assert slots["requested_slot"] == "booking_code" and "验证码" in texts(messages)
    assert "文昌巷" not in texts(messages)


def test_cancel_form_picks_the_only_booking_and_reads_it_back(db_url):
    made = booking.book(
        1, "bath", dt.datetime.combine(clock.today() + dt.timedelta(days=5), dt.time(8)), "web", "unit:cancel"
    )
    _, slots = run(
        ValidateCancelBookingForm(),
        tracker(
            "取消预约", {}, form="cancel_booking_form", metadata={"phone": "13800000001", "channel": "voice"}
        ),
    )
    assert slots["booking_reference"] == made.reference
    assert slots["requested_slot"] == "booking_confirm"
    assert slots["booking_summary"].startswith("您要取消") and "助浴" in slots["booking_summary"]


def test_cancel_form_without_bookings_says_so_and_ends(db_url):
    messages, slots = run(
        ValidateCancelBookingForm(),
        tracker(
            "取消预约", {}, form="cancel_booking_form", metadata={"phone": "13800000004", "channel": "voice"}
        ),
    )
    assert "没有查到" in texts(messages)
    assert slots["booking_aborted"] == "no_bookings" and slots["requested_slot"] is None


def test_a_no_at_the_read_back_writes_nothing_and_keeps_the_caller_identified(db_url):
    messages, slots = run(
        ActionBookServiceSubmit(),
        tracker("不对", {**_confirmed_slots(3), "booking_confirm": False}, events=_form_events(1)),
    )
    assert "先不约了" in texts(messages)
    assert slots["booking_time"] is None and slots["booking_confirm"] is None
    assert "booking_elder_id" not in slots  # the caller stays identified for the session
    with session_scope() as s:
        assert s.execute(select(func.count(Booking.id))).scalar_one() == 0


def test_guessing_the_id_last_four_is_limited_even_with_the_right_digits(db_url):
    sender = "unit-guesser"
    slots = {"booking_service": "助洁", "booking_person_name": "刘淑芬"}
    for wrong in ("1111", "2222", "3333"):
        messages, _ = run(
            ValidateBookServiceForm(),
            tracker(wrong, dict(slots), requested="booking_id_last4", sender=sender),
        )
        assert "对不上" in texts(messages)
    # the fourth try in this conversation is refused even with 刘淑芬's real last four digits
    messages, out = run(
        ValidateBookServiceForm(), tracker("0048", dict(slots), requested="booking_id_last4", sender=sender)
    )
    assert "核对的次数不能太多" in texts(messages) and "转人工" in texts(messages)
    assert not out.get("booking_elder_id")
    # another conversation with the right digits still works
    messages, out = run(
        ValidateBookServiceForm(),
        tracker("0048", dict(slots), requested="booking_id_last4", sender="unit-honest"),
    )
    assert out.get("booking_candidate") == "5" and "验证码" in texts(messages)


def test_the_code_we_asked_for_is_an_answer_even_when_the_classifier_reads_a_scam():
    from actions.booking import _code_we_asked_for

    t = tracker(
        "你们发的验证码我收到了，要告诉你是吧？是307300", {}, requested="booking_code", intent="safety_check"
    )
    t.latest_message["safety"] = {"kind": "unsure", "suspected": "scam"}
    assert _code_we_asked_for("booking_code", t)
    # someone else asking for it is a scam report: it still interrupts the form
    t = tracker("有个公安局的人打电话要我把验证码告诉他", {}, requested="booking_code", intent="scam_report")
    t.latest_message["safety"] = {"kind": "scam", "stage": "asking"}
    assert not _code_we_asked_for("booking_code", t)
    # a danger question is never swallowed, whatever the form asked
    t = tracker("我心口疼得厉害", {}, requested="booking_code", intent="safety_check")
    t.latest_message["safety"] = {"kind": "unsure", "suspected": "emergency"}
    assert not _code_we_asked_for("booking_code", t)


def test_a_price_question_is_answered_instead_of_starting_the_booking(db_url):
    """上门洗澡要自己出钱吗 read as book_service: the price list answers and offers the
    booking with the service known; the form ends at once and its submit says nothing."""
    messages, slots = run(
        ValidateBookServiceForm(), tracker("上门洗澡要自己出钱吗", {}, intent="book_service")
    )
    assert slots == {"booking_aborted": "question", "requested_slot": None}
    assert len(messages) == 1 and "收费" in messages[0]["text"]
    assert messages[0]["buttons"][0] == {
        "title": "帮我预约",
        "payload": '/book_service{"service_type": "助浴"}',
    }
    said, _ = run(ActionBookServiceSubmit(), tracker("", {"booking_aborted": "question"}))
    assert said == []


def test_the_offered_booking_starts_the_form_with_the_service(db_url):
    t = tracker('/book_service{"service_type": "助浴"}', {}, intent="book_service")
    t.latest_message["entities"] = [{"entity": "service_type", "value": "助浴"}]
    messages, slots = run(ValidateBookServiceForm(), t)
    assert slots["booking_service"] == "助浴"
    assert slots["requested_slot"] == "booking_person_name"


def _ask(slot: str, slots: dict, channel: str = "web"):
    action = next(a() for a in ASK_ACTIONS if a().name() == f"action_ask_{slot}")
    t = tracker("", slots, requested=slot, metadata={"channel": channel})
    return run(action, t)[0]


def test_the_time_question_offers_free_times_from_the_clock_and_the_way_out(db_url):
    known = zhang_known()
    [message] = _ask("booking_time", known)
    titles = [b["title"] for b in message["buttons"]]
    assert titles[-1] == "先不办了" and message["buttons"][-1]["payload"] == "/stop"
    assert 1 <= len(titles) - 1 <= 4
    for title in titles[:-1]:
        _, slots = run(ValidateBookServiceForm(), tracker(title, known, requested="booking_time"))
        assert slots.get("booking_time"), title
        assert dt.datetime.fromisoformat(slots["booking_time"]).date() > clock.today()
        assert slots["requested_slot"] == "booking_address_ok"
    assert not _ask("booking_time", known, channel="voice")[0]["buttons"]


@pytest.mark.parametrize("slot", ["booking_confirm", "booking_address_ok"])
def test_a_read_back_offers_yes_and_no_as_taps_on_the_web(db_url, slot):
    known = zhang_known(booking_summary="…")
    [message] = _ask(slot, known)
    assert message["custom"] == {"yes_no": True}
    assert [b["title"] for b in message["buttons"]] == ["对", "不对", "先不办了"]
    # each tap is read as the words (bot/booking_text.yes_no), like typing
    assert [bt.yes_no(b["payload"], None) for b in message["buttons"][:2]] == [True, False]
    [spoken] = _ask(slot, known, channel="voice")
    assert not spoken["buttons"] and spoken["custom"] == {"yes_no": True}


def test_a_re_ask_by_the_validator_offers_the_way_out(db_url):
    known = zhang_known(booking_failures=0)
    messages, _ = run(ValidateBookServiceForm(), tracker("2月30日", known, requested="booking_time"))
    assert messages[-1]["buttons"][-1] == {"title": "先不办了", "payload": "/stop"}


def test_the_stop_button_leaves_the_form(db_url):
    _, slots = run(
        ValidateBookServiceForm(),
        tracker("/stop", {"booking_elder_id": "1"}, requested="booking_time", intent="stop"),
    )
    assert slots == {"booking_aborted": "user", "requested_slot": None}


# ----- issue 15: one proof per elder, bookings named by half day / service / as just made ----


def test_a_new_request_naming_another_elder_asks_for_her_proof(db_url):
    """Proven for 张桂兰, the caller asks to cancel for 李建国: nothing of his is picked or
    read back on her proof; his ID digits are asked for."""
    from actions.booking import ValidateCancelBookingForm as Cancel

    proven = {"booking_elder_id": "1", "booking_person_name": "张桂兰", "booking_id_last4": "ok"}
    messages, slots = run(
        Cancel(), tracker("顺手把李建国礼拜三那个洗澡退了", proven, form="cancel_booking_form")
    )
    assert slots["booking_elder_id"] is None and slots["booking_person_name"] == "李建国"
    assert slots["requested_slot"] == "booking_id_last4"
    assert not slots.get("booking_reference")


def test_the_same_elder_named_again_keeps_the_proof(db_url):
    from actions.booking import ValidateCancelBookingForm as Cancel

    proven = {"booking_elder_id": "1", "booking_person_name": "张桂兰", "booking_id_last4": "ok"}
    _messages, slots = run(
        Cancel(), tracker("我妈张桂兰的那个预约取消吧", proven, form="cancel_booking_form")
    )
    assert slots.get("booking_elder_id", "1") == "1"


def _view(ref: str, start: dt.datetime, service: str, seq: int) -> booking.BookingView:
    return booking.BookingView(ref, 1, service, start, "booked", "", 0, 0, "", booked_seq=seq)


def test_choose_booking_by_half_day_service_or_the_one_just_made():
    from actions.booking import _choose_booking

    day = clock.today() + dt.timedelta(days=3)
    am = _view("111111", dt.datetime.combine(day, dt.time(8)), "助浴", 2)
    pm = _view("222222", dt.datetime.combine(day, dt.time(13)), "助洁", 1)
    views = [am, pm]
    assert _choose_booking(views, "下午那个") is pm
    assert _choose_booking(views, "洗澡的那个") is am
    assert _choose_booking(views, "我刚才约的那个") is am  # made last
    assert _choose_booking(views, "预约号二二二二二二") is pm
    assert _choose_booking(views, "送饭那个") is None  # she has none: never another one
    assert _choose_booking([pm], "上午洗澡那个") is None


def test_a_weekday_alone_names_next_weeks_visit_when_this_weeks_day_has_none():
    from actions.booking import _choose_booking, _names_other

    today = clock.today()
    # the same weekday as today, next week: "礼拜X那个" said today means that visit
    next_week = today + dt.timedelta(days=7)
    weekday = "一二三四五六日"[today.weekday()]
    clean = _view("333333", dt.datetime.combine(next_week, dt.time(13)), "助洁", 1)
    bath = _view("444444", dt.datetime.combine(today + dt.timedelta(days=3), dt.time(8)), "助浴", 2)
    assert _choose_booking([clean, bath], f"搞卫生的，礼拜{weekday}那个") is clean
    assert not _names_other(clean, f"星期{weekday}那个")
    # said with 下, it is next week's anyway; said with 这, only this week's
    assert _choose_booking([clean, bath], f"下礼拜{weekday}的") is clean
    assert _choose_booking([clean, bath], f"这礼拜{weekday}的") is None


def _after_list(text: str) -> list:
    """Events: her bookings were just read out, then she says `text`."""
    latest = {"text": text, "intent": {"name": "book_service", "confidence": 0.9}, "entities": []}
    return [
        {"event": "action", "name": "action_query_booking_submit"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest},
    ]


def test_a_listed_booking_named_again_is_asked_about_not_booked_again(db_url):
    start = dt.datetime.combine(clock.today() + dt.timedelta(days=4), dt.time(8))
    made = booking.book(1, "bath", start, "web", "unit:pointed")
    said = "搓澡那个"
    messages, slots = run(
        ValidateBookServiceForm(),
        tracker(said, {"booking_elder_id": "1"}, intent="book_service", events=_after_list(said)),
    )
    assert "改时间" in texts(messages) and "取消" in texts(messages)
    assert slots["booking_aborted"] == "question" and slots["booking_pointed"] == made.reference
    # the change asked for next starts from that booking
    _, slots = run(
        ValidateRescheduleBookingForm(),
        tracker(
            "往后挪到下个月3号",
            {"booking_elder_id": "1", "booking_person_name": "张桂兰", "booking_pointed": made.reference},
            form="reschedule_booking_form",
        ),
    )
    assert slots["booking_reference"] == made.reference and slots["booking_pointed"] is None
    # a new day, or "再约一次", is a new booking as before; so is the same words without the list
    for text, events in (
        ("搓澡那个，下礼拜五再来一次", _after_list("搓澡那个，下礼拜五再来一次")),
        ("搓澡那个，再约一次", _after_list("搓澡那个，再约一次")),
        (said, None),  # no list just read out
    ):
        _, slots = run(
            ValidateBookServiceForm(),
            tracker(text, {"booking_elder_id": "1"}, intent="book_service", events=events),
        )
        assert "booking_pointed" not in slots and slots.get("booking_aborted") is None, text


def test_a_reply_naming_a_listed_booking_is_asked_about_whatever_it_was_read_as(db_url):
    from actions.booking import ActionPointAtBooking

    start = dt.datetime.combine(clock.today() + dt.timedelta(days=9), dt.time(13))
    made = booking.book(1, "cleaning", start, "web", "unit:point")
    for said in ("扫地那个", "搞卫生的"):
        messages, slots = run(
            ActionPointAtBooking(),
            tracker(said, {"booking_elder_id": "1"}, intent="affirm", events=_after_list(said)),
        )
        assert "改时间" in texts(messages) and slots == {"booking_pointed": made.reference}, said
    # a bare yes, or nobody identified: what the assistant can do, nothing pointed at
    for said, known in (("好的", {"booking_elder_id": "1"}), ("扫地那个", {})):
        messages, slots = run(
            ActionPointAtBooking(), tracker(said, known, intent="affirm", events=_after_list(said))
        )
        assert slots == {} and messages and messages[0].get("response") == "utter_capabilities", said


def test_a_move_by_days_counts_from_the_visits_own_day(db_url):
    from bot.text.timeparse import say_window

    start = dt.datetime.combine(clock.today() + dt.timedelta(days=6), dt.time(13))
    made = booking.book(1, "bath", start, "web", "unit:shift")
    _, slots = run(
        ValidateRescheduleBookingForm(),
        tracker(
            "洗澡那个，往后再推两天",
            {"booking_elder_id": "1", "booking_person_name": "张桂兰"},
            form="reschedule_booking_form",
        ),
    )
    assert slots["booking_reference"] == made.reference
    moved = start + dt.timedelta(days=2)
    assert slots["booking_time"] == moved.isoformat(), slots
    assert say_window(moved) in slots["booking_summary"] and slots["requested_slot"] == "booking_confirm"


def test_a_weekday_alone_and_a_move_by_days_in_one_request(db_url):
    from bot.text.timeparse import say_window

    today = clock.today()
    start = dt.datetime.combine(today + dt.timedelta(days=7), dt.time(13))  # next week, today's weekday
    made = booking.book(1, "bath", start, "web", "unit:weekday-shift")
    weekday = "一二三四五六日"[today.weekday()]
    messages, slots = run(
        ValidateRescheduleBookingForm(),
        tracker(
            f"星期{weekday}洗澡那个，推迟一天好不好，星期{weekday}我孙子过生日",
            {"booking_elder_id": "1", "booking_person_name": "张桂兰"},
            form="reschedule_booking_form",
        ),
    )
    assert "没有您的" not in texts(messages)
    assert slots["booking_reference"] == made.reference
    assert slots["booking_time"] == (start + dt.timedelta(days=1)).isoformat()
    assert say_window(start + dt.timedelta(days=1)) in slots["booking_summary"]


def test_a_service_named_beats_a_place_or_reason_that_only_hints_at_one():
    from bot.booking.text import service_from_text

    assert service_from_text("礼拜五扫地擦窗那个，我闺女那天带我上医院，往后挪挪") == "助洁"
    assert service_from_text("洗澡那个不要了，我住医院了") == "助浴"
    assert service_from_text("我要去医院复查，找个人陪我") == "助医陪诊"  # the hint alone
    assert service_from_text("想约个人给我妈剪剪头发") == "上门理发"


def test_a_phone_tail_said_with_the_request_is_not_taken_for_the_id_digits(db_url):
    messages, slots = run(ValidateBookServiceForm(), tracker("我是王秀英，手机尾号0003，想约个理发", {}))
    assert "138****0003" in texts(messages) and slots["booking_candidate"] == "3"
    assert "对不上" not in texts(messages)


def test_a_time_taken_while_confirming_offers_the_nearest_and_asks_again(db_url, monkeypatch):
    """Booking and moving a visit share one answer when the window filled up meanwhile:
    the nearest free times as buttons, the time and the read-back forgotten, the form open
    again at the time question."""
    from actions.booking import ActionRescheduleBookingSubmit

    when = clock.now().replace(hour=8, minute=0, second=0, microsecond=0, tzinfo=None) + dt.timedelta(days=2)
    nearest = booking.WindowOption(when + dt.timedelta(days=1), when + dt.timedelta(days=1, hours=4), 2)
    full = booking.BookingResult(ok=False, code="full", message="那个时间刚约满了。", alternatives=[nearest])
    monkeypatch.setattr(booking, "book", lambda *a, **k: full)
    monkeypatch.setattr(booking, "reschedule", lambda *a, **k: full)
    cases = (
        (ActionBookServiceSubmit(), _confirmed_slots(2), "book_service_form"),
        (
            ActionRescheduleBookingSubmit(),
            zhang_known(booking_reference="B1", booking_confirm=True, booking_time=when.isoformat()),
            "reschedule_booking_form",
        ),
    )
    for action, slots, form in cases:
        dispatcher = CollectingDispatcher()
        events = asyncio.run(action.run(dispatcher, tracker("对", slots), DOMAIN))
        (said,) = dispatcher.messages
        assert said["text"] == "那个时间刚约满了。"
        assert [b["title"] for b in said["buttons"]] == [nearest.short]
        assert {"event": "active_loop", "name": form} in [
            {"event": e["event"], "name": e.get("name")} for e in events if e["event"] == "active_loop"
        ]
        slots_set = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
        assert slots_set["requested_slot"] == "booking_time" and slots_set["booking_time"] is None
        assert slots_set["booking_confirm"] is None and slots_set["booking_question_asked"] is True
        assert slots_set["booking_time_options"]


def test_a_name_inside_a_sentence_answers_the_name_question(db_url):
    _, slots = run(
        ValidateCancelBookingForm(),
        tracker(
            "就是要退掉刘淑芬那个上门的", {}, form="cancel_booking_form", requested="booking_person_name"
        ),
    )
    assert slots["booking_person_name"] == "刘淑芬" and slots["requested_slot"] == "booking_id_last4"


def test_a_lookup_that_is_another_offices_business_gets_the_referral_not_the_name_question(db_url):
    messages, slots = run(
        ValidateQueryBookingForm(),
        tracker(
            "我的养老金咋还没打到卡上，帮我查查咋回事", {}, form="query_booking_form", intent="query_booking"
        ),
    )
    assert "12333" in texts(messages) and "名字" not in texts(messages)
    assert slots["booking_aborted"] == "question" and slots["requested_slot"] is None
    # a lookup of our own visits is a lookup, whatever else it mentions
    messages, slots = run(
        ValidateQueryBookingForm(),
        tracker(
            "帮我查查约的上门洗澡，社保卡我带着呢", {}, form="query_booking_form", intent="query_booking"
        ),
    )
    assert "12333" not in texts(messages) and slots["requested_slot"] == "booking_person_name"


def test_not_knowing_the_id_digits_read_as_stop_is_told_why_and_offered_a_person(db_url):
    messages, slots = run(
        ValidateCancelBookingForm(),
        tracker(
            "不清楚她身份证，你直接给停了",
            {"booking_person_name": "张桂兰"},
            form="cancel_booking_form",
            requested="booking_id_last4",
            intent="stop",
        ),
    )
    # not left: her phone is offered instead, and a person
    assert "booking_aborted" not in slots and slots["requested_slot"] == "booking_id_last4"
    assert "手机" in texts(messages) and any(b["payload"] == "/request_human" for b in messages[0]["buttons"])
