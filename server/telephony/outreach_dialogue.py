"""The script of an outbound-care call: a visit reminder or a monthly check-in.

The line is the hotline's (VoiceBridge): the same turn engine, keypad, transfers and
callbacks. What differs is who speaks first and what is asked:

- a reminder says the visit (service, half-day, reference) and offers 1 to confirm, 2 to
  change the time (the hotline's reschedule conversation takes over, the elder identified
  by the number we dialled) and 0 for a person;
- a check-in asks three short questions, one at a time, and reads each answer
  (bot/outreach/answers.py). Needs heard become one task in the advisor queue with the
  transcript.

Every answer is read by the safety layer first, with the hotline's classifier: an
emergency, a crisis, a scam or an answer the layer is unsure about is sent into the
conversation as it is, so it is handled exactly as on the hotline (120 first, a
top-priority handoff, a transfer when an advisor is on duty). "不要再打了" is read back
before the elder goes on the refusal list. Once the conversation has taken over, the rest
of the call is an ordinary hotline call.
"""

from __future__ import annotations

import logging

from bot import clock
from bot.db import session_scope
from bot.outreach import calls, rules
from bot.outreach.answers import Reading, read_answer, read_reminder_reply, script
from bot.outreach.calls import OutreachCall
from bot.text.norm import clean
from bot.text.timeparse import say_window
from server import rasa_client, wording
from server.speech import HUMAN_PAYLOAD, say_reference, speakable
from server.telephony.base import VoiceEvent, VoicePlan
from server.telephony.dialogue import (
    MAX_SPEECH_CHARS,
    NO_SUCH_KEY,
    NOT_HEARD,
    OK,
    VoiceBridge,
    is_repeat_request,
    yes_or_no_said,
)
from server.telephony.store import CallState

log = logging.getLogger(__name__)

# Steps of the script, kept in the call's `awaiting` (at most 16 characters).
CHECKIN_STEP = "ci:"  # + question id
REMINDER_STEP = "rem"
OPT_OUT_STEP = "oo:"  # + the step to go back to
SAFETY_STEP = "sq:"  # + the step to go back to: the safety layer asked its question
RESCHEDULE_PAYLOAD = "/reschedule_booking"
CANCEL_PAYLOAD = "/cancel_booking"


def _questions() -> list[dict]:
    return script()["checkin"]["questions"]


def _question(qid: str) -> str:
    return next(q["text"] for q in _questions() if q["id"] == qid)


def _next_question(qid: str) -> str | None:
    ids = [q["id"] for q in _questions()]
    at = ids.index(qid) + 1
    return ids[at] if at < len(ids) else None


def in_script(state: CallState) -> bool:
    awaiting = state.awaiting or ""
    return awaiting.startswith((CHECKIN_STEP, REMINDER_STEP, OPT_OUT_STEP, SAFETY_STEP))


def _back(step: str) -> str:
    """The script step a side step (opt-out read-back, safety question) returns to."""
    return step[len(OPT_OUT_STEP) :] if step.startswith((OPT_OUT_STEP, SAFETY_STEP)) else step


def _question_id(step: str) -> str | None:
    step = _back(step)
    return step[len(CHECKIN_STEP) :] if step.startswith(CHECKIN_STEP) else None


class OutreachBridge(VoiceBridge):
    """One turn of an outbound-care call."""

    def __init__(self, turn_url, settings, call: OutreachCall):
        super().__init__(turn_url, settings)
        self.call = call

    def handle(self, state: CallState, event: VoiceEvent, turn_no: int) -> VoicePlan:
        nxt = self.turn_url(turn_no + 1)
        if turn_no == 0 and event.is_silence and event.transfer_status is None:
            return self._open(state, nxt)
        if event.transfer_status is not None or not in_script(state):
            return super().handle(state, event, turn_no)
        step = state.awaiting or ""  # in_script: one of the script's steps
        if event.is_silence:
            return self._script_silence(state, step, nxt)
        state.silence_count = 0
        if event.digits:
            return self._script_keys(state, step, event.digits.strip("#")[:1], nxt)
        text = clean(event.speech, MAX_SPEECH_CHARS)
        if is_repeat_request(text):
            return self._listen([state.last_spoken or ""], nxt)
        if step.startswith(SAFETY_STEP):
            return self._safety_answer(state, step, text, nxt)
        reading = read_answer(_question_id(step), text, rasa_client.parse(text))
        if reading.kind == "danger":
            return self._to_conversation(state, text, reading, nxt)
        if step.startswith(OPT_OUT_STEP):
            return self._opt_out_answer(state, step, text, reading, nxt)
        if reading.kind == "opt_out":
            return self._ask_opt_out(state, step, text, nxt)
        if reading.kind == "human":
            return self._person(state, text, nxt)
        if step == REMINDER_STEP:
            return self._reminder_answer(state, text, nxt)
        return self._checkin_answer(state, step[len(CHECKIN_STEP) :], text, reading, nxt)

    # opening -----------------------------------------------------------------------------
    def _open(self, state: CallState, nxt: str) -> VoicePlan:
        calls.picked_up(self.call.contact_id)
        words = script()
        if self.call.kind == "checkin":
            first = _questions()[0]
            return self._ask(
                state, CHECKIN_STEP + first["id"], [words["intro"]["checkin"], first["text"]], nxt
            )
        if self.call.booking_status != "booked":
            calls.finish(self.call.contact_id, "hung_up")
            return VoicePlan(say=[words["intro"]["reminder"], words["reminder"]["visit_gone"]], hangup=True)
        return self._ask(state, REMINDER_STEP, [words["intro"]["reminder"], self._visit_sentence()], nxt)

    def _visit_sentence(self) -> str:
        call = self.call
        start, reference = call.window_start, call.reference
        if start is None or reference is None:  # a reminder is only read for a booked visit
            raise ValueError(f"outreach contact {call.contact_id} has no booked visit to read")
        tomorrow = clock.today().toordinal() + 1 == start.date().toordinal()
        when = (wording.voice("tomorrow") if tomorrow else "") + say_window(start)
        return script()["reminder"]["visit"].format(
            when=speakable(when), service=call.service_name, reference=say_reference(reference)
        )

    def _ask(self, state: CallState, step: str, say: list[str], nxt: str) -> VoicePlan:
        """Says `say` (its last sentence is the question) and the step's keypad options."""
        state.awaiting = step
        options = self._options(step)
        state.last_spoken = "".join(say[-1:]) + options
        state.last_choices = {}
        return self._listen(say + [options], nxt)

    def _options(self, step: str) -> str:
        words = script()
        if step == REMINDER_STEP:
            return words["reminder"]["options"]
        if step.startswith(OPT_OUT_STEP):
            return ""
        return words["checkin"]["options"]

    # keys and silence --------------------------------------------------------------------
    def _script_keys(self, state: CallState, step: str, key: str, nxt: str) -> VoicePlan:
        if key == "*":
            return self._listen([state.last_spoken or ""], nxt)
        if key == "0":
            return self._person(state, "（按了0）", nxt)
        if step.startswith(SAFETY_STEP) and key in state.last_choices:
            return self._safety_answer(state, step, state.last_choices[key], nxt)
        if step.startswith(OPT_OUT_STEP) and key in "12":
            return self._opt_out_decided(state, step, key == "1", f"（按了{key}）", nxt)
        if step == REMINDER_STEP and key == "1":
            return self._confirmed(state, "（按了1）")
        if step == REMINDER_STEP and key == "2":
            return self._hand_over(state, RESCHEDULE_PAYLOAD, "（按了2）", "reschedule", nxt)
        return self._listen([NO_SUCH_KEY, state.last_spoken or ""], nxt)

    def _script_silence(self, state: CallState, step: str, nxt: str) -> VoicePlan:
        state.silence_count += 1
        if state.silence_count == 1:
            return self._listen([NOT_HEARD, state.last_spoken or ""], nxt)
        calls.note_turn(self.call.contact_id, state.last_spoken or "", None)
        if step.startswith(CHECKIN_STEP):
            return self._close_checkin(state, silent=True)
        calls.finish(self.call.contact_id, "hung_up")
        return VoicePlan(say=[script()["checkin"]["close_silent"]], hangup=True)

    # the check-in ------------------------------------------------------------------------
    def _checkin_answer(self, state: CallState, qid: str, text: str, reading: Reading, nxt: str) -> VoicePlan:
        words = script()
        if reading.kind == "unclear" and state.misunderstood_count == 0:
            state.misunderstood_count = 1
            return self._ask(state, CHECKIN_STEP + qid, [words["checkin"]["ask_again"], _question(qid)], nxt)
        state.misunderstood_count = 0
        label = (
            reading.kind
            if reading.kind != "need"
            else "、".join(words["need_labels"][n] for n in reading.needs)
        )
        calls.note_turn(
            self.call.contact_id,
            _question(qid),
            text,
            words["need_labels"].get(label, label) if reading.kind != "fine" else None,
            reading.needs,
        )
        following = _next_question(qid)
        if following is None:
            return self._close_checkin(state)
        return self._ask(state, CHECKIN_STEP + following, [_question(following)], nxt)

    def _close_checkin(self, state: CallState, silent: bool = False) -> VoicePlan:
        words = script()
        with session_scope() as s:
            from bot.models.outreach import OutreachContact

            row = s.get(OutreachContact, self.call.contact_id)
            needs = [n for n in (row.needs or "").split(",") if n]
            answered = any(
                line.startswith("答：") and not line.startswith("答：（没有回答）")
                for line in (row.transcript or "").splitlines()
            )
        state.awaiting = None
        state.outcome = "goodbye"
        if needs:
            labels = "、".join(words["need_labels"][n] for n in needs)
            calls.finish(self.call.contact_id, "needs_followup", summary=f"问候电话发现需要：{labels}。")
            return VoicePlan(say=[words["checkin"]["close_need"]], hangup=True)
        if silent and not answered:
            calls.finish(self.call.contact_id, "hung_up")
            return VoicePlan(say=[words["checkin"]["close_silent"]], hangup=True)
        calls.finish(self.call.contact_id, "reached")
        return VoicePlan(say=[words["checkin"]["close_fine"]], hangup=True)

    # the reminder ------------------------------------------------------------------------
    def _reminder_answer(self, state: CallState, text: str, nxt: str) -> VoicePlan:
        wants = read_reminder_reply(text)
        if wants == "cancel":
            return self._hand_over(state, CANCEL_PAYLOAD, text, "cancel", nxt)
        if wants == "change":
            return self._hand_over(state, RESCHEDULE_PAYLOAD, text, "reschedule", nxt)
        if wants == "confirm":
            return self._confirmed(state, text)
        state.misunderstood_count += 1
        if state.misunderstood_count >= 3:
            return self._person(state, text, nxt)
        return self._ask(state, REMINDER_STEP, [script()["reminder"]["not_understood"]], nxt)

    def _confirmed(self, state: CallState, heard: str) -> VoicePlan:
        calls.note_turn(self.call.contact_id, self._visit_sentence(), heard, "确认")
        calls.finish(self.call.contact_id, "confirmed")
        state.awaiting, state.outcome = None, "goodbye"
        return VoicePlan(say=[script()["reminder"]["confirmed"]], hangup=True)

    # handing over to the conversation ----------------------------------------------------
    def _send(self, state: CallState, message: str) -> rasa_client.ChatResult:
        # The person on the line is the elder we dialled: her number is the caller ID.
        return rasa_client.send_message(
            state.sender_id,
            message,
            {"channel": "voice", "phone": self.call.number, "call_sid": state.call_sid},
        )

    def _hand_over(self, state: CallState, payload: str, heard: str, outcome: str, nxt: str) -> VoicePlan:
        calls.note_turn(self.call.contact_id, state.last_spoken or "", heard)
        calls.finish(self.call.contact_id, outcome)
        state.awaiting = None
        state.misunderstood_count = 0
        return self._answer(state, self._send(state, payload), nxt)

    def _to_conversation(self, state: CallState, text: str, reading: Reading, nxt: str) -> VoicePlan:
        kind = reading.safety.get("kind")
        step = state.awaiting or ""
        if kind == "unsure" and not step.startswith(OPT_OUT_STEP):
            return self._safety_question(state, step, text, nxt)
        log.warning(
            "outbound call contact=%s: the safety layer read %s; the hotline conversation takes over",
            self.call.contact_id,
            kind,
        )
        calls.note_turn(self.call.contact_id, state.last_spoken or "", text, "转入热线对话")
        calls.finish(
            self.call.contact_id, "emergency" if kind in ("crisis", "emergency") else "needs_followup"
        )
        state.awaiting = None
        state.misunderstood_count = 0
        return self._answer(state, self._send(state, text), nxt)

    # the safety layer unsure: its question, asked by the hotline conversation ---------------
    def _safety_question(self, state: CallState, step: str, text: str, nxt: str) -> VoicePlan:
        """The answer might mean danger: the conversation asks the hotline's question. The
        answer's needs are kept; "no" goes back to the script."""
        qid = _question_id(step)
        plain = read_answer(qid, text, None, safety_first=False) if qid else None
        calls.note_turn(
            self.call.contact_id,
            state.last_spoken or "",
            text,
            "安全确认",
            plain.needs if plain is not None else (),
        )
        result = self._send(state, text)
        if self._hotline_took_over(result):
            calls.finish(self.call.contact_id, "emergency")
            state.awaiting = None
            return self._answer(state, result, nxt)
        plan = self._answer(state, result, nxt)
        state.awaiting = SAFETY_STEP + step
        return plan

    def _hotline_took_over(self, result: rasa_client.ChatResult) -> bool:
        return (
            result.degraded
            or "handoff" in result.actions
            or any(r.custom.get("urgent") for r in result.replies if r.custom)
        )

    def _safety_answer(self, state: CallState, step: str, text: str, nxt: str) -> VoicePlan:
        result = self._send(state, text)
        back = _back(step)
        if self._hotline_took_over(result):
            calls.note_turn(self.call.contact_id, state.last_spoken or "", text, "转入热线对话")
            calls.finish(self.call.contact_id, "emergency")
            state.awaiting = None
            return self._answer(state, result, nxt)
        if any(r.custom.get("kind") == "safety_check" for r in result.replies if r.custom):
            plan = self._answer(state, result, nxt)  # asked again, in other words
            state.awaiting = step
            return plan
        calls.note_turn(self.call.contact_id, state.last_spoken or "", text, "没有危险")
        qid = _question_id(back)
        if qid is None:
            return self._resume(state, back, [], nxt)
        following = _next_question(qid)
        if following is None:
            return self._close_checkin(state)
        return self._ask(state, CHECKIN_STEP + following, [OK, _question(following)], nxt)

    def _person(self, state: CallState, heard: str, nxt: str) -> VoicePlan:
        calls.note_turn(self.call.contact_id, state.last_spoken or "", heard, "转人工")
        calls.finish(self.call.contact_id, "transferred")
        state.awaiting = None
        return self._answer(state, self._send(state, HUMAN_PAYLOAD), nxt, forced_human=True)

    # "不要再打了" ------------------------------------------------------------------------
    def _ask_opt_out(self, state: CallState, step: str, text: str, nxt: str) -> VoicePlan:
        calls.note_turn(self.call.contact_id, state.last_spoken or "", text, "不想再接电话？")
        state.awaiting = OPT_OUT_STEP + step
        question = script()["opt_out_confirm"]
        state.last_spoken, state.last_choices = question, {}
        return self._listen([question], nxt)

    def _opt_out_answer(
        self, state: CallState, step: str, text: str, reading: Reading, nxt: str
    ) -> VoicePlan:
        said = yes_or_no_said(text)
        yes = reading.kind == "opt_out" or reading.intent == "affirm" or said is True
        no = reading.intent == "deny" or said is False
        if yes or no:
            return self._opt_out_decided(state, step, yes and not no, text, nxt)
        return self._listen([script()["opt_out_confirm"]], nxt)

    def _opt_out_decided(self, state: CallState, step: str, yes: bool, heard: str, nxt: str) -> VoicePlan:
        back = _back(step)
        if yes:
            with session_scope() as s:
                rules.add_refusal(
                    s,
                    source="voice",
                    elder_id=self.call.elder_id,
                    number=self.call.number,
                    created_by="outbound call",
                    note=f"contact #{self.call.contact_id}",
                )
            calls.note_turn(self.call.contact_id, script()["opt_out_confirm"], heard, "不再打电话")
            calls.finish(self.call.contact_id, "opted_out")
            state.awaiting, state.outcome = None, "goodbye"
            return VoicePlan(say=[script()["opted_out"]], hangup=True)
        return self._resume(state, back, [script()["opt_out_kept"]], nxt)

    def _resume(self, state: CallState, step: str, before: list[str], nxt: str) -> VoicePlan:
        """Asks the script step's question again."""
        qid = _question_id(step)
        question = _question(qid) if qid else self._visit_sentence()
        return self._ask(state, step, before + [question], nxt)
