"""What the eligibility conversation says at the end: a short spoken summary (eligible
programs first, with their key number) and the SMS text. Pure functions over
bot.eligibility.rules.ProgramResult lists."""

from __future__ import annotations

from bot.eligibility.rules import ProgramResult

CN_ORDINALS = ("一", "二", "三", "四", "五")
SPOKEN_TOP = 3  # an elder on the phone remembers about three things
# A category, not a service: said once as "属于…对象", not listed as a benefit.
CATEGORY_PROGRAMS = ("basic_service_objects",)


def _benefits(results: list[ProgramResult]) -> list[ProgramResult]:
    return [r for r in results if r.status == "eligible" and r.program_id not in CATEGORY_PROGRAMS]


def spoken_summary(results: list[ProgramResult], who: str = "您") -> str:
    """根据您说的情况，您可以享受：一，每月3小时免费照料；二，…。另外还有N项……"""
    eligible = sorted(_benefits(results), key=lambda r: r.summary_rank)
    category = next(
        (r for r in results if r.program_id in CATEGORY_PROGRAMS and r.status == "eligible" and r.tier), None
    )
    parts: list[str] = []
    if eligible:
        top = eligible[:SPOKEN_TOP]
        items = "；".join(f"{CN_ORDINALS[i]}，{r.benefit}" for i, r in enumerate(top))
        parts.append(f"根据您说的情况，{who}可以享受：{items}。")
        rest = eligible[SPOKEN_TOP:]
        if rest:
            examples = "、".join(r.benefit for r in rest[:2])
            parts.append(f"另外还有{examples}等{len(rest)}项。")
    elif lives_outside(results):
        return (
            f"示范区的这些养老服务，要住在示范区的街道才能享受。{who}可以打当地的12349，"
            "或者问问所在街道的社区。"
        )
    else:
        parts.append(f"根据您说的情况，{who}现在还没有能享受的项目。")
    if category and category.tier in ("特惠", "特定"):
        parts.append(f"{who}属于基本养老服务的{category.tier}对象。")
    elif any(r.program_id in CATEGORY_PROGRAMS and r.review for r in results):
        parts.append(f"{who}是不是基本养老服务的特惠或特定对象，要请社区认定。")
    review = [r for r in results if r.review and r.program_id not in CATEGORY_PROGRAMS]
    unknown = [r for r in results if r.status == "unknown" and r not in review]
    if review:
        names = "、".join(r.name for r in review[:2])
        more = f"等{len(review)}项" if len(review) > 2 else ""
        parts.append(f"{names}{more}，文件没有写清楚谁能享受，要请社区认定。")
    if unknown:
        parts.append(f"还有{len(unknown)}项要等情况确认了才知道。")
    hint = next(
        (
            r.hint
            for r in sorted(results, key=lambda r: r.summary_rank)
            if r.hint and r.hint_spoken and r.status != "eligible"
        ),
        None,
    )
    if hint:
        parts.append(hint)
    return "".join(parts)


SCREEN_WHY = 3  # "为什么" buttons under the list: the first items, as on the phone


def screen_summary(results: list[ProgramResult], who: str = "您") -> tuple[str, list[ProgramResult]]:
    """The result as a screen shows it: a short plain list, one line per benefit, then the
    same notes as the spoken summary (category, 请社区认定, still unknown). Returns the text
    and the benefits listed (in order), for "为什么" on demand (`explanation`)."""
    eligible = sorted(_benefits(results), key=lambda r: r.summary_rank)
    if not eligible:
        return spoken_summary(results, who), []
    lines = [
        f"根据您说的情况，{who}可以享受这{len(eligible)}项："
        if len(eligible) > 1
        else f"根据您说的情况，{who}可以享受："
    ]
    lines += [f"{i + 1}. {r.benefit}" for i, r in enumerate(eligible)]
    spoken = spoken_summary(results, who)
    # the notes after the spoken list (category, review, unknown, hint), said the same way
    listed = spoken.split("。")
    notes = [part for part in listed[1:] if part and not part.startswith("另外还有")]
    if notes:
        lines.append("。".join(notes) + "。")
    return "\n".join(lines), eligible


def explanation(result: ProgramResult, who: str = "您") -> str:
    """Why this benefit: the conditions that held, in plain words, and the document."""
    held = [r.text for r in result.reasons if r.holds and r.text]
    because = "，".join(held) if held else "符合文件写的条件"
    document = result.citation.split("》")[0] + "》" if "》" in result.citation else result.citation
    text = f"{result.benefit}：因为{because}。"
    return text + (f"依据是{document}。" if document else "")


def lives_outside(results: list[ProgramResult]) -> bool:
    return any(reason.fact == "resident" and reason.holds is False for r in results for reason in r.reasons)


def sms_text(results: list[ProgramResult], who: str = "您") -> str:
    """The result as one SMS (kept under bot.contact.sms.SMS_MAX_CHARS)."""
    eligible = sorted(_benefits(results), key=lambda r: r.summary_rank)
    if eligible:
        lines = "；".join(f"{i + 1}.{r.benefit}" for i, r in enumerate(eligible[:6]))
        more = f"等{len(eligible)}项" if len(eligible) > 6 else ""
        body = f"【12349养老热线】{who}可以享受：{lines}{more}。"
    else:
        body = f"【12349养老热线】{who}暂时没有能享受的项目。"
    cited = eligible[0].citation if eligible else ""
    if cited:
        body += f"依据{cited.split('》')[0]}》。"
    return body + "办理请找社区银发顾问或拨打12349。"
