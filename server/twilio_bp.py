"""Twilio webhooks: POST /twilio/voice, /twilio/sms, /twilio/status. A thin adapter: the
turn engine (claims, idempotency, retries, call state) is server/telephony/engine.py.

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
from server.telephony.base import MalformedWebhook, VoicePlan
from server.telephony.engine import MAX_TURNS, SMS_TROUBLE, TelephonyService
from server.telephony.twilio_adapter import TwilioAdapter

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
log = logging.getLogger(__name__)


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


def _service() -> TelephonyService:
    return TelephonyService(_adapter(), _turn_url)


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
    service = _service()
    event = service.adapter.voice_event(request.form)
    turn_no = _turn_no()
    waits = int(request.args.get("wait", "0")) if request.args.get("wait", "").isdigit() else 0
    return _xml(service.voice_turn(event, turn_no, waits, outreach_id=_outreach_id()))


def _outreach_id() -> int | None:
    """The outbound-care contact in the URL we gave Twilio for an outbound call (signed)."""
    raw = request.args.get("outreach", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise MalformedWebhook("outreach is not a contact id")
    return int(raw)


@bp.post("/sms")
def sms():
    service = _service()
    event = service.adapter.sms_event(request.form)
    if not event.from_number:
        raise MalformedWebhook("SMS without a sender number")
    return _xml(service.sms(event))


@bp.post("/status")
def status():
    service = _service()
    service.call_status(service.adapter.status_event(request.form), outreach_id=_outreach_id())
    return _xml(_empty_voice())


def _empty_voice() -> str:
    return _adapter().render_voice(VoicePlan())


def _polite(status_code: int) -> Response:
    """An answer Twilio can play when something went wrong: never silence, never a 500."""
    service = _service()
    if request.path.endswith("/sms"):
        return _xml(service.adapter.render_sms(SMS_TROUBLE), status_code)
    if request.path.endswith("/voice"):
        return _xml(service.adapter.render_voice(service.trouble_plan()), status_code)
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
