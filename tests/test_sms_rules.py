"""Who gets our SMS: never a landline (the provider rejects it), never a number that replied
退订 (unless the person asked for it just now, e.g. a one-time code)."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.db import session_scope
from bot.models import SmsOutbox
from bot.contact.sms import opt_out, opted_out, send_sms


def _count() -> int:
    with session_scope() as s:
        return s.execute(select(func.count(SmsOutbox.id))).scalar_one()


def test_landlines_get_no_sms(db_url):
    before = _count()
    assert send_sms("025-84000053", "【12349养老服务】通知") is None
    assert send_sms("02584000053", "【12349养老服务】通知") is None
    assert _count() == before
    assert send_sms("13800000001", "【12349养老服务】通知") is not None


def test_a_number_that_opted_out_gets_no_notices_but_what_it_asks_for(db_url):
    assert opt_out("+86 138-0000-0002") and not opt_out("13800000002")  # once
    assert opted_out("13800000002")
    assert send_sms("13800000002", "【12349养老服务】提醒") is None
    assert send_sms("13800000002", "【12349养老服务】验证码123456", requested=True) is not None
