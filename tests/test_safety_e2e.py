"""Emergencies and scam reports: they win over anything in progress, get protective advice,
a record, and (emergencies) the top of the handoff queue."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

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


@pytest.fixture(scope="module")
def db(stack):
    engine = sa.create_engine(stack.database_url, future=True)
    yield engine
    engine.dispose()


def safety_rows(db, sender):
    with db.connect() as conn:
        return conn.execute(sa.text(
            "SELECT s.kind, h.priority, h.status FROM safety_events s "
            "JOIN handoffs h ON h.id = s.handoff_id WHERE s.sender_id = :s"), {"s": sender}).all()


@pytest.mark.parametrize("family, phrase", [(f, p) for f, ps in EMERGENCY_FAMILIES.items() for p in ps])
def test_emergency_phrases_get_120_and_a_transfer(stack, db, sender, family, phrase):
    replies = stack.chat(sender, phrase, metadata={"phone": "13800000001"})
    text = "\n".join(r["text"] for r in replies)
    assert "120" in text and "转人工" in text, (family, text)
    assert any((r.get("custom") or {}).get("action") == "handoff" for r in replies)
    assert [tuple(r) for r in safety_rows(db, sender)] == [("emergency", 0, "open")]


@pytest.mark.parametrize("family, phrase", [(f, p) for f, ps in SCAM_FAMILIES.items() for p in ps])
def test_scam_reports_get_protective_advice_and_a_record(stack, db, sender, family, phrase):
    text = stack.chat_text(sender, phrase)
    assert "诈骗" in text and "转账" in text and "110" in text, (family, text)
    assert [r.kind for r in safety_rows(db, sender)] == ["scam"]


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
        first = conn.execute(sa.text(
            "SELECT kind FROM handoffs WHERE status = 'open' ORDER BY priority, created_at LIMIT 1")).scalar_one()
    assert first == "emergency"
