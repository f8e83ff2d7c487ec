"""A verified relative is recorded as acting for the elder: who proved it (the masked number
the code went to, the family contact's name on file), the relation when it was said, for
which elder, when, on which channel; with an audit row; shown to advisors in the case file.
The record is history, never a proof: identity still ends with the session."""

from __future__ import annotations

import asyncio
import datetime as dt

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.booking import ValidateBookServiceForm
from actions.core import SESSION_ONLY_SLOTS, ActionSessionStart
from bot import identity
from bot.config import get_settings
from bot.db import session_scope
from bot.models import Elder
from bot.models.console import AuditEntry
from bot.models.identity import IdentityProof
from tests.stack import latest_code

ZHANG, LI = 1, 2
CONTACT = "13912340000"


def code_for(phone: str) -> str:
    return latest_code(get_settings().database_url, phone)


def landline_with_daughter() -> None:
    with session_scope() as s:
        elder = s.get(Elder, ZHANG)
        elder.phone = "02584000053"
        elder.emergency_contact_phone, elder.emergency_contact_name = CONTACT, "王小红"


def proofs() -> list[IdentityProof]:
    with session_scope() as s:
        return list(s.execute(select(IdentityProof).order_by(IdentityProof.id)).scalars())


def audit_rows(action: str) -> list[AuditEntry]:
    with session_scope() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_a_relative_who_receives_the_code_is_recorded_as_acting_for_the_elder(db_url, pin_clock):
    landline_with_daughter()
    now = pin_clock("2026-11-23T10:00:00")
    sent = identity.send_code("conv-rel", ZHANG, "web")
    assert sent.ok and sent.to_relative
    assert identity.verify("conv-rel", code_for(CONTACT), "web", relation="女儿").ok
    [proof] = proofs()
    assert (proof.elder_id, proof.sender_id, proof.method, proof.channel) == (
        ZHANG,
        "conv-rel",
        "sms_code",
        "web",
    )
    assert proof.acting_for and proof.relation == "女儿" and proof.contact_name == "王小红"
    assert proof.proved_with == "139****0000"  # never the full number
    assert proof.at == now.astimezone(dt.timezone.utc).replace(tzinfo=None)
    [row] = audit_rows("relative_verified")
    assert row.elder_id == ZHANG and row.actor == "caller:web"
    assert "relation=女儿" in row.detail and "139****0000" in row.detail
    assert CONTACT not in row.detail


def test_relation_not_said_is_recorded_as_not_said(db_url):
    landline_with_daughter()
    identity.send_code("conv-rel2", ZHANG, "voice")
    assert identity.verify("conv-rel2", code_for(CONTACT), "voice").ok
    [proof] = proofs()
    assert proof.acting_for and proof.relation is None and proof.contact_name == "王小红"
    assert "relation=not said" in audit_rows("relative_verified")[0].detail


def test_a_daughter_on_her_mothers_own_mobile_acts_for_her(db_url):
    identity.send_code("conv-d", LI, "web")
    assert identity.verify("conv-d", code_for("13800000002"), "web", relation="我是他闺女").ok
    [proof] = proofs()
    assert proof.acting_for and proof.relation == "女儿" and proof.contact_name is None
    assert proof.proved_with == "138****0002"


def test_the_elder_herself_is_recorded_as_herself(db_url):
    identity.send_code("conv-self", LI, "web")
    assert identity.verify("conv-self", code_for("13800000002"), "web").ok
    [proof] = proofs()
    assert not proof.acting_for and proof.relation is None
    assert [r.elder_id for r in audit_rows("identity_verified")] == [LI]
    assert audit_rows("relative_verified") == []


def test_a_wrong_code_records_no_proof(db_url):
    identity.send_code("conv-wrong", LI, "web")
    assert not identity.verify("conv-wrong", "000000", "web", relation="女儿").ok
    assert proofs() == []


def test_a_matching_caller_id_is_a_proof_with_who_said_what(db_url):
    identity.record_attempt(
        "call-1", ZHANG, "caller_id", True, "voice", relation="老伴", proved_by="+8613800000001"
    )
    [proof] = proofs()
    assert (proof.method, proof.acting_for, proof.relation, proof.proved_with) == (
        "caller_id",
        True,
        "配偶",
        "+86138****0001",
    )


def test_relation_is_read_from_this_sessions_words_and_entities():
    said = [{"event": "user", "text": "我是她儿子", "parse_data": {"entities": []}}]
    assert identity.said_relation(said) == "儿子"
    entity = [
        {
            "event": "user",
            "text": "帮我妈约个助浴",
            "parse_data": {"entities": [{"entity": "relation", "value": "母亲"}]},
        }
    ]
    assert identity.said_relation(entity) == "子女"  # she is the caller's mother
    # a kinship word is not the caller's role: the elder herself mentions her son
    son = [
        {
            "event": "user",
            "text": "是我儿子让我打这个电话的",
            "parse_data": {"entities": [{"entity": "relation", "value": "儿子"}]},
        }
    ]
    assert identity.said_relation(son) is None
    assert identity.relation_from_text("我替我老伴问的") == "配偶"
    assert identity.relation_from_text("我是老人的邻居") == "邻居"
    assert identity.relation_from_text("我想约个助浴") is None
    # what was said in an earlier session does not count
    earlier = said + [
        {"event": "session_started"},
        {"event": "user", "text": "预约助浴", "parse_data": {"entities": []}},
    ]
    assert identity.said_relation(earlier) is None


def _tracker(events: list[dict], slots: dict, requested: str | None, sender: str) -> Tracker:
    latest = events[-1]["parse_data"]
    all_slots = dict(slots, requested_slot=requested)
    return Tracker(
        sender,
        all_slots,
        latest,
        events,
        False,
        None,
        {"name": "book_service_form"} if requested else {},
        "action_listen",
    )


def _user(text: str, entities: list | None = None) -> dict:
    return {
        "event": "user",
        "text": text,
        "parse_data": {
            "text": text,
            "intent": {"name": "inform", "confidence": 0.9},
            "entities": entities or [],
            "metadata": {"channel": "web"},
        },
    }


def test_the_booking_form_records_the_relation_the_caller_said(db_url):
    """Through the form: "我是他女儿" earlier in the session, then the code: the proof says so."""
    form, sender = ValidateBookServiceForm(), "web-form-relative"
    domain = {"forms": {"book_service_form": {"required_slots": []}}, "responses": {}}
    said = [
        {"event": "session_started"},
        _user("我是他女儿，帮他约个助洁"),
        {"event": "action", "name": "book_service_form"},
        {"event": "action", "name": "action_listen"},
        _user("13800000002"),
    ]
    slots_after = {}
    events = asyncio.run(
        form.run(CollectingDispatcher(), _tracker(said, {}, "booking_person_name", sender), domain)
    )
    slots_after = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots_after["booking_candidate"] == str(LI)
    said += [{"event": "action", "name": "action_listen"}, _user(code_for("13800000002"))]
    events = asyncio.run(
        form.run(
            CollectingDispatcher(),
            _tracker(said, {"booking_candidate": str(LI), "booking_service": "助洁"}, "booking_code", sender),
            domain,
        )
    )
    slots_after = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots_after["booking_elder_id"] == str(LI)
    [proof] = proofs()
    assert proof.acting_for and proof.relation == "女儿" and proof.sender_id == sender


def test_the_case_file_shows_who_acted_for_her(db_url):
    from bot.console_users import create_user
    from server import create_app
    from tests.test_console_security import login

    landline_with_daughter()
    identity.send_code("conv-case", ZHANG, "web")
    identity.verify("conv-case", code_for(CONTACT), "web", relation="女儿")
    with session_scope() as s:
        create_user(s, "wangli", "advisor-pass-2024")
    client = create_app({"TESTING": True}).test_client()
    assert login(client, "wangli", "advisor-pass-2024").status_code == 302
    page = client.get(f"/advisor/elders/{ZHANG}").get_data(as_text=True)
    section = page[page.index("身份核实与代办记录") : page.index("最近谁看过这份档案")]
    assert "代老人办理" in section and "王小红" in section and "（女儿）" in section
    assert "139****0000" in section and "短信验证码" in section and "网页" in section
    assert CONTACT not in page
    assert "家属/代办人核实身份" in page  # the audit trail names it too


def test_identity_still_ends_with_the_session_after_a_relative_proved_it(db_url):
    landline_with_daughter()
    identity.send_code("conv-exp", ZHANG, "web")
    assert identity.verify("conv-exp", code_for(CONTACT), "web", relation="女儿").ok
    slots = {
        "booking_elder_id": str(ZHANG),
        "booking_person_name": "张桂兰",
        "booking_service": "助洁",
        "session_started_metadata": {"channel": "web"},
    }
    t = Tracker("conv-exp", slots, {}, [], False, None, {}, "action_listen")
    events = asyncio.run(ActionSessionStart().run(CollectingDispatcher(), t, {}))
    carried = {e["name"] for e in events if e["event"] == "slot"}
    assert "booking_elder_id" not in carried and "booking_person_name" not in carried
    assert "booking_service" in carried  # what is not identity carries over
    assert {"booking_elder_id", "booking_candidate", "booking_pointed"} <= SESSION_ONLY_SLOTS
