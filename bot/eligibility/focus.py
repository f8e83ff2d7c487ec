"""The program a caller asked about, and what the result says about it first.

"我妈八十八了，住五老村，每月的免费上门照料她能享受吗" asks about one program; the answer
starts with that program (yes, not yet and why, or 请社区认定), and only then mentions the
other benefits briefly. A check that names no program ("我能享受什么") has no focus and gets
the usual list (bot/eligibility/summary.py).

How a program counts as asked: the sentence is cut into clauses; a clause that states a fact
("家里吃低保的", "一个人住") names no program; a clause that asks something (吗, 能不能, 有没有,
想问…) names the program the policy knowledge base finds in it when the base is fairly sure;
a clause without a question word names a program only when the base is sure and the
program is named by one of its own names ("听说八十岁以上每月有免费的照料，他有份吗"). The
surest program counts; a second one only when named by one of its own names ("想学护理，能
报名吗": 报名 alone would be the elder university).
An age alone ("八十八了") names nothing: it is a fact, even though the search reads 80岁 in it.

Pure Python, no Rasa (tests/test_eligibility_focus.py).
"""

from __future__ import annotations

import re
from typing import Iterable

from bot.text import facts as factlib
from bot.policy import kb as policy_kb
from bot.eligibility.rules import FACT_LABELS, ProgramResult
from bot.eligibility.wording import WORDING

# Words that make a clause a question (or a request to know).
_QUESTION = re.compile(
    r"吗|嘛|呢|？|\?|能不能|能否|可不可以|可以|有没有|是不是|算不算|够不够|怎么|什么|哪些|多少|"
    r"问|想|申请|享受|报名|有份|用上|用得上|能用|能领|能拿|能去|能吃|能办|能评|能算|能参加|符合"
)
# Facts whose statement makes a clause a description, not a question (an age or a street
# can sit in a question clause: "八十岁以上的免费照料我有吗").
_DESCRIBING_FACTS = ("economic_status", "care_level", "living_situation", "dementia", "special_family")
_AGE_TERM = re.compile(r"^\d+周?岁$")
# A category, not a service: said as "属于…对象", not listed as a benefit.
CATEGORY_PROGRAMS = ("basic_service_objects",)
ASKED_MIN_SCORE = 0.5  # the base's score in a question clause
NAMED_MIN_SCORE = 0.9  # the base's score in a clause without a question word
MAX_ASKED = 2


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r"[，,。；;！!？?\s]+", text or "") if c]


def _states_a_fact(clause: str) -> bool:
    found = factlib.extract_facts(clause)
    return any(k in found for k in _DESCRIBING_FACTS) and not _QUESTION.search(clause)


def asked_programs(text: str | None, kb: policy_kb.KnowledgeBase | None = None) -> list[str]:
    """The ids of the programs the sentence asks about (at most two, surest first)."""
    if not text or text.startswith("/"):
        return []
    kb = kb or policy_kb.get_kb()
    best: dict[str, tuple[float, bool]] = {}  # program -> (score, named by one of its names)
    for clause in _clauses(text):
        if _states_a_fact(clause):
            continue
        question = bool(_QUESTION.search(clause))
        for scored in kb._score(clause)[:1]:  # the base's ranking (bot.policy.search)
            named = [m for m in scored.mentions if not _AGE_TERM.match(m.term.text)]
            if not named:
                continue  # "八十八了": an age is a fact, not a program
            aliased = any(m.term.kind == "alias" for m in named)
            if (question and scored.score >= ASKED_MIN_SCORE) or (
                aliased and scored.score >= NAMED_MIN_SCORE
            ):
                old = best.get(scored.program_id, (0.0, False))
                best[scored.program_id] = (max(old[0], scored.score), old[1] or aliased)
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    # the surest one; a second only when named by its own name ("我能报名吗" after a
    # question about the carers' course does not ask about the elder university too)
    return [pid for i, (pid, (_, aliased)) in enumerate(ranked) if i == 0 or aliased][:MAX_ASKED]


def _unique(texts: Iterable[str]) -> list[str]:
    out: list[str] = []
    for t in texts:
        if t and t not in out:
            out.append(t)
    return out


def _number(text: str) -> int:
    return max((int(n) for n in re.findall(r"\d+", text)), default=0)


def _kind(text: str) -> tuple[str, str]:
    """The fact a reason is about and the kind of bound ("满", "已满", "不满65周岁")."""
    head, _, rest = text.partition("，")
    return head, next((k for k in ("不满", "未满", "已满", "满") if rest.startswith(k)), "")


def _one_per_fact(texts: Iterable[str]) -> list[str]:
    """ "年龄82周岁，满60周岁" and "年龄82周岁，满80周岁" (two thresholds one fact passes)
    said once, with the higher threshold: "年龄82周岁，满80周岁"; of two upper bounds
    ("不满70周岁", "不满65周岁") the lower; a lower and an upper bound both stay."""
    out: list[str] = []
    for text in _unique(texts):
        rest = text.partition("，")[2]
        same = next((i for i, o in enumerate(out) if rest and _kind(o) == _kind(text)), None)
        if same is None:
            out.append(text)
            continue
        mine, theirs = _number(rest), _number(out[same].partition("，")[2])
        if (mine < theirs) if _kind(text)[1] in ("不满", "未满") else (mine > theirs):
            out[same] = text
    return out


_NOT_ONE_OF = re.compile(r"^(?P<said>.+?)，不是(?P<options>.+)$")


def _merged(texts: Iterable[str]) -> list[str]:
    """ "经济状况：普通，不是特困" and "经济状况：普通，不是低保、低保边缘" (two parts of one
    rule) said once: "经济状况：普通，不是特困、低保、低保边缘"."""
    out: list[str] = []
    options: dict[str, list[str]] = {}
    for text in _unique(texts):
        m = _NOT_ONE_OF.match(text)
        if not m:
            out.append(text)
            continue
        said = m.group("said")
        if said not in options:
            options[said] = []
            out.append(said)
        options[said] += [o for o in m.group("options").split("、") if o not in options[said]]
    return [
        WORDING.format("focus.not_options", said=t, options="、".join(options[t])) if options.get(t) else t
        for t in out
    ]


def _missing_text(result: ProgramResult) -> str:
    open_reasons = _unique(r.text for r in result.reasons if r.holds is None and r.fact != "review")
    if open_reasons:
        return "；".join(open_reasons[:2])
    labels = "、".join(FACT_LABELS.get(f, f) for f in result.missing[:2])
    return WORDING.format("focus.to_confirm", labels=labels) if labels else WORDING.text("focus.unclear")


def focus_sentence(
    program_id: str,
    results: list[ProgramResult],
    who: str = "您",
    question: str = "",
    kb: policy_kb.KnowledgeBase | None = None,
) -> str | None:
    """What the result says about the asked program, in one or two short sentences."""
    kb = kb or policy_kb.get_kb()
    try:
        program = kb.program(program_id)
    except KeyError:
        return None
    short = program.short_name
    result = next((r for r in results if r.program_id == program_id), None)
    if result is None:
        # no eligibility rules for it (the documents name no conditions): the knowledge
        # base's cited answer about it, which says where to ask
        answer = kb.answer(question=question or short, program=program_id)
        return WORDING.format("focus.kb_answer", short=short, answer=answer.text) if answer.text else None
    if result.status == "eligible":
        if result.program_id in CATEGORY_PROGRAMS and result.tier:  # a category: the tier and why
            why = f"（{'，'.join(result.tier_reasons[:2])}）" if result.tier_reasons else ""
            text = WORDING.format("focus.category", short=short, who=who, benefit=result.benefit, why=why)
        else:
            benefit = result.benefit if result.benefit and result.benefit != short else ""
            text = (
                WORDING.format("focus.eligible_benefit", short=short, who=who, benefit=benefit)
                if benefit
                else WORDING.format("focus.eligible", short=short, who=who)
            )
            held = _one_per_fact(r.text for r in result.reasons if r.holds and r.fact != "resident")
            if held:
                text += WORDING.format("focus.because", held="，".join(held[:2]))
        if result.hint:
            text += result.hint
        return text
    if result.status == "not_eligible":
        failing = _merged(r.text for r in result.reasons if r.holds is False)
        text = WORDING.format("focus.not_eligible", short=short, who=who, failing="；".join(failing[:2]))
        if result.hint:
            text += result.hint
        return text
    if result.review:
        return WORDING.format("focus.review", short=short, review=result.review[0])
    return WORDING.format("focus.open", short=short, missing=_missing_text(result))
