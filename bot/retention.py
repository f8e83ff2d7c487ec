"""Retention: personal data is kept only as long as it is needed.

    python -m bot.manage retention [--days 180] [--dry-run]

Run it daily (cron: `15 3 * * * cd /srv/elder12349 && .venv/bin/python -m bot.manage
retention`). `RETENTION_DAYS` (default 180) sets the period; the clock is bot/clock.py.
What it removes, older than the period:
- conversation transcripts: Rasa's tracker events of conversations whose last event is
  older (whole conversations, never half of one), and the web chat's threads with an
  advisor (chat_messages, bot/contact/live_chat.py) whose last message is older;
- SMS bodies and numbers (the outbox row stays, as a count, with the body replaced);
- phone-call turns (what was said and answered) and the numbers on call records;
- identity attempts; one-time codes after a day whatever the period;
- the numbers on outbound-care contacts (the contact row stays, as the record of a reminder).
Kept: bookings and their history (the service record), the handoff queue and safety events
(their texts were masked when written), the audit log and ratings.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import create_engine, delete, func, inspect, select, text, update

from bot import clock
from bot.config import get_settings
from bot.db import session_scope
from bot.models import SmsOutbox
from bot.models.identity import IdentityAttempt, IdentityChallenge
from bot.models.live_chat import ChatMessage
from bot.models.outreach import OutreachContact
from bot.models.telephony import Call, CallTurn

log = logging.getLogger(__name__)

CODES_KEPT = dt.timedelta(days=1)
REMOVED_BODY = "[内容已按保留期删除]"


@dataclass
class Report:
    cutoff: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"retention before {self.cutoff:%Y-%m-%d %H:%M} UTC: {parts}"


def retention_days() -> int:
    return get_settings().retention_days


def run(
    days: int | None = None,
    dry_run: bool = False,
    database_url: str | None = None,
    tracker_store_url: str | None = None,
) -> Report:
    """Applies the retention period; with `dry_run` only counts what would go."""
    now = clock.utcnow_naive()
    report = Report(cutoff=now - dt.timedelta(days=days or retention_days()))
    cutoff = report.cutoff
    with session_scope(database_url) as s:
        old_sms = (SmsOutbox.created_at < cutoff) & (SmsOutbox.body != REMOVED_BODY)
        old_turns = CallTurn.created_at < cutoff
        old_calls = (Call.started_at < cutoff) & (Call.from_number.isnot(None))
        old_attempts = IdentityAttempt.at < cutoff
        old_codes = IdentityChallenge.created_at < now - CODES_KEPT
        old_contacts = (OutreachContact.created_at < cutoff) & OutreachContact.to_number.isnot(None)
        # whole threads only: a thread whose newest message is older than the period
        old_threads = (
            select(ChatMessage.handoff_id)
            .group_by(ChatMessage.handoff_id)
            .having(func.max(ChatMessage.created_at) < cutoff)
        )
        old_thread_messages = ChatMessage.handoff_id.in_(old_threads)
        for name, model, where in (
            ("sms", SmsOutbox, old_sms),
            ("call_turns", CallTurn, old_turns),
            ("calls", Call, old_calls),
            ("identity_attempts", IdentityAttempt, old_attempts),
            ("identity_codes", IdentityChallenge, old_codes),
            ("outreach_contacts", OutreachContact, old_contacts),
            ("chat_messages", ChatMessage, old_thread_messages),
        ):
            report.counts[name] = s.execute(select(func.count()).select_from(model).where(where)).scalar_one()
        if not dry_run:
            s.execute(update(SmsOutbox).where(old_sms).values(body=REMOVED_BODY, to_number="-"))
            s.execute(delete(CallTurn).where(old_turns))
            s.execute(
                update(Call)
                .where(old_calls)
                .values(from_number=None, to_number=None, last_spoken=None, last_choices=None)
            )
            s.execute(delete(IdentityAttempt).where(old_attempts))
            s.execute(delete(IdentityChallenge).where(old_codes))
            s.execute(update(OutreachContact).where(old_contacts).values(to_number=None))
            s.execute(
                delete(ChatMessage).where(old_thread_messages).execution_options(synchronize_session=False)
            )
    report.counts["conversations"] = _old_conversations(
        tracker_store_url or get_settings().tracker_store_url, cutoff, dry_run
    )
    log.info("%s%s", report.line(), " (dry run)" if dry_run else "")
    return report


def _old_conversations(url: str, cutoff: dt.datetime, dry_run: bool) -> int:
    """Deletes the tracker events of conversations whose newest event is before `cutoff`."""
    engine = create_engine(url, future=True)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        stamp = cutoff.replace(tzinfo=dt.timezone.utc).timestamp()
        with engine.begin() as conn:
            old = [
                row[0]
                for row in conn.execute(
                    text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :t"),
                    {"t": stamp},
                )
            ]
            if not dry_run:
                for start in range(0, len(old), 500):
                    chunk = old[start : start + 500]
                    marks = ", ".join(f":s{i}" for i in range(len(chunk)))
                    conn.execute(
                        text(f"DELETE FROM events WHERE sender_id IN ({marks})"),
                        {f"s{i}": sender for i, sender in enumerate(chunk)},
                    )
        return len(old)
    finally:
        engine.dispose()
