"""A realistic conversation full of personal numbers, through the real processes, and then
every log line of all three (web, Rasa, actions) scanned for an unmasked mobile, landline,
ID number, bank card or digit-by-digit spoken number. The same conversation shows a
daughter proving who she is with the code sent to her mobile (her mother has only a
landline) and being recorded as acting for her mother."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.stack import latest_code
from tests.test_masking import unmasked

pytestmark = pytest.mark.e2e

LANDLINE = "025-84000066"
DAUGHTER = "13912340066"
ID_NUMBER = "32010419400101006X"


@pytest.fixture(scope="module")
def landline_elder(stack):
    """An elder with only a landline and her daughter's mobile on file (added for this test)."""
    engine = sa.create_engine(stack.database_url, future=True)
    with engine.begin() as c:
        street = c.execute(sa.text("select id from streets where name = '五老村'")).scalar_one()
        c.execute(
            sa.text(
                "insert into elders (name, birth_date, gender, phone, id_number_last4, street_id, address, "
                "hukou_local, economic_status, care_level, dementia, living_situation, special_family,"
                " disability_certificate, veteran, emergency_contact_name, emergency_contact_phone, "
                "created_at, updated_at, status) values ('赵玉珍', '1940-01-01', '女', :phone, :id, "
                ":street, '五老村街道文昌巷20号', true, '普通', '轻度失能', false, '独居', false, false, "
                "false, '孙丽', :daughter, '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'active')"
            ),
            {
                "phone": LANDLINE.replace("-", ""),
                "id": ID_NUMBER[-4:],
                "street": street,
                "daughter": DAUGHTER,
            },
        )
        elder_id = c.execute(sa.text("select id from elders where name = '赵玉珍'")).scalar_one()
    yield engine, elder_id
    engine.dispose()


def test_a_conversation_full_of_numbers_leaves_none_in_the_logs(stack, landline_elder, sender):
    engine, elder_id = landline_elder
    say = lambda text: stack.chat_text(sender, text)  # noqa: E731
    say("你好")
    say(f"我是赵玉珍的女儿，我手机{DAUGHTER}，我妈家里座机{LANDLINE}，身份证号{ID_NUMBER}，她一个人住")
    reply = say("我想帮我妈预约助洁")
    if "验证码" not in reply:
        if "名字" in reply or "姓名" in reply:
            reply = say("赵玉珍")
        if "后四位" in reply:
            reply = say("006X")
    assert "验证码" in reply and "139****0066" in reply, reply
    reply = say(latest_code(stack.database_url, DAUGHTER))
    assert "哪一天" in reply, reply
    say("我的电话是一三九一二三四零零六六，座机02584000066")
    say("有人打电话025-80000001说我妈银行卡6222021234567890123要冻结，让她转账到13700001111")
    say("转人工")
    # the SMS line: the sender id is the caller's number
    stack.bridge_turn(
        "+8613800000004",
        "有人冒充公安打我座机0258-4000077，让我把钱转到安全账户",
        {"channel": "sms", "phone": "+8613800000004"},
    )

    with engine.connect() as c:
        proof = c.execute(
            sa.text(
                "select acting_for, relation, contact_name, proved_with, channel from identity_proofs "
                "where elder_id = :e order by id desc"
            ),
            {"e": elder_id},
        ).first()
    assert proof is not None and tuple(proof) == (True, "女儿", "孙丽", "139****0066", "web")

    found = {}
    for name in ("web", "actions", "rasa"):
        text = (stack.workdir / f"{name}.log").read_text(errors="replace")
        leaks = unmasked(text)
        if leaks:
            found[name] = leaks[:10]
    assert not found, f"unmasked personal numbers in the logs: {found}"
