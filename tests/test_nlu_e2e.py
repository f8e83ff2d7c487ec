"""Through the running stack: ASR mishearings and Chinese numerals reach the right intent,
entity values and dialogue action (POST /api/chat and Rasa's /model/parse)."""

import pytest
import requests

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("heard", ["赚人工", "我要赚人工服务", "撰人工", "给我转个人工"])
def test_misheard_request_for_a_human_is_handed_off(stack, sender, heard):
    replies = stack.chat(sender, heard)
    assert replies and replies[0].get("custom", {}).get("action") == "handoff", replies


def parse(stack, text):
    r = requests.post(stack.rasa_api("/model/parse"), json={"text": text}, timeout=30)
    r.raise_for_status()
    return r.json()


def values(parsed):
    return {e["entity"]: e["value"] for e in parsed["entities"]}


def test_chinese_numerals_and_misheard_street_become_entity_values(stack):
    parsed = parse(stack, "我妈今年八十五岁，一个人住在五老春")
    assert parsed["intent"]["name"] == "inform"
    # 妈 is the relation (the kinship word without 我), normalised to 母亲
    assert values(parsed) == {"age": "85", "living_situation": "独居", "street": "五老村", "relation": "母亲"}


def test_phone_number_read_digit_by_digit(stack):
    parsed = parse(stack, "我的电话是一三八零零零零零零零二")
    assert values(parsed).get("phone_number") == "13800000002"


def test_time_with_chinese_numerals(stack):
    parsed = parse(stack, "明天下午三点来给我助欲")
    got = values(parsed)
    assert got.get("time") == "明天下午3点" and got.get("service_type") == "助浴"


@pytest.mark.parametrize("text", ["我妈摔倒了起不来", "俺娘跌了一跤爬不起来了"])
def test_emergency_said_by_a_child_or_colloquially_gets_the_emergency_answer(stack, sender, text):
    assert "120" in stack.chat_text(sender, text)


def test_bare_yes_in_dialect_is_understood(stack, sender):
    parsed = parse(stack, "中")
    assert parsed["intent"]["name"] == "affirm"
