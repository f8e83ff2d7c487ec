"""The custom NLU components without a trained model: annotated training examples are
normalised exactly like inference text, with their entity spans moved along; overlapping
entities from the CRF and the lookup tables collapse to one."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasa_ext.nlu_components import EntityOverlapResolver, normalize_annotated
from bot.text.norm import normalize


def ent(text, value, entity, **extra):
    start = text.index(value)
    return {"start": start, "end": start + len(value), "entity": entity, "value": value, **extra}


def test_annotated_age_is_normalised_like_inference_text():
    text = "我妈今年八十五岁"
    new_text, [age] = normalize_annotated(text, [ent(text, "八十五", "age")])
    assert new_text == normalize(text) == "我妈今年85岁"
    assert new_text[age["start"] : age["end"]] == "85" == age["value"]


def test_several_entities_move_and_synonym_values_stay():
    text = "我爸九十二了，住五老春，是低保户"
    entities = [
        ent(text, "九十二", "age"),
        ent(text, "五老春", "street"),
        {**ent(text, "低保户", "economic_status"), "value": "低保"},
    ]
    new_text, moved = normalize_annotated(text, entities)
    assert new_text == "我爸92了,住五老村,是低保户"
    assert [new_text[e["start"] : e["end"]] for e in moved] == ["92", "五老村", "低保户"]
    assert [e["value"] for e in moved] == ["92", "五老村", "低保"]


def test_entity_converted_only_in_context_is_found_by_alignment():
    text = "下午三点来"  # 三 alone stays 三; in context (三点) it becomes 3
    new_text, [t] = normalize_annotated(text, [ent(text, "三", "time")])
    assert new_text == "下午3点来" and new_text[t["start"] : t["end"]] == "3"


def test_phone_read_digit_by_digit():
    text = "电话一三八零零零零零零零一"
    new_text, [phone] = normalize_annotated(text, [ent(text, "一三八零零零零零零零一", "phone_number")])
    assert new_text[phone["start"] : phone["end"]] == "13800000001" == phone["value"]


def test_unchanged_examples_keep_their_entities():
    text = "我住夫子庙"
    entities = [ent(text, "夫子庙", "street")]
    assert normalize_annotated(text, entities) == (text, entities)


_piece = st.sampled_from(
    [
        "我妈",
        "今年",
        "八十五",
        "岁",
        "住",
        "五老春",
        "一个人住",
        "下午三点",
        "，",
        "电话",
        "一三八零零零零零零零一",
        "低保户",
        "赚人工",
        "吧",
        "了",
        "两点",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_piece, min_size=1, max_size=8), st.data())
def test_every_moved_span_points_at_its_normalised_value(pieces, data):
    text = "".join(pieces)
    # annotate a random subset of the pieces, as a developer would with [..](entity)
    entities, pos = [], 0
    for piece in pieces:
        if piece not in "，吧了" and data.draw(st.booleans()):
            entities.append({"start": pos, "end": pos + len(piece), "entity": "x", "value": piece})
        pos += len(piece)
    new_text, moved = normalize_annotated(text, entities)
    assert len(moved) == len(entities)
    for e in moved:
        assert 0 <= e["start"] < e["end"] <= len(new_text)
        assert new_text[e["start"] : e["end"]] == e["value"]
    spans = sorted((e["start"], e["end"]) for e in moved)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_overlap_resolver_keeps_one_entity_per_span():
    crf = {"entity": "street", "start": 2, "end": 5, "value": "五老村", "extractor": "CRFEntityExtractor"}
    regex = dict(crf, extractor="RegexEntityExtractor")
    assert EntityOverlapResolver.resolve([crf, regex]) == [regex]


@pytest.mark.parametrize(
    "inner, outer",
    [
        (
            {"entity": "service_type", "start": 3, "end": 5, "extractor": "RegexEntityExtractor"},
            {"entity": "program", "start": 3, "end": 6, "extractor": "RegexEntityExtractor"},
        ),
    ],
)
def test_overlap_resolver_prefers_the_longer_exact_match(inner, outer):
    assert EntityOverlapResolver.resolve([inner, outer]) == [outer]


def test_overlap_resolver_prefers_the_exact_regex_span_over_a_crf_overreach():
    crf = {"entity": "time", "start": 5, "end": 10, "extractor": "CRFEntityExtractor"}
    regex = {"entity": "time", "start": 5, "end": 9, "extractor": "RegexEntityExtractor"}
    other = {"entity": "age", "start": 0, "end": 2, "extractor": "CRFEntityExtractor"}
    assert EntityOverlapResolver.resolve([crf, other, regex]) == [other, regex]
