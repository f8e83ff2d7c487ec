"""What the eligibility conversation says at the end: a short spoken summary (eligible
programs first, with their key number) and the SMS text. Pure functions over
bot.eligibility.rules.ProgramResult lists."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from bot.eligibility.rules import ProgramResult
from bot.eligibility.focus import CATEGORY_PROGRAMS, focus_sentence
from bot.eligibility.wording import WORDING

CN_ORDINALS = WORDING.words("summary.ordinals")
SPOKEN_TOP = 3  # an elder on the phone remembers about three things


def _benefits(results: list[ProgramResult]) -> list[ProgramResult]:
    return [r for r in results if r.status == "eligible" and r.program_id not in CATEGORY_PROGRAMS]


def tier_why(result: ProgramResult) -> str:
    """Why the tier, in brackets: （是计划生育特殊家庭）, （年龄102周岁，满100周岁）."""
    return f"（{'，'.join(result.tier_reasons[:2])}）" if result.tier_reasons else ""


def _notes(results: list[ProgramResult], who: str, skip: set[str]) -> list[str]:
    """The sentences after the list: the category, what the community decides, what is still
    open, and one hint; nothing about the programs in `skip` (already answered)."""
    notes: list[str] = []
    if "basic_service_objects" not in skip:
        category = next(
            (r for r in results if r.program_id in CATEGORY_PROGRAMS and r.status == "eligible" and r.tier),
            None,
        )
        if category and category.tier in ("特惠", "特定"):
            notes.append(WORDING.format("summary.tier", who=who, tier=category.tier, why=tier_why(category)))
        elif any(r.program_id in CATEGORY_PROGRAMS and r.review for r in results):
            notes.append(WORDING.format("summary.tier_review", who=who))
    rest = [r for r in results if r.program_id not in skip]
    review = [r for r in rest if r.review and r.program_id not in CATEGORY_PROGRAMS]
    unknown = [r for r in rest if r.status == "unknown" and r not in review]
    if review:
        names = "、".join(r.name for r in review[:2])
        more = WORDING.format("summary.more", n=len(review)) if len(review) > 2 else ""
        notes.append(WORDING.format("summary.review", names=names, more=more))
    if unknown and skip:
        # a check about one program asked only what decides it
        notes.append(WORDING.format("summary.unknown_ask_me", n=len(unknown)))
    elif unknown:
        notes.append(WORDING.format("summary.unknown", n=len(unknown)))
    hint = next(
        (
            r.hint
            for r in sorted(rest, key=lambda r: r.summary_rank)
            if r.hint and r.hint_spoken and r.status != "eligible"
        ),
        None,
    )
    if hint:
        notes.append(hint)
    return notes


def _lead(results: list[ProgramResult], who: str, asked: Sequence[str], question: str) -> list[str]:
    """The answer about the programs the caller asked about (bot/eligibility/focus.py)."""
    out = []
    for pid in asked:
        sentence = focus_sentence(pid, results, who, question)
        if sentence:
            out.append(sentence)
    return out


def spoken_summary(
    results: list[ProgramResult], who: str = "您", asked: Sequence[str] = (), question: str = ""
) -> str:
    """根据您说的情况，您可以享受：一，每月3小时免费照料；二，…。另外还有N项……

    With `asked` (the programs the caller asked about), the answer about those comes first,
    then the other benefits, fewer of them."""
    lead = _lead(results, who, asked, question)
    skip = set(asked) if lead else set()
    eligible = sorted(
        (r for r in _benefits(results) if r.program_id not in skip), key=lambda r: r.summary_rank
    )
    if lives_outside(results):
        return "".join(lead) + WORDING.format("summary.outside", who=who)
    parts: list[str] = list(lead)
    if eligible:
        top = eligible[: SPOKEN_TOP - 1 if lead else SPOKEN_TOP]
        items = "；".join(f"{CN_ORDINALS[i]}，{r.benefit}" for i, r in enumerate(top))
        opening = WORDING.format("summary.also_can" if lead else "summary.can", who=who)
        parts.append(f"{opening}{items}。")
        rest = eligible[len(top) :]
        if rest:
            examples = "、".join(r.benefit for r in rest[:2])
            parts.append(WORDING.format("summary.more_examples", examples=examples, n=len(rest)))
    elif not lead and any(r.status == "unknown" for r in results):
        # "不清楚" on a fact every program needs (the street): nothing is decided yet, which
        # is not the same as nothing to get
        parts.append(WORDING.format("summary.undecided", who=who))
    elif not lead:
        because = main_obstacle(results)
        parts.append(
            WORDING.format("summary.nothing_because", who=who, because=because)
            if because
            else WORDING.format("summary.nothing", who=who)
        )
    return "".join(parts + _notes(results, who, skip))


def main_obstacle(results: list[ProgramResult]) -> str | None:
    """The condition that keeps most programs out, in the rules' words ("年龄58周岁，不满60周岁"):
    a result with nothing to get says why, not only that."""
    failed = Counter(
        reason.text
        for r in results
        if r.status == "not_eligible"
        for reason in r.reasons
        if reason.holds is False and reason.text
    )
    return failed.most_common(1)[0][0] if failed else None


SCREEN_WHY = 3  # "为什么" buttons under the list: the first items, as on the phone


def screen_summary(
    results: list[ProgramResult], who: str = "您", asked: Sequence[str] = (), question: str = ""
) -> tuple[str, list[ProgramResult]]:
    """The result as a screen shows it: the answer about the programs asked about first
    (when any), then a short plain list, one line per benefit, then the same notes as the
    spoken summary (category, 请社区认定, still unknown). Returns the text and the benefits
    listed (in order), for "为什么" on demand (`explanation`)."""
    lead = _lead(results, who, asked, question)
    skip = set(asked) if lead else set()
    eligible = sorted(
        (r for r in _benefits(results) if r.program_id not in skip), key=lambda r: r.summary_rank
    )
    if not eligible or lives_outside(results):
        return spoken_summary(results, who, asked, question), []
    if lead:
        header = (
            WORDING.format("summary.also_can_n", who=who, n=len(eligible))
            if len(eligible) > 1
            else WORDING.format("summary.also_can", who=who)
        )
    elif len(eligible) > 1:
        header = WORDING.format("summary.can_n", who=who, n=len(eligible))
    else:
        header = WORDING.format("summary.can", who=who)
    lines = [*lead, header]
    lines += [f"{i + 1}. {r.benefit}" for i, r in enumerate(eligible)]
    notes = _notes(results, who, skip)
    if notes:
        lines.append("".join(notes))
    return "\n".join(lines), eligible


def explanation(result: ProgramResult, who: str = "您") -> str:
    """Why this benefit: the conditions that held, in plain words, and the document."""
    held = [r.text for r in result.reasons if r.holds and r.text]
    because = "，".join(held) if held else WORDING.text("summary.because_default")
    document = result.citation.split("》")[0] + "》" if "》" in result.citation else result.citation
    text = WORDING.format("summary.why", benefit=result.benefit, because=because)
    return text + (WORDING.format("summary.document", document=document) if document else "")


def lives_outside(results: list[ProgramResult]) -> bool:
    return any(reason.fact == "resident" and reason.holds is False for r in results for reason in r.reasons)


def sms_text(results: list[ProgramResult], who: str = "您") -> str:
    """The result as one SMS (kept under bot.contact.sms.SMS_MAX_CHARS)."""
    eligible = sorted(_benefits(results), key=lambda r: r.summary_rank)
    if eligible:
        lines = "；".join(f"{i + 1}.{r.benefit}" for i, r in enumerate(eligible[:6]))
        more = WORDING.format("summary.more", n=len(eligible)) if len(eligible) > 6 else ""
        body = WORDING.format("summary.sms", who=who, lines=lines, more=more)
    else:
        body = WORDING.format("summary.sms_nothing", who=who)
    cited = eligible[0].citation if eligible else ""
    if cited:
        body += WORDING.format("summary.sms_document", document=cited.split("》")[0])
    return body + WORDING.text("summary.sms_end")
