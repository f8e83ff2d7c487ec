"""Policy retrieval: which program(s) a question is about, and which FAQ of a program
answers it. bot.policy.kb builds one `SearchIndex` per knowledge base and asks it; the
loading, the parameters and the spoken rendering stay in bot.policy.kb.

How a question is scored (issue: a loose sound-alike beat an exact keyword, broad aliases
won as substrings, noisy-or pushed scores to 1.0):

- Evidence is collected per program: exact (character) mentions of its names, aliases and
  keywords (matched without 的: 失独的老人 names 失独老人; an age names the age keywords it
  reaches: 85岁 says 80岁); mentions of a name by sound only (toneless, accent-folded
  pinyin: ASR errors, three syllables or more); the similarity of the question to its FAQ
  phrasings (characters, and its rarer words); and how much of the question's informative
  words (jieba, weighted by how rare they are across programs) the program's own texts use.
- An exact mention inside a longer exact mention is dropped, whatever program either
  belongs to: 家庭养老床位 wins over 床位, 居家养老服务收费 over 居家养老服务.
- A single signal has a fixed range (tiers below); a program's score is its best signal
  plus a small bounded bonus for further distinct signals (at most BONUS_CAP), so many weak
  hints never add up to certainty. A keyword, sound or FAQ match in a question the
  program's texts hardly explain is scaled down (a coincidence: 邻居 in 投诉楼上邻居太吵).
- Words and meaning agreeing: a program whose words are said (alias, keyword, FAQ
  phrasing) and which the meaning signal (e5) also picks gets CORROBORATED more and no
  coincidence discount; two independent readings of the question rarely agree by chance
  (2026-11-29: recall on sets nobody tuned on 0.69 -> 0.78 and 0.75 -> 0.84).
- Two programs named in characters and close in score (低保家庭的老人吃饭: who asks and
  what is asked): the one the meaning clearly picks comes first (`_meaning_decides`).
- Who asks and what is asked (低保户的老人家里能改造卫生间吗): when the best program is named
  only by words for a group of callers (the pack's group-FAQ words and their synonyms, ages)
  and another by what is asked, close in evidence, the topic comes first, unless the group's
  own program speaks of that topic too (特困 + 养老院) or the meaning prefers the group
  (`_topic_first`; issue 17: dev sets and the independent set one better, holdout even).
- A name heard by sound must be heard with other characters: said partly in its own
  characters (养老服务 of 养老服务APP) it is no mention at all.
- A program found by sound alone never outranks a program named in characters: its score
  is capped just below the best exactly named one.
- The confidence `answer` compares with ANSWER_THRESHOLD is the best score, less when the
  runner-up comes close (CLOSE_MARGIN).

Tiers of a single signal:
    exact name or alias   0.86 .. 0.96    longer = higher
    exact keyword         0.64 .. 0.84    longer, and used by one program only = higher;
                                          x0.85 when only part of a longer word (养老保险)
    name by sound only    <= 0.76         every syllable heard; a near one less
    FAQ phrasing similar  0.85 x similarity (from 0.5)
    question explained    0.80 x share explained, less what another program explains too

Two topics (chosen behaviour: answer both, never ask which one): when two programs are
each named exactly (distinct, non-overlapping mentions) and the question joins them (和,
跟, 还有, 、, "A怎么办，B呢"), both are answered one after the other in the order asked,
each with its own citation (`two_topics`; Answer.also names the later ones).

Group FAQs (faq `group:`) count, for scoring and for answering, only when the caller names
the group; then they also add GROUP_BONUS.

Prices: a question about what something costs the caller is answered only by an FAQ about
a price; when the program has none, the answer says the document does not give one
(`best_faq` returns NO_PRICE), never a coverage percentage or a count. When the price
program's names price what was named (居家养老服务的价钱 -> 居家养老服务价格, 上门洗澡多少钱
-> 上门服务价格) the price program answers instead (`price_program`).
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from rapidfuzz import fuzz, process

from bot.config import get_settings
from bot.text.fuzzy import fold_syllable

if TYPE_CHECKING:  # the data model lives in bot.policy.kb, which imports this module
    from bot.policy.kb import Faq, Program

log = logging.getLogger(__name__)

KEYWORD_BASE = 0.74  # an exact keyword of two characters that one program uses
# These constants were set on benchmarks/data/policy_dev.tsv; ANSWER_THRESHOLD and
# SUGGEST_THRESHOLD (bot/policy/kb.py) on the independent set (benchmarks/RESULTS.md).
BONUS_CAP = 0.08  # the most further signals can add to a program's best one
BONUS_SHARES = (0.06, 0.03, 0.02)  # what the 2nd, 3rd, 4th signal add (x their strength)
EXPLAINED_ENOUGH = 0.6  # a question this much explained by a program's texts is not odd
UNEXPLAINED_KEEP = 0.7  # a keyword/sound/FAQ match in a question not explained at all
FAQ_WEIGHT = 0.85  # an FAQ phrasing as similar as can be counts as much as this
FAQ_FLOOR = 0.5  # less similar than this: not evidence
SOUND_WEIGHT = 0.76  # a name heard in full by sound only
SOUND_FLOOR = 0.8  # a name heard less well than this (pinyin ratio): not evidence
CONTENT_WEIGHT = 0.80  # a question every informative word of which the program's text uses
CONTENT_FLOOR = 0.35  # less of the question explained than this: not evidence
CONTENT_SHARED = 0.3  # what another program explaining the question too takes off
PART_OF_WORD = 0.85  # a keyword that is only part of a longer word of the question
# The meaning signal (bot/policy/meaning.py: e5 cosine of the question to the program's
# closest phrasing), for the most alike program only: MEANING_WEIGHT x how alike
# ((sim - MEANING_LO) / (MEANING_HI - MEANING_LO)) x how clearly it leads (its lead over
# the next program / MEANING_LEAD): a generic question (养老政策) is alike to many programs
# and leads none. Set on policy_dev.tsv against an index without the FAQ variants that were
# written from that set (benchmarks/policy_meaning_calibrate.py). MEANING_WEIGHT and
# MEANING_LEAD re-set on policy_dev.tsv .. policy_dev5.tsv together (2026-11-29, issue 17:
# a grid of weight x lead x CORROBORATED x MEANING_LO; recall 0.926 -> 0.932 over the five
# sets, precision 0.964 -> 0.965).
MEANING_WEIGHT = 0.95
MEANING_LO = 0.90
MEANING_HI = 0.96
MEANING_LEAD = 0.03
# a program whose words are said (alias, keyword, FAQ) and which the meaning signal picks
# too: this much more (x how clearly the meaning leads), and no coincidence discount.
# CORROBORATED and MEANING_DECIDES* were set on policy_dev.tsv and policy_dev2.tsv.
CORROBORATED = 0.10
# two programs named in characters within MEANING_DECIDES of each other: the one the
# meaning signal picks, when it leads the next by MEANING_DECIDES_GAP (cosine), comes first
MEANING_DECIDES = 0.15
MEANING_DECIDES_GAP = 0.01
CLOSE_MARGIN = 0.1  # a runner-up closer than this to the best program ...
CLOSE_PENALTY = 0.5  # ... takes this share of the difference off the confidence
FAQ_UNSAID = 0.6  # an FAQ phrasing none of whose telling words is said: this much
JOINED_EASE = 0.1  # two programs joined by 和 may each be named a little less surely
MAX_TOPICS = 2  # topics a question may join by keywords; more only by their names
GROUP_BONUS = 0.05  # an FAQ written for the group the caller names (特困, 低保) matches
# a program named only by who the caller is (低保户, 失独老人, 85岁) and another named by
# what is asked (改造卫生间, 养老院): the topic answers when its own evidence is this close
TOPIC_OVER_GROUP = 0.3


# ---------------------------------------------------------------------------- text

_PUNCT = re.compile(
    r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    r"!-/:-@\[-`{-~“”‘’…—·]+"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")

# Colloquial words callers use for the standard ones the packs are written in.
_COLLOQUIAL = (
    ("钟头", "小时"),
    ("咋个", "怎么"),
    ("咋样", "怎么样"),
    ("咋", "怎么"),
    ("啥子", "什么"),
    ("啥", "什么"),
    ("甚么", "什么"),
    ("几多钱", "多少钱"),
    ("多少米", "多少钱"),
)

_FILLERS = sorted(
    [
        "请问一下",
        "请问",
        "我想问一下",
        "我想问问",
        "我想问",
        "想问一下",
        "想问问",
        "问一下",
        "问问",
        "我想知道",
        "想知道",
        "想了解一下",
        "想了解",
        "了解一下",
        "咨询一下",
        "你好",
        "您好",
        "喂",
        "那个",
        "这个",
        "就是",
        "我妈妈",
        "我爸爸",
        "我妈",
        "我爸",
        "我老伴",
        "老伴",
        "我家老人",
        "我们家",
        "我家",
        "家里老人",
        "老爷子",
        "老太太",
        "我奶奶",
        "我爷爷",
        "我婆婆",
        "我公公",
        "我岳母",
        "我丈母娘",
        "是不是",
        "有没有",
        "能不能",
        "可不可以",
        "帮我",
        "给我",
        "说说",
        "讲讲",
        "告诉我",
        "一下",
        "你们",
        "我",
        "您",
        "你",
        "的",
        "了",
        "吗",
        "呢",
        "啊",
        "呀",
        "吧",
        "嘛",
        "哦",
        "哈",
        "呗",
        "噢",
        "嗯",
    ],
    key=len,
    reverse=True,
)

FACETS: dict[str, tuple[str, ...]] = {
    "documents": ("带什么", "带哪些", "要带", "材料", "证件", "资料", "证明", "身份证", "户口本"),
    "apply": (
        "怎么申请",
        "如何申请",
        "怎样申请",
        "怎么办理",
        "怎么办",
        "怎么弄",
        "咋办",
        "咋弄",
        "咋申请",
        "怎么领",
        "怎么报名",
        "怎么参加",
        "怎么叫",
        "怎么找",
        "去哪里",
        "去哪儿",
        "去哪",
        "在哪里",
        "在哪儿",
        "在哪",
        "哪里",
        "找谁",
        "申请",
        "办理",
        "报名",
        "流程",
        "手续",
        "下单",
        "怎么联系",
        "电话多少",
        "附近",
    ),
    "who": (
        "谁能",
        "谁可以",
        "什么人",
        "哪些人",
        "什么样的人",
        "什么条件",
        "条件",
        "符合",
        "资格",
        "能享受",
        "可以享受",
        "能参加",
        "算哪一类",
        "算哪类",
        "够不够",
    ),
    "history": ("以前", "原来", "变了", "变化", "怎么变", "调整", "涨了", "提高了"),
    "amount": (
        "多少钱",
        "多少",
        "几个小时",
        "几小时",
        "几个",
        "几次",
        "标准",
        "收费",
        "要钱",
        "花钱",
        "交钱",
        "收钱",
        "给钱",
        "收不收钱",
        "收不收费",
        "收不收",
        "要不要钱",
        "补多少",
        "发多少",
        "多久",
    ),
    "what": (
        "是什么",
        "什么是",
        "干什么",
        "干啥",
        "做什么",
        "啥意思",
        "什么意思",
        "是啥",
        "介绍",
        "有什么用",
        "有啥用",
        "怎么回事",
        "好处",
    ),
}
_FACET_ORDER = ("documents", "apply", "who", "history", "amount", "what")
_GENERIC = sorted(
    [
        "养老政策",
        "政策",
        "养老服务",
        "养老",
        "老年人",
        "老人",
        "服务",
        "有什么",
        "有哪些",
        "什么",
        "哪些",
        "问题",
        "事情",
        "补贴",
        "待遇",
        "福利",
        "优惠",
        "方面",
        "规定",
        "能",
        "可以",
        "想",
        "要",
    ],
    key=len,
    reverse=True,
)

# What the caller pays (a price) as against what the caller gets (an amount of benefit).
_PRICE_STRONG = (
    "收费",
    "收钱",
    "要钱",
    "花钱",
    "交钱",
    "付钱",
    "掏钱",
    "自己出钱",
    "自己出",
    "费用",
    "价格",
    "价钱",
    "收不收",
    "贵不贵",
    "贵吗",
    "太贵",
    "便宜",
    "自费",
    "学费",
    "免不免费",
    "免费吗",
    "免费的吗",
    "是不是免费",
    "能不能免费",
    "几块钱",
    "几个钱",
    "收多少",
    "什么价",
    "啥价",
    "价位",
)
_PRICE_WEAK = ("多少钱",)
_GOVERNMENT_PAYS = re.compile(
    r"(?:政府|国家|公家|街道|社区)(?:给|来|帮)?(?:花钱|出钱|掏钱|付钱|买单|付费|出资)"
)
_BENEFIT = (
    "补贴",
    "补助",
    "津贴",
    "发多少",
    "领多少",
    "给多少",
    "补多少",
    "报销",
    "发钱",
    "领钱",
    "救助金",
    "能拿",
    "能领",
    "给钱",
)
_PRICE_TEXT = ("收费", "费用", "价格", "价钱", "自费", "学费", "不收钱", "不要钱")

# Words that join two topics in one question (助餐和助浴; 长护险跟家庭床位).
_JOINERS = (
    "和",
    "跟",
    "与",
    "及",
    "以及",
    "还有",
    "另外",
    "或者",
    "或是",
    "还是",
    "同时",
    "再问",
    "顺便问",
    "、",
)


def _prep(text: str | None) -> str:
    """Normalised query text: numerals as digits, ASR-corrected domain terms, colloquial
    words in their standard form, no spaces or punctuation, lower case."""
    return _prep_marked(text).replace("、", "")


def _prep_marked(text: str | None) -> str:
    """As _prep, but an enumeration comma (、) stays: it joins two topics."""
    if not text:
        return ""
    try:
        from bot.text.norm import normalize

        text = normalize(text)
    except Exception:  # normalisation is a help, never a reason to fail
        log.exception("text normalisation failed; matching the raw text")
    text = str(text).replace("、", "\x00")
    text = _PUNCT.sub("", text).lower()
    for word, standard in _COLLOQUIAL:
        if word in text:
            text = text.replace(word, standard)
    return text.replace("\x00", "、")


def _match_form(text: str | None, marked: bool = False) -> str:
    """The form names are matched in: prepared, without 的 (失独的老人 says 失独老人,
    居家养老服务的价格 居家养老服务价格), the enumeration comma kept when `marked`."""
    return (_prep_marked(text) if marked else _prep(text)).replace("的", "")


def _strip(text: str, words: Iterable[str]) -> str:
    for w in words:
        if w in text:
            text = text.replace(w, " ")
    return re.sub(r"\s+", "", text)


def facet_of(query: str) -> str | None:
    """Which aspect of a program the question asks about (apply, documents, who, ...)."""
    q = _prep(query)
    for facet in _FACET_ORDER:
        if any(word in q for word in FACETS[facet]):
            return facet
    return None


_FACET_WORDS = sorted({w for ws in FACETS.values() for w in ws}, key=len, reverse=True)


def _topic(q: str) -> str:
    """The query without fillers and facet words: what it is about."""
    return _strip(_strip(q, _FILLERS), _FACET_WORDS)


_STOP = frozenset(
    {
        "老人",
        "老年人",
        "老年",
        "政府",
        "社区",
        "我们",
        "你们",
        "他们",
        "这个",
        "那个",
        "什么",
        "怎么",
        "怎么样",
        "哪里",
        "哪个",
        "哪些",
        "多少",
        "几个",
        "没有",
        "有没有",
        "不能",
        "能不能",
        "可以",
        "不是",
        "是不是",
        "就是",
        "还是",
        "一下",
        "时候",
        "现在",
        "知道",
        "请问",
        "问问",
        "想问",
        "需要",
        "应该",
        "里面",
        "我家",
        "家里",
        "我妈",
        "我爸",
        "家里人",
        "家人",
        "老两口",
        "老伴",
        "父亲",
        "母亲",
        "老父亲",
        "老母亲",
        "奶奶",
        "爷爷",
        "姥姥",
        "姥爷",
        "外婆",
        "外公",
        "婆婆",
        "公公",
        "听说",
        "问题",
        "事情",
        "情况",
        "办法",
        "帮忙",
        "谢谢",
    }
)
# "我妈85了", "快90了", "80多岁", "年过八旬", "过了80", "80好几", "百岁": the age a caller gives
_AGE = re.compile(
    r"(?<![\d.])(\d{2,3})(?=多?(?:周岁|岁|了|以上|出头|好几))|"
    r"(?:快|满了?|过了?|上了|今年|已经)(\d{2,3})(?![\d.])|([八九百])[旬岁]"
)
_AGE_TERM = re.compile(r"^(\d{2,3})周?岁$")
# 上门洗澡一次多少钱, 上门理发怎么收费: the price of a service at home
HOME_SERVICE = "上门服务"
_HOME_VISIT = re.compile(r"上门(?!服务)[\u4e00-\u9fff]{1,2}")


# Everyday words for the same thing, said as one (the first): callers and documents meet.
_SAME = (
    ("食堂", "饭堂", "餐厅", "饭馆"),
    ("吃饭", "用餐", "就餐", "做饭", "弄饭", "送饭"),
    ("养老院", "敬老院", "福利院", "老人院", "老年公寓"),
    ("看病", "就医", "瞧病", "看医生"),
    ("孤独", "寂寞", "孤单"),
    ("特困", "五保", "五保户", "孤寡"),
    ("失智", "痴呆", "老年痴呆"),
    ("卧床", "瘫痪", "躺床", "瘫在床上"),
    ("子女", "儿女", "孩子", "儿子", "女儿"),
    ("免费", "不要钱", "白给", "不花钱"),
    ("补贴", "补助", "津贴"),
    ("申请", "办理", "登记"),
    ("照顾", "照料", "照看", "看护"),
    ("上门", "到家", "来家里"),
    ("卫生间", "厕所", "洗手间"),
    ("残疾", "残障"),
    ("遗产", "遗嘱"),
    ("电话", "热线"),
)
_CANON = {w: group[0] for group in _SAME for w in group}


@functools.lru_cache(maxsize=1)
def _jieba() -> Any:
    """A private jieba tokenizer with the stock dictionary (loads once, ~1 s), or None.
    Private, so that the words of a question do not depend on what else the process did:
    Rasa's JiebaTokenizer loads the NLU's user dictionary into jieba's global tokenizer, and
    retrieval scores must be the same in the action server, the API and every test order."""
    try:
        import jieba
    except ImportError:  # pragma: no cover
        return None
    jieba.setLogLevel(60)
    return jieba.Tokenizer()


def _words(text: str) -> list[str]:
    """The informative words of a prepared text (jieba's search-mode cut, two characters
    or more, common words out, everyday synonyms said one way); character pairs when
    jieba is not installed."""
    jieba = _jieba()
    if jieba is None:  # pragma: no cover - jieba is installed with Rasa (Makefile)
        pieces = [text[i : i + 2] for i in range(len(text) - 1)]
    else:
        pieces = jieba.lcut_for_search(text)
        # characters jieba leaves alone (被/骗, 防/滑) are read in pairs too: 被骗, 防滑
        singles = jieba.lcut(text)
        pieces += [
            a + b
            for a, b in zip(singles, singles[1:])
            if len(a) == len(b) == 1 and _HAN.match(a) and _HAN.match(b)
        ]
    words = (
        _CANON.get(w, w)
        for w in pieces
        if (len(w) >= 2 and not w.isascii() or w.isdigit() and len(w) >= 2)
        and w not in _STOP
        and w not in _ASKING
    )
    return list(dict.fromkeys(words))


_ASKING = frozenset(_FACET_WORDS) | frozenset(_GENERIC) | frozenset(_FILLERS)


def is_price_question(q: str) -> bool:
    """The (prepared) question asks what something costs the caller: 收费, 要不要钱,
    多少钱 (unless it asks how much is paid out: 补贴发多少钱)."""
    q = _GOVERNMENT_PAYS.sub("", q)  # 政府花钱买服务: what the caller gets, not pays
    if any(w in q for w in _PRICE_STRONG):
        return True
    return any(w in q for w in _PRICE_WEAK) and not any(w in q for w in _BENEFIT)


def _is_price_faq(faq: "Faq") -> bool:
    return any(is_price_question(_prep(p)) for p in faq.phrasings) or any(
        w in faq.answer for w in _PRICE_TEXT
    )


# ---------------------------------------------------------------------------- sound

_SYLLABLE_CODES: dict[str, str] = {}
_CODES_LOCK = threading.Lock()
_PIECES = re.compile(r"[\u4e00-\u9fff]+|[0-9]+|[a-z]+|.")


def _code(syllable: str) -> str:
    """One private-use character per folded syllable, so that rapidfuzz aligns syllables."""
    code = _SYLLABLE_CODES.get(syllable)
    if code is None:
        with _CODES_LOCK:
            code = _SYLLABLE_CODES.setdefault(syllable, chr(0xE000 + len(_SYLLABLE_CODES)))
    return code


@functools.lru_cache(maxsize=8192)
def _sound_spans(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The folded pinyin of `text` as a string of syllable codes (digits, letters: as is),
    and for each code the characters of `text` it stands for."""
    from pypinyin import lazy_pinyin  # ~0.25 s import, only on first use

    codes: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _PIECES.finditer(text):
        piece = m.group(0)
        if _HAN.match(piece):
            syllables = lazy_pinyin(piece)
            if len(syllables) != len(piece):
                syllables = [lazy_pinyin(ch)[0] for ch in piece]
            for k, s in enumerate(syllables):
                codes.append(_code(fold_syllable(s)))
                spans.append((m.start() + k, m.start() + k + 1))
        else:
            codes.append(_code(piece))
            spans.append(m.span())
    return "".join(codes), tuple(spans)


def _sound(text: str) -> str:
    """The folded pinyin of `text` as a string of syllable codes (digits, letters: as is)."""
    return _sound_spans(text)[0]


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text} - {""}


def _dice(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0


class _QuerySound:
    """The query's syllable string and its windows, computed once per query."""

    def __init__(self, sound: str, spans: tuple[tuple[int, int], ...] = ()):
        self.sound = sound
        self.spans = spans
        self._windows: dict[int, list[str]] = {}

    def windows(self, width: int) -> list[str]:
        if width not in self._windows:
            s = self.sound
            self._windows[width] = [s[i : i + width] for i in range(len(s) - width + 1)]
        return self._windows[width]

    def chars(self, start: int, width: int) -> tuple[int, int]:
        """The characters of the query that syllables start..start+width stand for."""
        if not self.spans:
            return (0, 0)
        end = min(len(self.spans), start + width) - 1
        return (self.spans[start][0], self.spans[max(start, end)][1])


def _sound_match(alias_sound: str, qs: _QuerySound) -> tuple[float, tuple[int, int]]:
    """How well the query's sound contains this name's (1.0: every syllable), and where.
    Aligned syllable by syllable on windows of the name's length or one more (a syllable
    misheard, or one inserted); an edge overlap or a scattered match does not count. Two
    syllables must sound exactly the same: they collide too easily otherwise."""
    q_sound = qs.sound
    n = len(alias_sound)
    if not n or not q_sound:
        return 0.0, (0, 0)
    at = q_sound.find(alias_sound)
    if at >= 0:
        return (1.0 if n >= 3 else 0.9), qs.chars(at, n)
    if n <= 2:
        return 0.0, (0, 0)
    if n > len(q_sound):
        return fuzz.ratio(alias_sound, q_sound) / 100 * 0.9, qs.chars(0, len(q_sound))
    best, where = 0.0, (0, 0)
    for width in (n, n + 1):
        windows = qs.windows(width)
        if windows:
            found = process.extractOne(alias_sound, windows, scorer=fuzz.ratio)
            assert found is not None  # the windows are not empty
            if found[1] / 100 > best:
                best, where = found[1] / 100, qs.chars(found[2], width)
    if n == 3 and best < 1:
        best *= 0.8
    return best, where


def _heard_otherwise(said: str, term: "_Term") -> bool:
    """Whether the words said sound like the name with other characters (常护险 for 长护险):
    some character said that the name does not have sounds like one of the name's. A name
    only partly said in its own characters (养老服务 of 养老服务APP) is not a mishearing."""
    sounds = set(term.sound)
    return any(ch not in term.text and _HAN.match(ch) and _sound(ch) in sounds for ch in said)


def _name_score(alias: str, alias_sound: str, q: str, qs: _QuerySound) -> float:
    """How well the query mentions this name: in full (0.97..1), by sound (ASR), or most of
    it. Used to resolve a name the NLU extracted (KnowledgeBase.resolve_program)."""
    if not alias:
        return 0.0
    if alias in q:  # longer names win ties: 家庭养老床位 over 养老
        return 0.97 + 0.03 * min(1.0, len(alias) / 8)
    score, _where = _sound_match(alias_sound, qs)
    return 0.93 * score if score >= 1.0 else (0.85 if score == 0.9 else score)


def _faq_topic_score(faq_topic: str, q_topic: str) -> float:
    if not faq_topic or not q_topic:
        return 0.0
    return max(_dice(faq_topic, q_topic), fuzz.ratio(_sound(faq_topic), _sound(q_topic)) / 100 * 0.95)


# ---------------------------------------------------------------------------- the index


@dataclass(frozen=True)
class _Term:
    program_id: str
    kind: str  # alias | keyword
    text: str  # prepared
    sound: str
    weight: float  # the signal when the query says it exactly


@dataclass(frozen=True)
class _Mention:
    term: _Term
    start: int
    end: int

    def overlaps(self, other: "_Mention") -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class _FaqEntry:
    program_id: str
    faq: "Faq"
    text: str
    topic: str
    words: tuple[str, ...] = ()
    priced: bool = False  # the phrasing asks what something costs (上门服务一次多少钱)


@dataclass
class _Scored:
    program_id: str
    score: float
    matched: str
    signals: dict[str, float] = field(default_factory=dict)
    mentions: tuple[_Mention, ...] = ()  # its exact mentions in the query
    evidence: float = 0.0  # the score before the share of the question it explains counts


def alias_weight(text: str) -> float:
    """An exact mention of a name: 0.86 for two characters up to 0.96 for seven and more."""
    return 0.86 + 0.02 * min(5, max(0, len(text) - 2))


def keyword_weight(text: str, programs_using_it: int) -> float:
    """An exact mention of a keyword: longer and specific to one program is stronger."""
    return KEYWORD_BASE + 0.025 * min(4, max(0, len(text) - 2)) - 0.05 * min(2, programs_using_it - 1)


class SearchIndex:
    """Aliases, keywords and FAQ phrasings of the programs of one knowledge base."""

    def __init__(self, programs: Iterable["Program"], meaning: bool = True):
        self.programs = {p.id: p for p in programs}
        self.meaning = None
        if meaning and get_settings().policy_meaning:
            from bot.policy.meaning import MeaningIndex

            self.meaning = MeaningIndex(self.programs.values())
        vocab: dict[str, str] = {}
        for p in self.programs.values():
            texts = [
                p.name,
                p.short_name,
                *p.aliases,
                *p.keywords,
                *(ph for f in p.faq for ph in f.phrasings),
            ]
            vocab[p.id] = "|".join(_prep(t) for t in texts)
        self.terms: list[_Term] = []
        self.faqs: list[_FaqEntry] = []
        self.bags: dict[str, dict[str, float]] = {}
        for p in self.programs.values():
            names = list(
                dict.fromkeys(t for t in (_match_form(x) for x in (p.name, p.short_name, *p.aliases)) if t)
            )
            for text in names:
                self.terms.append(_Term(p.id, "alias", text, _sound(text), alias_weight(text)))
            for text in dict.fromkeys(_match_form(k) for k in p.keywords):  # 八十岁 = 80岁
                if not text or text in names:
                    continue
                users = sum(1 for v in vocab.values() if text in v)
                self.terms.append(
                    _Term(p.id, "keyword", text, _sound(text), keyword_weight(text, max(1, users)))
                )
            for f in p.faq:
                for phrasing in f.phrasings:
                    text = _prep(phrasing)
                    self.faqs.append(
                        _FaqEntry(p.id, f, text, _topic(text), tuple(_words(text)), is_price_question(text))
                    )
            self.bags[p.id] = _bag(p)
        self.group_words = _group_words(self.programs.values())
        # each program's own words (names, keywords, FAQ questions, summary, benefits)
        self.own_text = {
            p.id: vocab[p.id] + "|" + "|".join(_match_form(t) for t in (p.summary, *p.benefits))
            for p in self.programs.values()
        }
        self.df: dict[str, int] = {}
        for bag in self.bags.values():
            for w in bag:
                self.df[w] = self.df.get(w, 0) + 1

    def _idf(self, word: str) -> float:
        """Rarer across programs = more telling; a word no program uses: the most."""
        return math.log((len(self.bags) + 1) / (self.df.get(word, 0) + 0.5))

    def _word_f1(
        self, q_words: dict[str, float], q_weight: float, words: tuple[str, ...]
    ) -> tuple[float, float]:
        """How far the question and an FAQ phrasing say the same words, weighted by rarity:
        (F1 of the two sides' coverage, the share of the phrasing's words said)."""
        if not q_weight or not words:
            return 0.0, 0.0
        shared = sum(q_words[w] for w in words if w in q_words)
        if not shared:
            return 0.0, 0.0
        recall = shared / q_weight
        precision = shared / sum(self._idf(w) for w in words)
        return 2 * recall * precision / (recall + precision), precision

    def coverage(self, q: str) -> dict[str, float]:
        """For each program, how much of the question (its informative words, weighted by
        rarity) the program's own text uses: 1.0 = all of it. Words no program uses count
        against every program, so an out-of-pack question explains little anywhere."""
        words = _words(q)
        total = sum(self._idf(w) for w in words)
        if not total:
            return {}
        sure = min(1.0, 0.5 + 0.25 * len(words))  # one word explained is thin evidence
        return {
            pid: sure * sum(self._idf(w) * bag.get(w, 0.0) for w in words) / total
            for pid, bag in self.bags.items()
        }

    # -- evidence ------------------------------------------------------------------------

    def _mentions(self, q: str) -> list[_Mention]:
        """Exact mentions of aliases and keywords, without those inside a longer one. An
        age the caller gives mentions the age keywords it reaches (85岁 says 80岁)."""
        found: list[_Mention] = []
        for term in self.terms:
            start = q.find(term.text)
            while start >= 0:
                found.append(_Mention(term, start, start + len(term.text)))
                start = q.find(term.text, start + 1)
        service = next((t for t in self.terms if t.text == HOME_SERVICE), None)
        if service and is_price_question(q):
            for m in _HOME_VISIT.finditer(q):
                if not any(f.start < m.end() and m.start() < f.end for f in found):
                    found.append(_Mention(service, m.start(), m.end()))  # 上门洗澡 = 上门服务
        for m in _AGE.finditer(q):
            age = int(m.group(1) or m.group(2) or {"八": 80, "九": 90, "百": 100}.get(m.group(3), 0))
            for term in self.terms:
                at = _AGE_TERM.match(term.text)
                if at and int(at.group(1)) <= age < 130 and not any(f.term is term for f in found):
                    found.append(_Mention(term, m.start(), m.end()))
        kept = []
        for mention in found:
            inside = any(
                o is not mention
                and o.start <= mention.start
                and mention.end <= o.end
                and (o.end - o.start) > (mention.end - mention.start)
                for o in found
            )
            if not inside:
                kept.append(mention)
        return kept

    def score(self, query: str) -> list[_Scored]:
        """Programs ranked by the evidence the query gives for them, best first."""
        q = _prep(query)
        if not q:
            return []
        qm = _match_form(query)
        sound, spans = _sound_spans(qm)
        qs = _QuerySound(sound, spans)
        q_topic = _topic(q)
        mentions = self._mentions(qm)
        coverage = self.coverage(q)
        by_program: dict[str, list[_Mention]] = {}
        for m in mentions:
            by_program.setdefault(m.term.program_id, []).append(m)

        signals: dict[str, list[tuple[float, str, str]]] = {}  # pid -> (s, kind, text)
        for pid, ms in by_program.items():
            seen: set[str] = set()
            for m in sorted(ms, key=lambda m: m.term.weight, reverse=True):
                if m.term.text in seen:
                    continue
                seen.add(m.term.text)
                weight = m.term.weight
                if m.term.kind == "keyword" and _inside_a_word(qm, m):
                    weight *= PART_OF_WORD  # 保险 in 养老保险, 护理 in 护理员
                signals.setdefault(pid, []).append((weight, m.term.kind, m.term.text))

        # names heard by sound only, where no exact mention of another program already is
        sound_best: dict[str, tuple[float, str]] = {}
        heard_in_full: set[str] = set()  # a name of three syllables or more, every one heard
        for term in self.terms:
            if (
                term.kind != "alias"
                or term.program_id in by_program
                and any(m.term.kind == "alias" for m in by_program[term.program_id])
            ):
                continue
            if len(term.sound) < 3:
                continue  # two syllables sound alike too often (饭堂 / 探访)
            raw, (a, b) = _sound_match(term.sound, qs)
            if raw < SOUND_FLOOR or not _heard_otherwise(qm[a:b], term):
                continue
            if any(
                m.term.program_id != term.program_id
                and m.start < b
                and a < m.end
                and min(b, m.end) - max(a, m.start) >= (b - a) / 2
                for m in mentions
            ):
                continue  # mostly the words of another program said exactly
            s = SOUND_WEIGHT * raw
            if s > sound_best.get(term.program_id, (0.0, ""))[0]:
                sound_best[term.program_id] = (s, term.text)
            if raw >= 1.0:
                heard_in_full.add(term.program_id)
        for pid, (s, text) in sound_best.items():
            signals.setdefault(pid, []).append((s, "sound", text))

        # FAQ phrasings (an FAQ for a group only counts when the caller names the group)
        faq_best: dict[str, tuple[float, str]] = {}
        group_hit: set[str] = set()
        q_words = {w: self._idf(w) for w in _words(q)}
        q_weight = sum(q_words.values())
        asks_price = is_price_question(q)
        for entry in self.faqs:
            if entry.faq.group and not _names_group(entry.faq, q):
                continue
            if entry.priced and not asks_price:
                continue  # a phrasing asking a price is no paraphrase of a question that does not
            f1, said = self._word_f1(q_words, q_weight, entry.words)
            # characters alike count less when the FAQ's own telling words go unsaid
            # (80岁以上的老人都要做评估吗 is not 80岁以上的老人有什么政策)
            sim = max(
                f1,
                _faq_topic_score(entry.topic, q_topic)
                * (FAQ_UNSAID + (1 - FAQ_UNSAID) * said if entry.words else 1.0),
            )
            if sim < FAQ_FLOOR:
                continue
            if entry.faq.group:
                group_hit.add(entry.program_id)
            s = FAQ_WEIGHT * sim
            if s > faq_best.get(entry.program_id, (0.0, ""))[0]:
                faq_best[entry.program_id] = (s, entry.faq.question)
        for pid, (s, text) in faq_best.items():
            signals.setdefault(pid, []).append((s, "faq", text))

        # what the question means: the program whose phrasings are most alike, if it leads
        meant: dict[str, float] = {}
        leads: dict[str, float] = {}  # the most alike program: how clearly it leads
        sims = self.meaning.similarities(query) if self.meaning is not None else None
        if sims and len(sims) > 1:
            (pid, sim), (_next, runner_up) = sorted(sims.items(), key=lambda kv: kv[1], reverse=True)[:2]
            alike = min(1.0, (sim - MEANING_LO) / (MEANING_HI - MEANING_LO))
            lead = min(1.0, (sim - runner_up) / MEANING_LEAD)
            if alike > 0 and lead > 0:
                meant[pid] = alike * lead
                leads[pid] = lead
                signals.setdefault(pid, []).append((MEANING_WEIGHT * alike * lead, "meaning", ""))

        # the program's own texts use the question's words
        # (less so when another program's texts explain it as well)
        ranked_cov = sorted(coverage.values(), reverse=True) + [0.0, 0.0]
        for pid, cov in coverage.items():
            other = ranked_cov[1] if cov == ranked_cov[0] else ranked_cov[0]
            content = CONTENT_WEIGHT * (cov - CONTENT_SHARED * other)
            if cov >= CONTENT_FLOOR and content > 0:
                signals.setdefault(pid, []).append((content, "content", ""))

        scored = []
        for pid, sig in signals.items():
            sig.sort(reverse=True)
            best = sig[0][0]
            bonus = min(BONUS_CAP, sum(s * w for (s, _k, _t), w in zip(sig[1:], BONUS_SHARES)))
            kinds: dict[str, float] = {}
            for s, kind, _t in sig:
                kinds[kind] = max(kinds.get(kind, 0.0), round(s, 3))
            score = evidence = best + bonus + (GROUP_BONUS if pid in group_hit else 0.0)
            # the strongest reading by words (the meaning may be stronger still) is a word
            # said: a name, a keyword, an FAQ phrasing
            said = next((k for _s, k, _t in sig if k != "meaning"), "") in ("alias", "keyword", "faq")
            if said and pid in leads:
                # two independent readings agree: the words said (a name, a keyword, an
                # FAQ phrasing) and what the whole question means (e5)
                score = evidence = score + CORROBORATED * leads[pid]
            elif (
                coverage
                and sig[0][1] not in ("content", "meaning")
                and not any(m.term.kind == "alias" for m in by_program.get(pid, ()))
                and not (sig[0][1] == "sound" and pid in heard_in_full)
            ):
                # a keyword, a sound or an FAQ alone, in a question the program's texts
                # hardly explain, is a coincidence more often than not
                explained = max(min(1.0, coverage.get(pid, 0.0) / EXPLAINED_ENOUGH), meant.get(pid, 0.0))
                score *= UNEXPLAINED_KEEP + (1 - UNEXPLAINED_KEEP) * explained
            scored.append(
                _Scored(
                    pid,
                    min(0.99, score),
                    sig[0][2] or pid,
                    kinds,
                    tuple(by_program.get(pid, ())),
                    min(0.99, evidence),
                )
            )
        # a program heard by sound only never outranks one named in characters
        named = [s.score for s in scored if s.mentions]
        if named:
            ceiling = max(named) - 0.01
            for result in scored:
                heard = not result.mentions and max(result.signals, key=result.signals.__getitem__) == "sound"
                if heard and result.score > ceiling:
                    result.score = ceiling
        scored.sort(key=lambda s: (s.score, len(s.mentions)), reverse=True)
        if not self._topic_first(scored, sims):
            self._meaning_decides(scored, sims)
        return scored

    def _is_group_term(self, term: _Term) -> bool:
        """The term says who the caller is (低保户, 失独老人, 瘫痪, 80岁), not what is asked."""
        return bool(_AGE_TERM.match(term.text)) or _only_group_words(term.text, self.group_words)

    def _speaks_of(self, pid: str, text: str) -> bool:
        """The program's names, keywords or FAQ questions use a word of `text`."""
        bag = self.bags[pid]
        return text in self.own_text[pid] or any(bag.get(w, 0.0) >= 1.0 for w in _words(text))

    def _topic_first(self, scored: list[_Scored], sims: dict[str, float] | None) -> bool:
        """The best program named only by who the caller is (低保户的老人家里能改造卫生间吗:
        低保 names the caller, 改造卫生间 what is asked) and another program named by what
        is asked, its own evidence within TOPIC_OVER_GROUP, and the whole question meaning
        the topic more than the group (the meaning signal): the topic comes first. Scores
        are exchanged (as in `_meaning_decides`), so the confidence stays as sure as the
        stronger of the two readings. True when it reordered."""
        if len(scored) < 2:
            return False
        first = scored[0]
        if not first.mentions or not all(self._is_group_term(m.term) for m in first.mentions):
            return False
        for i, other in enumerate(scored[1:4], start=1):
            # a topic the group's own program speaks of too stays with it (特困老人住养老院:
            # the support of 特困 people is a place in a home; 失独家庭的扶助)
            own = [
                m
                for m in other.mentions
                if not self._is_group_term(m.term)
                and not any(m.overlaps(f) for f in first.mentions)
                and not self._speaks_of(first.program_id, m.term.text)
            ]
            if not own or max(m.term.weight for m in own) < KEYWORD_BASE - 0.1:
                continue
            if other.evidence < first.evidence - TOPIC_OVER_GROUP:
                continue
            if not sims or sims.get(other.program_id, 0.0) <= sims.get(first.program_id, 0.0):
                continue  # the words and the meaning of the question disagree: leave it
            first.score, other.score = other.score, first.score
            scored[0], scored[i] = other, first
            return True
        return False

    @staticmethod
    def _meaning_decides(scored: list[_Scored], sims: dict[str, float] | None) -> None:
        """Two programs both named in characters, close in score (低保家庭的老人吃饭有没有
        优惠: 低保 names who asks, 吃饭 what is asked; 特困户的老人能不能进养老院: the
        other way round): the one the whole question clearly means comes first. Their
        scores are exchanged, so the confidence stays as unsure as the two were."""
        if not sims or len(sims) < 2 or len(scored) < 2:
            return
        first, second = scored[0], scored[1]
        if not first.mentions or not second.mentions or first.score - second.score > MEANING_DECIDES:
            return
        (meant, sim), (_next, runner_up) = sorted(sims.items(), key=lambda kv: kv[1], reverse=True)[:2]
        if meant == second.program_id and sim - runner_up >= MEANING_DECIDES_GAP:
            first.score, second.score = second.score, first.score
            scored[0], scored[1] = second, first

    def two_topics(self, query: str, scored: list[_Scored], threshold: float) -> list[_Scored]:
        """The programs after the first that the question also asks about: each named
        exactly, apart from the first's words, joined to them by 和/跟/还有/、..."""
        # each topic explains only its half of the question: judged on its own evidence
        bar = threshold - JOINED_EASE
        if len(scored) < 2 or not scored[0].mentions or scored[0].evidence < bar:
            return []
        marked = _match_form(query, marked=True)
        index = [i for i, ch in enumerate(marked) if ch != "、"]  # match position -> marked
        taken = list(scored[0].mentions)
        also: list[_Scored] = []
        for other in scored[1:4]:
            if other.evidence < bar or not other.mentions:
                continue
            own = [m for m in other.mentions if not any(m.overlaps(t) for t in taken)]
            if not own:
                continue
            # any of its own names or telling keywords next to the joiner (时间银行存的时间
            # ……和互助养老: 存时间 is joined, 时间银行 further off)
            telling = [m for m in own if m.term.kind != "keyword" or m.term.weight >= 0.7]
            if len(also) + 1 >= MAX_TOPICS:
                # a third topic only by its name (老年大学、时间银行和助餐点), never by a
                # keyword that may belong to another topic's clause (时间银行能换上门服务)
                telling = [m for m in telling if m.term.kind == "alias"]
            if any(_joined(marked, index, t, m) for t in taken for m in telling):
                also.append(other)
                taken.extend(own)
        return also

    @staticmethod
    def confidence(scored: list[_Scored]) -> float:
        """How sure the best program is the one asked about: its score, less when the
        runner-up comes close (two near-equal candidates are a guess between them)."""
        if not scored:
            return 0.0
        top = scored[0].score
        if len(scored) < 2:
            return top
        return top - CLOSE_PENALTY * max(0.0, scored[1].score - (top - CLOSE_MARGIN))

    @staticmethod
    def in_order(scored: list[_Scored]) -> list[_Scored]:
        """Programs of a two-topic question in the order the caller named them."""
        return sorted(scored, key=lambda s: min((m.start for m in s.mentions), default=0))

    @staticmethod
    def part_for(query: str, own: _Scored, others: list[_Scored]) -> str:
        """The question as it concerns `own`: the other programs' words taken out
        (助餐和助浴怎么收费 -> 助餐和怎么收费 for 助餐)."""
        q = _match_form(query)
        for m in sorted(
            (m for o in others if o is not own for m in o.mentions), key=lambda m: m.start, reverse=True
        ):
            q = q[: m.start] + q[m.end :]
        return q

    def price_program(self, query: str, top: _Scored) -> str | None:
        """For a price question about a program whose texts give no price: the program
        about prices whose names say the price of what was named (居家养老服务的价钱 ->
        the program with the alias 居家养老服务价格), or None."""
        q = _prep(query)
        program = self.programs[top.program_id]
        if not is_price_question(q) or has_price(program):
            return None
        said = {m.term.text for m in top.mentions}
        for term in self.terms:
            if (
                term.kind == "alias"
                and term.program_id != top.program_id
                and any(w in term.text for w in _PRICE_NAMES)
                and any(term.text.startswith(t) and len(t) >= 2 for t in said)
            ):
                return term.program_id
        return None

    def resolve(self, name: str) -> str | None:
        """A program id for a name the NLU extracted, heard right or by sound, or None."""
        prepped = _match_form(name)
        sound, spans = _sound_spans(prepped)
        qs = _QuerySound(sound, spans)
        best_id, best = None, 0.0
        for term in self.terms:
            if term.kind != "alias":
                continue
            s = _name_score(term.text, term.sound, prepped, qs)
            if s > best:
                best_id, best = term.program_id, s
        return best_id if best >= 0.85 else None

    # -- which FAQ answers ---------------------------------------------------------------

    @staticmethod
    def best_faq(program: "Program", q: str, facet: str | None) -> "Faq | str | None":
        """The FAQ of `program` that answers the prepared question `q`; NO_PRICE when it
        asks a price the program's documents do not give; None: the summary answers."""
        if not q:
            return None
        # within one program its own name says nothing: compare what is asked about it
        names = sorted(
            {_prep(n) for n in (program.name, program.short_name, *program.aliases)}, key=len, reverse=True
        )
        q_core = _strip(_strip(q, names), _FILLERS)
        allowed = [f for f in program.faq if not f.group or _names_group(f, q)]
        if is_price_question(q):
            priced = [f for f in allowed if _is_price_faq(f)]
            if not priced:
                return None if any(w in program.summary for w in _PRICE_TEXT) else NO_PRICE
            allowed = priced
            if len(priced) == 1:
                return priced[0]
            facet = "amount"
        elif len(_strip(q_core, _FACET_WORDS)) <= 1:
            # only "how much?" / "where?" about the program: the one FAQ of that aspect if
            # there is exactly one; "what is it?" is the summary's job
            if facet in (None, "what"):
                return None
            same = [f for f in allowed if f.facet == facet and not f.group]
            if len(same) == 1:
                return same[0]
        best, best_score = None, 0.0
        for f in allowed:
            score = 0.0
            for phrasing in f.phrasings:
                f_core = _strip(_strip(_prep(phrasing), names), _FILLERS)
                score = max(
                    score, _dice(f_core, q_core), fuzz.ratio(_sound(f_core), _sound(q_core)) / 100 * 0.9
                )
            if facet and f.facet == facet:
                score += 0.15
            elif facet and f.facet and f.facet != facet:
                score -= 0.25
            if score > best_score:
                best, best_score = f, score
        if best is None and is_price_question(q):
            return allowed[0]
        return best if best_score >= 0.5 or is_price_question(q) else None


NO_PRICE = "no_price"
_PRICE_NAMES = ("价格", "收费", "价钱", "多少钱", "价目")


def has_price(program: "Program") -> bool:
    """Whether the program's texts say anything about what it costs."""
    return any(_is_price_faq(f) for f in program.faq if not f.group) or any(
        w in program.summary for w in _PRICE_TEXT
    )


def _names_group(faq: "Faq", q: str) -> bool:
    return any(_prep(word) in q for word in faq.group)


@functools.lru_cache(maxsize=1024)
def _word_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Where jieba's words of `text` start and end (none when jieba is not installed)."""
    jieba = _jieba()
    if jieba is None:  # pragma: no cover
        return ()
    return tuple((start, end) for _w, start, end in jieba.tokenize(text))


def _inside_a_word(q: str, m: _Mention) -> bool:
    """The mention is only part of a longer word of the question."""
    return any(a <= m.start and m.end <= b and b - a > m.end - m.start for a, b in _word_spans(q))


def _joined(marked: str, index: list[int], a: _Mention, b: _Mention) -> bool:
    """Whether the words between two mentions join two topics (和, 跟, 还有, 、...)."""
    first, second = (a, b) if a.start <= b.start else (b, a)
    if first.end > second.start:
        return False
    lo = index[first.end - 1] + 1
    hi = index[second.start] if second.start < len(index) else len(marked)
    gap = marked[lo:hi]
    rest = marked[index[second.end - 1] + 1 :]
    if len(gap) <= 12 and rest.endswith("呢") and len(rest) <= 3:
        return True  # 老年大学怎么报名，时间银行呢
    return len(gap) <= 8 and any(j in gap for j in _JOINERS)


def _bag(program: "Program") -> dict[str, float]:
    """The words of a program's texts: its names, keywords and FAQ questions count in
    full, what its answers say a little less."""
    bag: dict[str, float] = {}

    def add(text: str, weight: float) -> None:
        for w in _words(_prep(text)):
            bag[w] = max(bag.get(w, 0.0), weight)

    for text in (program.name, program.short_name, *program.aliases, *program.keywords):
        add(text, 1.0)
    for f in program.faq:
        for phrasing in f.phrasings:
            add(phrasing, 1.0)
        add(f.answer, 0.7)
    for text in (program.summary, *program.benefits, program.target_group):
        add(text, 0.7)
    return bag


# the words that, with these, still only say who someone is (失独老人, 低保户, 残疾人家庭)
_PERSON_SUFFIXES = ("老年人", "老人家", "老人", "家庭", "人员", "对象", "人家", "户", "人", "者")


def _group_words(programs: Iterable["Program"]) -> frozenset[str]:
    """The words that name a group of callers: those the pack's group FAQs are written for
    (faq `group:`), and their everyday synonyms (_SAME: 瘫痪 for 卧床, 五保 for 特困)."""
    words = {_match_form(w) for p in programs for f in p.faq for w in f.group}
    for group in _SAME:
        if any(_match_form(w) in words for w in group):
            words.update(_match_form(w) for w in group)
    return frozenset(w for w in words if w)


def _only_group_words(text: str, group_words: frozenset[str]) -> bool:
    """`text` is made of group words and person words only (失独老人, 低保边缘户)."""
    rest, found = text, False
    for w in sorted(group_words, key=len, reverse=True):
        if w in rest:
            rest, found = rest.replace(w, ""), True
    if not found:
        return False
    for s in _PERSON_SUFFIXES:
        rest = rest.replace(s, "")
    return not rest
