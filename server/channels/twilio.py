"""Twilio webhooks: POST /twilio/voice, /twilio/sms, /twilio/status, /twilio/whisper (said
to the advisor before a transfer connects) and /twilio/fallback (Twilio's "primary handler
fails" URL). A thin adapter: the turn engine (claims, idempotency, retries, call state) is
server/telephony/engine.py.

Every request must carry a valid X-Twilio-Signature for the public URL Twilio called
(PUBLIC_BASE_URL + path when behind a proxy, else the URL as received), or it gets 403.
TWILIO_VALIDATE_SIGNATURE=false switches this off for local development only.

Voice turns are numbered in the URLs we hand to Twilio (?turn=N); CallSid + turn is the
idempotency key: a retried webhook gets the stored TwiML and the turn does not run twice.

Answers: a caller or an SMS sender always gets a 200 with our Chinese TwiML, whatever went
wrong (on any other status Twilio speaks its own English error), except 403 for a bad
signature and 413 for a body too large to be read (neither can be Twilio's). Status
callbacks keep their codes: nobody hears them, and Twilio's debugger shows them.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from bot.config import get_settings
from server import wording
from server.telephony.base import MalformedWebhook, VoicePlan
from server.speech import read_digits
from server.telephony.engine import MAX_TURNS, SMS_TROUBLE, TelephonyService
from server.telephony.twilio_adapter import TwilioAdapter

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
log = logging.getLogger(__name__)


@bp.record_once
def _announce(_state) -> None:
    settings = get_settings()
    if not settings.twilio_validate_signature:
        log.warning(
            "TWILIO_VALIDATE_SIGNATURE=false: Twilio webhooks are NOT authenticated. "
            "Local development only, never in production."
        )
    elif not settings.twilio_auth_token:
        log.error("TWILIO_AUTH_TOKEN is not set: every Twilio webhook will be rejected (403)")


MAX_WHISPER_CHARS = 200
_UNSPEAKABLE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202f\ufeff]")


def _adapter() -> TwilioAdapter:
    adapter = TwilioAdapter.from_settings()
    adapter.whisper_url = _whisper_url
    return adapter


def _whisper_url(text: str) -> str:
    """Where Twilio fetches the advisor's whisper. Absolute, on the public base when behind
    a proxy (what Twilio then signs), because it is fetched for the advisor's leg."""
    base = get_settings().public_base_url or request.url_root
    return base.rstrip("/") + f"{bp.url_prefix}/whisper?" + urlencode({"text": text[:MAX_WHISPER_CHARS]})


def _generic_whisper() -> str:
    return wording.text("whisper", "transfer").format(hotline=read_digits(get_settings().hotline_number))


def _service() -> TelephonyService:
    return TelephonyService(_adapter(), _turn_url)


def public_url() -> str:
    """The URL Twilio signed: behind a proxy the configured public base, not what we see.
    The query string as it came, still percent-encoded: Twilio signs the URL as we gave it,
    and request.url would decode a whisper's %E5… into characters."""
    base = get_settings().public_base_url
    query = request.query_string.decode("latin-1")
    root = base.rstrip("/") + request.path if base else request.base_url
    return root + (f"?{query}" if query else "")


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type=TwilioAdapter.voice_content_type)


@bp.before_request
def check_signature():
    settings = get_settings()
    if not settings.twilio_validate_signature:
        return None
    if not _adapter().verify(public_url(), request.form, request.headers):
        log.warning(
            "twilio webhook rejected: invalid or missing signature for %s from %s",
            request.path,
            request.remote_addr,
        )
        return Response(
            "forbidden: invalid X-Twilio-Signature", status=403, content_type="text/plain; charset=utf-8"
        )
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


@bp.post("/whisper")
def whisper():
    """The url of <Number>/<Sip> in a transfer: Twilio posts here (signed, for the advisor's
    leg) when the advisor answers, and the TwiML is said to the advisor alone; when it ends,
    the caller is put through. The text is the one our own TwiML named (VoicePlan's
    transfer_whisper): who calls and why, nothing more."""
    text = _UNSPEAKABLE.sub("", request.args.get("text", ""))[:MAX_WHISPER_CHARS].strip()
    return _xml(_adapter().render_whisper(text or _generic_whisper()))


@bp.post("/fallback")
def fallback():
    """Twilio's "primary handler fails" URL, for calls and SMS: Twilio posts here (signed,
    with ErrorCode and ErrorUrl) when /twilio/voice or /twilio/sms answered with an error or
    too late. A caller hears the trouble plan (an advisor when one is on duty, otherwise an
    apology and 12349); an SMS gets the apology."""
    service = _service()
    error_code = re.sub(r"\D", "", request.form.get("ErrorCode", ""))[:8]
    log.error(
        "twilio fallback: the primary handler failed (ErrorCode=%s on %s)",
        error_code,
        urlsplit(request.form.get("ErrorUrl", "")).path[:100] or "?",
    )
    if not request.form.get("CallSid") and (request.form.get("MessageSid") or request.form.get("SmsSid")):
        return _xml(service.adapter.render_sms(SMS_TROUBLE))
    return _xml(service.adapter.render_voice(service.trouble_plan(caller=_caller())))


def _caller() -> str:
    """The From of the request, when it can be read (never raises); only its last digits
    are ever said (advisor_line.caller_tail_spoken)."""
    try:
        return str(request.form.get("From", ""))[:64]
    except Exception:  # noqa: BLE001 - an error handler must not fail on the body
        return ""


@bp.post("/status")
def status():
    service = _service()
    service.call_status(service.adapter.status_event(request.form), outreach_id=_outreach_id())
    return _xml(_empty_voice())


def _empty_voice() -> str:
    return _adapter().render_voice(VoicePlan())


def _polite(status_code: int) -> Response:
    """An answer Twilio can play when something went wrong: never silence, never a 500. The
    whisper's goes to an advisor: a generic whisper (never the caller's trouble plan, which
    would dial or hang up the advisor's leg)."""
    adapter = _adapter()
    service = TelephonyService(adapter, _turn_url)
    if request.path.endswith("/sms"):
        return _xml(adapter.render_sms(SMS_TROUBLE), status_code)
    if request.path.endswith("/whisper"):
        return _xml(adapter.render_whisper(_generic_whisper()), status_code)
    if request.path.endswith(("/voice", "/fallback")):
        caller = _caller() if status_code != 413 else ""
        return _xml(adapter.render_voice(service.trouble_plan(caller=caller)), status_code)
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
    if request.path.endswith("/status") or exc.code == 413:
        # a status callback keeps its code; a body too large to read was never verified
        return _polite(exc.code or 400)
    return _polite(200)


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    log.exception("twilio webhook on %s failed", request.path)
    # Status callbacks: tell Twilio it did not land; calls and SMS: a polite answer.
    return _polite(503 if request.path.endswith("/status") else 200)
