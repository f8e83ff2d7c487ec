"""Twilio webhooks: POST /twilio/voice, /twilio/sms, /twilio/status.

Every request must carry a valid X-Twilio-Signature for the public URL Twilio called
(PUBLIC_BASE_URL + path when behind a proxy, else the URL as received), or it gets 403.
TWILIO_VALIDATE_SIGNATURE=false switches this off for local development only.

Voice turns are numbered in the URLs we hand to Twilio (?turn=N); CallSid + turn is the
idempotency key: a retried webhook gets the stored TwiML and the turn does not run twice.
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from bot.config import get_settings
from bot.masking import mask_phone, mask_text
from server.telephony import store
from server.telephony.base import MalformedWebhook, VoicePlan
from server.telephony.dialogue import TECHNICAL_TROUBLE, VoiceBridge, advisor_on_duty, sms_turn
from server.telephony.twilio_adapter import TwilioAdapter

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
log = logging.getLogger(__name__)

MAX_TURNS = 500  # a call longer than this is not a person talking
RUNNING_WAIT_SECONDS = 8.0  # how long a retry waits for the first request's answer
MAX_WAIT_REDIRECTS = 3


@bp.record_once
def _announce(_state) -> None:
    settings = get_settings()
    if not settings.twilio_validate_signature:
        log.warning("TWILIO_VALIDATE_SIGNATURE=false: Twilio webhooks are NOT authenticated. "
                    "Local development only, never in production.")
    elif not settings.twilio_auth_token:
        log.error("TWILIO_AUTH_TOKEN is not set: every Twilio webhook will be rejected (403)")


def _adapter() -> TwilioAdapter:
    return TwilioAdapter.from_env(get_settings().twilio_auth_token)


def public_url() -> str:
    """The URL Twilio signed: behind a proxy the configured public base, not what we see."""
    base = get_settings().public_base_url
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type=TwilioAdapter.voice_content_type)


@bp.before_request
def check_signature():
    settings = get_settings()
    if not settings.twilio_validate_signature:
        return None
    if not _adapter().verify(public_url(), request.form, request.headers):
        log.warning("twilio webhook rejected: invalid or missing signature for %s from %s",
                    request.path, request.remote_addr)
        return Response("forbidden: invalid X-Twilio-Signature", status=403,
                        content_type="text/plain; charset=utf-8")
    return None


def _turn_url(turn_no: int, **extra) -> str:
    # Relative: Twilio resolves it against the URL it called, so it works behind a proxy.
    return f"{bp.url_prefix}/voice?" + urlencode({"turn": turn_no, **extra})


def _turn_no() -> int:
    raw = request.args.get("turn", "0")
    if not raw.isdigit() or int(raw) > MAX_TURNS:
        raise MalformedWebhook("turn is not a small number")
    return int(raw)


@bp.post("/voice")
def voice():
    adapter = _adapter()
    event = adapter.voice_event(request.form)
    turn_no = _turn_no()
    sender_id = store.voice_sender_id(event.call_id)
    kind = ("start" if turn_no == 0 and event.is_silence else
            "dial_result" if event.transfer_status else "dtmf" if event.digits else
            "speech" if event.speech else "silence")
    claim = store.claim_turn(event.call_id, turn_no, channel="voice", sender_id=sender_id,
                             input_kind=kind,
                             input_masked=mask_text(event.speech or event.digits or ""))
    if claim.status == "answered":
        return _xml(claim.body)
    if claim.status == "running":
        body = store.wait_for_answer(event.call_id, turn_no, RUNNING_WAIT_SECONDS)
        if body is not None:
            return _xml(body)
        waits = int(request.args.get("wait", "0")) if request.args.get("wait", "").isdigit() else 0
        if waits < MAX_WAIT_REDIRECTS:
            return _xml(adapter.render_voice(VoicePlan(
                say=["请稍等。"], pause_seconds=2, redirect_url=_turn_url(turn_no, wait=waits + 1))))
        log.error("turn sid=%s no=%s never finished: apologising", event.call_id, turn_no)
    state = store.load_call(event.call_id, event.from_number, event.to_number, adapter.name)
    bridge = VoiceBridge(_turn_url)
    try:
        if claim.status == "running":
            plan = bridge.failure_plan(state, turn_no)
        else:
            plan = bridge.handle(state, event, turn_no)
    except Exception:
        log.exception("voice turn failed sid=%s turn=%s", event.call_id, turn_no)
        plan = bridge.failure_plan(state, turn_no)
    body = adapter.render_voice(plan)
    if state.persisted:
        store.finish_turn(state, turn_no, body, recorded=claim.status == "claimed")
    elif claim.status == "claimed":
        store.answer_turn(event.call_id, turn_no, body)
    return _xml(body)


@bp.post("/sms")
def sms():
    adapter = _adapter()
    event = adapter.sms_event(request.form)
    if not event.from_number:
        raise MalformedWebhook("SMS without a sender number")
    claim = store.claim_turn(event.message_id, 0, channel="sms", sender_id=event.from_number,
                             input_kind="sms", input_masked=mask_text(event.body)[:500])
    if claim.status == "answered":
        return _xml(claim.body)
    if claim.status == "running":
        body = store.wait_for_answer(event.message_id, 0, RUNNING_WAIT_SECONDS)
        # The first request will answer; a second reply would be a duplicate SMS.
        return _xml(body if body is not None else adapter.render_sms(None))
    text, choices = sms_turn(event)
    body = adapter.render_sms(text)
    if claim.status == "claimed":
        store.answer_turn(event.message_id, 0, body, choices)
    log.info("sms answered to %s (%d chars)", mask_phone(event.from_number), len(text))
    return _xml(body)


@bp.post("/status")
def status():
    event = _adapter().status_event(request.form)
    store.record_status(event, "twilio")
    return _xml(str(_empty_voice()))


def _empty_voice() -> str:
    return _adapter().render_voice(VoicePlan())


def _polite(status_code: int) -> Response:
    """An answer Twilio can play when something went wrong: never silence, never a 500."""
    adapter = _adapter()
    if request.path.endswith("/sms"):
        return _xml(adapter.render_sms("不好意思，系统出了点问题。请稍后再发，或拨打12349找顾问。"),
                    status_code)
    if request.path.endswith("/voice"):
        settings = get_settings()
        if advisor_on_duty(settings):
            plan = VoicePlan(say=[TECHNICAL_TROUBLE + "正在为您转接人工顾问，请不要挂机。"],
                             transfer_to=settings.advisor_phone_number)
        else:
            plan = VoicePlan(say=[TECHNICAL_TROUBLE + "请您稍后再打幺二三四九。再见！"], hangup=True)
        return _xml(adapter.render_voice(plan), status_code)
    return _xml(_empty_voice(), status_code)


@bp.errorhandler(MalformedWebhook)
def malformed(exc):
    # Signed but unusable: the caller hears our Chinese sentence with a 200 (on a 4xx Twilio
    # plays its own English error message); the operator gets the precise log line.
    log.warning("malformed twilio webhook on %s: %s", request.path, exc)
    return _polite(400 if request.path.endswith("/status") else 200)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    log.warning("twilio webhook on %s failed with %s", request.path, exc.code)
    return _polite(exc.code or 400)


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    log.exception("twilio webhook on %s failed", request.path)
    # Status callbacks: tell Twilio it did not land; calls and SMS: a polite answer.
    return _polite(503 if request.path.endswith("/status") else 200)
