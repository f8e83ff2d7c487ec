"""Emergencies and scam reports: they win over anything in progress, get protective advice,
a record, and (emergencies) the top of the handoff queue."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.safety import replies as safety_replies

pytestmark = pytest.mark.e2e

EMERGENCY_FAMILIES = {
    "fall": ["我摔倒了", "我妈摔倒了起不来", "老伴摔了一跤爬不起来了"],
    "chest_pain": ["胸口疼", "我心口疼得厉害"],
    "breathing": ["喘不上气", "我爸喘不过气来了"],
    "fire": ["家里着火了", "厨房着火了快来人"],
    "unresponsive": ["老伴叫不醒", "我爸叫不醒了"],
    "call_ambulance": ["快打120", "帮我叫救护车"],
}
SCAM_FAMILIES = {
    "transfer": ["有人让我转账", "有人打电话让我把钱转到安全账户"],
    "medical_card": ["说我医保卡冻结了", "有人打电话说我医保卡被冻结了要我转钱"],
    "prize_fee": ["说我中奖了要先交钱"],
    "verification_code": ["有人让我说验证码"],
}


class _Db:
    def __init__(self, stack):
        self.stack = stack
        self.engine = sa.create_engine(stack.database_url, future=True)

    def connect(self):
        return self.engine.connect()


@pytest.fixture(scope="module")
def db(stack):
    wrapped = _Db(stack)
    yield wrapped
    wrapped.engine.dispose()


def promises(replies: list[dict]) -> list[str]:
    """The messages flagged as a promise of a person (a phone line off duty drops them)."""
    return [r["text"] for r in replies if (r.get("custom") or {}).get("transfer_promise")]


def safety_rows(db, sender):
    with db.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT s.kind, h.priority, h.status FROM safety_events s "
                "JOIN handoffs h ON h.id = s.handoff_id WHERE s.sender_id = :s"
            ),
            {"s": db.stack.conversation(sender)},
        ).all()


@pytest.mark.parametrize("family, phrase", [(f, p) for f, ps in EMERGENCY_FAMILIES.items() for p in ps])
def test_emergency_phrases_get_120_and_a_transfer(stack, db, sender, family, phrase):
    replies = stack.chat(sender, phrase, metadata={"phone": "13800000001"})
    text = "\n".join(r["text"] for r in replies)
    assert "120" in text and "转人工" in text, (family, text)
    assert any((r.get("custom") or {}).get("action") == "handoff" for r in replies)
    assert promises(replies) == [safety_replies()["emergency"]["handoff"]]
    assert [tuple(r) for r in safety_rows(db, sender)] == [("emergency", 0, "open")]


@pytest.mark.parametrize("family, phrase", [(f, p) for f, ps in SCAM_FAMILIES.items() for p in ps])
def test_scam_reports_get_protective_advice_and_a_record(stack, db, sender, family, phrase):
    text = stack.chat_text(sender, phrase)
    assert "110" in text and ("转账" in text or "先交钱" in text), (family, text)
    assert "挂断" not in text and "挂掉" not in text  # the web chat never says hang up
    assert [r.kind for r in safety_rows(db, sender)] == ["scam"]


def test_a_victim_who_already_paid_hears_110_and_the_bank_and_gets_a_person(stack, db, sender):
    replies = stack.chat(sender, "我刚才已经把两万块转到他说的安全账户了，怎么办")
    text = "\n".join(r["text"] for r in replies)
    assert "110" in text and "银行" in text and "止付" in text
    assert any((r.get("custom") or {}).get("action") == "handoff" for r in replies)
    assert [(r.kind, r.priority) for r in safety_rows(db, sender)] == [("scam", 1)]


def test_asking_whether_it_is_a_scam_waits_behind_people_in_danger(stack, db, sender):
    text = stack.chat_text(sender, "有人打电话说交三百块手续费才能领高龄补贴，我没给，这是不是骗子")
    assert "很像诈骗" in text and "挂" not in text
    assert [(r.kind, r.priority) for r in safety_rows(db, sender)] == [("scam", 5)]


def test_pressure_during_a_scam_gets_scam_advice_not_a_shrug(stack, db, sender):
    first = stack.chat_text(sender, "电话里有人说是公安局的，让我把银行卡里的钱转到安全账户，他还没挂")
    assert "不要转账" in first
    follow = stack.chat_text(sender, "那边一直催我，说不转就要抓我")
    assert "别听他的" in follow and "挂" not in follow and "没听明白" not in follow


def test_the_safety_question_is_never_asked_twice_in_a_row(stack, db, sender):
    first = stack.chat(sender, "万一我半夜摔倒了起不来，没人知道咋办")
    assert any((r.get("custom") or {}).get("kind") == "safety_check" for r in first)
    again = stack.chat(sender, "我就是怕哪天摔了爬不起来，家里也没别人")
    assert not any((r.get("custom") or {}).get("kind") == "safety_check" for r in again)
    text = "\n".join(r["text"] for r in again)
    assert "我想问您一句" not in text and "诈骗" not in text


def test_not_a_scam_after_a_warning_is_understood(stack, db, sender):
    stack.chat_text(sender, "有人打电话让我把验证码告诉他")
    text = stack.chat_text(sender, "不是诈骗，你搞错了")
    assert "理解错了" in text and "诈骗" not in text


@pytest.mark.parametrize(
    "phrase", ["我不想活了", "安眠药我都攒好了，今天晚上就吃", "活着没意思，不想再拖累孩子了"]
)
def test_crisis_gets_12356_120_and_the_top_of_the_queue(stack, db, sender, phrase):
    replies = stack.chat(sender, phrase)
    text = "\n".join(r["text"] for r in replies)
    assert "12356" in text and "120" in text and "陪着您" in text
    assert "诈骗" not in text and "挂" not in text and "意见" not in text
    custom = next(r.get("custom") for r in replies if r.get("custom"))
    assert custom["urgent"] is True and custom["kind"] == "crisis"
    assert promises(replies) == [safety_replies()["crisis"]["handoff"]]
    assert [tuple(r) for r in safety_rows(db, sender)] == [("crisis", 0, "open")]


def test_crisis_in_the_middle_of_an_eligibility_check(stack, db, sender):
    first = stack.chat_text(sender, "我能享受什么补贴")
    assert "？" in first
    text = stack.chat_text(sender, "算了，查这些有什么用，我不想活了")
    assert "12356" in text
    assert [r.kind for r in safety_rows(db, sender)] == ["crisis"]
    # the person is not left: what follows is answered as part of the crisis
    again = stack.chat_text(sender, "嗯")
    assert "诈骗" not in again and "意见" not in again


def test_a_follow_up_after_120_stays_an_emergency(stack, db, sender):
    text = stack.chat_text(sender, "我老伴摔倒了，头上在流血")
    assert "120" in text and "不要" in text  # a first step: do not move him
    follow = stack.chat_text(sender, "救护车怎么还没来")
    assert "再打一次120" in follow and "诈骗" not in follow and "意见" not in follow
    vague = stack.chat_text(sender, "哎呀，那现在咋弄啊")
    assert "120" in vague and "诈骗" not in vague
    assert [r.kind for r in safety_rows(db, sender)] == ["emergency"]


def test_gas_advice_opens_windows_and_touches_no_switch(stack, sender):
    text = stack.chat_text(sender, "家里好大一股煤气味")
    assert "打开门窗" in text and "不要开灯" in text and "119" in text


def test_unsure_gets_one_question_and_yes_is_taken_seriously(stack, db, sender):
    question = stack.chat(sender, "我妈刚才突然站不住了")
    text = "\n".join(r["text"] for r in question)
    if "120" in text:  # read as an emergency outright: also right
        assert [r.kind for r in safety_rows(db, sender)] == ["emergency"]
        return
    assert "？" in text and any((r.get("custom") or {}).get("yes_no") for r in question)
    yes = stack.chat_text(sender, "是的")
    assert "120" in yes
    assert [r.kind for r in safety_rows(db, sender)] == ["emergency"]


def test_unsure_and_no_goes_on_without_a_record(stack, db, sender):
    question = stack.chat_text(sender, "唉，我真是绝望了")
    assert "？" in question and "12356" not in question
    no = stack.chat_text(sender, "不是不是")
    assert "想办什么事" in no
    assert safety_rows(db, sender) == []


def test_an_ordinary_request_is_not_asked_about(stack, sender):
    replies = stack.chat(sender, "我想给我妈约下礼拜三上门洗澡")
    assert not any((r.get("custom") or {}).get("kind") == "safety_check" for r in replies)


def test_the_queue_puts_crisis_and_emergency_before_scams(stack, db, sender):
    stack.chat(sender + "-s", "有人让我交钱领补贴，是不是骗子")
    stack.chat(sender + "-c", "我不想活了")
    with db.connect() as conn:
        kinds = [
            k
            for (k,) in conn.execute(
                sa.text(
                    "SELECT kind FROM handoffs WHERE status = 'open' AND sender_id IN (:a, :b) "
                    "ORDER BY priority, id"
                ),
                {"a": stack.conversation(sender + "-s"), "b": stack.conversation(sender + "-c")},
            ).all()
        ]
    assert kinds == ["crisis", "scam"]


@pytest.mark.parametrize("start", ["我能享受什么补贴", "我想预约助浴"])
def test_emergency_interrupts_a_form_in_progress(stack, db, sender, start):
    first = stack.chat_text(sender, start, metadata={"phone": "13800000003"})
    assert "？" in first or "?" in first  # the form asked its first question
    text = stack.chat_text(sender, "我摔倒了", metadata={"phone": "13800000003"})
    assert "120" in text
    assert [r.kind for r in safety_rows(db, sender)] == ["emergency"]
    # the form is over: a greeting gets the ordinary greeting, not the form's question again
    assert "12349" in stack.chat_text(sender, "你好", metadata={"phone": "13800000003"})


def test_emergencies_are_at_the_top_of_the_handoff_queue(stack, db, sender):
    stack.chat(sender + "-h", "转人工")
    stack.chat(sender, "老伴叫不醒")
    with db.connect() as conn:
        # the queue's order (crises and emergencies of earlier tests share the top priority)
        order = [
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT sender_id FROM handoffs WHERE status = 'open' ORDER BY priority, created_at, id"
                )
            )
        ]
        kinds = {
            row[0]
            for row in conn.execute(
                sa.text("SELECT kind FROM handoffs WHERE status = 'open' AND priority = 0")
            )
        }
    conversation, asked_for_a_person = stack.conversation(sender), stack.conversation(sender + "-h")
    assert order.index(conversation) < order.index(asked_for_a_person)
    assert "emergency" in kinds and kinds <= {"emergency", "crisis"}


# --- issue 14, second round: the four safety answers with phrasings of our own, and the
# mechanisms added then (sound-alike danger words, denied crisis words)


def test_a_misheard_ambulance_and_a_late_one_stay_an_emergency(stack, db, sender):
    text = stack.chat_text(sender, "快叫就护车，我爸在楼梯上踩空了起不来")
    assert "120" in text and "诈骗" not in text
    follow = stack.chat_text(sender, "120说派车了，到现在还没见着人")
    assert "再打一次120" in follow and "意见" not in follow
    assert [r.kind for r in safety_rows(db, sender)] == ["emergency"]


def test_a_crisis_said_in_the_middle_of_a_booking_form(stack, db, sender):
    first = stack.chat_text(sender, "帮我约个上门理发")
    assert "？" in first or "?" in first
    text = stack.chat_text(sender, "唉，活着就是拖累人，不如早点闭眼算了")
    assert "12356" in text and "陪着您" in text and "挂" not in text
    assert [r.kind for r in safety_rows(db, sender)] == ["crisis"]


def test_a_victim_who_gave_the_code_hears_110_and_the_bank(stack, db, sender):
    replies = stack.chat(sender, "我按照那个人说的把验证码报过去了，卡里的钱一下子少了八千")
    text = "\n".join(r["text"] for r in replies)
    assert "110" in text and "止付" in text
    assert any((r.get("custom") or {}).get("action") == "handoff" for r in replies)
    assert [r.kind for r in safety_rows(db, sender)] == ["scam"]


def test_you_misunderstood_after_a_scam_warning_is_a_correction(stack, db, sender):
    warned = stack.chat_text(sender, "电话那头说是我以前的老同事，急用钱，找我借三千")
    assert "诈骗" in warned or "？" in warned
    text = stack.chat_text(sender, "你误会了，那真是我老同事，我当面见过他")
    assert "理解错了" in text and "110" not in text


def test_a_denied_crisis_word_gets_the_question_and_no_goes_on(stack, db, sender):
    question = stack.chat(sender, "我没有想不开，就是一个人在家闷得慌")
    text = "\n".join(r["text"] for r in question)
    assert "伤害自己" in text and any((r.get("custom") or {}).get("yes_no") for r in question)
    no = stack.chat_text(sender, "没有没有")
    assert "12356" not in no
    assert safety_rows(db, sender) == []
