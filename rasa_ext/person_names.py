"""A person's name as callers say it (person_name in ../shared/DESIGN.md): after a naming
cue (我叫张桂兰, 老人叫李建国, 名字是王秀英, 俺是周长顺), before one (张桂兰老人, 王秀英的孙女,
刘淑芬是我母亲, 我妈张桂兰，…), a surname alone after 姓 (我姓王, 老伴姓薛), or a name-shaped clause of its
own at the start (段秀珍，80岁). A name starts with a surname from rasa_ext/surnames.txt and
has one or two more characters that are not function words; names are only read where a
name is plausible, never from a bare word in the middle of a sentence."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Text

SURNAME_FILE = Path(__file__).with_name("surnames.txt")

# Cues after which a name follows. The longest cue that fits wins (名字叫 before 叫).
NAME_CUES = (
    "名字叫",
    "名字是",
    "姓名是",
    "名叫",
    "姓名",
    "叫做",
    "叫",
    "我是",
    "俺是",
    "咱是",
    "老人是",
    "他是",
    "她是",
    "就写",
    "写上",
    "是给",
    "登记",
    "给",
    "帮",
    "替",
)
# Cues after which only a surname follows (我姓王, 姓陈，耳东陈).
SURNAME_CUES = ("姓",)
# Words that, right after a name, mark it as one (张桂兰老人, 王秀英的孙女, 刘淑芬是我母亲).
AFTER_CUES = (
    "老人",
    "老太太",
    "老爷子",
    "老人家",
    "的闺女",
    "的女儿",
    "的儿子",
    "的孙女",
    "的孙子",
    "的儿媳",
    "的外孙",
    "的侄",
    "的老伴",
    "的家属",
    "是我",
    "要订",
    "要约",
    "要办",
    "要送",
)
# Kinship words a name may follow directly (我妈张桂兰，今年88), and what may follow it then.
KIN_BEFORE = (
    "妈",
    "爸",
    "娘",
    "爹",
    "母亲",
    "父亲",
    "老伴",
    "奶奶",
    "爷爷",
    "外婆",
    "外公",
    "姥姥",
    "姥爷",
    "婆婆",
    "公公",
    "老公",
    "丈夫",
    "爱人",
)
AFTER_KIN = ("今年", "住", "要", "想", "身份证", "预约", "腿脚")
# Characters that do not occur in a given name here: function words, verbs and nouns that
# follow a name in a sentence, numerals, kinship and honorific characters.
STOP_CHARS = set(
    "的了吗呢吧啊呀哦嘛是在住要想订约来去今年岁老和跟与给帮替说问打叫姓我你他她俺咱"
    "您们这那有没不就也都还再又登写办申领请把被让从到对个什么谁哪几多少大小"
    "爷奶姨叔伯婶妈爸娘爹哥姐弟妹儿女孙侄舅姑嫂师傅家里人的电话号码"
    "上下前后左右中间时候点号月周礼拜星期昨龄血压病院医助餐浴洁诊护理保费"
)
# Words that start right after a name (王芳明天来): the name ends before them.
FOLLOW_WORDS = ("明天", "明早", "明儿", "明年", "今天", "后天", "上午", "下午", "中午", "晚上", "一下")
# Words starting with a surname character that are not names (高龄, 周末, 马上).
NOT_NAMES = (
    "高龄",
    "高血压",
    "高兴",
    "周末",
    "马上",
    "方便",
    "白天",
    "金额",
    "于是",
    "何时",
    "江苏",
    "黄金",
    "石头",
    "程序",
    "许多",
    "任何",
    "常常",
    "安全",
    "平安",
    "文化",
    "康复",
    "齐全",
    "温度",
    "包括",
    "童年",
    "左边",
    "向来",
    "万一",
    "龙头",
    "毛病",
    "史上",
    "文件",
    "常规",
    "洪武路",
    "秦虹",
    "朝天宫",
    "夏天",
    "林子",
    "田地",
    "周一",
    "周二",
    "周三",
    "周四",
    "周五",
    "周六",
    "周日",
    "周天",
    "郑重",
    "罗嗦",
    "宋体",
    "曾经",
    "田间",
    "石膏",
)
_PUNCT = set("，,。.！!？?、；;：:\"'“”‘’（）() \n\t")


@lru_cache(maxsize=1)
def surnames() -> tuple[str, ...]:
    names: list[str] = []
    for line in SURNAME_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        names.extend(w for w in line.split() if w not in names)
    return tuple(sorted(names, key=len, reverse=True))  # compound surnames first


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def _surname_at(text: str, i: int) -> str | None:
    return next((s for s in surnames() if text.startswith(s, i)), None)


def _name_at(text: str, i: int) -> tuple[int, int] | None:
    """The span of a name (surname + 1-2 given characters) starting at i, or None."""
    surname = _surname_at(text, i)
    if not surname:
        return None
    j = i + len(surname)
    end = j
    while end < len(text) and end - j < 2 and _is_han(text[end]) and text[end] not in STOP_CHARS:
        end += 1
    if end - j == 2 and text.startswith(FOLLOW_WORDS, end - 1):
        end -= 1
    if end == j:
        return None
    candidate = text[i:end]
    if any(candidate.startswith(w) or (w in candidate and len(w) > 1) for w in NOT_NAMES):
        return None
    return i, end


def _surname_only_at(text: str, i: int) -> tuple[int, int] | None:
    surname = _surname_at(text, i)
    if not surname:
        return None
    end = i + len(surname)
    # 姓王 / 姓王，叫王文华 / 姓陈耳东陈 : the surname is followed by a boundary or 叫/的/名
    if end == len(text) or text[end] in _PUNCT or text[end] in "叫的名啊呀吧，耳木弓口立草双言三":
        return i, end
    return None


def find_names(text: str) -> List[Dict[Text, Any]]:
    """Every name found in text as {start, end, value}, without overlaps."""
    spans: list[tuple[int, int]] = []

    def add(span: tuple[int, int] | None) -> None:
        if span and not any(a < span[1] and span[0] < b for a, b in spans):
            spans.append(span)

    for cue in sorted(NAME_CUES + SURNAME_CUES, key=len, reverse=True):
        for m in re.finditer(re.escape(cue), text):
            at = m.end()
            if cue in SURNAME_CUES:
                if m.start() > 0 and text[m.start() - 1] in "百":  # 老百姓
                    continue
                add(_surname_only_at(text, at))
            else:
                add(_name_at(text, at))
    for i in range(len(text)):
        after_kin = text[:i].endswith(KIN_BEFORE)
        if i > 0 and _is_han(text[i - 1]) and text[i - 1] not in "给帮替是把和跟" and not after_kin:
            continue  # a name starts a clause or follows a word that takes a person or kin
        span = _name_at(text, i)
        if not span:
            continue
        rest = text[span[1] :]
        own_clause = i == 0 or text[i - 1] in _PUNCT
        given = span[1] - span[0] - len(_surname_at(text, i) or "")
        ends = not rest or rest[0] in _PUNCT
        if (
            rest.startswith(AFTER_CUES)
            or (own_clause and given == 2 and ends)
            or (after_kin and (ends or rest.startswith(AFTER_KIN)))
        ):
            add(span)
    return [{"start": a, "end": b, "value": text[a:b]} for a, b in sorted(spans)]
