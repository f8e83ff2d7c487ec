"""Checks on one registry row, shared by the file imports and the console forms.

Each check returns the clean value or raises RowError with the reason in Chinese (what the
person who fills in the spreadsheet reads); nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers

from bot.text.facts import DISTRICT_STREETS
from bot.models.people import CARE_LEVELS, ECONOMIC_STATUSES, LIVING_SITUATIONS

# GB 11643-1999: weights of the first 17 characters and the check character for sum mod 11
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_NAME_RE = re.compile(r"^[\u3400-\u9fff·•]{2,20}$")
_YES = {"是", "有", "1", "true", "yes", "y", "√", "✓"}
_NO = {"否", "无", "没有", "0", "false", "no", "n", "", "×"}


class RowError(ValueError):
    """One field of one row is wrong; `field` is the column header, `reason` is Chinese."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def text(value: object) -> str:
    """A cell as text: numbers from a spreadsheet without '.0', whitespace trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip().replace("\u3000", " ").strip()


def id_check_char(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def id_number(value: object, field: str = "身份证号") -> tuple[str, dt.date, str]:
    """An 18-character resident ID number (GB 11643) -> (number, birth date, sex)."""
    raw = value
    s = "".join(text(value).split()).upper()
    if not s:
        raise RowError(field, "没有填写")
    if isinstance(raw, float) or re.fullmatch(r"\d\.\d+E\+17", s):
        raise RowError(field, "表格把身份证号当成了数字，末几位已丢失；请把这一列设为文本格式后重填")
    if len(s) == 15 and s.isdigit():
        raise RowError(field, "是15位的旧号码，请填写18位身份证号")
    if not _ID_RE.match(s):
        raise RowError(field, "应为18位：前17位是数字，最后一位是数字或X")
    try:
        birth = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        raise RowError(field, f"第7到14位的出生日期{s[6:14]}不是一个真实的日期") from None
    if birth.year < 1890:
        raise RowError(field, "出生年份不对")
    expected = id_check_char(s[:17])
    if s[17] != expected:
        raise RowError(field, "校验位不对，号码可能抄错了一位")
    sex = "男" if int(s[16]) % 2 else "女"
    return s, birth, sex


def birth_date(value: object, from_id: dt.date, field: str = "出生日期") -> dt.date:
    s = text(value)
    if not s:
        return from_id
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", s
    )
    if not m:
        raise RowError(field, "看不懂这个日期，请写成1938-03-12")
    try:
        day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise RowError(field, "不是一个真实的日期") from None
    if day != from_id:
        raise RowError(field, f"和身份证号里的出生日期（{from_id:%Y-%m-%d}）不一致")
    return day


def sex(value: object, from_id: str, field: str = "性别") -> str:
    s = text(value)
    if not s:
        return from_id
    if s not in ("男", "女"):
        raise RowError(field, "请填写“男”或“女”")
    if s != from_id:
        raise RowError(field, f"和身份证号不一致（身份证号第17位表示{from_id}）")
    return s


def name(value: object, field: str = "姓名") -> str:
    s = "".join(text(value).split())
    if not s:
        raise RowError(field, "没有填写")
    if not _NAME_RE.match(s):
        raise RowError(field, "请填写中文姓名（2到20个字）")
    return s


def phone(value: object, area_code: str, field: str = "联系电话", required: bool = False) -> str | None:
    """A mainland mobile (11 digits) or landline (area code + number, e.g. 02584000053)
    number as the service database stores it; a local number gets the district's area code."""
    s = text(value)
    if not s:
        if required:
            raise RowError(field, "没有填写")
        return None
    digits = re.sub(r"[\s\-()（）]", "", s)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not digits.isdigit():
        raise RowError(field, "只能填写数字，例如13812345678或025-84000053")
    if len(digits) in (7, 8) and not digits.startswith("0"):
        digits = area_code + digits
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        raise RowError(field, "不是一个电话号码") from None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        raise RowError(field, "不是有效的大陆手机号或座机号（座机请带区号）")
    kind = phonenumbers.number_type(number)
    national = str(number.national_number)
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return national
    if kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return "0" + national
    raise RowError(field, "这种号码（如400、95开头的号码）不能用来联系老人")


def street(value: object, field: str = "街道") -> str:
    s = "".join(text(value).split())
    if s.endswith("街道"):
        s = s[:-2]
    if s not in DISTRICT_STREETS:
        raise RowError(field, f"“{text(value)}”不是本区的街道（本区有：{'、'.join(DISTRICT_STREETS)}）")
    return s


def choice(value: object, allowed: tuple[str, ...], field: str = "", default: str | None = None) -> str:
    s = "".join(text(value).split())
    if not s and default is not None:
        return default
    if s not in allowed:
        raise RowError(field, f"请填写其中之一：{'、'.join(allowed)}")
    return s


def living_situation(value: object, field: str = "居住情况") -> str:
    return choice(value, LIVING_SITUATIONS, field)


def economic_status(value: object, field: str = "经济状况") -> str:
    return choice(value, ECONOMIC_STATUSES, field)


def care_level(value: object, field: str = "能力等级") -> str:
    return choice(value, CARE_LEVELS, field)


def yes_no(value: object, field: str = "", default: bool = False) -> bool:
    s = text(value).lower()
    if s in _YES:
        return True
    if s in _NO:
        return default if s == "" else False
    raise RowError(field, "请填写“是”或“否”")


def short_text(value: object, limit: int, field: str = "", required: bool = False) -> str | None:
    s = text(value)
    if not s:
        if required:
            raise RowError(field, "没有填写")
        return None
    if len(s) > limit:
        raise RowError(field, f"太长了（最多{limit}个字）")
    return s
