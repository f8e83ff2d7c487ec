"""The retention job on the pinned clock: what is older than the period goes, what is newer
stays, whole conversations only, and a dry run changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import clock, identity, retention
from bot.db import session_scope
from bot.models import Handoff, SmsOutbox
from bot.models.live_chat import ChatMessage
from bot.models.outreach import OutreachContact
from bot.contact.sms import send_sms
from rasa_ext.tracker_store import CachingSQLTrackerStore
from tests.stack import ROOT, run_python

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def _conversation(store, sender: str, when: dt.datetime) -> None:
    stamp = when.timestamp()
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen", timestamp=stamp))
    tracker.update(UserUttered("我的手机是13800000001", timestamp=stamp + 1))
    asyncio.run(store.save(tracker))


def _senders(tracker_db: str) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{tracker_db}")
    with engine.connect() as c:
        found = {r[0] for r in c.execute(sa.text("select distinct sender_id from events"))}
    engine.dispose()
    return found


def _queued_reminder(attempt_key: str) -> None:
    """A reminder SMS to 张桂兰 queued today (by the pinned clock)."""
    with session_scope() as s:
        s.add(
            OutreachContact(
                kind="reminder",
                elder_id=1,
                channel="sms",
                to_number="13800000001",
                day=clock.today(),
                status="queued",
                attempt_key=attempt_key,
            )
        )


def test_old_personal_data_goes_and_recent_stays(db_url, tmp_path, pin_clock, monkeypatch):
    tracker_db = str(tmp_path / "tracker.db")
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tracker_db}")
    store = CachingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=tracker_db)
    pin_clock("2026-01-10T10:00")
    old_sms = send_sms("13800000001", "【12349养老服务】旧的短信")
    identity.send_code("old-conversation", 1)
    _conversation(store, "old-conversation", clock.now())
    _queued_reminder("reminder:old")
    pin_clock("2026-11-20T10:00")
    new_sms = send_sms("13800000001", "【12349养老服务】新的短信")
    _queued_reminder("reminder:new")
    _conversation(store, "new-conversation", clock.now())

    pin_clock("2026-11-23T10:00")
    dry = retention.run(days=180, dry_run=True)
    assert dry.counts["conversations"] == 1 and dry.counts["sms"] >= 1
    assert _senders(tracker_db) == {"old-conversation", "new-conversation"}  # nothing yet

    done = retention.run(days=180)
    assert done.counts["conversations"] == 1 and done.counts["identity_codes"] == 1
    assert _senders(tracker_db) == {"new-conversation"}
    with session_scope() as s:
        old, new = s.get(SmsOutbox, old_sms), s.get(SmsOutbox, new_sms)
        assert old.body == retention.REMOVED_BODY and old.to_number == "-"
        assert "新的短信" in new.body and new.to_number == "+8613800000001"
        contacts = {c.attempt_key: c.to_number for c in s.query(OutreachContact)}
        assert contacts == {"reminder:old": None, "reminder:new": "13800000001"}
    assert retention.run(days=180).counts["sms"] == 0  # nothing left to do


def test_a_web_thread_with_an_advisor_goes_whole_when_its_last_message_is_old(
    db_url, tmp_path, pin_clock, monkeypatch
):
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    pin_clock("2026-01-10T10:00")
    with session_scope() as s:
        old = Handoff(
            kind="request_human", sender_id="web-old", channel="web", live_step="closed", status="closed"
        )
        going_on = Handoff(
            kind="request_human", sender_id="web-going-on", channel="web", live_step="live", status="claimed"
        )
        s.add_all([old, going_on])
        s.flush()
        for thread in (old, going_on):
            s.add(
                ChatMessage(
                    handoff_id=thread.id,
                    sender_id=thread.sender_id,
                    author="person",
                    text="我的电话是13800000001",
                )
            )
        old_id, going_on_id = old.id, going_on.id
    pin_clock("2026-11-20T10:00")
    with session_scope() as s:  # the second thread went on: it is kept whole
        s.add(
            ChatMessage(
                handoff_id=going_on_id, sender_id="web-going-on", author="advisor", text="您好，我是顾问。"
            )
        )
    pin_clock("2026-11-23T10:00")
    assert retention.run(days=180, dry_run=True).counts["chat_messages"] == 1
    assert retention.run(days=180).counts["chat_messages"] == 1
    with session_scope() as s:
        left = [(m.handoff_id, m.author) for m in s.query(ChatMessage).order_by(ChatMessage.id)]
        assert left == [(going_on_id, "person"), (going_on_id, "advisor")]
        assert s.get(Handoff, old_id) is not None  # the queue row stays (its text was masked)


def test_the_command_line_reports_a_dry_run(db_url, tmp_path):
    done = run_python(
        ["-m", "bot.manage", "retention", "--dry-run"],
        {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": db_url,
            "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 't.db'}",
            "CLOCK_NOW": "2026-11-23T10:00",
            "PYTHONPATH": str(ROOT),
        },
    )
    assert done.returncode == 0 and "retention before 2026-05-27" in done.stdout
    assert "(dry run)" in done.stdout
