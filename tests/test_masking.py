"""bot/text/masking.py: landlines and ID numbers are masked as well as mobiles, in every format
people and carriers write them, and every log line of a process goes through the masking
once `install_log_masking()` ran (the web server, the action server and bot.manage call it)."""

from __future__ import annotations

import logging
import re

import pytest

from bot.text import masking
from bot.text.masking import mask_phone, mask_text

# what an unmasked number looks like in a log line (tests/test_log_masking_e2e.py uses these)
UNMASKED = {
    "mobile": re.compile(r"(?<![0-9A-Za-z])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![0-9A-Za-z])"),
    "landline": re.compile(
        r"(?<![0-9A-Za-z])(?:\(0\d{2,3}\) ?|0\d{2,3}[ -]?)\d{3,4}[ -]?\d{4}(?![0-9A-Za-z])"
    ),
    "id_number": re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}[ -]?\d{8}[ -]?\d{3}[\dXx](?![0-9A-Za-z])"),
    "long_number": re.compile(r"(?<![0-9A-Za-z])\d{12,}(?![0-9A-Za-z])"),
    "spoken_digits": re.compile(r"[零〇一二三四五六七八九幺两]{7,}"),
}


def unmasked(text: str) -> list[str]:
    return [f"{kind}: {m.group(0)}" for kind, rx in UNMASKED.items() for m in rx.finditer(text)]


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("025-80000001", "025-****0001"),
        ("02580000001", "025****0001"),
        ("(025)80000001", "(025)****0001"),
        ("(025) 8000 0001", "(025) ****0001"),
        ("0512-66668888", "0512-****8888"),
        ("051266668888", "051*****8888"),
        ("010 8765 4321", "010 ****4321"),
        ("+862580000001", "+8625****0001"),
        ("+86 25 8000 0001", "+86 25 ****0001"),
        ("座机84000053", "座机****0053"),
        ("家里电话：8400-0053", "家里电话：****0053"),
    ],
)
def test_landlines_are_masked(raw, masked):
    assert mask_text(raw) == masked
    assert mask_text(f"老人家里{raw}，有事打") == f"老人家里{masked}，有事打"


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("320104193803120027", "320104********0027"),
        ("32010419380312002X", "320104********002X"),
        ("32010419380312002x", "320104********002x"),
        ("320104 19380312 0027", "320104********0027"),
    ],
)
def test_id_numbers_are_masked(raw, masked):
    assert mask_text(f"身份证号{raw}。") == f"身份证号{masked}。"


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("13800000001", "138****0001"),
        ("+8613800000001", "+86138****0001"),
        ("+86 138-0000-0001", "+86 138****0001"),
        ("138 0000 0001", "138****0001"),
        ("卡号6222021234567890123", "卡号***************0123"),
        ("一三八零零零零零零零一", "*******零零零一"),
    ],
)
def test_mobiles_and_other_long_numbers_are_masked(raw, masked):
    assert mask_text(raw) == masked


@pytest.mark.parametrize(
    "text",
    [
        "预约号483920，11月25日上午8:00-12:00",
        "2026-11-23T10:00:00",
        "handoff id=12 elder=3",
        "web-3fa8c0d2e4b611ee9a1c0242ac120002",
        "CA0123456789abcdef0123456789abcdef",
        "call sid=CA13800000001ff turn=3",
        "验证码有效5分钟，3次机会",
        "80岁以上",
        "今天是20261123",
    ],
)
def test_what_is_not_a_number_of_a_person_stays(text):
    assert mask_text(text) == text


def test_mask_phone_keeps_the_area_code_of_a_landline():
    assert mask_phone("02584000053") == "025****0053"
    assert mask_phone("025-84000053") == "025-****0053"
    assert mask_phone("13800000001") == "138****0001"
    assert mask_phone("84000053") == "****0053"
    assert not unmasked(" ".join(mask_phone(p) for p in ("02584000053", "+862584000053")))


def test_every_log_line_of_the_process_is_masked_once_installed(caplog):
    masking.install_log_masking()
    masking.install_log_masking()  # idempotent
    third_party = logging.getLogger("some.library")
    with caplog.at_level(logging.INFO):
        third_party.info("caller %s at home %s id=%s", "13800000001", "025-84000053", "32010419380312002X")
        try:
            raise ValueError("parameters: ('02584000053', '13800000002')")
        except ValueError:
            logging.getLogger("bot.x").exception("write failed for %s", "13800000003")
    text = caplog.text
    assert "138****0001" in text and "025-****0053" in text and "320104********002X" in text
    assert "025****0053" in text and "138****0002" in text  # the traceback too
    assert unmasked(text) == [], unmasked(text)
