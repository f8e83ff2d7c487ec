"""The safety layer: is this message a crisis, an emergency or a scam?

It reads every message before, and independently of, intent classification and of any
form in progress (the Rasa component `rasa_ext.nlu_components.SafetyLayer` calls `assess` last
in the pipeline and its answer replaces the classifier's). The cues are data
(`cues.yml`, with comments); this module only applies them:

1. crisis (wanting to die, self-harm, goodbye for ever),
2. emergency (falls, bleeding, not responding, chest pain, breathlessness, stroke signs,
   fire, gas, a missing elder with dementia),
3. scam, only on concrete cues, with the stage (paid, in progress, asking),
4. `unsure` when the message is near a high-stakes reading without a concrete cue, or the
   classifier (trained with crisis, emergency and scam examples) reads one the cues miss,
   so the assistant asks one question instead of guessing (and, in the pipeline, when the
   meaning net `bot.safety.meaning` finds a message with no reading near a danger); not
   on a score alone when another office plainly handles the message (`another_office`:
   a referral of policies/national/referrals.yml fits), and
5. `denial` ("不是诈骗", "你搞错了"): the caller correcting a wrong reading.

A crisis word the caller denies ("我没有想不开") is asked about, never asserted nor dropped.
A message with no high-stakes reading is read once more with the danger words a phone line
mishears put back by their sound (cues.yml `homophones`, bot.text.fuzzy's pinyin and word list:
快叫就护车 -> 救护车); that second reading can only add a danger or scam reading.

Pure Python, no Rasa: tested on its own (tests/test_safety_layer.py) and measured by
benchmarks/safety_eval.py.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

CUES_PATH = Path(__file__).with_name("cues.yml")

# The intents the safety layer sets; any form in progress gives way to them.
LAYER_INTENTS = frozenset(
    {"crisis", "emergency", "scam_report", "safety_check", "safety_denial", "privacy_request"}
)
# Classifier intents that are high-stakes readings (what the classifier may guess).
SAFETY_INTENTS = {"emergency": "emergency", "crisis": "crisis", "scam_report": "scam"}
# Below this the classifier's ordinary reading is weak enough to ask about a near-miss.
WEAK_CLASSIFIER = 0.5
# From these confidences (anywhere in the ranking) a classifier's reading without a
# concrete cue is asked about, with one question. Chosen on the dev sets and the shared
# corpus (benchmarks/RESULTS.md, safety section): there 2-5 % of ordinary lines get the
# question. Scam needs more: a wrong scam question to a caller asking for a person is a
# turn lost, a wrong danger question is cheap next to a missed crisis.
CLASSIFIER_ASK = {"crisis": 0.4, "emergency": 0.4, "scam": 0.6}
# ...but a score alone below this, in a message that is plainly something else (cues.yml
# `classifier_alone`), is not asked about. Chosen on dev4-dev6: the danger and scam lines
# asked on the score alone there scored 0.85-1.00, the ordinary ones mostly 0.4-0.9.
CLASSIFIER_ALONE_SURE = 0.9
# A scam cue is asked about instead of warned on when the classifier gives scam less than
# CLASSIFIER_RULES_OUT and an ordinary intent at least CLASSIFIER_SURE (shared corpus: half
# its false scam warnings become questions, 2 of 39 real scams get the question first).
# Never for danger: a real emergency must not wait for a question.
CLASSIFIER_RULES_OUT = 0.1
CLASSIFIER_SURE = 0.5


@dataclass(frozen=True)
class Assessment:
    kind: str = "none"  # crisis | emergency | scam | unsure | denial | privacy | none
    category: str | None = None  # which cue group (fall, stroke, wish_to_die...)
    stage: str | None = None  # scam: paid | in_progress | asking
    suspected: str | None = None  # unsure: the high-stakes kind it is near
    matched: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "category": self.category,
            "stage": self.stage,
            "suspected": self.suspected,
        }


@dataclass(frozen=True)
class _Group:
    id: str
    any: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()
    require: tuple[re.Pattern[str], ...] = ()

    def match(self, text: str, negation: re.Pattern[str] | None = None) -> str | None:
        """The first hit of `any`, if `require` and not `unless`; with `negation`, a hit
        right after a denying word ("不是摔倒") is skipped and the search goes on."""
        if self.require and not _first(self.require, text):
            return None
        hit = _first(self.any, text) if negation is None else _first_affirmed(self.any, text, negation)
        if hit is None or _first(self.unless, text):
            return None
        return hit


@dataclass(frozen=True)
class Cues:
    past: re.Pattern[str]
    negation: re.Pattern[str]
    correction: re.Pattern[str]
    history_groups: frozenset[str]
    intermittent: re.Pattern[str]
    crisis_ask_instead: tuple[re.Pattern[str], re.Pattern[str]]  # (hit, context)
    now: re.Pattern[str]
    today: re.Pattern[str]
    hypothetical: re.Pattern[str]
    hypothetical_unless: re.Pattern[str]
    denial: tuple[re.Pattern[str], ...]
    crisis: tuple[_Group, ...]
    emergency: tuple[_Group, ...]
    scam_strong: tuple[re.Pattern[str], ...]
    scam_ask: tuple[re.Pattern[str], ...]
    scam_actor: tuple[re.Pattern[str], ...]
    scam_unless: tuple[re.Pattern[str], ...]
    scam_never: tuple[re.Pattern[str], ...]
    scam_topic_shift: tuple[re.Pattern[str], ...]
    scam_despite_referral: tuple[re.Pattern[str], ...]
    scam_history: re.Pattern[str]
    scam_refused: re.Pattern[str]
    scam_refused_unless: re.Pattern[str]
    scam_refused_asks: re.Pattern[str]
    scam_refused_but: re.Pattern[str]
    plain_request: re.Pattern[str]
    scam_question: re.Pattern[str]
    stage_paid: tuple[re.Pattern[str], ...]
    stage_in_progress: tuple[re.Pattern[str], ...]
    suspicion: tuple[re.Pattern[str], ...]
    unsure: dict[str, tuple[re.Pattern[str], ...]]
    ask_always: dict[str, tuple[re.Pattern[str], ...]]
    privacy: tuple[re.Pattern[str], ...]  # ask, give, other
    homophones: tuple[str, ...] = ()


def _compile(patterns: Iterable[str] | None) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns or ())


def _first(patterns: Iterable[re.Pattern[str]], text: str) -> str | None:
    for pattern in patterns:
        m = pattern.search(text)
        if m:
            return m.group(0)
    return None


# How far before a hit a denying word is looked for ("不是摔倒", "并没有着火").
NEGATION_REACH = 3


def _first_affirmed(patterns: Iterable[re.Pattern[str]], text: str, negation: re.Pattern[str]) -> str | None:
    """Like _first, but skips a hit that a denying word just before it negates."""
    for pattern in patterns:
        for m in pattern.finditer(text):
            if not negation.search(text, max(0, m.start() - NEGATION_REACH), m.start()):
                return m.group(0)
    return None


def _groups(raw: list[dict[str, Any]]) -> tuple[_Group, ...]:
    return tuple(
        _Group(
            id=g["id"],
            any=_compile(g["any"]),
            unless=_compile(g.get("unless")),
            require=_compile(g.get("require")),
        )
        for g in raw
    )


def _expand(node: Any, words: dict[str, str]) -> Any:
    """`node` with each `{%name%}` in its strings replaced by the cue file's `words` entry."""
    if isinstance(node, str):
        for name, text in words.items():
            node = node.replace("{%" + name + "%}", text)
        if "{%" in node:
            raise ValueError(f"unknown word list in cue: {node}")
        return node
    if isinstance(node, list):
        return [_expand(x, words) for x in node]
    if isinstance(node, dict):
        return {k: _expand(v, words) for k, v in node.items()}
    return node


@functools.lru_cache(maxsize=4)
def load_cues(path: Path = CUES_PATH) -> Cues:
    """The cue file, compiled; a malformed pattern fails here, at start-up."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw = _expand(raw, raw.pop("words", None) or {})
    scam = raw["scam"]
    return Cues(
        past=re.compile(raw["past"]),
        negation=re.compile(raw["negation"]),
        correction=re.compile(raw["correction"]),
        history_groups=frozenset(raw["history_groups"]),
        intermittent=re.compile(raw["intermittent"]),
        crisis_ask_instead=(
            re.compile(raw["crisis_ask_instead"]["hit"]),
            re.compile(raw["crisis_ask_instead"]["context"]),
        ),
        now=re.compile(raw["now"]),
        today=re.compile(raw["today"]),
        hypothetical=re.compile(raw["hypothetical"]),
        hypothetical_unless=re.compile(raw["hypothetical_unless"]),
        denial=_compile(raw["denial"]),
        crisis=_groups(raw["crisis"]),
        emergency=_groups(raw["emergency"]),
        scam_strong=_compile(scam["strong"]),
        scam_ask=_compile(scam["ask"]),
        scam_actor=_compile(scam["actor"]),
        scam_unless=_compile(scam["unless"]),
        scam_never=_compile(scam["never"]),
        scam_topic_shift=_compile(scam["topic_shift"]),
        scam_despite_referral=_compile(scam["despite_referral"]),
        scam_history=re.compile(scam["history"]),
        scam_refused=re.compile(scam["refused"]),
        scam_refused_unless=re.compile(scam["refused_unless"]),
        scam_refused_asks=re.compile(scam["refused_asks"]),
        scam_refused_but=re.compile(scam["refused_but"]),
        plain_request=re.compile(raw["classifier_alone"]["request"]),
        scam_question=re.compile(scam["question"]),
        stage_paid=_compile(scam["stage_paid"]),
        stage_in_progress=_compile(scam["stage_in_progress"]),
        suspicion=_compile(scam["suspicion"]),
        unsure={k: _compile(v) for k, v in raw["unsure"].items()},
        ask_always={k: _compile(v) for k, v in raw["ask_always"].items()},
        privacy=tuple(re.compile(raw["privacy_request"][k]) for k in ("ask", "give", "other")),
        homophones=tuple(raw.get("homophones") or ()),
    )


def _common_word(word: str) -> bool:
    from bot.text.fuzzy import COMMON_WORD_FREQ, _known_words

    return _known_words().get(word, 0) >= COMMON_WORD_FREQ


# Particles that follow any word: a word made of a changed character and one of these
# (疯了, 到了) says nothing against the repair (中疯了 is 中风了).
_PARTICLES = frozenset("了着过的地得啦呀吧呢吗")


def _joins_outside(text: str, start: int, end: int, positions: list[int]) -> bool:
    """True when a changed character at `positions` makes a known word with characters
    outside text[start:end] (掉下来 in 炕上掉下来, 一觉 in 一觉不醒): then it is that word,
    not a misheard danger word."""
    from bot.text.fuzzy import _known_words

    words = _known_words()
    for p in positions:
        for a in range(max(0, p - 3), p + 1):
            for b in range(p + 1, min(len(text), a + 4) + 1):
                if b - a < 2 or (a >= start and b <= end):
                    continue
                outside = text[a:start] + text[max(end, a) : b] if a < start else text[max(end, a) : b]
                if outside and set(outside) <= _PARTICLES:
                    continue
                if words.get(text[a:b]):
                    return True
    return False


def repair_homophones(text: str, words: Iterable[str]) -> str:
    """`text` with each span that sounds like one of the danger `words` but is spelled
    otherwise replaced by that word (cues.yml `homophones` says when a span qualifies):
    快叫就护车 -> 快叫救护车, 家里着伙了 -> 家里着火了; 我孙子在留学 stays as it is."""
    from bot.text.fuzzy import _crosses_a_word, _is_known_word, syllables

    if not text or not re.search(r"[\u4e00-\u9fff]", text):
        return text
    chars = set(text)
    candidates = [w for w in words if set(w) & chars and w not in text]
    if not candidates:
        return text
    heard = syllables(text)
    if len(heard) != len(text):
        return text
    replacements: list[tuple[int, str]] = []
    taken = [False] * len(text)
    for word in sorted(candidates, key=len, reverse=True):
        sound = syllables(word)
        n = len(word)
        for i in range(len(text) - n + 1):
            span = text[i : i + n]
            # a character the word shares keeps its sound whatever pypinyin reads in context
            changed = [k for k in range(n) if span[k] != word[k]]
            if any(taken[i : i + n]) or len(changed) == n or any(heard[i + k] != sound[k] for k in changed):
                continue
            if _is_known_word(span) or _crosses_a_word(text, i, i + n):
                continue
            if _joins_outside(text, i, i + n, [i + k for k in changed]):
                continue
            if any(
                _common_word(span[a:b])
                for k in changed
                for a, b in ((k - 1, k + 1), (k, k + 2))
                if a >= 0 and b <= n
            ):
                continue
            replacements.append((i, word))
            taken[i : i + n] = [True] * n
    for i, word in sorted(replacements, reverse=True):
        text = text[:i] + word + text[i + len(word) :]
    return text


def _history_at(cues: Cues, text: str, hit: str) -> bool:
    """Whether the event of `hit` is history, read clause by clause: a word of `past` after
    it ("摔了一跤，去医院看过了没事") makes it so, and one before it ("去年摔断了腿") unless
    a word of `today` comes between ("老伴以前中过风，今天早上起来嘴歪了")."""
    at = text.find(hit)
    if at < 0:
        return bool(cues.past.search(text))
    found = list(cues.past.finditer(text))
    if any(m.end() > at for m in found):  # after the cue, or part of it ("摔倒过")
        return True
    before = [m.end() for m in found]
    if not before:
        return False
    # searched to the end of the text, so that a lookahead of `today` sees past the cue
    return not any(m.start() < at for m in cues.today.finditer(text, max(before)))


def _emergency(cues: Cues, text: str) -> Assessment | None:
    now = cues.now.search(text)
    comes_and_goes = bool(cues.intermittent.search(text)) and not now
    for group in cues.emergency:
        hit = group.match(text, cues.negation)
        if hit is None:
            continue
        if not now and group.id in cues.history_groups and _history_at(cues, text, hit):
            continue  # history ("去年摔过一跤"), not a call for help
        if comes_and_goes and group.id in cues.history_groups:
            # "胸口有时候闷": maybe now, maybe not; one question
            return Assessment("unsure", category=group.id, suspected="emergency", matched=(hit,))
        if cues.hypothetical.search(text) and not cues.hypothetical_unless.search(text):
            # "万一摔倒了怎么办", a question about an alarm device: ask, do not assert
            return Assessment("unsure", category=group.id, suspected="emergency", matched=(hit,))
        return Assessment("emergency", category=group.id, matched=(hit,))
    return None


def _corrected(cues: Cues, text: str, hit: str) -> str | None:
    """What the caller said instead, when they take back the words of `hit` ("不想活……
    不是，我是说不想活动"); None when they do not."""
    at = text.find(hit)
    if at < 0:
        return None
    m = cues.correction.search(text, at + len(hit))
    return None if m is None else text[m.end() :]


def _turned_away(cues: Cues, text: str, stage: str) -> bool:
    """Whether the caller turned the scam away: in a scam still going on ("让我转钱到安全账户")
    only when the refusal ends the story, after every word of its going on, and nothing but
    the refusal follows ("我没理他，但我老伴把验证码告诉他了" is not turned away)."""
    if stage == "paid":
        return False
    refused = list(cues.scam_refused.finditer(text))
    if not refused:
        return False
    if stage == "asking":
        return True
    last = refused[-1]
    going_on = [m.end() for p in cues.stage_in_progress for m in p.finditer(text)]
    return last.start() >= max(going_on, default=0) and not cues.scam_refused_but.search(text, last.end())


def _scam(cues: Cues, text: str) -> Assessment | None:
    if _first(cues.scam_never, text):
        return None
    strong = _first(cues.scam_strong, text)
    ask, actor = _first(cues.scam_ask, text), _first(cues.scam_actor, text)
    if not strong and not (ask and actor and not _first(cues.scam_unless, text)):
        return None
    in_progress = _first(cues.stage_in_progress, text)
    if _first(cues.stage_paid, text) and not re.search(r"没(给|转|说|交|付|去|投|理)", text):
        stage = "paid"
    elif in_progress:
        stage = "in_progress"
    else:
        stage = "asking"
    matched = tuple(x for x in (strong, ask, actor) if x)
    if stage != "in_progress" and cues.scam_history.search(text):
        # a scam over and done with ("上个月被骗了，已经报过警了，想问问救助"): ask
        return Assessment("unsure", suspected="scam", matched=matched)
    if (
        _turned_away(cues, text, stage)
        and not cues.scam_refused_unless.search(text)
        and not cues.scam_refused_asks.search(text)
    ):
        # turned away with nothing lost ("我直接挂了，没理他"): ask, never warn to hang up
        return Assessment("unsure", suspected="scam", matched=matched)
    if stage == "asking":
        suspicious = _first(cues.suspicion, text)
        if not strong and not suspicious:
            # money and someone else, but no loss, no pressure and no question: ask first
            return Assessment("unsure", suspected="scam", matched=matched)
        if strong and not actor and not suspicious and cues.scam_question.search(text):
            # a scam word but nobody asking for anything ("办补贴要不要交钱"): ask who
            return Assessment("unsure", suspected="scam", matched=matched)
        if _first(cues.scam_topic_shift, text):
            # a scam that came to nothing, then another request: ask before warning
            return Assessment("unsure", suspected="scam", matched=matched)
    return Assessment("scam", category="strong" if strong else "ask_and_actor", stage=stage, matched=matched)


def _classifier_disagrees(ranking: dict[str, float] | None, intent: str) -> bool:
    """The classifier all but rules `intent` out and is confident of an ordinary one."""
    if not ranking:
        return False
    ordinary = max(
        (
            value
            for name, value in ranking.items()
            if name not in SAFETY_INTENTS and name not in LAYER_INTENTS and name != "nlu_fallback"
        ),
        default=0.0,
    )
    return ranking.get(intent, 0.0) < CLASSIFIER_RULES_OUT and ordinary >= CLASSIFIER_SURE


def assess(
    text: str | None,
    intent: str | None = None,
    confidence: float = 1.0,
    cues: Cues | None = None,
    ranking: dict[str, float] | None = None,
) -> Assessment:
    """Reads one (normalised) message. `intent`/`confidence` are the classifier's guess and
    `ranking` its confidence per intent, used only to decide whether to ask a question."""
    text = re.sub(r"\s+", "", text or "")
    if not text or text.startswith("/"):
        return Assessment()
    cues = cues or load_cues()
    found = _assess(text, intent, confidence, cues, ranking)
    if found.kind in ("none", "unsure"):
        # a danger word the phone line misheard ("快叫就护车"): read again with it repaired
        heard = repair_homophones(text, cues.homophones)
        if heard != text:
            again = _assess(heard, intent, confidence, cues, ranking)
            if again.kind in ("crisis", "emergency", "scam"):
                return again
    return found


def _assess(
    text: str,
    intent: str | None,
    confidence: float,
    cues: Cues,
    ranking: dict[str, float] | None,
) -> Assessment:
    denied: Assessment | None = None
    for group in cues.crisis:
        hit = group.match(text, cues.negation)
        if hit is None:
            said = group.match(text)
            if said is not None and denied is None:
                # "我没有想不开", "我不是想死": denied, so not asserted; but asked about,
                # never dropped (unless an emergency in the same message comes first)
                denied = Assessment("unsure", category=group.id, suspected="crisis", matched=(said,))
            continue
        if hit is not None:
            instead = _corrected(cues, text, hit)
            taken_back = instead is not None and not any(g.match(instead) for g in cues.crisis)
            after_death, legal = cues.crisis_ask_instead
            if taken_back or (after_death.search(hit) and legal.search(text)):
                # taken back, or a question about a will: ask, never a silent drop
                return Assessment("unsure", category=group.id, suspected="crisis", matched=(hit,))
            return Assessment("crisis", category=group.id, matched=(hit,))
    found = _emergency(cues, text)
    if found is not None:
        instead = _corrected(cues, text, found.matched[0]) if found.matched else None
        if found.kind == "emergency" and instead is not None and _emergency(cues, instead) is None:
            return Assessment("unsure", category=found.category, suspected="emergency", matched=found.matched)
        return found
    if denied is not None:
        return denied
    privacy = [m.group(0) for m in (p.search(text) for p in cues.privacy) if m]
    if len(privacy) == len(cues.privacy):
        return Assessment("privacy", matched=tuple(privacy))
    denial = _first(cues.denial, text)
    if denial is not None:
        return Assessment("denial", matched=(denial,))
    found = _scam(cues, text)
    if found is not None:
        if found.kind == "scam" and _classifier_disagrees(ranking, "scam_report"):
            # a scam cue ("验证码", "转账") in what the classifier confidently reads as an
            # ordinary request: ask before warning ("是不是有人向您要钱……？")
            return Assessment("unsure", suspected="scam", matched=found.matched)
        return found
    # No concrete cue. A high-stakes guess of the classifier, or a weak ordinary one near a
    # high-stakes reading, becomes one question; otherwise the message is ordinary.
    if not _first(cues.ask_always["ordinary"], text):
        for kind in ("crisis", "emergency"):
            hit = _first(cues.ask_always[kind], text)
            if hit is not None:
                return Assessment("unsure", suspected=kind, matched=(hit,))
    # Another office plainly handles this (a noisy neighbour, a lost bank card, a pension
    # paid short): a classifier's guess of a danger without a concrete cue is not asked
    # about, nor one of a scam unless someone else or a scam's move is in it ("有人打电话说
    # 我养老金…", "养老金认证点链接": the scam question stays; cues.yml scam.despite_referral);
    # the referral answers. ask_always and every cue above still count.
    kinds: tuple[str, ...] = ("crisis", "emergency", "scam")
    if another_office(text):
        if _first(cues.scam_actor, text) is None and _first(cues.scam_despite_referral, text) is None:
            return Assessment()
        kinds = ("scam",)
    guessed = SAFETY_INTENTS.get(intent or "")
    # The classifier reads a danger or a scam the cues do not see (indirect words: "药都
    # 攒着呢", "以后就不麻烦你们了", "他让我别告诉儿子"): one question, never an assertion.
    scores = {
        SAFETY_INTENTS[name]: float(value)
        for name, value in (ranking or {}).items()
        if name in SAFETY_INTENTS
    }
    if guessed is not None:
        scores[guessed] = max(scores.get(guessed, 0.0), confidence)
    for kind in kinds:
        score = scores.get(kind, 0.0)
        if score >= CLASSIFIER_ASK[kind] and not (
            (kind == "scam" and _not_a_scam_matter(cues, text))
            or (score < CLASSIFIER_ALONE_SURE and _plainly_else(cues, text, kind))
        ):
            return Assessment("unsure", suspected=kind, matched=())
    weak = confidence < WEAK_CLASSIFIER
    for kind in kinds:
        hit = _first(cues.unsure.get(kind, ()), text)
        if hit is None:
            continue
        if kind == "scam" and _not_a_scam_matter(cues, text):
            continue
        # scam is only asked about when the classifier itself guessed a high-stakes reading
        if guessed is not None or (weak and kind != "scam"):
            return Assessment("unsure", suspected=kind, matched=(hit,))
    return Assessment()


def _plainly_else(cues: Cues, text: str, kind: str) -> bool:
    """Whether nothing in the words supports the classifier's `kind` reading and the message
    is plainly something else (cues.yml `classifier_alone`)."""
    if _first(cues.unsure.get(kind, ()), text):
        return False
    if kind == "scam":
        return not any(
            _first(patterns, text) for patterns in (cues.scam_ask, cues.scam_actor, cues.suspicion)
        )
    return bool(cues.plain_request.search(text)) and not cues.now.search(text)


def _not_a_scam_matter(cues: Cues, text: str) -> bool:
    """Anti-fraud education, our own code or fee, how a subsidy is paid (cues.yml scam
    `never` and `unless`)."""
    return bool(_first(cues.scam_never, text) or _first(cues.scam_unless, text))


def another_office(text: str) -> bool:
    """True when a referral of policies/national/referrals.yml (bot.referrals) fits the
    (normalised) message: an ordinary matter of another office."""
    from bot import referrals

    return referrals.find(text) is not None


REPLIES_PATH = Path(__file__).with_name("replies.yml")


@functools.lru_cache(maxsize=1)
def replies() -> dict[str, Any]:
    """The safety sentences (replies.yml), the one home of what the assistant says here."""
    data: dict[str, Any] = yaml.safe_load(REPLIES_PATH.read_text(encoding="utf-8"))
    return data
