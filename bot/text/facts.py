"""Reading eligibility facts from what callers actually say.

Elders and their children answer in colloquial Mandarin, often with Chinese numerals, and
phone ASR turns speech into text without punctuation. These pure functions turn such
answers into the canonical fact values of `Elder.facts()` (bot/models/people.py):

    parse_age("八十五") -> 85            read_age("快九十了").approximate -> True (89)
    parse_economic_status("吃低保的") -> "低保"
    parse_care_level("瘫在床上") -> "重度失能"
    parse_living_situation("老两口") -> "空巢"
    extract_facts("我妈今年八十三，一个人住在五老村") -> {"age": 83, "living_situation": "独居", ...}

Every parser returns None when the text does not answer the question, and `DONT_KNOW`
where the caller says they do not know (so the conversation can move on instead of
asking again). No Rasa, no database.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cn2an
import yaml

from bot.clock import age_on, today
from bot.text.norm import SPOKEN_DIGITS

DONT_KNOW = "unknown"  # the caller does not know; the fact stays missing, not asked again

# 经济困难: the caller says the family is hard up, without a 低保/特困 certificate. Document
# 004 names 经济困难 groups but does not define them, so rules send these to 社区认定.
ECONOMIC_STATUSES = ("普通", "经济困难", "低保边缘", "低保", "特困")
CARE_LEVELS = ("能力完好", "轻度失能", "中度失能", "重度失能")
LIVING_SITUATIONS = ("独居", "空巢", "与家人同住")

# The keys of Elder.facts(); the conversation collects the same ones.
FACT_KEYS = (
    "age",
    "birth_date",
    "street",
    "hukou_local",
    "economic_status",
    "care_level",
    "dementia",
    "living_situation",
    "special_family",
    "disability_certificate",
    "veteran",
    "poverty_registered",
    "severe_disability_family",
)
# poverty_registered: 纳入建档立卡范围 (document 004, 四(四)3); severe_disability_family:
# 重度残疾人家庭 (same clause). Neither is in the elder registry: the conversation asks.
# The facts of FACT_KEYS that are yes or no (True/False; None while not known).
YES_NO_FACTS = (
    "hukou_local",
    "dementia",
    "special_family",
    "disability_certificate",
    "veteran",
    "poverty_registered",
    "severe_disability_family",
)

OUTSIDE_DISTRICT = "区外"  # a street value meaning "lives outside the demo district"

# --- numbers ------------------------------------------------------------------------------

_CN_NUM = "零〇一二两三四五六七八九十百千"
_CN_RUN = re.compile(f"[{_CN_NUM}]+")
# Numerals that are words, not quantities (一个人住 is "alone", not "1 person").
_NOT_NUMBERS = (
    "一个人",
    "一人",
    "一下",
    "一点",
    "一起",
    "一直",
    "一样",
    "一般",
    "一些",
    "统一",
    "万一",
    "唯一",
    "一边",
    "一块",
    "一会",
    "一辈子",
    "十四五",
    "十全",
    "一天到晚",
    "一家",
    "一致",
    "老两口",
    "两口子",
    "两个老",
    "十分",
    "五老村",
)


# Dialect words of not having, said the standard way before any reader looks (Jiang-Huai and
# south-western Mandarin 没得 = 没有: "没得低保", "没得残疾证"; 没得说 "excellent" stays).
_DIALECT_NEGATIONS = ((re.compile(r"没得(?!说)"), "没有"),)


def clean(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    for pattern, standard in _DIALECT_NEGATIONS:
        text = pattern.sub(standard, text)
    return re.sub(r"\s+", "", text)


def to_digits(text: str | None) -> str:
    """Chinese numerals to Arabic digits where they are quantities or years:
    八十五岁 -> 85岁, 一九三八年 -> 1938年, 三八年 -> 38年; 一个人 stays."""
    text = clean(text)
    out: list[str] = []
    pos = 0
    for m in _CN_RUN.finditer(text):
        start, end = m.span()
        run = m.group()
        if _is_word(text, start, end):
            # "八十五一个人住" (speech without punctuation): the numerals before the word
            # are still a number
            cut = _word_start(text, start, end)
            if cut is None or cut <= start:
                continue
            end, run = cut, text[start:cut]
        if end < len(text) and text[end] == "年" and all(ch in SPOKEN_DIGITS for ch in run):
            converted = "".join(SPOKEN_DIGITS[ch] for ch in run)  # 一九三八年, 三八年
        else:
            try:
                value = cn2an.cn2an(run, "smart")
            except (ValueError, KeyError, IndexError):
                continue
            converted = str(int(value)) if float(value).is_integer() else str(value)
        out.append(text[pos:start])
        out.append(converted)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _word_start(text: str, start: int, end: int) -> int | None:
    """Where the first word of _NOT_NUMBERS overlapping text[start:end] begins."""
    starts = [
        m.start()
        for word in _NOT_NUMBERS
        for m in re.finditer(re.escape(word), text)
        if m.start() < end and start < m.end()
    ]
    return min(starts) if starts else None


def _is_word(text: str, start: int, end: int) -> bool:
    for word in _NOT_NUMBERS:
        for m in re.finditer(re.escape(word), text):
            if m.start() < end and start < m.end():
                return True
    return False


# --- age and birth ------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeReading:
    age: int
    approximate: bool = False
    birth_date: dt.date | None = None
    birth_year: int | None = None
    # a range said in words (七八十岁 -> 70..89): `age` is its lowest age, `upper` its highest
    upper: int | None = None


_DATE = re.compile(r"((?:19|20)?\d{2})年(\d{1,2})月(\d{1,2})[日号]?")
_YEAR = re.compile(r"((?:19|20)?\d{2})年(?:出生|生|的|人|生人)")
_YEAR_BARE = re.compile(r"(?<!\d)(19\d{2})(?!\d)")
_ISO = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
MIN_AGE, MAX_AGE = 40, 120


def _full_year(y: str, on: dt.date) -> int:
    year = int(y)
    if year < 100:  # 38年生的 -> 1938; 05年 would be 2005, too young to matter here
        year += 1900 if 1900 + year <= on.year - MIN_AGE else 2000
    return year


# A caller correcting herself: "八十一，不对不对，八十二了" -> what follows counts.
_CORRECTION = re.compile(r"(?:不对不对|不对|说错了|搞错了|记错了|哦不|噢不|不是不是)[，,。、\s]*")


def after_correction(text: str | None) -> str | None:
    """The words after the last self-correction, or None when there is none."""
    parts = _CORRECTION.split(text or "")
    return parts[-1] if len(parts) > 1 and parts[-1].strip() else None


def read_age(text: str | None, on: dt.date | None = None) -> AgeReading | None:
    """An age from an answer: 八十五, 85岁, 我妈今年八十三, 快九十了 (89, approximate),
    九十多岁 / 八十好几 (90 / 80, approximate), 虚岁86 (85, approximate), 1938年生的, 1938年3月12日;
    after a self-correction the corrected age (八十一，不对，八十二 -> 82).
    Ages outside 40..120 are not taken (they are usually something else: a house number)."""
    corrected = after_correction(text)
    if corrected is not None:
        reading = _read_age(corrected, on)
        if reading is not None:
            return reading
    return _read_age(text, on)


_CN_DIGIT = {ch: i for i, ch in enumerate("零一二三四五六七八九")}
# Two neighbouring numerals as a range (Chinese says "seventy or eighty" that way): 七八十岁
# (70..89), 八九十 (80..99), 七十八九岁 (78..79); in digits 70到80岁, 78、79岁, 七十至八十岁.
_RANGE_TENS = re.compile(r"([一二三四五六七八九])([一二三四五六七八九])十(?![一二三四五六七八九])")
_RANGE_UNITS = re.compile(r"([一二三四五六七八九])十([一二三四五六七八九])([一二三四五六七八九])")
_RANGE_DIGITS = re.compile(r"(?<![\d.])(\d{2,3})(?:周?岁)?(?:到|至|-|~|～|—|、|或者?)(\d{2,3})(?:周?岁|了|$)")


# what follows a number that is not an age ("住了七八十年", "四五十年代", "七八十块")
_NOT_AN_AGE_AFTER = "年块元斤平米号万个分点次层楼栋"


def _age_range(t: str) -> AgeReading | None:
    """An age said as a range of two neighbouring numbers, as (lowest, highest)."""
    for pattern in (_RANGE_TENS, _RANGE_UNITS, _RANGE_DIGITS):
        m = pattern.search(t)
        if m and t[m.end() : m.end() + 1] and t[m.end()] in _NOT_AN_AGE_AFTER:
            return None
    low = high = None
    m = _RANGE_TENS.search(t)
    if m and _CN_DIGIT[m.group(2)] == _CN_DIGIT[m.group(1)] + 1:
        low, high = _CN_DIGIT[m.group(1)] * 10, _CN_DIGIT[m.group(2)] * 10 + 9
    m = None if low is not None else _RANGE_UNITS.search(t)
    if m and _CN_DIGIT[m.group(3)] == _CN_DIGIT[m.group(2)] + 1:
        tens = _CN_DIGIT[m.group(1)] * 10
        low, high = tens + _CN_DIGIT[m.group(2)], tens + _CN_DIGIT[m.group(3)]
    m = None if low is not None else _RANGE_DIGITS.search(t)
    if m and 0 < int(m.group(2)) - int(m.group(1)) <= 20:
        low, high = int(m.group(1)), int(m.group(2))
    if low is None or high is None or not (MIN_AGE <= low and high <= MAX_AGE):
        return None
    return AgeReading(low, True, upper=high)


def _read_age(text: str | None, on: dt.date | None = None) -> AgeReading | None:
    on = on or today()
    t = to_digits(text)
    if not t:
        return None
    if not _DATE.search(t) and not _ISO.search(t) and not re.search(r"(?:19|20)?\d{2}年", t):
        ranged = _age_range(t)
        if ranged is not None:
            return ranged
    for pattern in (_ISO, _DATE):
        m = pattern.search(t)
        if m:
            try:
                born = dt.date(_full_year(m.group(1), on), int(m.group(2)), int(m.group(3)))
            except ValueError:
                born = None
            if born and born < on:
                age = age_on(born, on)
                if MIN_AGE <= age <= MAX_AGE:
                    return AgeReading(age, False, birth_date=born, birth_year=born.year)
    m = re.search(r"((?:19|20)?\d{2})年(\d{1,2})月(?!\d{1,2}[日号])", t)
    if m and 1 <= int(m.group(2)) <= 12:
        year, month = _full_year(m.group(1), on), int(m.group(2))
        age = on.year - year - (1 if on.month < month else 0)
        if MIN_AGE <= age <= MAX_AGE and (year, month) < (on.year, on.month + 1):
            # the birthday is known to the month: exact unless it is this very month
            return AgeReading(age, on.month == month, birth_year=year)
    m = _YEAR.search(t) or _YEAR_BARE.search(t)
    if m:
        year = _full_year(m.group(1), on)
        age = on.year - year - 1  # birthday not known: the lower of the two possible ages
        if MIN_AGE <= age + 1 <= MAX_AGE:
            return AgeReading(max(age, 0), True, birth_year=year)
    m = re.search(r"(?:快|将近|接近|差不多|马上|眼看)(?:就|要)?(?:到)?(\d{2,3})(?:岁|周岁)?", t)
    if m and MIN_AGE < int(m.group(1)) <= MAX_AGE + 1:
        return AgeReading(int(m.group(1)) - 1, True)
    m = re.search(
        r"(?:大概|大约|估计|可能|差不多)(\d{2,3})(?:周?岁)?|(\d{2,3})(?:周?岁)?(?:左右|上下|的样子)", t
    )
    if m:
        value = int(m.group(1) or m.group(2))
        if MIN_AGE <= value <= MAX_AGE:
            return AgeReading(value, True)
    m = re.search(r"虚岁(\d{2,3})", t)
    if m and MIN_AGE < int(m.group(1)) <= MAX_AGE + 1:
        return AgeReading(int(m.group(1)) - 1, True)
    m = re.search(r"(\d{2,3})(多|来|出头|好几|几)(?:岁)?", t)
    if m and MIN_AGE <= int(m.group(1)) <= MAX_AGE:
        return AgeReading(int(m.group(1)), True)
    for m in re.finditer(r"(?<![\d.])(\d{2,3})(?![\d.])(周岁|岁|了)?", t):
        value = int(m.group(1))
        following = t[m.end() : m.end() + 1]
        if following in ("号", "楼", "路", "元", "块", "小", "点", "分", "栋", "室", "斤", "年", "月"):
            continue
        if MIN_AGE <= value <= MAX_AGE:
            return AgeReading(value, False)
    return None


def parse_age(text: str | None, on: dt.date | None = None) -> int | None:
    """The age in whole years (周岁) from an answer, or None. See read_age for details."""
    reading = read_age(text, on)
    return reading.age if reading else None


# --- words --------------------------------------------------------------------------------

# The words of not knowing, for every reader of answers (a fact, an ID number, a choice).
DONT_KNOW_WORDS = re.compile(
    r"不(太|大|是很|怎么)?(知道|清楚|确定|了解|晓得)|说不(好|清|准)|拿不准|吃不准|不好说|"
    r"搞不清|忘了|记不得|没印象|心里没(数|底)"
)


def is_dont_know(text: str | None) -> bool:
    return bool(DONT_KNOW_WORDS.search(clean(text)))


# A question about the question ("问我年纪干什么？", "为什么要身份证"): the caller wants the
# reason before answering; it is neither an answer nor a wish to hear the question again.
_WHY_ASKED = re.compile(
    r"(问|要|查|打听)[^，。,.]{0,6}(干什么|干嘛|干吗|做什么|干啥|做啥|啥用|什么用|有什么关系)|"
    r"为(什么|啥)(要|得|还要)?(问|知道|说|报|给|提供|核对|验证|身份证|名字|姓名|岁数|年龄|收入)|"
    r"(问|说|报|给)(这个|这些|那个)(干|做)"
)


def is_why_question(text: str | None) -> bool:
    return bool(_WHY_ASKED.search(clean(text)))


def _first(text: str, table: list[tuple[str, str]]) -> str | None:
    for pattern, value in table:
        if re.search(pattern, text):
            return value
    return None


def _read(text: str | None, table: list[tuple[str, str]]) -> str | None:
    """The value of the first pattern of `table` found in the cleaned text; None without text."""
    t = clean(text)
    return _first(t, table) if t else None


_ECONOMIC = [
    (r"低保边缘|边缘户|低边", "低保边缘"),
    (r"特困|五保|特困供养|三无老人", "特困"),
    (r"(?<!不是)(?<!没有)(?<!不吃)(?<!没吃)(?<!没)低保", "低保"),
    (
        r"(?<!不)(?<!没有)(?<!没)(经济|生活|家里|家庭|日子)(比较|很|挺|有点|非常)?困难|手头紧|没(什么|啥)钱|收入(很|比较)?低|"
        r"(?<!不)穷|"
        # a bare 困难 said to the money question ("困难，但没有低保", "挺困难的"); not 不(算)困难
        r"(?<![不没])(?<!不算)(?<!没有)(?<!不是)(比较|很|挺|有点|非常|蛮|怪)?困难(?!吗)|紧巴",
        "经济困难",
    ),
    (
        r"不是低保|没有低保|不吃低保|没吃低保|没低保|都不是|没有困难|不困难|不是困难|普通|一般|还行|还可以|"
        r"退休金|退休工资|养老金|有工资|有收入|过得去|够用|都没有|不是$|没有$|没$|不是的|^否|^无$",
        "普通",
    ),
]


# 低保 with a negation a few words before it ("没评上低保", "没有吃上低保", "不是吃低保的",
# "没申请到低保"): said as "没有低保", which the table reads as not 低保.
_NEGATED_DIBAO = re.compile(
    r"(没|不|未)[^，,。；;！!？?低]{0,4}低保(?!边缘)|"
    # or after it: "申请过低保没批下来", "低保还没评上"
    r"低保(?!边缘)[^，,。；;！!？?]{0,6}(没|未)有?(批|评|办|通过|下来|成|给)|低保(?!边缘)不(给|批)"
)


def parse_economic_status(text: str | None) -> str | None:
    """吃低保的 -> 低保; 特困户/五保 -> 特困; 低保边缘 -> 低保边缘; 有退休金/都不是 -> 普通;
    挺困难的，没评上低保 -> 经济困难; 低保没批下来 -> not 低保."""
    return _read(_NEGATED_DIBAO.sub("没有低保", clean(text)), _ECONOMIC)


_CARE = [
    (
        r"重度|瘫在床|瘫痪|卧床|躺在床|下不了床|起不来床|不能动|动不了|全靠人|完全不能自理|植物人|"
        r"不能自理|生活不能自理|全护理",
        "重度失能",
    ),
    (
        r"中度|半失能|坐轮椅|轮椅|(?<!不)(?<!不需)要人扶|(?<!不)需要人扶|得有人扶|扶着才能|离不开人|部分自理|"
        r"不能自己走|走不了路|走不动路|不能走|(?<!不)(?<!不需)要人照顾|(?<!不)需要人照顾|自理有困难",
        "中度失能",
    ),
    (
        r"轻度|拄拐|拐杖|走路慢|走得慢|腿脚不太好|腿脚不好|腿脚不便|有点不方便|不太方便|"
        r"基本能自理|大部分能自理|有点吃力|行动不便|腰腿不好|慢慢(能|可以)?走",
        "轻度失能",
    ),
    (
        r"能力完好|能自己走|能走能动|身体好|身体还好|身体挺好|身体不错|硬朗|能自理|生活自理|"
        r"都能自己|自己能行|没问题|挺好|很好|还行|能跑能跳|健康|没毛病|利索|行动方便|"
        r"(?<!不)(?<!不太)能走|自己能走|自己走|(?<!不)能照顾(好)?自己|照顾得了自己|"
        r"(?:不用|不要|用不着|不需要)(?:别)?人(?:照顾|扶|管)",
        "能力完好",
    ),
]


def parse_care_level(text: str | None) -> str | None:
    """瘫在床上 -> 重度失能; 坐轮椅/半失能 -> 中度失能; 拄拐 -> 轻度失能; 能自己走 -> 能力完好."""
    return _read(text, _CARE)


_DEMENTIA_YES = (
    r"痴呆|失智|阿尔茨海默|老糊涂|糊涂了|认不得人|认不出人|不认人|记不住事|失忆|脑子不清楚|脑子不好使"
)
_DEMENTIA_NO = (
    r"没有(痴呆|失智|糊涂)|不(痴呆|糊涂)|没(痴呆|失智|糊涂)|脑子(清楚|好|灵|清醒)|"
    r"头脑清楚|清醒|记性(还|挺|很)?好|不糊涂|不是(老年)?(痴呆|失智|糊涂)|算不上(痴呆|失智)"
)


def parse_dementia(text: str | None) -> bool | None:
    """老年痴呆/失智/认不得人 -> True; 脑子清楚/没有痴呆 -> False; otherwise None."""
    t = clean(text)
    if not t:
        return None
    if re.search(_DEMENTIA_NO, t):
        return False
    if re.search(_DEMENTIA_YES, t):
        return True
    return None


_LIVING = [
    (
        r"一个人住|独居|自己一个人|自己住|单独住|一人住|就我一个|就她一个|就他一个|孤身|一个人过|"
        r"老伴(走|去世|不在|没)了",
        "独居",
    ),
    (
        r"老两口|两口子|和老伴|跟老伴|同老伴|我们两个|两个老人|空巢|孩子(不在|都在外)|子女(不在|都在外)|"
        r"儿女(不在|都在外)",
        "空巢",
    ),
    (
        r"跟(儿子|女儿|孩子|子女|儿女|小孩|家里人|家人|孙子|孙女)|和(儿子|女儿|孩子|子女|儿女|家人|家里人)|"
        r"一家人|一大家|同住|住在一起|住一起|一起住|跟我住|和我住|跟我们|和我们|跟家人",
        "与家人同住",
    ),
]


def parse_living_situation(text: str | None) -> str | None:
    """一个人住 -> 独居; 老两口 -> 空巢; 跟儿子住 -> 与家人同住."""
    return _read(text, _LIVING)


_LOST = r"(去世|走了|没了|不在了|过世|病故|伤残|残疾)"
_SPECIAL_YES = (
    r"失独|计划生育特殊家庭|计生特殊家庭|特扶|特别扶助|"
    r"独生(子女|子|女|儿子|女儿)[^，。,.；;？?]{0,6}" + _LOST + "|"
    r"(唯一的|就一个|只有一个|就这一个)(孩子|儿子|女儿|闺女)[^，。,.；;？?]{0,6}" + _LOST
)
_SPECIAL_NO = r"不是(计划生育|计生|失独)|没有失独|不是特殊家庭"


def parse_special_family(text: str | None) -> bool | None:
    t = clean(text)
    if not t:
        return None
    if re.search(_SPECIAL_NO, t):
        return False
    if re.search(_SPECIAL_YES, t):
        return True
    return None


_YES = re.compile(
    r"^(是|是的|对|对的|对头|嗯+|好|好的|行|可以|要|要的|有|有的|没错|当然|中|用|用吧|"
    r"就用|就按|按这个|是啊|是呀|对啊|好啊|行啊|可以的|确认|没问题|嗯嗯)"
)
_NO = re.compile(r"^(不|没|没有|否|别|不是|不用|不要|不对|无|算了)|不是的|没有的|不用了|不对")


# "就是漏水", "只是问问": it is just something else. The classifier may read the 就是 as a yes;
# the words say what it is instead. A bare "就是" (or "就是的", "就是就是") is a yes.
_JUST_SOMETHING_ELSE = re.compile(r"^(就|只|也就|不过)是(?!(就是|是|的|啊|呀|呢|嘛|吧|了)*$)")


# "是房子的事", "是关于遗产的问题", "我就是想问问": the answer names a topic, not a yes.
_ABOUT_A_TOPIC = re.compile(
    r"^(就|只|也就|不过)?是(关于)?.{1,12}(的事|的事情|的事儿|的问题)(啊|呀|吧|了)?$"
    r"|^(我)?(就|只)是(想)?(问问|问一下|咨询|了解)"
)


def names_something_else(text: str | None) -> bool:
    """True for an answer that says what it is instead of yes ("就是漏水", "只是问问")."""
    t = re.sub(r"[，。！？,.!?~～、 ]", "", clean(text))
    return parse_yes_no(t) is None and bool(_JUST_SOMETHING_ELSE.match(t)) or names_a_topic(t)


def names_a_topic(text: str | None) -> bool:
    """True for an answer that names what the matter is about ("是房子的事", "就是想问问"):
    never a yes, whatever the question was."""
    t = re.sub(r"[，。！？,.!?~～、 ]", "", clean(text))
    return bool(_ABOUT_A_TOPIC.match(t))


def parse_yes_no(text: str | None) -> bool | None:
    """是的/有/可以/用吧 -> True; 不是/没有/不用 -> False; otherwise None."""
    t = re.sub(r"[，。！？,.!?~～、 ]", "", clean(text))
    if not t or t.startswith("/"):
        return {"/affirm": True, "/deny": False}.get(t)
    if _NO.search(t):
        return False
    if _YES.search(t):
        return True
    return None


# --- place --------------------------------------------------------------------------------


# The streets of the district, read from their one home: the rule pack of the configured
# region (policies/<region>/rules/_pack.yml, cited to document 004, 四(二)1-2).
def _district_streets() -> tuple[tuple[str, ...], frozenset[str]]:
    from bot.config import get_settings

    settings = get_settings()
    path = Path(settings.policies_dir) / settings.policy_region / "rules" / "_pack.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(data["streets"]["names"]), frozenset(data["streets"].get("inside_city_wall", ()))


DISTRICT_STREETS, INSIDE_CITY_WALL = _district_streets()
_STREET_ALIASES = {
    "五老村街道": "五老村",
    "双塘街道": "双塘",
    "红花街道": "红花",
    "秦虹街道": "秦虹",
    "五老": "五老村",
    "朝天宫街道": "朝天宫",
}
_PLACE_WORDS = re.compile(r"区|县|市|省|街道|镇|乡|外地|老家|别的地方|不在这|不在示范区|不在你们")


def parse_street(text: str | None, streets: tuple[str, ...] = DISTRICT_STREETS) -> str | None:
    """One of the district's streets named in the text; OUTSIDE_DISTRICT when the text names
    a place that is not one of them (鼓楼区, 外地); None when it names no place."""
    t = clean(text)
    if not t:
        return None
    for alias, street in _STREET_ALIASES.items():
        if alias in t:
            return street
    for street in streets:
        if street in t:
            return street
    if _PLACE_WORDS.search(t) and not re.search(r"示范区|这个区|本区|你们这|就在这", t):
        return OUTSIDE_DISTRICT
    return None


# --- who is asked about -------------------------------------------------------------------

_RELATIONS = [
    (r"我妈|我母亲|母亲|老妈|妈妈|我娘|俺娘|俺妈", "母亲"),
    (r"我爸|我父亲|父亲|老爸|爸爸|我爹|俺爹|俺爸", "父亲"),
    (r"太奶奶|太姥姥|太外婆|曾祖母", "太奶奶"),
    (r"太爷爷|太姥爷|太外公|曾祖父", "太爷爷"),
    (r"奶奶|外婆|姥姥", "奶奶"),
    # aunts and uncles of the caller: asked about as 老人家
    (r"姨妈|姑妈|舅妈|婶婶|婶子|大姨|小姨|姑姑|伯母|大娘|大妈|舅舅|姨父|姑父|伯伯|大爷|叔叔", "亲友"),
    (r"爷爷|外公|姥爷", "爷爷"),
    (r"婆婆|岳母|丈母娘", "婆婆"),
    (r"公公|岳父|老丈人", "公公"),
    (r"老伴|爱人|老公|老婆|老头子|老太婆", "老伴"),
    (r"邻居|亲戚|朋友", "亲友"),
]
_GONE = re.compile(
    "(?:" + "|".join(p for p, _ in _RELATIONS) + r")(?:早就|已经|都)?"
    r"(?:走了|去世|过世|不在了|没了|死了|先走)"
)
_FEMALE = {"母亲", "奶奶", "太奶奶", "婆婆"}
_MALE = {"父亲", "爷爷", "太爷爷", "公公"}


def parse_relation(text: str | None) -> str | None:
    """Whom the caller asks about: 我妈 -> 母亲, 我爸 -> 父亲, 老伴, ...; 我/自己 -> "本人";
    None when the text does not say."""
    t = clean(text)
    if not t:
        return None
    # a relative who has died or left is not whom the caller asks about: "老伴走了好几年了，
    # 我能享受什么" is about the caller herself
    t = _GONE.sub("", t)
    found = _first(t, _RELATIONS)
    if found:
        return found
    if re.search(r"我自己|本人|我今年|我是|我能|我可以|我住|我够|我符合|我一个人", t):
        return "本人"
    return None


def pronoun(relation: str | None) -> str:
    """How to refer to the person in replies: 您 for the caller, 她/他/老人家 otherwise."""
    if not relation or relation == "本人":
        return "您"
    if relation in _FEMALE:
        return "她"
    if relation in _MALE:
        return "他"
    return "老人家"


# --- all at once --------------------------------------------------------------------------


def extract_facts(text: str | None, on: dt.date | None = None) -> dict[str, Any]:
    """Every fact a free sentence gives away, in Elder.facts() keys (plus
    `age_approximate` when the age was a guess such as 快九十了, and `age_upper` when it
    was a range such as 七八十岁: the age is then somewhere from `age` to `age_upper`)."""
    facts: dict[str, Any] = {}
    reading = read_age(text, on)
    if reading:
        facts["age"] = reading.age
        if reading.birth_date:
            facts["birth_date"] = reading.birth_date.isoformat()
        if reading.approximate:
            facts["age_approximate"] = True
        if reading.upper is not None:
            facts["age_upper"] = reading.upper
    for key, parser in (
        ("street", parse_street),
        ("economic_status", parse_economic_status),
        ("care_level", parse_care_level),
        ("dementia", parse_dementia),
        ("living_situation", parse_living_situation),
        ("special_family", parse_special_family),
    ):
        value = parser(text)
        if value is not None:
            facts[key] = value
    # "普通"/"能力完好" matched on generic words (还行, 一般) only count as an answer to the
    # question that was asked, never from a free sentence.
    t = clean(text)
    if facts.get("economic_status") == "普通" and not re.search(
        r"退休金|退休工资|养老金|不困难|普通|不是低保|没有低保", _NEGATED_DIBAO.sub("没有低保", t)
    ):
        facts.pop("economic_status")
    if facts.get("care_level") == "能力完好" and not re.search(
        r"能自己走|能自理|能力完好|身体(还|挺|很)?好|硬朗|都能自己", t
    ):
        facts.pop("care_level")
    if re.search(r"残疾证|残疾人证", t) and not re.search(r"没有残疾证|没残疾证|没有办残疾证", t):
        facts["disability_certificate"] = True
    if re.search(r"退伍|老兵|军人|复员|转业|参过军|当过兵", t):
        facts["veteran"] = True
    if re.search(r"建档立卡|贫困户|扶贫户", t) and not re.search(r"不是(建档立卡|贫困户)|没有建档", t):
        facts["poverty_registered"] = True
    if re.search(r"重度残疾|一级残疾|二级残疾|残疾(等级)?[一二12]级", t) and not re.search(r"不是重度", t):
        facts["severe_disability_family"] = True
    return facts


def parse_phone(text: str | None) -> str | None:
    """A mainland mobile number from an answer, also read digit by digit in Chinese
    (一三八零零零零零零零一) or in groups (138 0000 0001); None if there is none."""
    t = unicodedata.normalize("NFKC", str(text or ""))
    t = "".join(SPOKEN_DIGITS.get(ch, ch) for ch in t)
    digits = re.sub(r"[\s\-]", "", t)
    m = re.search(r"(?<!\d)(?:\+?86)?(1[3-9]\d{9})(?!\d)", digits)
    return m.group(1) if m else None
