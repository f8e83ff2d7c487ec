"""person_name where callers say it (rasa_ext/person_names.py) and lookup tables that take
their entity's synonyms (rasa_ext/nlu_components.lookups_with_synonyms), without a model."""

import pytest

from bot.text.norm import normalize
from rasa_ext.nlu_components import PersonNameExtractor, lookups_with_synonyms
from rasa_ext.person_names import find_names, surnames
from rasa.shared.nlu.training_data.message import Message


def names(text):
    return [n["value"] for n in find_names(normalize(text))]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("俺叫孟凡荣", ["孟凡荣"]),  # naming cue
        ("老人的名字是邢玉霞，住光华路", ["邢玉霞"]),
        ("我姓葛，诸葛亮的葛", ["葛"]),  # a surname alone after 姓
        ("替倪秀珍问一下", ["倪秀珍"]),  # a word that takes a person
        ("倪秀珍老人腿脚不好", ["倪秀珍"]),  # a cue after the name
        ("我是柴春生的外孙", ["柴春生"]),
        ("欧阳明华，八十二岁", ["欧阳明华"]),  # a clause of its own, compound surname
        ("我叫温丽明天上午来", ["温丽"]),  # the name ends before 明天
        ("我母亲庞玉兰，今年九十", ["庞玉兰"]),  # right after a kinship word
        ("俺爹樊德山住秦虹", ["樊德山"]),
    ],
)
def test_names_said_in_many_ways(text, expected):
    assert names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "我是周三约的",
        "我是高血压",
        "我是吃低保的",
        "普通老百姓",
        "帮我妈约个洗澡",
        "高龄补贴怎么领",
        "我是她闺女",
        "马上就来",
        "给钱吗",
        "我是王大爷家的",
        "我妈包饺子给邻居",
        "我爸常年卧床",
    ],
)
def test_no_name_where_none_is_said(text):
    assert names(text) == []


def test_surnames_come_from_the_data_file_compound_first():
    loaded = surnames()
    assert "欧阳" in loaded and "王" in loaded and "#" not in "".join(loaded)
    assert loaded.index("欧阳") < loaded.index("欧")


def test_extractor_adds_names_and_leaves_button_payloads():
    said, payload = Message(data={"text": "我叫常桂英"}), Message(data={"text": "/affirm"})
    PersonNameExtractor({}).process([said, payload])
    [name] = said.get("entities")
    assert (name["entity"], name["value"], name["start"], name["end"]) == ("person_name", "常桂英", 2, 5)
    assert not payload.get("entities")


def test_lookup_tables_take_their_synonyms_longest_first():
    tables = [
        {"name": "economic_status", "elements": ["低保", "特困", "低保边缘"]},
        {"name": "street", "elements": ["双塘", "五老村"]},
    ]
    synonyms = {"吃低保": "低保", "一般": "普通", "五保户": "特困", "低边": "低保边缘", "双塘街道": "双塘"}
    out = {
        t["name"]: t["elements"]
        for t in lookups_with_synonyms(tables, synonyms, ["economic_status"], min_length=3)
    }
    assert out["economic_status"] == ["低保边缘", "吃低保", "五保户", "低保", "特困"]
    assert out["street"] == ["五老村", "双塘"]  # not a configured entity: only ordered


def test_a_word_whose_negation_is_listed_is_left_out():
    tables = [{"name": "care_level", "elements": ["重度失能", "能力完好"]}]
    synonyms = {"能自理": "能力完好", "完全不能自理": "重度失能", "身体硬朗": "能力完好"}
    [table] = lookups_with_synonyms(tables, synonyms, ["care_level"], min_length=3)
    assert "能自理" not in table["elements"]
    assert {"完全不能自理", "身体硬朗"} <= set(table["elements"])


def test_an_entity_can_take_shorter_synonyms():
    tables = [
        {"name": "service_type", "elements": ["助餐"]},
        {"name": "economic_status", "elements": ["普通"]},
    ]
    synonyms = {"送饭": "助餐", "一般": "普通"}
    out = {
        t["name"]: t["elements"]
        for t in lookups_with_synonyms(
            tables, synonyms, ["service_type", "economic_status"], 3, {"service_type": 2}
        )
    }
    assert out == {"service_type": ["助餐", "送饭"], "economic_status": ["普通"]}
