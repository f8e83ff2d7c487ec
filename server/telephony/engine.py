"""The telephony service: one turn engine behind every phone provider.

A provider's web routes are a thin adapter (server/channels/twilio.py, server/channels/freeswitch.py):
they authenticate the webhook, turn it into a provider-neutral event (server.telephony.base)
plus the turn number it carries (Twilio: ?turn=N in the URL we handed out; FreeSWITCH
mod_httapi: <params><turn>N</turn></params> mirrored back), and render the plan that comes
back in the provider's markup. Everything between lives here, once:

- claims and idempotency: (call id, turn) is claimed in the database before the turn runs
  (UNIQUE row, bot/models/telephony.py); a retried webhook is answered from the stored
  answer and the conversation step never runs twice (no second booking, no second handoff)
- retries of a turn that is still running: wait for its answer; if it does not come,
  "请稍等" and come back for the same turn (at most MAX_WAIT_REDIRECTS times), then an
  apology and a person
- the call's state between turns (store.py) and the bridge to the assistant (dialogue.py:
  silence, repeat, keypad menu, transfer or callback, rating)
- failures: never silence and never a 500 for a caller; a transfer or a callback instead
- the end of a call (status callbacks, mod_httapi's exiting post) and SMS turns
"""

from __future__ import annotations

import logging
from typing import Callable

from bot.config import Settings, get_settings
from bot.text.masking import mask_phone, mask_text
from server import wording
from server.telephony import store
from server.telephony.advisor_line import whisper
from server.telephony.base import CallStatusEvent, SmsEvent, TelephonyAdapter, VoiceEvent, VoicePlan
from server.telephony.dialogue import (
    TECHNICAL_TROUBLE,
    TRANSFERRING,
    VoiceBridge,
    advisor_on_duty,
    apply_voice,
    sms_turn,
)
from server.telephony.outreach_dialogue import OutreachBridge

log = logging.getLogger(__name__)

MAX_TURNS = 500  # a call longer than this is not a person talking
RUNNING_WAIT_SECONDS = 8.0  # how long a retry waits for the first request's answer
MAX_WAIT_REDIRECTS = 3
HOLD_ON = wording.voice("hold_on")
SMS_TROUBLE = wording.sms("trouble")

# turn_url(turn_no, wait=K): where (Twilio) or with which params (FreeSWITCH) the provider
# reports turn `turn_no`; `wait` counts the "please wait" loops of a turn still running.
TurnUrl = Callable[..., str]


def _outreach_call(event: VoiceEvent, outreach_id: int | None):
    """The outbound-care contact of this call, or None (an ordinary call; also when the
    database cannot say: the caller is then served as on the hotline)."""
    from bot.outreach.calls import contact_for_call

    try:
        return contact_for_call(event.call_id, outreach_id, event.to_number)
    except Exception:
        log.exception("outbound-care lookup failed for sid=%s", event.call_id)
        return None


def input_kind(event: VoiceEvent, turn_no: int) -> str:
    """What a voice webhook brings, as stored with its turn."""
    if turn_no == 0 and event.is_silence and event.transfer_status is None:
        return "start"
    if event.transfer_status:
        return "dial_result"
    if event.digits:
        return "dtmf"
    return "speech" if event.speech else "silence"


class TelephonyService:
    """The turn engine for one provider adapter."""

    def __init__(self, adapter: TelephonyAdapter, turn_url: TurnUrl, settings: Settings | None = None):
        self.adapter = adapter
        self.turn_url = turn_url
        self.settings = settings or get_settings()

    # --- voice --------------------------------------------------------------------------
    def voice_turn(
        self, event: VoiceEvent, turn_no: int, waits: int = 0, outreach_id: int | None = None
    ) -> str:
        """Runs turn `turn_no` of a call once, whatever the provider retries; returns the
        provider's markup for what the line does next. `outreach_id`: the outbound-care
        contact named in the (signed) URL of an outbound call's first webhook."""
        adapter = self.adapter
        claim = store.claim_turn(
            event.call_id,
            turn_no,
            channel="voice",
            sender_id=store.voice_sender_id(event.call_id),
            input_kind=input_kind(event, turn_no),
            input_masked=mask_text(event.speech or event.digits or ""),
        )
        if claim.status == "answered" and claim.body is not None:  # answered: always a body
            return claim.body
        if claim.status == "running":
            body = store.wait_for_answer(event.call_id, turn_no, RUNNING_WAIT_SECONDS)
            if body is not None:
                return body
            if waits < MAX_WAIT_REDIRECTS:
                return adapter.render_voice(
                    VoicePlan(
                        say=[HOLD_ON], pause_seconds=2, redirect_url=self.turn_url(turn_no, wait=waits + 1)
                    )
                )
            log.error("turn sid=%s no=%s never finished: apologising", event.call_id, turn_no)
        outreach = _outreach_call(event, outreach_id)
        if outreach is None:
            state = store.load_call(event.call_id, event.from_number, event.to_number, adapter.name)
            bridge = VoiceBridge(self.turn_url, self.settings)
        else:
            # We called her: the person on the line is the number we dialled.
            state = store.load_call(event.call_id, event.to_number, event.from_number, adapter.name)
            bridge = OutreachBridge(self.turn_url, self.settings, outreach)
        try:
            if claim.status == "running":
                plan = bridge.failure_plan(state, turn_no)
            else:
                plan = bridge.handle(state, event, turn_no)
        except Exception:
            log.exception(
                "voice turn failed sid=%s turn=%s provider=%s", event.call_id, turn_no, adapter.name
            )
            plan = bridge.failure_plan(state, turn_no)
        body = adapter.render_voice(apply_voice(state, plan))
        if state.persisted:
            store.finish_turn(state, turn_no, body, recorded=claim.status == "claimed")
        elif claim.status == "claimed":
            store.answer_turn(event.call_id, turn_no, body)
        return body

    def trouble_plan(self, caller: str = "") -> VoicePlan:
        """What a caller hears when a webhook could not be handled at all: a person when one
        is on duty (told first that the system failed), otherwise a polite goodbye. Never
        silence. `caller`: the From of the failed webhook, when it could be read."""
        settings = self.settings
        if advisor_on_duty(settings):
            return VoicePlan(
                say=[TECHNICAL_TROUBLE + TRANSFERRING],
                transfer_to=settings.advisor_phone_number,
                transfer_whisper=whisper("trouble", caller=caller, sender_id=None, settings=settings),
            )
        return VoicePlan(say=[TECHNICAL_TROUBLE + wording.voice("call_again_later")], hangup=True)

    # --- end of a call --------------------------------------------------------------------
    def call_status(self, event: CallStatusEvent, outreach_id: int | None = None) -> None:
        """A status report (Twilio's callback, mod_httapi's exiting post): the call record's
        status, end and outcome; a caller cut off in the middle of a task gets a callback.
        An outbound-care call's end is written to its contact (bot/outreach/calls.py)."""
        if outreach_id is not None:
            from bot.outreach.calls import call_ended, contact_for_call

            if event.status in store.FINAL_STATUSES:
                if contact_for_call(event.call_id, outreach_id, event.to_number) is not None:
                    call_ended(outreach_id, event.status)
            if event.status in ("busy", "no-answer", "failed", "canceled"):
                return  # nobody picked up: no call record, and no callback to offer
        store.record_status(event, self.adapter.name)

    # --- SMS ------------------------------------------------------------------------------
    def sms(self, event: SmsEvent) -> str:
        """One incoming SMS answered once, whatever the provider retries."""
        adapter = self.adapter
        claim = store.claim_turn(
            event.message_id,
            0,
            channel="sms",
            sender_id=event.from_number,
            input_kind="sms",
            input_masked=mask_text(event.body)[:500],
        )
        if claim.status == "answered" and claim.body is not None:  # answered: always a body
            return claim.body
        if claim.status == "running":
            body = store.wait_for_answer(event.message_id, 0, RUNNING_WAIT_SECONDS)
            # The first request will answer; a second reply would be a duplicate SMS.
            return body if body is not None else adapter.render_sms(None)
        text, choices = sms_turn(event, self.settings)
        body = adapter.render_sms(text)
        if claim.status == "claimed":
            store.answer_turn(event.message_id, 0, body, choices)
        log.info("sms answered to %s (%d chars)", mask_phone(event.from_number), len(text))
        return body
