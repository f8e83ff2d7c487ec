"""bot.text.norm and bot.text.fuzzy: Chinese numerals, digit groups and ASR-misheard domain terms,
with Hypothesis properties (never crash, idempotent, length bounded)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.text.fuzzy import correct_terms, match_term
from bot.text.norm import clean, join_digit_groups, normalize, numerals_to_digits


@pytest.mark.parametrize(
    "said, expected",
    [
        ("八十五岁", "85岁"),
        ("我妈今年八十五岁了", "我妈今年85岁了"),
        ("快九十了", "快90了"),
        ("一百零一岁", "101岁"),
        ("下午三点", "下午3点"),
        ("明天下午两点半", "明天下午2点半"),
        ("周三上午十点", "周三上午10点"),
        ("十一月二十五号", "11月25号"),
        ("三月十二日", "3月12日"),
        ("一三八零零零零零零零一", "13800000001"),
        ("幺三八零零零零零零零二", "13800000002"),
        ("二零二四年", "2024年"),
        ("每个月三百块", "每个月300块"),
        ("护工迟到了两个小时", "护工迟到了2个小时"),
        ("三楼", "3楼"),
    ],
)
def test_numerals_become_digits_where_they_are_quantities(said, expected):
    assert normalize(said) == expected


@pytest.mark.parametrize(
    "fixed",
    [
        "我一个人住",
        "等一下",
        "说慢一点",
        "有一点疼",
        "第一次",
        "一起去",
        "一直没人来",
        "十四五规划",
        "千万别转账",
        "万一摔了",
        "三四天了",
        "七八十岁的人",
        "星期三来",
        "周五下午",
        "一般般",
        "统一办理",
        "有点事",
        "我们一家人",
        "五老村",
    ],
)
def test_fixed_expressions_keep_their_numerals(fixed):
    assert normalize(fixed) == fixed


@pytest.mark.parametrize(
    "heard, meant",
    [
        ("我要赚人工", "我要转人工"),
        ("撰人工", "转人工"),
        ("帮我挂耗", "帮我挂号"),
        ("想约个助欲", "想约个助浴"),
        ("我住在五老春", "我住在五老村"),
        ("红五路那边", "洪武路那边"),
        ("长期户理保险怎么申请", "长期护理保险怎么申请"),
        ("银发姑问", "银发顾问"),
        ("中华们", "中华门"),
    ],
)
def test_asr_mishearings_of_domain_terms_are_corrected(heard, meant):
    assert normalize(heard) == meant


@pytest.mark.parametrize(
    "ordinary",
    [
        "电话挂好了",
        "这有助于健康",
        "住院了",
        "主语是什么",
        "我要转账",
        "工人来了",
        "红花油",
        "人工呼吸",
        "我想吃助餐点的饭",
        "低保户",
        "特困户",
        "老伴失明了",
    ],
)
def test_ordinary_words_are_not_corrected(ordinary):
    assert normalize(ordinary) == ordinary


def test_match_term_scores_sound_alikes_high_and_strangers_not_at_all():
    assert match_term("赚人工") == ("转人工", 100.0)
    assert match_term("挂耗")[0] == "挂号"
    assert match_term("天气好") is None
    assert match_term("abc") is None


def test_a_term_followed_by_another_word_is_not_a_slip():
    # 订 (ding) is not 点 (dian) misheard: "is my meal service booked", not the meal point
    assert match_term("助餐订") is None
    assert normalize("助餐订了没有") == "助餐订了没有"
    assert match_term("助餐店")[0] == "助餐点"  # the same sound is still corrected


def test_digit_groups_are_joined_only_for_phone_and_id_lengths():
    assert join_digit_groups("电话138 0000 0001") == "电话13800000001"
    assert join_digit_groups("138-0000-0001") == "13800000001"
    assert join_digit_groups("3 4") == "3 4"
    assert join_digit_groups("2024 11 25") == "2024 11 25"


def test_clean_handles_full_width_and_control_characters():
    assert clean("１３８\u200b０００ ") == "138000"
    assert clean(None) == ""
    assert normalize("") == ""
    assert normalize(None) == ""


_CHINESE_ISH = st.text(
    alphabet=st.sampled_from(
        list(
            "零〇一二两三四五六七八九十百千万幺点岁月号日楼半上下午明天周星期我妈爸"
            "人工转赚挂号耗助浴欲五老村春一个住下样般十四千万的了吗 -0123456789xX"
        )
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_CHINESE_ISH, st.text(max_size=80)))
def test_normalize_never_crashes_is_idempotent_and_bounded(text):
    once = normalize(text)
    assert isinstance(once, str)
    assert len(once) <= 500
    assert normalize(once) == once


@settings(max_examples=200, deadline=None)
@given(_CHINESE_ISH)
def test_numerals_to_digits_and_fuzzy_are_idempotent(text):
    once = numerals_to_digits(text)
    assert numerals_to_digits(once) == once
    corrected = correct_terms(text)
    assert correct_terms(corrected) == corrected
    assert len(corrected) == len(text)  # terms replace spans of their own length


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=400, max_size=2000))
def test_long_input_is_cut_to_max_length(text):
    assert len(normalize(text)) <= 500
    assert len(normalize(text, max_length=20)) <= 20


@pytest.mark.parametrize(
    "text, cleaned",
    [
        ("喂……我是李建国……那个送饭的", "喂,我是李建国,那个送饭的"),
        ("嗯。。。不是", "嗯,不是"),
        ("那个...，我想约", "那个,我想约"),
        ("一次3.5元", "一次3.5元"),  # a decimal point is no pause
    ],
)
def test_a_pause_is_a_comma(text, cleaned):
    assert clean(text) == cleaned
