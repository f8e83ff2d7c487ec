"""bot/identity.py against a real migrated database: one-time codes, expiry on the pinned
clock, tries, and the attempt limits that are never turned off."""

from __future__ import annotations

from sqlalchemy import select

from bot import identity
from bot.config import get_settings
from bot.db import session_scope
from bot.models.console import AuditEntry
from tests.stack import latest_code

ZHANG, LI = 1, 2


def last_code(phone: str = "13800000001") -> str:
    return latest_code(get_settings().database_url, phone)


def test_a_code_goes_to_the_number_on_file_and_proves_control(db_url):
    sent = identity.send_code("conv-1", ZHANG, "web")
    assert sent.ok and sent.sent_to_masked == "138****0001" and not sent.to_relative
    assert identity.verified_elder("conv-1") is None
    assert identity.verify("conv-1", last_code(), "web").code == "verified"
    assert identity.verified_elder("conv-1") == ZHANG
    # a code is good once, and only in its own conversation
    assert identity.verify("conv-1", last_code(), "web").code == "no_challenge"


def test_spoken_digits_are_read():
    assert identity.code_from_text("四八三九二零") == "483920"
    assert identity.code_from_text("483 920") == "483920"
    assert identity.code_from_text("验证码是幺二三四五六") == "123456"
    assert identity.code_from_text("12345") is None


def test_another_conversation_cannot_use_the_code(db_url):
    identity.send_code("conv-a", ZHANG)
    code = last_code()
    assert identity.verify("conv-b", code).code == "no_challenge"
    assert identity.verify("conv-a", code).ok


def test_a_code_expires_after_five_minutes(db_url, pin_clock):
    pin_clock("2026-11-23T10:00:00")
    identity.send_code("conv-e", ZHANG)
    code = last_code()
    pin_clock("2026-11-23T10:05:01")
    assert identity.verify("conv-e", code).code == "expired"


def test_three_wrong_codes_lock_the_conversation_and_are_audited(db_url):
    identity.send_code("conv-w", LI)
    first = identity.verify("conv-w", "000000")
    assert first.code == "wrong" and first.tries_left == 2
    assert identity.verify("conv-w", "111111").tries_left == 1
    assert identity.verify("conv-w", "222222").code == "locked"
    assert identity.locked("conv-w")
    assert identity.send_code("conv-w", LI).code == "locked"  # no new code either
    with session_scope() as s:
        audited = s.execute(select(AuditEntry).where(AuditEntry.action == "identity_failed")).scalars().all()
    assert len(audited) == 3 and all(a.elder_id == LI for a in audited)


def test_failures_per_elder_are_limited_across_conversations(db_url):
    outcomes = []
    for n in range(identity.FAILURES_PER_ELDER_PER_HOUR // identity.TRIES_PER_CODE):
        assert identity.send_code(f"conv-{n}", ZHANG).ok
        outcomes += [identity.verify(f"conv-{n}", guess).code for guess in ("999999", "888888", "777777")]
    assert outcomes[-1] == "locked" and outcomes.count("wrong") == 2 * (len(outcomes) // 3)
    # another conversation aiming at the same elder within the hour gets no code
    assert identity.send_code("conv-x", ZHANG).code == "locked"
    assert identity.send_code("conv-x", LI).ok  # another elder is not affected


def test_one_failed_conversation_does_not_lock_her_family_out(db_url):
    """A stranger who knows her name and ID digits uses up one conversation's tries; her
    daughter calling next still gets a code, and it works."""
    assert identity.send_code("stranger", ZHANG).ok
    for guess in ("111111", "222222", "333333"):
        identity.verify("stranger", guess)
    assert identity.locked("stranger", ZHANG)
    assert identity.send_code("daughter", ZHANG).ok
    assert identity.verify("daughter", last_code()).ok


def test_a_landline_elder_gets_the_code_on_her_family_contacts_mobile(db_url):
    from bot.models import Elder

    with session_scope() as s:
        elder = s.get(Elder, ZHANG)
        elder.phone, elder.emergency_contact_phone = "02584000053", "13912340000"
    sent = identity.send_code("conv-l", ZHANG)
    assert sent.ok and sent.to_relative and sent.sent_to_masked.endswith("0000")
    with session_scope() as s:
        s.get(Elder, ZHANG).emergency_contact_phone = None
    assert identity.send_code("conv-l2", ZHANG).code == "no_mobile"


def test_caller_id_is_compared_digit_for_digit(db_url):
    assert identity.caller_id_matches(ZHANG, "+8613800000001")
    assert not identity.caller_id_matches(ZHANG, "+8613800000002")
    assert not identity.caller_id_matches(ZHANG, None)


def test_only_numbers_on_file_receive_our_sms(db_url):
    assert identity.number_on_file("13800000001") and identity.number_on_file("+8613800000005")
    assert not identity.number_on_file("13912345678") and not identity.number_on_file("")


def test_the_code_said_with_other_words_and_numbers():
    assert identity.code_from_text("好，验证码是 五七二 六一九，然后帮我改到26号下午") == "572619"
    assert identity.code_from_text("5 7 2 6 1 9") == "572619"
    assert identity.code_from_text("572619，另外预约号是104233") is None  # two candidates: not guessed
