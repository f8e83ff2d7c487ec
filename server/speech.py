"""Voice wording: turns the assistant's text replies into Mandarin a phone voice can say
clearly to an older caller, and into short SMS.

Text-to-speech reads "12349" as 一万两千三百四十九 and "15:00" as 十五比零零, and says
emoji names or nothing at all; buttons mean nothing on a landline. So before anything is
spoken: symbols go, phone and service numbers are read digit by digit (1 as 幺, as people
read phone numbers), dates and times are said the way people say them, and buttons become
spoken choices with keypad digits.

Pure functions, no Flask, no provider: every telephony adapter uses them.
"""
from __future__ import annotations

import re
import unicodedata

import cn2an

_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u2028-\u202f\ufeff]")


def _tidy(text: str, max_length: int = 2000) -> str:
    """Full-width digits and letters to ASCII (so numbers are found), control characters
    out; Chinese punctuation stays as it is (NFKC would turn ，into a comma)."""
    text = "".join(unicodedata.normalize("NFKC", ch) if ("０" <= ch <= "９" or "Ａ" <= ch <= "ｚ")
                   else ch for ch in str(text))
    return _CONTROL.sub("", text)[:max_length]

# The keypad menu offered after silence or two misunderstandings. Digit -> (what the
# caller hears, the Rasa payload sent when pressed). 0 is always a human.
KEYPAD_MENU: dict[str, tuple[str, str]] = {
    "1": ("政策咨询", "/ask_policy"),
    "2": ("我能享受什么", "/check_eligibility"),
    "3": ("预约上门服务", "/book_service"),
    "0": ("转人工", "/request_human"),
}
HUMAN_PAYLOAD = "/request_human"

KEYPAD_MENU_TEXT = ("您也可以按电话上的数字键：政策咨询，请按1；我能享受什么，请按2；"
                    "预约上门服务，请按3；转人工，请按0；再听一遍，请按星号键。")

_SERVICE_NUMBERS = {"110", "119", "120", "122", "12345", "12349", "12315", "96110"}
_DIGIT_WORDS = {"0": "零", "1": "幺", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六",
                "7": "七", "8": "八", "9": "九", "X": "叉", "x": "叉"}
_YEAR_DIGITS = dict(_DIGIT_WORDS, **{"1": "一"})
# A two (2) counting things is 两 in speech: 两个, 两位, 两小时.
_LIANG_BEFORE = ("个", "位", "次", "天", "小时", "年", "份", "间", "人", "项", "周", "名", "种",
                 "件", "趟", "岁")

_URL = re.compile(r"https?://\S+|www\.\S+")
_MASKED_PHONE = re.compile(r"(?<!\d)(\d{3})\*{4}(\d{4})(?!\d)")
_DATE = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?!\d)")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})([日号])")
_TIME = re.compile(r"(上午|下午|中午|晚上|早上|凌晨|傍晚)?\s*(?<!\d)([01]?\d|2[0-4])\s*[:：]\s*([0-5]\d)(?!\d)")
_RANGE_DASH = re.compile(r"(?<=[\d点半分日号])\s*[-–—~～]\s*(?=[\d上下中晚早凌傍])")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_LONG_DIGITS = re.compile(r"(?<![\d.])(\+?\d[\d ]{2,}\d[Xx]?)(?![\d.])")
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


def _quantity(number: str, after: str = "", before: str = "") -> str:
    if number == "2" and after.startswith(_LIANG_BEFORE) and not before.endswith("第"):
        return "两"
    try:
        return cn2an.an2cn(number, "low")
    except (ValueError, KeyError, IndexError):
        return read_digits(number)


def _say_year(year: str) -> str:
    return "".join(_YEAR_DIGITS[ch] for ch in year)


def _say_time(match: re.Match) -> str:
    period, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    if period is None:
        period = ("凌晨" if hour < 6 else "上午" if hour < 12 else "中午" if hour == 12
                  else "下午" if hour < 18 else "晚上")
        if hour == 24:
            period = "晚上"
    hour12 = hour - 12 if hour > 12 else hour
    hour_words = "两" if hour12 == 2 else cn2an.an2cn(str(hour12), "low")
    minute_words = ("" if minute == 0 else "半" if minute == 30
                    else cn2an.an2cn(str(minute), "low") + "分")
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


def speakable(text: str | None) -> str:
    """A reply as it should be spoken on the phone."""
    if not text:
        return ""
    text = _tidy(text)
    text = _URL.sub("", text)
    text = _MASKED_PHONE.sub(lambda m: "尾号" + read_digits(m.group(2)), text)
    text = strip_symbols(text)
    text = _LANDLINE.sub(lambda m: f"{read_digits(m.group(1))}，{read_digits(m.group(2))}", text)
    text = _DATE.sub(lambda m: f"{_say_year(m.group(1))}年{_quantity(str(int(m.group(2))))}月"
                                f"{_quantity(str(int(m.group(3))))}日", text)
    text = _MONTH_DAY.sub(lambda m: f"{_quantity(m.group(1))}月{_quantity(m.group(2))}{m.group(3)}",
                          text)
    text = _TIME.sub(_say_time, text)
    text = _RANGE_DASH.sub("到", text)
    text = _PERCENT.sub(lambda m: "百分之" + _quantity(m.group(1)), text)
    text = re.sub(r"(?<!\d)(\d{4})年", lambda m: _say_year(m.group(1)) + "年", text)
    text = _LONG_DIGITS.sub(_say_long_digits, text)
    # Service numbers said alone (拨打120) are read digit by digit too.
    text = re.sub(r"(?<!\d)(1[12][029]|12[0-9]{3}|96110)(?!\d)",
                  lambda m: read_digits(m.group(1)) if m.group(1) in _SERVICE_NUMBERS
                  else m.group(1), text)
    text = _NUMBER.sub(lambda m: _quantity(m.group(), text[m.end():m.end() + 2],
                                           text[max(m.start() - 1, 0):m.start()]), text)
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
        parts.append(f"{title}，请按{key}")
    if not parts:
        return "", {}
    parts.sort(key=lambda part: part.endswith("按0"))  # a human is offered last
    return "您可以直接说，也可以按键：" + "；".join(parts) + "。", choices


def keypad_choices() -> dict[str, str]:
    return {digit: payload for digit, (_, payload) in KEYPAD_MENU.items()}


# --- SMS ------------------------------------------------------------------------------

SMS_LIMIT = 300  # bot.sms.SMS_MAX_CHARS: about five segments of Chinese text


def sms_text(replies: list[tuple[str, list[dict]]], limit: int = SMS_LIMIT,
             hotline: str = "12349") -> tuple[str, dict[str, str]]:
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
        options.append(f"回复{key} {title}")
    options.sort(key=lambda option: option.startswith("回复0"))
    menu = "；".join(options)
    body = "\n".join(t for t in texts if t)
    suffix = ("\n" + menu) if menu else ""
    if len(body) + len(suffix) <= limit:
        return body + suffix, choices
    tail = f"…详情请拨{hotline}。"
    room = max(limit - len(suffix) - len(tail), 20)
    cut = body[:room]
    # End at a sentence when one ends in the last third, so the message reads whole.
    last_stop = max(cut.rfind(p) for p in "。！？\n")
    if last_stop >= room * 2 // 3:
        cut, tail = cut[:last_stop + 1], f"详情请拨{hotline}。"
    return (cut + tail + suffix)[:limit], choices
