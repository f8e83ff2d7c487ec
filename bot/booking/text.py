"""What callers say in a booking conversation -> values: service, name, ID last four,
phone number, yes/no, which of several bookings. Pure functions (no database, no Rasa)."""

from __future__ import annotations

import re
from pathlib import Path

import cn2an
import yaml

from bot.text.facts import DONT_KNOW_WORDS
from bot.text.norm import normalize
from bot.text.timeparse import after_correction, day_named

SERVICE_WORDS_FILE = Path(__file__).with_name("service_words.yml")


def _service_words() -> dict[str, dict[str, tuple[str, ...]]]:
    """bot/booking/service_words.yml: per catalogue service, in the order tried, the words
    callers say (`says`) and the NLU's entity words (`entity`)."""
    with SERVICE_WORDS_FILE.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{SERVICE_WORDS_FILE.name}: expected services with their words")
    words: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, entry in data.items():
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("says", "entity", "tokens", "hints"):
            value = (entry or {}).get(key, [] if key == "hints" else None)
            filled = key in ("tokens", "hints") or bool(value)  # tokens and hints may be empty
            if not (isinstance(value, list) and filled and all(isinstance(w, str) and w for w in value)):
                raise ValueError(f"{SERVICE_WORDS_FILE.name}: {name} needs a list of words `{key}`")
            lists[key] = tuple(value)
        if not set(lists["hints"]) <= set(lists["says"]):
            raise ValueError(f"{SERVICE_WORDS_FILE.name}: {name}: every hint must be one of its `says`")
        words[str(name)] = lists
    return words


SERVICE_WORDS = _service_words()
# Service names of the catalogue and how people say them (the entity words read too).
SERVICE_SYNONYMS: dict[str, tuple[str, ...]] = {
    name: tuple(dict.fromkeys(w["says"] + w["entity"])) for name, w in SERVICE_WORDS.items()
}
_SERVICE_ORDER = tuple(SERVICE_WORDS)  # specific first
# Words that name a service only when nothing else does ("去医院" beside "打扫卫生的")
_NAMING_WORDS: dict[str, tuple[str, ...]] = {
    name: tuple(w for w in SERVICE_SYNONYMS[name] if len(w) > 1 and w not in SERVICE_WORDS[name]["hints"])
    for name in _SERVICE_ORDER
}
_HINT_WORDS: dict[str, tuple[str, ...]] = {name: SERVICE_WORDS[name]["hints"] for name in _SERVICE_ORDER}


_AFFIRM = (
    "对",
    "是",
    "好",
    "行",
    "可以",
    "嗯",
    "没错",
    "确认",
    "要的",
    "中",
    "成",
    "ok",
    "OK",
    "对头",
    "确定",
)
_DENY = ("不", "没", "别", "错", "算了", "取消")
_ABORT = ("不约了", "不预约了", "不要约了", "算了", "不办了", "不用约了", "先不约", "不弄了")
_ORDINALS = {
    "第一": 1,
    "第二": 2,
    "第三": 3,
    "第四": 4,
    "第五": 5,
    "头一": 1,
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "5": 5,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
}
# also the `dont_come` NLU feature: `python -m bot.policy.nlu` writes it into data/nlu/lookups.yml
_DONT_COME = re.compile(r"(?:不用|别|不要|甭|不必)(?:再)?(?:过|上门)?来(?:了|啦|人)")
# a clause that keeps what it names: "洗澡的留着", "理发那个不动" (not the one to change)
_KEPT_CLAUSE = re.compile(
    r"[^，,。；;！!？?]*(?:留着|保留|不动|别动|照旧|不取消|别取消|不用取消|不要取消|不用改|不改)[^，,。；;！!？?]*"
)
_ORDINAL_ANYWHERE = re.compile(r"第([一二两三四五六七八九十]|[0-9]+)")
_CHOICE_FILLER = re.compile(r"^(?:那就|我就要|我要|就要|要|就|选)")
_NAME_PREFIXES = (
    "我叫",
    "我是",
    "老人叫",
    "老人是",
    "她叫",
    "他叫",
    "我妈叫",
    "我爸叫",
    "我母亲叫",
    "我父亲叫",
    "名字是",
    "名字叫",
    "姓名是",
    "姓名",
    "叫",
    "是",
)
_HAN = re.compile(r"[\u4e00-\u9fff·]")
_PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9]{9})(?![0-9])")
_LAST4 = re.compile(r"(?<![0-9])([0-9]{3}[0-9Xx])(?![0-9])")
_FULL_ID = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")


def service_from_text(text: str | None, entities: list[str] | None = None) -> str | None:
    """The catalogue name of the service a caller asked for, or None. A self-correction
    wins ("约个理发，不对，是洗澡" -> 助浴), over the classifier's entities too; a service
    said to be kept is not the one asked for ("打扫的不要了，洗澡的留着" -> 助洁)."""
    rest = _KEPT_CLAUSE.sub("", text or "")
    if rest != (text or ""):
        wanted = service_from_text(rest)
        if wanted:
            return wanted
    tail = after_correction(text)
    if tail != (text or ""):
        corrected = service_from_text(tail)
        if corrected:
            return corrected
    candidates = [e for e in (entities or []) if e] + [text or ""]
    for candidate in candidates:
        for name in _SERVICE_ORDER:
            if name in candidate:
                return name
    # a word that names a service, in any candidate, before a word that only hints at one
    for words in (_NAMING_WORDS, _HINT_WORDS):
        for candidate in candidates:
            for name in _SERVICE_ORDER:
                if any(word in candidate for word in words[name]):
                    return name
    if any("餐" in candidate for candidate in candidates):
        return "助餐"
    return None


def phone_from_text(text: str | None) -> str | None:
    flat = normalize(text or "").replace(" ", "").replace("-", "")
    flat = re.sub(r"(?:\+|00)?86(?=1[3-9][0-9]{9}(?![0-9]))", "", flat)  # +86 138…
    m = _PHONE.search(flat)
    return m.group(1) if m else None


def id_last4_from_text(text: str | None) -> str | None:
    """'0027', '零零二七', '后四位是002X', or a whole ID number -> its last four."""
    flat = normalize(text or "").replace(" ", "").upper()
    full = _FULL_ID.search(flat)
    if full:
        return full.group(0)[-4:]
    flat = flat.replace("叉", "X").replace("艾克斯", "X")
    m = _LAST4.search(flat)
    return m.group(1).upper() if m else None


# A name said with the request, before anyone asked: "我是张桂兰的女儿", "我叫陈志明，…",
# "我妈张桂兰…", "老人叫李建国". Only after these cues; a bare name is left to the question.
_KIN = r"(?:妈|爸|妈妈|爸爸|母亲|父亲|奶奶|爷爷|外婆|外公|姥姥|姥爷|婆婆|公公|老伴|老伴儿|丈夫|爱人|老公|老婆|姑妈|姨妈|舅舅|叔叔)"
_NAME_END = (
    r"(?=的|，|,|。|、|\s|$|约|预约|想|要|身份证|今年|住|查|那个|也|需要|老人|"
    r"下礼拜|下周|后天|明天|大后天|这周|这个|十|二十|三十)"
)
_UPFRONT_NAME = [
    re.compile(
        r"(?:我是|我就是)([\u4e00-\u9fff]{2,3}?)的"
        + r"(?:女儿|儿子|闺女|孙子|孙女|外孙|外孙女|儿媳|女婿|侄子|侄女|老伴|家属|爱人|亲戚)"
    ),
    re.compile(r"(?:我叫|我是|老人叫|老人是|名字叫|名字是|姓名是)([\u4e00-\u9fff]{2,3}?)" + _NAME_END),
    re.compile(r"(?:我|我家|我们家)" + _KIN + r"(?:叫)?([\u4e00-\u9fff]{2,3}?)" + _NAME_END),
]
_ID_CUE = r"(?:身份证|尾号|后四位|最后四位)"
_UPFRONT_NAME += [
    # a name in a clause of its own next to the ID digits: "张桂兰，尾号0027", "…0027，张桂兰"
    re.compile(r"(?:^|[，,。])([\u4e00-\u9fff]{2,3})[，,](?=.*" + _ID_CUE + ")"),
    re.compile(
        _ID_CUE + r"[^，,]*?[0-9零〇一二三四五六七八九Xx叉]{4}[，,]([\u4e00-\u9fff]{2,3})(?=$|[，,。])"
    ),
    re.compile(r"把([\u4e00-\u9fff]{2,3}?)的(?:预约|服务|洗澡|打扫|理发|陪诊|送餐|助)"),
    # "给刘淑芬约个…", "帮王秀英订…", "替李建国预约…"
    re.compile(
        r"(?:给|帮|替)([\u4e00-\u9fff]{2,3}?)(?:老人|老太太|老爷子|阿姨|奶奶)?(?:约|预约|订|取消|改|查)"
    ),
]
_NOT_A_NAME = (
    "老人",
    "家属",
    "本人",
    "女儿",
    "儿子",
    "他们",
    "她们",
    "我们",
    "自己",
    "一个",
    "想约",
    "想问",
    "要约",
    "这个",
    "那个",
    "谁",
    "取消",
    "改期",
    "你好",
    "您好",
    "喂",
    "好的",
    "麻烦",
    "请问",
    "预约",
    "查询",
    "时间",
    "帮忙",
    "服务",
    "退掉",
    "的",
)
_NOT_A_NAME_START = ("我", "你", "您", "他", "她", "老", "这", "那", "要", "想", "改", "帮")


def name_said_upfront(text: str | None) -> str | None:
    """The elder's name said together with a request (see _UPFRONT_NAME), or None."""
    flat = re.sub(r"\s+", "", text or "")
    for pattern in _UPFRONT_NAME:
        m = pattern.search(flat)
        if (
            m
            and not any(w in m.group(1) for w in _NOT_A_NAME)
            and not m.group(1).startswith(_NOT_A_NAME_START)
        ):
            return m.group(1)
    return None


def id_last4_said_upfront(text: str | None) -> str | None:
    """The ID number's last four said with a request, only after a cue naming them."""
    flat = normalize(text or "")
    m = re.search(r"(?:身份证|后四位|尾号|最后四位)", flat)
    if not m:
        return None
    return id_last4_from_text(flat[m.start() :])


# How people spell a name's characters out loud: 木子李, 弓长张, 建设的建, 国家的国.
_SPELLED_SURNAMES = (
    "木子李",
    "弓长张",
    "耳东陈",
    "口天吴",
    "立早章",
    "双木林",
    "古月胡",
    "言午许",
    "草头黄",
    "人可何",
    "双口吕",
    "禾呈程",
    "三横王",
    "文刀刘",
)


def _is_spelling(segment: str) -> bool:
    m = re.fullmatch(r"(?:是|就是)?([\u4e00-\u9fff]{1,3})的([\u4e00-\u9fff])", segment)
    return segment in _SPELLED_SURNAMES or bool(m and m.group(2) in m.group(1))


def name_from_text(text: str | None, entities: list[str] | None = None) -> str | None:
    """A person's name (2-4 Chinese characters) from what the caller said; the spelling
    that often follows it ("李建国，木子李，建设的建，国家的国") is set aside."""
    for e in entities or []:
        if e and 2 <= len(e) <= 4 and all(_HAN.match(ch) for ch in e):
            return e
    segments = [seg for seg in re.split(r"[\s，。,.!！?？、；;]+", text or "") if seg]
    kept = [seg for seg in segments if not _is_spelling(seg)]
    flat = "".join(kept if kept else segments)
    flat = re.sub(r"[0-9Xx零〇一二三四五六七八九]{4,}.*$", "", flat)  # drop an ID part
    for prefix in _NAME_PREFIXES:
        idx = flat.find(prefix)
        if idx != -1 and prefix not in ("是", "叫"):
            flat = flat[idx + len(prefix) :]
            break
    else:
        for prefix in ("叫", "是"):
            if prefix in flat[:-2]:
                flat = flat[flat.find(prefix) + 1 :]
                break
    flat = re.sub(r"(老人|老太太|老先生|奶奶|爷爷|阿姨|的|啊|呀|吧|呢)$", "", flat)
    if 2 <= len(flat) <= 4 and all(_HAN.match(ch) for ch in flat):
        return flat
    return None


# Words a "yes" at a read-back is made of, beyond _AFFIRM. The classifier's `affirm` alone is
# not enough there: noise it has never seen ("滴滴答答") can score 0.65 affirm, and a booking
# must not be written on noise; such a reply is asked again.
_YES_WORDS = _AFFIRM + (
    "要得",
    "妥",
    "没问题",
    "同意",
    "就这样",
    "就这么",
    "定了",
    "约吧",
    "安排",
    "嗯呐",
    "对的",
    "好嘞",
    "yes",
)
# Not knowing is neither yes nor no: "不确定" holds 确定, "不知道对不对" holds 对.
_UNSURE = re.compile(r"不确定|确定不了|不知道|不清楚|说不好|不好说|记不清|拿不准|不晓得")
# At "您要取消…，对吗？" the caller often answers with the wish itself: "对，不要了",
# "不用来了", "退掉吧". Keeping the visit is said with 不/别 before 取消 or with 还要 / 照常.
_KEEP_VISIT = re.compile(r"(不|别|甭|先不|暂时不|不用|不要)(要)?取消|还(是)?要(的|来)|照常|留着|不退")
_DROP_VISIT = re.compile(
    r"不要了|不用了|不需要了|不要它了|取消(吧|掉|了|就行|好了)?$|取消掉|退掉|"
    r"退了|不来了|不去了|作废"
)


# Hemming and hawing is no answer: "嗯嗯啊啊那个那个", "呃……这个", "啊啊" (a bare 嗯 is a yes)
_HESITATION = re.compile(r"[\s,，.。…、~～]*(?:(?:嗯|啊|呃|额|唔|那个|这个)[\s,，.。…、~～]*)+")
_HESITATION_MARK = re.compile(r"呃|额|唔|那个|这个|啊啊|嗯啊|啊嗯")


def yes_no(text: str | None, intent: str | None = None) -> bool | None:
    if _UNSURE.search(text or ""):
        return None
    if _HESITATION.fullmatch(text or "") and _HESITATION_MARK.search(text or ""):
        return None
    if intent == "affirm":
        flat = (text or "").strip()
        if flat.startswith("/") or any(w in flat for w in _YES_WORDS):
            return True
        return None
    if intent == "deny":
        return False
    flat = (text or "").strip()
    if not flat or len(flat) > 12:
        return None
    if any(w in flat for w in ("不对", "不是", "不行", "不要", "不用", "错了")):
        return False
    if any(flat.startswith(w) for w in _DENY):
        return False
    if any(w in flat for w in _AFFIRM):
        return True
    return None


def cancel_confirmation(text: str | None) -> bool | None:
    """The answer to "您要取消…，对吗？" when it says the wish rather than 对 / 不对:
    True for "对，不要了" / "不用来了" / "退掉吧", False for "别取消" / "还是要的",
    None when it says neither (yes_no then reads it)."""
    flat = re.sub(r"[\s，。,.!！?？、~～]+", "", text or "")
    if not flat or len(flat) > 16 or _UNSURE.search(flat):
        return None
    if _KEEP_VISIT.search(flat) or re.match(r"(不对|不是|错了)", flat):
        return False
    if _DROP_VISIT.search(flat) or _DONT_COME.search(flat):
        return True
    return None


# "等一下，有人敲门", "你等等，我去拿身份证": the caller needs a moment; the question stays
_HOLD_ON = re.compile(
    r"等一下(?!午)|等一等|等等|稍等|你先等|我去拿|我去找|我找找|我找一下|"
    r"我翻翻|有人敲门|我去开门|我接个电话|先别挂"
)
# anything an answer is made of: digits, a half day or clock time, a service, yes / no
_ANSWER_PART = re.compile(
    r"[0-9０-９]|[零〇幺一二两三四五六七八九十]{2,}|上午|下午|中午|晚上|早上|点|"
    r"[对是好行要]的?$"
)


def asks_to_wait(text: str | None) -> bool:
    """The caller asks for a moment and says nothing the question needs: "等一下，有人敲门"
    is a wait; "等一下，0015", "等等，后天上午", "稍等，下午吧", "等一下，洗澡" are answers."""
    flat = re.sub(r"[\s，。,.!！?？、~～]+", "", text or "")
    if not _HOLD_ON.search(flat) or len(flat) > 16 or _ANSWER_PART.search(flat):
        return False
    return day_named(flat) is None and service_from_text(flat) is None


def wants_to_stop(text: str | None) -> bool:
    """不约了, 算了, and "don't come" (不用来了, 别过来了) said in the middle of booking."""
    return any(w in (text or "") for w in _ABORT) or bool(_DONT_COME.search(text or ""))


def ordinal_from_text(text: str | None) -> int | None:
    """'第二个' / '2' / '后面那个' -> 1-based position in a list read out to the caller."""
    flat = (text or "").strip()
    marked = _ORDINAL_ANYWHERE.search(flat)  # 我要第二个吧, 就第3个, 第九个 (out of range later)
    if marked:
        return int(cn2an.cn2an(marked.group(1), "smart"))
    flat = _CHOICE_FILLER.sub("", flat)  # 要一, 就两个, 选2
    for word, n in sorted(_ORDINALS.items(), key=lambda kv: -len(kv[0])):
        if flat.startswith(word) or flat.startswith("第" + word) or flat == word:
            return n
    if "最后" in flat:
        return -1
    return None


# "她手机尾号是0003", "电话后四位零零零五": the last four of the elder's registered phone,
# said instead of the ID number's (they name her together with her name; the code proves it)
_PHONE_TAIL = re.compile(
    r"(?:手机|电话|号码|手机号|电话号)[码]?(?:的)?(?:尾号|尾数|后四位|最后四位|末四位|后4位|最后4位|末4位)"
    r"(?:是|为|:|：)?([0-9]{4})(?![0-9])"
)


def phone_last4_from_text(text: str | None) -> str | None:
    """The last four digits of a phone number said as such ("手机尾号0003"), or None."""
    m = _PHONE_TAIL.search(normalize(text or "").replace(" ", ""))
    return m.group(1) if m else None


# "身份证我记不住", "后四位不知道", "证件号我说不上来": the caller cannot give the ID digits
_ID_WORDS = re.compile(r"身份证|证件|后四位|最后四位|尾号|号码|身份号")
_CANNOT = re.compile(
    DONT_KNOW_WORDS.pattern + r"|记不住|不记得|记不清|想不起来|说不上来|没记|没带|不太清楚|不懂"
)


def id_unknown(text: str | None) -> bool:
    """Whether the caller says they do not know the ID number's digits (and gives none)."""
    flat = normalize(text or "")
    if id_last4_from_text(flat) or phone_from_text(flat) or phone_last4_from_text(flat):
        return False
    return bool(_CANNOT.search(flat)) and (bool(_ID_WORDS.search(flat)) or len(flat) <= 8)


# "刚才约的", "刚约的那个", "上回打电话约的": the booking made last
_JUST_BOOKED = re.compile(r"刚才|刚刚|刚约|才约|刚订|刚预约|刚打电话|上回|上次")


def means_latest_booking(text: str | None) -> bool:
    return bool(_JUST_BOOKED.search(text or ""))


# "理发不约了，换成洗澡": a wish to stop followed by what is wanted instead is a correction
_INSTEAD = re.compile(r"换成|改成|改约|改为|换|还是|(?<!不)约|(?<!不)订")


def replaces_request(text: str | None) -> bool:
    """Whether a "不约了" is followed by another service or day wanted instead."""
    flat = text or ""
    ends = [flat.rfind(w) + len(w) for w in _ABORT if w in flat]
    if not ends:
        return False
    rest = flat[max(ends) :]
    if not _INSTEAD.search(rest):
        return False
    return service_from_text(rest) is not None or day_named(rest) is not None
