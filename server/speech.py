"""Voice wording: turns the assistant's text replies into Mandarin a phone voice can say
clearly to an older caller, and into short SMS.

Text-to-speech reads "12349" as 一万两千三百四十九 and "15:00" as 十五比零零, and says
emoji names or nothing at all; buttons mean nothing on a landline. So before anything is
spoken: symbols go, phone and service numbers, ID and phone tails (尾号0001), room numbers
and codes are read digit by digit (1 as 幺, as people read phone numbers), booking
references in groups of three so they can be written down, money in 元角分, dates and times
the way people say them, and buttons become spoken choices with keypad digits.
The cases are tabled in tests/test_speech_wording.py.

Pure functions, no Flask, no provider: every telephony adapter uses them.
"""

from __future__ import annotations

import re
import unicodedata

import cn2an

from server import wording

_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u2028-\u202f\ufeff]")


def _tidy(text: str, max_length: int = 2000) -> str:
    """Full-width digits and letters to ASCII (so numbers are found), control characters
    out; Chinese punctuation stays as it is (NFKC would turn ，into a comma)."""
    text = "".join(
        unicodedata.normalize("NFKC", ch) if ("０" <= ch <= "９" or "Ａ" <= ch <= "ｚ") else ch
        for ch in str(text)
    )
    return _CONTROL.sub("", text)[:max_length]


# The keypad menu offered after silence or two misunderstandings. Digit -> (what the
# caller hears, from server/wording.yml, the Rasa payload sent when pressed). 0 is always a human.
HUMAN_PAYLOAD = "/request_human"
_KEYPAD_PAYLOADS = {"1": "/ask_policy", "2": "/check_eligibility", "3": "/book_service", "0": HUMAN_PAYLOAD}
KEYPAD_MENU: dict[str, tuple[str, str]] = {
    digit: (title, _KEYPAD_PAYLOADS[digit]) for digit, title in wording.keyed("voice", "keypad_menu").items()
}

KEYPAD_MENU_TEXT = (
    wording.voice("keypad_menu_intro")
    + "；".join(
        [wording.voice("choice").format(title=title, key=digit) for digit, (title, _) in KEYPAD_MENU.items()]
        + [wording.voice("keypad_menu_repeat")]
    )
    + "。"
)

_SERVICE_NUMBERS = {"110", "119", "120", "122", "12345", "12349", "12315", "96110"}
_DIGIT_WORDS = {
    "0": "零",
    "1": "幺",
    "2": "二",
    "3": "三",
    "4": "四",
    "5": "五",
    "6": "六",
    "7": "七",
    "8": "八",
    "9": "九",
    "X": "叉",
    "x": "叉",
}
_YEAR_DIGITS = dict(_DIGIT_WORDS, **{"1": "一"})
# A two (2) counting things is 两 in speech: 两个, 两位, 两小时, 下午两点.
_LIANG_BEFORE = (
    "个",
    "位",
    "次",
    "天",
    "小时",
    "年",
    "份",
    "间",
    "人",
    "项",
    "周",
    "名",
    "种",
    "件",
    "趟",
    "岁",
    "点",
    "分钟",
    "元",
    "块",
    "斤",
    "张",
    "条",
    "本",
    "顿",
    "餐",
    "盒",
    "袋",
    "包",
    "瓶",
    "角",
)

_URL = re.compile(r"https?://[!-~]+|www\.[!-~]+")  # ASCII only: the Chinese after it stays
_THOUSANDS = re.compile(r"(?<![\d,])\d{1,3}(?:,\d{3})+(?![\d,])")  # 1,200 -> 1200
# Masked numbers keep only their last four (138****0001, 025-****0001, 320104********0027):
# the caller hears the tail, which is all that is there.
_MASKED_NUMBER = re.compile(r"(?<![\dXx])(?:\+?\d[\d-]{0,8})?\*{3,}\s*(\d{3}[\dXx]|\d{4})(?![\dXx])")
# The tail of a phone or ID number said alone: 尾号0001, 身份证后四位002X, 最后4位是 0027.
_TAIL = re.compile(
    r"(尾号|最后[4四]位|后[4四]位|末[4四]位)(是|为|：|:)?\s*"
    r"(\d(?: ?\d){1,5}(?: ?[Xx])?)(?![\dXx])"
)
# Codes after their label are read like a reference, not counted: 预约号148832, 验证码1024.
_REFERENCE_LABEL = "预约编号|预约号|工单号|服务单号|订单号|受理号|回执号|编号|单号|验证码|确认码"
_REFERENCE = re.compile(
    rf"({_REFERENCE_LABEL})(是|还是|为|：|:)?\s*"
    r"([0-9A-Z](?: [0-9A-Z])+(?![0-9A-Z])|[0-9A-Z]+)"
)
# Rooms and buildings numbered with three digits or more: 1202室 -> 幺二零二室 (3号楼 stays 三号楼).
_ROOM = re.compile(r"(?<!\d)(\d{3,6})(?=\s*(?:室|房间|号房|号楼|栋|幢|单元))")
_DASHED_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)-(\d{4})-(\d{4})(?!\d)")  # 138-0000-0001
_HOTLINE_400 = re.compile(r"(?<!\d)([48]00)-?(\d{3})-?(\d{4})(?!\d)")  # 400-123-4567
_DATE = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?!\d)")
_SLASH_DATE = re.compile(r"(?<![\d/.])(1[0-2]|0?[1-9])/(3[01]|[12]\d|0?[1-9])(?![\d/.])")  # 11/26
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})([日号])")
_TIME = re.compile(
    r"(上午|下午|中午|晚上|早上|凌晨|傍晚)?\s*(?<!\d)([01]?\d|2[0-4])\s*[:：]\s*([0-5]\d)(?!\d)"
)
_RANGE_DASH = re.compile(
    r"(?<=[\d点半分日号])\s*[-–—~～]\s*"
    r"(?=[\d上下中晚早凌傍零一二两三四五六七八九十幺])"
)
# Years said digit by digit also where 年 is not right after them: 2021–2025年, 〔2020〕39号.
_YEAR = re.compile(
    r"(?<!\d)(\d{4})(?=年)|(?<=〔)(\d{4})(?=〕)"
    r"|(?<!\d)((?:19|20)\d{2})(?=\s*[-–—~～到至]\s*(?:19|20)\d{2}年)"
)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_CURRENCY_SIGN = re.compile(r"[¥￥]\s*(\d+(?:\.\d+)?)")  # ￥30 -> 30元
# A price per something: 300元/月 -> 每月三百元, 2次/周 -> 每周两次.
_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*(元|次|小时)\s*/\s*(月|天|日|次|小时|年|人|户|周|星期)")
_YUAN = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*元")
# Five digits and more are read digit by digit (phone numbers), unless they count something.
_LONG_DIGITS = re.compile(
    r"(?<![\d.])(\+?\d[\d ]{2,}\d[Xx]?)(?![\d.])"
    r"(?!\s*(?:元|块|万|亿|人(?!工)|户|名|位|个|次|岁|米|公里|平方|步|份|张|件))"
)
_LANDLINE = re.compile(r"(?<!\d)[（(]?(0\d{2,3})[)）]?[-\s]?(\d{7,8})(?!\d)")  # (025)12345678
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACES = re.compile(r"\s+")
_REPEATED_PUNCT = re.compile(r"([，。、；！？,.!?])[，。、；！？,.!? ]+")


def strip_symbols(text: str) -> str:
    """Drops emoji, pictographs and decorative symbols; keeps Chinese, letters, digits and
    ordinary punctuation. Also used for SMS (old handsets show emoji as boxes)."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("So", "Sk", "Cs", "Co", "Cn") or ch in "\u200d\ufe0f\ufe0e":
            continue
        if ch in "*#•·|_~^`<>[]{}【】「」『』":
            out.append(" " if ch in "|_~" else "")
            continue
        out.append(ch)
    return "".join(out)


def read_digits(number: str) -> str:
    """13800000001 -> 幺三八零零零零零零零幺 (phone style, digit by digit)."""
    return "".join(_DIGIT_WORDS.get(ch, "") for ch in number if ch in _DIGIT_WORDS)


def _reference_groups(size: int) -> list[int]:
    """Groups of three, never a digit left alone at the end: 6 -> 3+3, 7 -> 3+2+2, 4 -> 2+2."""
    if size <= 3:
        return [size] if size else []
    if size == 4:
        return [2, 2]
    return [3] + _reference_groups(size - 3)


def say_reference(ref: str) -> str:
    """A booking reference (or any code) as said on the phone, so it can be written down
    and said twice: '148832' or '1 4 8 8 3 2' -> 幺四八，八三二; letters stay letters."""
    chars = [ch.upper() for ch in _tidy(str(ref or "")) if ch.isascii() and ch.isalnum()]
    words = [_DIGIT_WORDS[ch] if ch.isdigit() else ch for ch in chars]
    groups, start = [], 0
    for size in _reference_groups(len(words)):
        groups.append("".join(words[start : start + size]))
        start += size
    return "，".join(groups)


def _quantity(number: str, after: str = "", before: str = "") -> str:
    if number == "2" and after.startswith(_LIANG_BEFORE) and not before.endswith("第"):
        return "两"
    try:
        words = cn2an.an2cn(number, "low")
    except (ValueError, KeyError, IndexError):
        return read_digits(number)
    # 2000 is 两千 in speech, not 二千 (2200 -> 两千二百; 一万二千 stays).
    return "两" + words[1:] if words[:2] in ("二千", "二万", "二亿") else words


def _say_yuan(amount: str) -> str:
    """Money in 元角分: 12.50 -> 十二元五角, 12.05 -> 十二元零五分, 0.5 -> 五角, 2 -> 两元."""
    whole, _, cents = amount.partition(".")
    if len(cents) > 2:  # not a price in fen; say the number as it is written
        return _quantity(amount) + "元"
    cents = (cents + "00")[:2]
    jiao, fen = int(cents[0]), int(cents[1])
    said = "" if int(whole) == 0 and (jiao or fen) else _quantity(str(int(whole)), "元") + "元"
    if jiao:
        said += _quantity(str(jiao), "块") + "角"
    if fen:
        said += (
            ("零" if said and not jiao else "")
            + ("二" if fen == 2 and said else _quantity(str(fen), "块"))
            + "分"
        )
    return said


def _say_rate(match: re.Match) -> str:
    amount, unit, per = match.groups()
    said = _say_yuan(amount) if unit == "元" else _quantity(amount, unit) + unit
    already = f"每{per}" in match.string[max(match.start() - 8, 0) : match.start()]
    return said if already else f"每{per}{said}"  # 每月补贴300元/月: 每月 is said once


def _say_year(year: str) -> str:
    return "".join(_YEAR_DIGITS[ch] for ch in year)


def _say_time(match: re.Match) -> str:
    period, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    if period is None:
        period = (
            "凌晨"
            if hour < 6
            else "上午"
            if hour < 12
            else "中午"
            if hour == 12
            else "下午"
            if hour < 18
            else "晚上"
        )
        if hour == 24:
            period = "晚上"
    hour12 = hour - 12 if hour > 12 else hour
    hour_words = "两" if hour12 == 2 else cn2an.an2cn(str(hour12), "low")
    minute_words = "" if minute == 0 else "半" if minute == 30 else cn2an.an2cn(str(minute), "low") + "分"
    return f"{period}{hour_words}点{minute_words}"


def _say_long_digits(match: re.Match) -> str:
    raw = match.group(1)
    digits = raw.replace(" ", "")
    core = digits.lstrip("+")
    if core.startswith("86") and len(core) == 13:
        core = core[2:]  # +86 is not said on a domestic call
    if len(core.rstrip("Xx")) >= 5 or core in _SERVICE_NUMBERS:
        return read_digits(core)
    return raw


def _say_masked(match: re.Match) -> str:
    return "尾号" + read_digits(match.group(1))


def speakable(text: str | None) -> str:
    """A reply as it should be spoken on the phone."""
    if not text:
        return ""
    text = _tidy(text)
    text = _URL.sub("", text)
    text = _THOUSANDS.sub(lambda m: m.group().replace(",", ""), text)
    text = _MASKED_NUMBER.sub(_say_masked, text).replace("尾号尾号", "尾号")
    text = strip_symbols(text)
    # Digit-by-digit readings first, before anything could count them.
    text = _TAIL.sub(lambda m: m.group(1) + (m.group(2) or "") + read_digits(m.group(3)), text)
    text = _REFERENCE.sub(lambda m: m.group(1) + (m.group(2) or "") + say_reference(m.group(3)), text)
    text = _ROOM.sub(lambda m: read_digits(m.group(1)), text)
    text = _DASHED_MOBILE.sub(lambda m: read_digits("".join(m.groups())), text)
    text = _HOTLINE_400.sub(lambda m: read_digits("".join(m.groups())), text)
    text = _LANDLINE.sub(lambda m: f"{read_digits(m.group(1))}，{read_digits(m.group(2))}", text)
    text = _DATE.sub(
        lambda m: (
            f"{_say_year(m.group(1))}年{_quantity(str(int(m.group(2))))}月{_quantity(str(int(m.group(3))))}日"
        ),
        text,
    )
    text = _SLASH_DATE.sub(
        lambda m: f"{_quantity(str(int(m.group(1))))}月{_quantity(str(int(m.group(2))))}日", text
    )
    text = _MONTH_DAY.sub(lambda m: f"{_quantity(m.group(1))}月{_quantity(m.group(2))}{m.group(3)}", text)
    text = _TIME.sub(_say_time, text)
    text = _RANGE_DASH.sub("到", text)
    text = _PERCENT.sub(lambda m: "百分之" + _quantity(m.group(1)), text)
    text = _CURRENCY_SIGN.sub(lambda m: m.group(1) + "元", text)
    text = _RATE.sub(_say_rate, text)
    text = _YUAN.sub(lambda m: _say_yuan(m.group(1)), text)
    text = _YEAR.sub(lambda m: _say_year(m.group()), text)
    text = _LONG_DIGITS.sub(_say_long_digits, text)
    # Service numbers said alone (拨打120) are read digit by digit too.
    text = re.sub(
        r"(?<!\d)(1[12][029]|12[0-9]{3}|96110)(?!\d)",
        lambda m: read_digits(m.group(1)) if m.group(1) in _SERVICE_NUMBERS else m.group(1),
        text,
    )
    text = _NUMBER.sub(
        lambda m: _quantity(
            m.group(), m.string[m.end() : m.end() + 2], m.string[max(m.start() - 1, 0) : m.start()]
        ),
        text,
    )
    text = text.replace("/", "或").replace("+", "加").replace("&", "和").replace("=", "是")
    # An aside in brackets is said as an aside: 老人（88岁，住五老村）的资料 -> 老人，八十八岁，住五老村的资料
    text = re.sub(r"[（(]", "，", text)
    text = re.sub(r"[）)]", "", text)
    text = _SPACES.sub(" ", text).strip()
    text = _REPEATED_PUNCT.sub(r"\1", text)
    return text.strip(" ，,、")


def spoken_choices(buttons: list[dict]) -> tuple[str, dict[str, str]]:
    """Buttons as something said on the phone, and the keypad digits that choose them.

    [问政策, 转人工] -> ("您可以直接说，也可以按键：问政策，请按1；转人工，请按0。",
                        {"1": "/ask_policy", "0": "/request_human"})
    """
    parts: list[str] = []
    choices: dict[str, str] = {}
    digit = 1
    for button in buttons or []:
        title = speakable(str(button.get("title", "")))
        payload = str(button.get("payload", ""))
        if not title or not payload or payload.startswith(("http://", "https://")):
            continue
        if payload == HUMAN_PAYLOAD:
            key = "0"
        elif digit <= 9:
            key, digit = str(digit), digit + 1
        else:
            continue
        if key in choices:
            continue
        choices[key] = payload
        parts.append(wording.voice("choice").format(title=title, key=key))
    if not parts:
        return "", {}
    human = wording.voice("choice").format(title="", key="0")
    parts.sort(key=lambda part: part.endswith(human))  # a human is offered last
    return wording.voice("choices_intro") + "；".join(parts) + "。", choices


def keypad_choices() -> dict[str, str]:
    return {digit: payload for digit, (_, payload) in KEYPAD_MENU.items()}


# --- SMS ------------------------------------------------------------------------------

SMS_LIMIT = 300  # bot.contact.sms.SMS_MAX_CHARS: about five segments of Chinese text


def sms_text(
    replies: list[tuple[str, list[dict]]], limit: int = SMS_LIMIT, hotline: str = "12349"
) -> tuple[str, dict[str, str]]:
    """Replies joined for one SMS, buttons as "回复1 …", at most `limit` characters.

    Returns the text and the digits the person can reply with."""
    texts = [strip_symbols(_tidy(text)).strip() for text, _ in replies if text]
    buttons = [b for _, bs in replies for b in bs or []]
    choices: dict[str, str] = {}
    options: list[str] = []
    digit = 1
    for button in buttons:
        title = strip_symbols(str(button.get("title", ""))).strip()
        payload = str(button.get("payload", ""))
        if not title or not payload or payload.startswith(("http://", "https://")):
            continue
        key = "0" if payload == HUMAN_PAYLOAD else str(digit)
        if key != "0":
            digit += 1
        if key in choices or len(key) > 1:
            continue
        choices[key] = payload
        options.append(wording.sms("choice").format(key=key, title=title))
    human = wording.sms("choice").format(key="0", title="")
    options.sort(key=lambda option: option.startswith(human))  # a human is offered last
    menu = "；".join(options)
    body = "\n".join(t for t in texts if t)
    suffix = ("\n" + menu) if menu else ""
    if len(body) + len(suffix) <= limit:
        return body + suffix, choices
    tail = wording.sms("cut_mid_sentence").format(hotline=hotline)
    room = max(limit - len(suffix) - len(tail), 20)
    cut = body[:room]
    # End at a sentence when one ends in the last third, so the message reads whole.
    last_stop = max(cut.rfind(p) for p in "。！？\n")
    if last_stop >= room * 2 // 3:
        cut, tail = cut[: last_stop + 1], wording.sms("cut_at_sentence").format(hotline=hotline)
    return (cut + tail + suffix)[:limit], choices
