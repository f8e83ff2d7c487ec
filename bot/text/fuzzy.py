"""Pinyin-aware correction of domain terms misheard by phone ASR.

Speech recognisers get the sound right and the characters wrong: 转人工 comes back as
赚人工, 挂号 as 挂耗, 助浴 as 助欲, 五老村 as 五老春. We compare toneless pinyin, with the
sounds southern and older speakers merge folded together (zh/z, ch/c, sh/s, l/n, -ng/-n),
and only replace a span when
- it sounds the same as a domain term (for three characters and more: rapidfuzz ratio of the
  folded pinyin >= MIN_SCORE), and
- it shares at least one character with the term (ASR rarely gets every character wrong;
  this keeps unrelated words with the same sound out), and
- it is not itself a known word (jieba's dictionary, or NEVER_CORRECT).
Two-character terms must match without folding: short words collide too easily.
"""

from __future__ import annotations

import functools
import re
from typing import Callable

from rapidfuzz import fuzz

MIN_SCORE = 90.0
COMMON_WORD_FREQ = 20  # jieba frequency from which a word straddling a span blocks it

from bot.text.facts import DISTRICT_STREETS as STREETS  # noqa: E402  (one home: the rule pack)

# Terms callers say and ASR mishears; their correct spelling is what the NLU was trained on.
DOMAIN_TERMS = STREETS + (
    "转人工",
    "人工服务",
    "人工客服",
    "挂号",
    "助浴",
    "助餐",
    "助洁",
    "陪诊",
    "助医",
    "助行",
    "上门服务",
    "居家养老",
    "高龄补贴",
    "高龄津贴",
    "家庭养老床位",
    "长期护理保险",
    "长护险",
    "时间银行",
    "适老化改造",
    "助餐点",
    "银发顾问",
    "养老顾问",
    "低保",
    "低保边缘",
    "特困",
    "失能",
    "失智",
    "半失能",
    "独居",
    "空巢",
    "养老服务",
    "护理补贴",
    "服务补贴",
    "老年食堂",
    "老年大学",
    "医养融合",
    "家庭医生",
    "能力评估",
    "失能评估",
    "特惠对象",
    "普惠对象",
    "12349",
)
# Real words that sound like a domain term: never "correct" them.
NEVER_CORRECT = frozenset({"挂好", "助于", "有助", "低薄", "特困户", "失明", "实质", "时能", "空潮"})
_HAN = re.compile(r"^[\u4e00-\u9fff]+$")


def fold_syllable(syllable: str) -> str:
    """Merges the sounds many speakers do not distinguish (southern accents, older callers)."""
    if syllable[:2] in ("zh", "ch", "sh"):
        syllable = syllable[0] + syllable[2:]
    if syllable.startswith("l"):
        syllable = "n" + syllable[1:]
    if syllable.endswith(("ang", "eng", "ing")):
        syllable = syllable[:-1]
    return syllable


@functools.lru_cache(maxsize=1)
def _pinyin() -> Callable[..., list[str]]:
    from pypinyin import lazy_pinyin  # imported here: ~0.3 s, only on first use

    return lazy_pinyin


def syllables(text: str) -> list[str]:
    """Toneless pinyin, one item per character (non-Chinese characters stay themselves)."""
    lazy_pinyin = _pinyin()
    out: list[str] = []
    for piece in re.findall(r"[\u4e00-\u9fff]+|[^\u4e00-\u9fff]", text):
        if _HAN.match(piece):
            sy = lazy_pinyin(piece)
            out.extend(sy if len(sy) == len(piece) else [lazy_pinyin(ch)[0] for ch in piece])
        else:
            out.append(piece)
    return out


@functools.lru_cache(maxsize=1)
def _known_words() -> dict[str, int]:
    try:
        import jieba

        jieba.setLogLevel(60)
        jieba.initialize()
        freq: dict[str, int] = jieba.dt.FREQ
        return freq
    except Exception:  # jieba missing: fall back to the explicit list only
        return {}


@functools.lru_cache(maxsize=1)
def _term_index() -> list[tuple[str, list[str], str]]:
    index = []
    for term in DOMAIN_TERMS:
        if not _HAN.match(term):
            continue
        plain = syllables(term)
        index.append((term, plain, " ".join(fold_syllable(s) for s in plain)))
    return index


def _is_known_word(span: str) -> bool:
    return span in NEVER_CORRECT or bool(_known_words().get(span))


def _crosses_a_word(text: str, start: int, end: int) -> bool:
    """True when a common word straddles an edge of text[start:end]: in 你是智能客服 the
    span 是智 sounds like 失智 but 智能 is a word, so 是智 is not what ASR produced."""
    words = _known_words()
    for edge in (start, end):
        for a in range(max(0, edge - 3), edge):
            for b in range(edge + 1, min(len(text), a + 4) + 1):
                if words.get(text[a:b], 0) >= COMMON_WORD_FREQ:
                    return True
    return False


def _close_syllables(heard: str, term: str) -> bool:
    """A slip keeps each syllable's sound once the merged sounds are folded (chun/cun,
    ying/yin, lin/nin); ding against dian is another syllable, not a slip."""
    return fold_syllable(heard) == fold_syllable(term)


@functools.lru_cache(maxsize=4096)
def match_term(span: str) -> tuple[str, float] | None:
    """The domain term `span` most likely is (and the score 0-100), or None."""
    if not span or not _HAN.match(span):
        return None
    candidates = [
        entry for entry in _term_index() if len(entry[0]) == len(span) and set(entry[0]) & set(span)
    ]
    if not candidates:
        return None
    best: tuple[str, float] | None = None
    plain = syllables(span)
    folded = " ".join(fold_syllable(s) for s in plain)
    for term, term_plain, term_folded in candidates:
        if len(term) <= 2:
            score = 100.0 if plain == term_plain else 0.0
        elif not all(_close_syllables(a, b) for a, b in zip(plain, term_plain)):
            score = 0.0  # 助餐订 (ding) is not a slip of 助餐点 (dian): another word follows
        else:
            score = fuzz.ratio(folded, term_folded)
        if score >= MIN_SCORE and (best is None or score > best[1]):
            best = (term, score)
    return best


def correct_terms(text: str) -> str:
    """Replaces spans that sound like a domain term and are not words of their own:
    我要赚人工 -> 我要转人工, 帮我挂耗 -> 帮我挂号, 住在五老春 -> 住在五老村."""
    if not text or not re.search(r"[\u4e00-\u9fff]", text):
        return text
    chars = set(text)
    lengths = sorted({len(t) for t, _, _ in _term_index() if set(t) & chars}, reverse=True)
    if not lengths:
        return text
    replacements: list[tuple[int, int, str]] = []
    taken = [False] * len(text)  # replaced already
    correct = [False] * len(text)  # inside a term spelled right: must not change
    for length in lengths:
        for i in range(len(text) - length + 1):
            if text[i : i + length] in DOMAIN_TERMS:
                correct[i : i + length] = [True] * length
    for length in lengths:  # longer terms first: 家庭养老床位 before 养老
        for i in range(len(text) - length + 1):
            if any(taken[i : i + length]):
                continue
            span = text[i : i + length]
            if span in DOMAIN_TERMS:
                continue
            found = match_term(span)
            if found is None or _is_known_word(span) or _crosses_a_word(text, i, i + length):
                continue
            if any(correct[i + k] for k in range(length) if span[k] != found[0][k]):
                continue
            replacements.append((i, i + length, found[0]))
            taken[i : i + length] = [True] * length
    for start, end, term in sorted(replacements, reverse=True):
        text = text[:start] + term + text[end:]
    return text
