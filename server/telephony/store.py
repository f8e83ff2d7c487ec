"""Call records, answered turns and ratings in the service database.

Every function is one unit of work (bot.db.session_scope). The bridge keeps working when
the database is down: callers get a transient CallState and their calls are not recorded,
which the log says loudly; a caller is never left in silence because a write failed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.db import session_scope
from bot.text.masking import mask_phone
from bot.models import Handoff
from bot.models.base import utcnow
from bot.models.telephony import Call, CallTurn, SatisfactionRating

log = logging.getLogger(__name__)

FINAL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
# What a call's outcome is when the bridge did not end it itself.
FORM_NAMES_ZH = {
    "book_service_form": "预约服务",
    "cancel_booking_form": "取消预约",
    "reschedule_booking_form": "改期",
    "query_booking_form": "查预约",
    "eligibility_form": "资格测算",
}
_OUTCOME_BY_STATUS = {
    "completed": "caller_hung_up",
    "busy": "failed",
    "no-answer": "failed",
    "failed": "failed",
    "canceled": "abandoned",
}


def voice_sender_id(call_sid: str) -> str:
    """The Rasa conversation of a call (its transcript reference)."""
    return f"voice-{call_sid}"


@dataclass
class CallState:
    """What the bridge remembers between the turns of one call."""

    call_sid: str
    sender_id: str
    from_number: str = ""
    to_number: str = ""
    provider: str = "twilio"
    silence_count: int = 0
    misunderstood_count: int = 0
    last_spoken: str | None = None
    last_choices: dict[str, str] = field(default_factory=dict)
    awaiting: str | None = None
    task_completed: int = 0
    outcome: str | None = None
    rated: bool = False
    speech_rate: int | None = None
    volume: str | None = None
    pending_speech: str | None = None
    persisted: bool = True


def load_call(call_sid: str, from_number: str, to_number: str, provider: str) -> CallState:
    """The call's state; creates the call record on its first webhook."""
    try:
        with session_scope() as s:
            call = s.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one_or_none()
            if call is None:
                call = Call(
                    call_sid=call_sid,
                    provider=provider,
                    from_number=from_number or None,
                    to_number=to_number or None,
                    sender_id=voice_sender_id(call_sid),
                    status="in-progress",
                    task_completed=0,
                    silence_count=0,
                    misunderstood_count=0,
                )
                s.add(call)
                s.flush()
                log.info("call started sid=%s from=%s", call_sid, mask_phone(from_number))
            rated = (
                s.execute(
                    select(func.count(SatisfactionRating.id)).where(SatisfactionRating.call_sid == call_sid)
                ).scalar_one()
                > 0
            )
            return CallState(
                call_sid=call.call_sid,
                sender_id=call.sender_id,
                from_number=call.from_number or from_number or "",
                to_number=call.to_number or to_number or "",
                provider=call.provider,
                silence_count=call.silence_count,
                misunderstood_count=call.misunderstood_count,
                last_spoken=call.last_spoken,
                last_choices=dict(call.last_choices or {}),
                awaiting=call.awaiting,
                task_completed=call.task_completed,
                outcome=call.outcome,
                rated=rated,
                speech_rate=call.speech_rate,
                volume=call.volume,
                pending_speech=call.pending_speech,
            )
    except IntegrityError:
        # Two first webhooks of one call at once: the other created it.
        return load_call(call_sid, from_number, to_number, provider)
    except Exception:
        log.exception("call state unavailable for sid=%s: continuing without a record", call_sid)
        return CallState(
            call_sid=call_sid,
            sender_id=voice_sender_id(call_sid),
            from_number=from_number,
            to_number=to_number,
            provider=provider,
            persisted=False,
        )


def finish_turn(state: CallState, turn_no: int, body: str, *, recorded: bool) -> None:
    """Stores the call's new state and the turn's answer together (one transaction), so a
    retry never sees an answer whose state was lost, or the reverse."""
    if not state.persisted:
        return
    try:
        with session_scope() as s:
            _save_call(s, state)
            if recorded:
                _answer(s, state.call_sid, turn_no, body, None)
    except Exception:
        log.exception("could not save call state sid=%s turn=%s", state.call_sid, turn_no)


def _save_call(s, state: CallState) -> None:
    call = s.execute(select(Call).where(Call.call_sid == state.call_sid)).scalar_one()
    call.silence_count = state.silence_count
    call.misunderstood_count = state.misunderstood_count
    call.last_spoken = state.last_spoken
    call.last_choices = state.last_choices or None
    call.awaiting = state.awaiting
    call.task_completed = state.task_completed
    call.speech_rate, call.volume = state.speech_rate, state.volume
    call.pending_speech = state.pending_speech
    if state.outcome:
        call.outcome = state.outcome


@dataclass
class TurnClaim:
    status: str  # claimed (run it) | answered (send `body` again) | running | unrecorded
    body: str | None = None


def claim_turn(
    call_sid: str, turn_no: int, *, channel: str, sender_id: str, input_kind: str, input_masked: str | None
) -> TurnClaim:
    """Claims a turn before running it. The UNIQUE (call_sid, turn_no) row makes a retried
    webhook find the first one's answer (or see it still running) instead of running the
    conversation step a second time."""
    try:
        with session_scope() as s:
            s.add(
                CallTurn(
                    call_sid=call_sid,
                    turn_no=turn_no,
                    channel=channel,
                    sender_id=sender_id,
                    input_kind=input_kind,
                    input_masked=(input_masked or "")[:500] or None,
                )
            )
        return TurnClaim("claimed")
    except IntegrityError:
        body = _turn_body(call_sid, turn_no)
        log.info(
            "retried webhook sid=%s turn=%s: %s",
            call_sid,
            turn_no,
            "answered again" if body is not None else "still running",
        )
        return TurnClaim("answered", body) if body is not None else TurnClaim("running")
    except Exception:
        log.exception("could not claim turn sid=%s turn=%s: answering without a record", call_sid, turn_no)
        return TurnClaim("unrecorded")


def _turn_body(call_sid: str, turn_no: int) -> str | None:
    with session_scope() as s:
        return s.execute(
            select(CallTurn.response_body).where(CallTurn.call_sid == call_sid, CallTurn.turn_no == turn_no)
        ).scalar_one_or_none()


def wait_for_answer(call_sid: str, turn_no: int, timeout: float) -> str | None:
    """The answer of a turn another request is running, once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.25)
        try:
            body = _turn_body(call_sid, turn_no)
        except Exception:
            return None
        if body is not None:
            return body
    return None


def answer_turn(call_sid: str, turn_no: int, body: str, choices: dict | None = None) -> None:
    try:
        with session_scope() as s:
            _answer(s, call_sid, turn_no, body, choices)
    except Exception:
        log.exception("could not store the answer of sid=%s turn=%s", call_sid, turn_no)


def _answer(s, call_sid: str, turn_no: int, body: str, choices: dict | None) -> None:
    turn = s.execute(
        select(CallTurn).where(CallTurn.call_sid == call_sid, CallTurn.turn_no == turn_no)
    ).scalar_one()
    turn.response_body = body
    turn.choices = choices or None
    turn.answered_at = utcnow()


def last_sms_choices(sender_id: str) -> dict[str, str]:
    """The "回复1…" choices of the last SMS answer to this person."""
    try:
        with session_scope() as s:
            choices = s.execute(
                select(CallTurn.choices)
                .where(
                    CallTurn.sender_id == sender_id,
                    CallTurn.channel == "sms",
                    CallTurn.response_body.is_not(None),
                )
                .order_by(CallTurn.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            return dict(choices or {})
    except Exception:
        log.exception("could not read the last SMS choices")
        return {}


def has_open_callback(sender_id: str) -> bool:
    """Is a callback request of this conversation already in the advisor queue?"""
    try:
        with session_scope() as s:
            return (
                s.execute(
                    select(func.count(Handoff.id)).where(
                        Handoff.sender_id == sender_id, Handoff.kind == "callback", Handoff.status != "closed"
                    )
                ).scalar_one()
                > 0
            )
    except Exception:
        log.exception("could not look up callbacks")
        return False


def record_rating(call_sid: str, score: int, *, phone: str | None, channel: str = "voice") -> int | None:
    try:
        with session_scope() as s:
            rating = SatisfactionRating(call_sid=call_sid, score=score, phone=phone or None, channel=channel)
            s.add(rating)
            s.flush()
            rating_id = rating.id
        log.info("satisfaction rating %s stored for call sid=%s", score, call_sid)
        return rating_id
    except Exception:
        log.exception("could not store the rating of sid=%s", call_sid)
        return None


def record_status(event, provider: str) -> None:
    """A status callback: creates or updates the call record (start, end, duration, outcome);
    a caller cut off in the middle of a task gets a callback in the advisor queue."""
    hung_up: tuple[str, str] | None = None
    with session_scope() as s:
        call = s.execute(select(Call).where(Call.call_sid == event.call_id)).scalar_one_or_none()
        if call is None:
            call = Call(
                call_sid=event.call_id,
                provider=provider,
                from_number=event.from_number or None,
                to_number=event.to_number or None,
                sender_id=voice_sender_id(event.call_id),
                status=event.status,
                task_completed=0,
                silence_count=0,
                misunderstood_count=0,
            )
            s.add(call)
        call.status = event.status[:16]
        if event.status in FINAL_STATUSES:
            call.ended_at = call.ended_at or utcnow()
            if event.duration_seconds is not None:
                call.duration_seconds = event.duration_seconds
            if not call.outcome:
                call.outcome = _OUTCOME_BY_STATUS.get(event.status, event.status[:16])
                if call.outcome == "caller_hung_up" and call.from_number:
                    from server.telephony.advisor_line import caller_id_withheld

                    # a withheld caller ID ("anonymous") is no number to call back
                    if not caller_id_withheld(call.from_number):
                        hung_up = (call.sender_id, call.from_number)
    if hung_up is not None:
        _callback_if_cut_off(*hung_up)
    log.info("call status sid=%s status=%s duration=%s", event.call_id, event.status, event.duration_seconds)


def _callback_if_cut_off(sender_id: str, phone: str) -> None:
    """A caller who hung up in the middle of a booking (a form still open) is called back:
    a line that dropped must not look like a visit she cancelled."""
    from bot.contact import handoff
    from server import rasa_client

    form = rasa_client.active_form(sender_id)
    if not form:
        return
    if has_open_callback(sender_id):
        return
    try:
        handoff.create_handoff(
            "callback",
            sender_id=sender_id,
            channel="voice",
            phone=phone,
            summary=f"来电中途挂断，事情没办完（{FORM_NAMES_ZH.get(form, form)}），请回电",
        )
    except Exception:
        log.exception("could not queue a callback for a cut-off call sender=%s", sender_id)
