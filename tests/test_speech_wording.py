"""How numbers are said on the phone: a table of what the assistant writes and what the
caller hears (issue 19). Pure functions, no app, no database.

Add a row when a reply is heard wrong: the text as the bot writes it, and the words an
86-year-old should hear."""

from __future__ import annotations

import pytest

from server.speech import read_digits, say_reference, speakable

# (category, text the bot writes, what is said)
WORDING = [
    # ID and phone tails: digit by digit, 0 as 零, 1 as 幺, X as 叉
    ("tail", "您的手机尾号0001", "您的手机尾号零零零幺"),
    ("tail", "尾号为 1 2 3 4，请核对", "尾号为幺二三四，请核对"),
    ("tail", "身份证后四位002X，对吗？", "身份证后四位零零二叉，对吗？"),
    ("tail", "请核对身份证最后四位0027", "请核对身份证最后四位零零二七"),
    ("tail", "身份证后4位是1010", "身份证后四位是幺零幺零"),
    ("tail", "您的号码138****0001", "您的号码尾号零零零幺"),
    ("tail", "手机尾号138****0001", "手机尾号零零零幺"),
    ("tail", "社区电话025-****0001", "社区电话尾号零零零幺"),
    ("tail", "身份证320104********002X", "身份证尾号零零二叉"),
    # booking references and codes: digit by digit, in threes, with a pause
    ("reference", "预约好了。预约号148832。", "预约好了。预约号幺四八，八三二。"),
    ("reference", "预约号1 4 8 8 3 2，不用再约了。", "预约号幺四八，八三二，不用再约了。"),
    ("reference", "预约号还是1 0 2 4 0 0。", "预约号还是幺零二，四零零。"),
    ("reference", "预约号：100200", "预约号：幺零零，二零零"),
    ("reference", "验证码1024", "验证码幺零，二四"),
    ("reference", "工单号1234567", "工单号幺二三，四五，六七"),
    # phone and service numbers: digit by digit, as before
    ("phone", "您好，这里是12349养老服务热线😊。", "您好，这里是幺二三四九养老服务热线。"),
    ("phone", "请马上拨打120急救电话！", "请马上拨打幺二零急救电话！"),
    ("phone", "遇到诈骗请打110", "遇到诈骗请打幺幺零"),
    ("phone", "顾问会打13800000001回访您", "顾问会打幺三八零零零零零零零幺回访您"),
    ("phone", "顾问会打+86 138 0000 0001", "顾问会打幺三八零零零零零零零幺"),
    ("phone", "手机138-0000-0001", "手机幺三八零零零零零零零幺"),
    ("phone", "社区电话(025)12345678", "社区电话零二五，幺二三四五六七八"),
    ("phone", "街道电话0571-87654321", "街道电话零五七幺，八七六五四三二幺"),
    ("phone", "客服400-123-4567", "客服四零零幺二三四五六七"),
    # money: 元角分, never 点五零
    ("money", "这次需要付12.50元", "这次需要付十二元五角"),
    ("money", "每餐0.5元", "每餐五角"),
    ("money", "这次需要付30元", "这次需要付三十元"),
    ("money", "找您12.05元", "找您十二元零五分"),
    ("money", "一共12.55元", "一共十二元五角五分"),
    ("money", "只要2元", "只要两元"),
    ("money", "补贴2000元", "补贴两千元"),
    ("money", "补贴10000元", "补贴一万元"),
    ("money", "补贴1,200元", "补贴一千二百元"),
    ("money", "价格￥30", "价格三十元"),
    ("money", "护理补贴300元/月", "护理补贴每月三百元"),
    ("money", "每月补贴300元，共2小时，报销85%", "每月补贴三百元，共两小时，报销百分之八十五"),
    ("money", "钟点工20元/小时，2次/周", "钟点工每小时二十元，每周两次"),
    ("money", "每月补贴300元/月", "每月补贴三百元"),
    ("money", "最多3.5万元", "最多三点五万元"),
    # dates
    ("date", "11/26上门", "十一月二十六日上门"),
    ("date", "11/26（周四）上午", "十一月二十六日，周四上午"),
    ("date", "已预约2026-11-25 15:00的助浴服务", "已预约二零二六年十一月二十五日下午三点的助浴服务"),
    ("date", "2026/11/25，星期三", "二零二六年十一月二十五日，星期三"),
    ("date", "11月26日，星期四，上午", "十一月二十六日，星期四，上午"),
    ("date", "11月26日-11月28日", "十一月二十六日到十一月二十八日"),
    ("date", "国办发〔2020〕53号", "国办发〔二零二零〕五十三号"),
    ("date", "规划期（2021–2025年）内", "规划期，二零二一到二零二五年内"),
    # addresses: rooms digit by digit, small building numbers counted
    ("address", "住1202室", "住幺二零二室"),
    ("address", "3号楼2单元1202室", "三号楼二单元幺二零二室"),
    ("address", "文昌巷12号3楼", "文昌巷十二号三楼"),
    ("address", "12栋302室", "十二栋三零二室"),
    ("address", "101栋", "幺零幺栋"),
    # times, ranges and 两
    ("time", "上班时间08:00-20:00", "上班时间上午八点到晚上八点"),
    ("time", "第2次上门，9:30到", "第二次上门，上午九点半到"),
    ("time", "11月25日，星期三，下午2点到5点", "十一月二十五日，星期三，下午两点到五点"),
    ("time", "12:30开饭", "中午十二点半开饭"),
    # symbols, URLs, asides
    ("symbols", "**重要** 请带身份证 👉", "重要 请带身份证"),
    ("symbols", "详情见https://example.org/a?b=1，谢谢", "详情见，谢谢"),
    ("symbols", "访问https://x.org看看", "访问看看"),
    ("symbols", "登记了张桂兰老人（88岁，住五老村）的资料", "登记了张桂兰老人，八十八岁，住五老村的资料"),
    ("symbols", "助餐/助浴", "助餐或助浴"),
]


@pytest.mark.parametrize(
    "text, said",
    [(text, said) for _, text, said in WORDING],
    ids=[f"{category}-{i}" for i, (category, _, _) in enumerate(WORDING)],
)
def test_speakable(text, said):
    assert speakable(text) == said


def test_the_table_covers_every_category():
    categories = {category for category, _, _ in WORDING}
    assert categories >= {"tail", "reference", "phone", "money", "date", "address", "time", "symbols"}
    assert len(WORDING) >= 40


@pytest.mark.parametrize(
    "ref, said",
    [
        ("148832", "幺四八，八三二"),
        ("1 4 8 8 3 2", "幺四八，八三二"),
        ("１４８８３２", "幺四八，八三二"),  # full-width, as typed on a phone
        ("1024", "幺零，二四"),  # never a digit left alone at the end
        ("1234567", "幺二三，四五，六七"),
        ("12345678", "幺二三，四五六，七八"),
        ("120", "幺二零"),
        ("ab12c3", "AB幺，二C三"),
        ("", ""),
    ],
)
def test_say_reference_groups_in_threes(ref, said):
    assert say_reference(ref) == said


def test_a_reference_said_twice_is_said_the_same_both_times():
    # Callers say the reference, then "我再说一遍" and say_reference(ref) again.
    assert speakable(f"预约号{148832}。") == f"预约号{say_reference('148832')}。"


@pytest.mark.parametrize(
    "number, said",
    [
        ("13800000001", "幺三八零零零零零零零幺"),
        ("002X", "零零二叉"),
        ("138 0000-0001", "幺三八零零零零零零零幺"),
    ],
)
def test_read_digits(number, said):
    assert read_digits(number) == said


@pytest.mark.parametrize("empty", [None, "", "👍"])
def test_nothing_to_say(empty):
    assert speakable(empty) == ""
