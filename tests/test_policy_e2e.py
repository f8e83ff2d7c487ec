"""Policy questions through POST /api/chat on the real stack (Rasa, actions, web): correct,
cited answers to differently worded questions for every program, answers that follow the
date, and the honest not-sure answer with a human offer for what no pack covers."""

from __future__ import annotations

import uuid

import pytest

from bot.config import PROJECT_ROOT
from bot.policy.kb import load_kb
from tests.stack import new_stack

pytestmark = pytest.mark.e2e

KB = load_kb(PROJECT_ROOT / "policies", "demo_district")

# (program, question, a fact the right answer must state)
CASES = [
    ("free_home_care_80plus", "我妈今年八十六了，每个月免费照料有几个小时", "不少于3小时"),
    ("free_home_care_80plus", "八十岁以上老人的免费上门照料是什么政策", "免费照料"),
    ("free_home_care_80plus", "过了八十岁，上门照料是不是就不要钱了", "免费照料"),
    ("free_home_care_80plus", "老爷子过了八十，免费照料每个月有几个小时", "不少于3小时"),
    ("basic_service_objects", "特惠对象都包括哪些人", "百岁老年人"),
    ("basic_service_objects", "特定对象指的是什么样的老人", "空巢独居"),
    ("basic_service_objects", "低保户家的老人属于哪一类服务对象", "特惠对象"),
    ("gov_purchased_home_services", "政府购买居家养老服务是怎么回事", "政府出钱"),
    ("gov_purchased_home_services", "政府买的上门服务在哪里下单", "点单"),
    ("gov_purchased_home_services", "其他城市也有政府购买居家养老服务吗", "T市"),
    ("family_care_beds", "家庭养老床位是啥", "不用离开家"),
    ("family_care_beds", "家庭养老床有补贴没有", "同等的补贴"),
    ("family_care_beds", "全区一共有多少张家庭养老床位", "5000张"),
    ("ltc_insurance", "长护险到哪里去申请", "区政务中心"),
    ("ltc_insurance", "我爸瘫在床上了，照护保险的流程是什么", "失能评估"),
    ("ltc_insurance", "失能照护保险的钱怎么结算", "失能保险基金"),
    ("capacity_assessment", "老年人能力评估有什么用", "重要依据"),
    ("capacity_assessment", "八十岁以上的老人都要做能力评估吗", "全覆盖"),
    ("capacity_assessment", "做能力评估收不收钱", "没有写评估收不收费"),
    ("age_friendly_modification", "适老化改造谁家可以做", "特困供养"),
    ("age_friendly_modification", "我们是老小区，能不能加装电梯", "加装电梯"),
    ("age_friendly_modification", "是老化改造怎么申请啊", "街道"),
    # who asks (低保) and what is asked (the handrail): the topic answers (issue 17)
    ("age_friendly_modification", "吃低保的老人家里卫生间想装扶手，有什么政策", "适老化改造"),
    ("meal_aid", "附近哪里有老年人吃饭的助餐点", "全覆盖"),
    ("meal_aid", "老年食堂的饭菜安全吗", "食品安全责任险"),
    ("meal_aid", "助餐点一顿饭多少钱", "价格"),
    ("time_bank", "时间银行是干什么的", "志愿者"),
    ("time_bank", "时间银行存的时间能换什么", "兑换支取"),
    ("time_bank", "实践银行怎么参加", "注册"),
    ("silver_advisors", "银发顾问是做什么的", "咨询"),
    ("silver_advisors", "去哪里找养老顾问", "社区居家养老服务中心"),
    ("silver_advisors", "银法顾问收费吗", "收不收费"),
    ("special_difficulty_visits", "我妈一个人住，有没有人每个月来看看她", "探访"),
    ("special_difficulty_visits", "特殊困难老人探访多久来一次", "每月探访"),
    ("special_difficulty_visits", "关爱探访服务是什么", "登记造册"),
    ("legal_aid_12348", "12348法律服务队是干什么的", "法律"),
    ("legal_aid_12348", "儿女不赡养老人怎么办", "绿色通道"),
    ("legal_aid_12348", "老人能不能免费找律师", "律师"),
    ("tekun_support", "特困老人能不能去养老院住", "集中供养"),
    ("tekun_support", "特困供养怎么申请", "街道便民服务中心"),
    ("tekun_support", "特困老人不愿意去养老院，在家有人管吗", "结对关爱"),
    ("elder_university", "老年大学怎么报名啊", "报名方式文件里没有写"),
    ("elder_university", "家附近有没有老年大学", "老年大学分校"),
    ("elder_university", "上老年大学要交学费吗", "学费"),
    ("medical_care_integration", "家庭医生能不能上门看病", "上门"),
    ("medical_care_integration", "医养融合是什么意思", "社区医院"),
    ("medical_care_integration", "互联网加护理是怎么回事", "执业护士"),
    ("hotline_12349", "12349几点有人接电话", "24小时"),
    ("hotline_12349", "养老服务热线能帮我干什么", "12349"),
    ("hotline_12349", "一二三四九是什么热线", "12349服务热线"),
    ("caregiver_training", "我妈九十二了，家里人能参加免费培训吗", "免费"),
    ("caregiver_training", "家属照护培训收不收钱", "免费"),
    ("caregiver_training", "护理培训在哪里报名", "报名"),
    ("home_community_pilot_reform", "全国居家和社区养老服务改革试点有多少个地区", "203个"),
    ("home_community_pilot_reform", "养老服务改革试点是什么", "2016年"),
    ("home_community_pilot_reform", "老人自己能申请国家的改革试点吗", "不是发给老人个人的"),
    ("day_care_centers", "白天家里没人照顾老人，社区有没有日托的地方", "日间照料中心"),
    ("day_care_centers", "我们街道有没有日间照料中心", "短期托养"),
    ("day_care_centers", "家里人要出门几天，老人能短期托养吗", "没有喘息服务"),
    ("elder_care_institutions", "区里养老院一共有多少张床位", "8284张"),
    ("elder_care_institutions", "住养老院能不能用医保看病", "医保"),
    ("elder_care_institutions", "护理型床位是怎么回事", "护理型床位"),
    ("assistive_devices", "想给我爸配个轮椅去哪里弄", "康复辅具配置服务站点"),
    ("assistive_devices", "康复辅具是什么政策", "试点推广"),
    ("assistive_devices", "助行器拐杖这些辅具有没有补贴", "文件没有写"),
    ("mental_care", "我妈老是一个人闷闷不乐，社区有心理关爱吗", "心理咨询"),
    ("mental_care", "老年人心理咨询有没有", "心理健康志愿者"),
    ("mental_care", "精神慰藉服务是什么", "长者课堂"),
    ("smart_elder_care", "家里想装一键呼叫的设备，有没有政策", "紧急呼叫系统"),
    ("smart_elder_care", "智慧养老平台是干啥的", "信息平台"),
    ("smart_elder_care", "紧急呼叫器怎么装", "文件没有写"),
    ("mutual_aid", "互助养老是什么意思", "互助小组"),
    ("mutual_aid", "互助养老怎么参加", "社区居家养老服务中心"),
    ("mutual_aid", "互助养老和时间银行一样吗", "互助养老"),
    ("family_planning_special_families", "失独老人有什么政策", "特惠对象"),
    ("family_planning_special_families", "计划生育特殊家庭能得到什么帮扶", "帮扶力度"),
    ("family_planning_special_families", "计生特殊家庭的老人算哪一类对象", "特惠对象"),
    ("severe_disability_families", "家里有重度残疾人有什么帮扶", "帮扶力度"),
    ("severe_disability_families", "重度残疾人家庭怎么认定", "没有写"),
    ("severe_disability_families", "重度残疾老人有补贴吗", "补贴标准"),
    ("subsistence_relief", "低保怎么申请", "街道便民服务中心"),
    ("subsistence_relief", "家里突然出事了有临时救助吗", "临时救助"),
    ("subsistence_relief", "吃低保需要什么条件", "符合条件"),
    ("hospice_care", "安宁疗护是什么意思", "临终关怀"),
    ("hospice_care", "哪里能做安宁疗护", "安宁疗护机构"),
    ("hospice_care", "安宁疗护医保能报吗", "医保"),
    ("service_prices", "上门服务一次收多少钱", "价格表"),
    ("service_prices", "免费的钟点用完了自己掏钱吗", "免费时长"),
    ("service_prices", "上门服务收费标准是多少", "价格表"),
]


def _sender() -> str:
    return f"policy-{uuid.uuid4().hex[:12]}"


def test_every_program_has_three_differently_worded_questions():
    per_program: dict[str, set[str]] = {}
    for program, question, _fact in CASES:
        per_program.setdefault(program, set()).add(question)
    assert set(per_program) == set(KB.program_ids())
    assert all(len(questions) >= 3 for questions in per_program.values())


@pytest.mark.parametrize(
    "program,question,fact", CASES, ids=[f"{p}-{i % 3}" for i, (p, _q, _f) in enumerate(CASES)]
)
def test_policy_question_gets_a_correct_cited_answer(stack, program, question, fact):
    sender = _sender()
    replies = stack.chat(sender, question)
    if any((r.get("custom") or {}).get("kind") == "safety_check" for r in replies):
        # "家里突然出事了……": asking whether someone is in danger is right; after "不是"
        # the question itself is answered
        replies = stack.chat(sender, "不是")
    text = "\n".join(r["text"] for r in replies)
    title = KB.program(program).citation.title
    studies = [c.title for c, _note in KB.program(program).supporting]
    # the district plan's clause, or a study said as a study (never as the plan)
    assert f"依据：《{title}》" in text or any(f"来源：{t}" in text for t in studies), text
    assert fact in text, text
    assert "不太确定" not in text


def test_the_answer_follows_todays_date(stack, tmp_path_factory):
    """The same question on a stack whose clock says 2023-06-01 gets the figure of the
    plan's time; the default stack (today, after the plan ended) gets the 2025 target, said
    as an ended plan's goal."""
    question = "我妈今年八十六了，每个月免费照料有几个小时"
    today_text = stack.chat_text(_sender(), question)
    old = new_stack(tmp_path_factory, "stack2023", {"CLOCK_NOW": "2023-06-01"})
    try:
        old.start()
        old_text = old.chat_text(_sender(), question)
    finally:
        old.stop()
    assert "每月免费照料2小时" in old_text and "规划印发时" in old_text, old_text
    assert "3小时" not in old_text and "规划到2025年的目标" not in old_text
    assert "不少于3小时" in today_text and "这是区里规划到2025年的目标" in today_text, today_text


def test_out_of_pack_question_is_not_guessed_and_offers_a_human(stack):
    sender = _sender()
    replies = stack.chat(sender, "请问殡葬补贴能领多少钱")
    text = replies[0]["text"]
    assert "不太确定" in text and "人工" in text and "依据" not in text
    assert "转人工" in {b["title"] for b in replies[0]["buttons"]}
    accepted = stack.chat(sender, "好的")
    assert accepted[0].get("custom", {}).get("action") == "handoff", accepted


def test_on_the_phone_the_offer_is_spoken_without_buttons(stack):
    replies = stack.bridge_turn(_sender(), "老人坐公交车要不要钱", {"channel": "voice"})
    assert "不太确定" in replies[0]["text"] and not replies[0].get("buttons")


def test_a_vague_question_asks_which_program_and_a_button_answers(stack):
    sender = _sender()
    replies = stack.chat(sender, "我想了解一下养老政策")
    assert "哪一项" in replies[0]["text"]
    button = next(b for b in replies[0]["buttons"] if "家庭养老床位" in b["title"])
    text = "\n".join(r["text"] for r in stack.press(sender, replies, button["title"]))
    assert "家庭养老床位" in text and "依据：《" in text


def test_a_follow_up_question_is_about_the_program_just_discussed(stack):
    sender = _sender()
    first = stack.chat_text(sender, "长护险是什么")
    assert "失能评估" in first
    follow = stack.chat_text(sender, "那要带什么材料")
    assert "失能照护保险" in follow and "材料" in follow and "依据：《" in follow
