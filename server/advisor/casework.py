"""What the console does for an elder, through the core's modules: policy search
(bot.policy.kb), eligibility (bot.eligibility.rules) and booking (bot.booking.ledger), in the wording
and shape an advisor's page needs.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from sqlalchemy import select

from bot import clock
from bot.booking import ledger as booking
from bot.eligibility import rules as eligibility
from bot.policy import kb as policy_kb
from bot.db import session_scope
from bot.eligibility.rules import FACT_LABELS  # noqa: F401  (one home: the engine's labels)
from bot.models.booking import ServiceType

log = logging.getLogger(__name__)


# --- policy search -------------------------------------------------------------------

POLICY_HITS = 3  # an advisor on the phone reads the best three, not a list
# Endings written for the elder on the line ("……，也可以拨打12349"): the advisor reading
# the answer is the 12349 line, so the referral to it is left out of their wording.
_HOTLINE_REFERRAL = re.compile(
    r"[，,、]?\s*(?:也可以|或者|或是|或)?(?:拨打|打)12349(?:咨询)?"
    r"|[或、]12349(?=为准)"
)


def policy_search(query: str, limit: int = POLICY_HITS) -> list[dict]:
    """The best hits, each a dict with name, answer (advisor wording), matched and
    citation (document title, clause, section, issuer, date, quote)."""
    hits = policy_kb.get_kb().search(query, on=None, limit=limit)
    return [_policy_hit(h) for h in hits]


def advisor_wording(answer: str, citation: policy_kb.Citation) -> str:
    """The KB's spoken answer as an advisor reads it: without the spoken citation at its end
    (the page shows the citation itself) and without the referral to 12349."""
    spoken = citation.spoken()
    text = answer[: -len(spoken)] if spoken and answer.endswith(spoken) else answer
    text = _HOTLINE_REFERRAL.sub("", text)
    return re.sub(r"[，,、]+(?=[。！？])", "", text).strip()


def _policy_hit(hit: policy_kb.Hit) -> dict:
    return {
        "name": hit.name,
        "answer": advisor_wording(hit.answer, hit.citation),
        "matched": hit.matched,
        "citation": hit.citation.as_dict(),
    }


# --- eligibility -----------------------------------------------------------------------


def evaluate(facts: dict):
    """The engine's results for these facts, or raises its FactError (message_zh)."""
    return eligibility.evaluate(facts)


# --- sending the eligibility result by SMS ----------------------------------------------


def sms_recipients(elder) -> list[dict]:
    """Who may get the elder's result by SMS: her own mobile and her family contact's, as on
    file (bot.contact.sms sends only to numbers on file). Each: key, label, number (full: show it
    masked unless revealed), who (how the text names the elder)."""
    from bot.models.people import is_mobile, phone_digits

    found = []
    if is_mobile(elder.phone):
        found.append({"key": "elder", "label": "老人本人", "number": phone_digits(elder.phone), "who": "您"})
    if is_mobile(elder.emergency_contact_phone):
        relation = f"（{elder.emergency_contact_relation}）" if elder.emergency_contact_relation else ""
        found.append(
            {
                "key": "family",
                "label": f"紧急联系人 {elder.emergency_contact_name or ''}{relation}".strip(),
                "number": phone_digits(elder.emergency_contact_phone),
                "who": elder.name,
            }
        )
    return found


def eligibility_sms_text(results, who: str) -> str:
    """The same SMS the conversation sends (bot.eligibility.summary.sms_text)."""
    from bot.eligibility.summary import sms_text

    return sms_text(results, who)


# --- booking -----------------------------------------------------------------------------


def service_choices() -> list[dict]:
    """The bookable services (code, name, minutes, price in yuan) for the booking form."""
    with session_scope() as s:
        return [
            {"code": t.code, "name": t.name, "minutes": t.duration_minutes, "price": t.price_fen / 100}
            for t in s.execute(select(ServiceType).order_by(ServiceType.id)).scalars()
        ]


def months_shown() -> tuple[dt.date, dt.date]:
    """This month and next (their first days, China time): the free hours an advisor
    plans with (a visit booked now may fall in either)."""
    first = clock.today().replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1)


def entitlements(elder_id: int) -> list:
    """The elder's free-hours ledger for this month and next (bot.booking.ledger reads the ledger,
    or the policy grant for a month with no row yet)."""
    return [booking.entitlement_summary(elder_id, month) for month in months_shown()]


def booking_overview(elder_id: int) -> dict:
    """What the elder's page shows about visits, read from bot.booking.ledger: the free-hours
    ledger for this month and next (`entitlements`), the visits still to come
    (`upcoming`) and every booking (`bookings`)."""
    try:
        return {
            "entitlements": entitlements(elder_id),
            "upcoming": booking.list_bookings(elder_id, upcoming_only=True),
            "bookings": booking.list_bookings(elder_id, upcoming_only=False),
        }
    except Exception:  # the elder's page must still show facts and history
        log.exception("console: booking overview failed for elder %s", elder_id)
        return {"error": True}


# --- the elder's last contact ---------------------------------------------------------


def last_contact(s, elder, history) -> dict | None:
    """The newest contact with the elder: a conversation with the assistant (tracker
    store), a phone call from her number or an outbound care call that got through.
    {"at": China time, "kind": conversation|call|outreach, "channel"}, or None."""
    from sqlalchemy import select

    from bot.clock import CHINA_TZ
    from bot.models.outreach import OutreachContact
    from bot.models.people import phone_digits
    from bot.models.telephony import Call

    def voice(at_utc: dt.datetime, kind: str) -> dict:
        """A phone contact, its stored naive UTC time in Beijing time."""
        return {
            "at": at_utc.replace(tzinfo=dt.timezone.utc).astimezone(CHINA_TZ),
            "kind": kind,
            "channel": "voice",
        }

    found: list[dict] = []
    newest = history.newest if history is not None else None
    if newest is not None:
        channel = next((c.channel for c in history.conversations if c.sender_id == newest.sender_id), None)
        found.append({"at": newest.at, "kind": "conversation", "channel": channel})
    digits = phone_digits(elder.phone)
    if len(digits) >= 7:
        call = s.execute(
            select(Call.started_at)
            .where(Call.from_number.like(f"%{digits}"))
            .order_by(Call.started_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if call is not None:
            found.append(voice(call, "call"))
    outbound = s.execute(
        select(OutreachContact.finished_at)
        .where(
            OutreachContact.elder_id == elder.id,
            OutreachContact.channel == "call",
            OutreachContact.finished_at.is_not(None),
            OutreachContact.outcome.not_in(("no_answer", "hung_up")),
        )
        .order_by(OutreachContact.finished_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if outbound is not None:
        found.append(voice(outbound, "outreach"))
    return max(found, key=lambda c: c["at"], default=None)
