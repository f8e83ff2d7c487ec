"""FreeSWITCH mod_httapi webhook: POST /freeswitch/voice. A thin adapter, like the Twilio
one: the turn engine is server/telephony/engine.py, the translation to and from mod_httapi
is server/telephony/freeswitch_adapter.py.

HTTP basic auth with FREESWITCH_HTTAPI_USER / FREESWITCH_HTTAPI_PASSWORD (the httapi
profile's gateway-credentials): 401 without them. When they are not set the route is not
served at all (404), so an unconfigured server never answers calls anonymously.

The turn travels in the document's <params> (turn, turn_wait, turn_after), which mod_httapi
posts back with the next request; session_id (the channel UUID) + turn is the idempotency
key, as CallSid + turn is for Twilio. The last post of a call has exiting=true.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from server import wording
from server.telephony.base import MalformedWebhook
from server.telephony.engine import MAX_TURNS, MAX_WAIT_REDIRECTS, TelephonyService
from server.telephony.freeswitch_adapter import FreeswitchAdapter, is_exiting, small_number

bp = Blueprint("freeswitch", __name__, url_prefix="/freeswitch")
log = logging.getLogger(__name__)

MIN_PASSWORD_CHARS = 16


@bp.record_once
def _announce(_state) -> None:
    adapter = FreeswitchAdapter.from_settings()
    if not adapter.configured:
        log.info("FREESWITCH_HTTAPI_USER/FREESWITCH_HTTAPI_PASSWORD not set: /freeswitch/voice is not served")
        return
    log.info(
        "FreeSWITCH mod_httapi webhook at /freeswitch/voice (basic auth; %s; bridge %s)",
        f"speech via {adapter.asr_engine}" if adapter.asr else "keypad only, no ASR",
        adapter.bridge,
    )
    if len(adapter.password) < MIN_PASSWORD_CHARS:
        log.warning(
            "FREESWITCH_HTTAPI_PASSWORD is shorter than %d characters: use a long "
            "random one (e.g. openssl rand -hex 24)",
            MIN_PASSWORD_CHARS,
        )
    if "$" in adapter.bridge:
        log.error(
            "FREESWITCH_BRIDGE contains '$': mod_httapi refuses variable expansion "
            "without the expand-vars permission and hangs up"
        )


def _service() -> TelephonyService:
    return TelephonyService(FreeswitchAdapter.from_settings(), _turn_url)


def _turn_url(turn_no: int, **extra) -> str:
    # Not a URL FreeSWITCH calls: the adapter puts its turn (and wait) into <params>.
    return f"{bp.url_prefix}/voice?" + urlencode({"turn": turn_no, **extra})


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type=FreeswitchAdapter.voice_content_type)


@bp.before_request
def check_credentials():
    adapter = FreeswitchAdapter.from_settings()
    if not adapter.configured:
        return jsonify(error=wording.text("http_error", "not_found"), code="not_found"), 404  # as if absent
    # Only the Authorization header: an anonymous body is never parsed.
    if not adapter.verify(request.url, {}, request.headers):
        log.warning(
            "freeswitch webhook rejected: missing or wrong basic auth for %s from %s",
            request.path,
            request.remote_addr,
        )
        return Response(
            "unauthorized",
            status=401,
            content_type="text/plain; charset=utf-8",
            headers={"WWW-Authenticate": 'Basic realm="freeswitch-httapi"'},
        )
    return None


@bp.route("/voice", methods=["POST", "GET"])
def voice():
    service = _service()
    adapter = service.adapter
    # POST with a form body (profile method=POST); some mod_httapi versions put the params in
    # the query string instead (and use GET without method=POST): both are read.
    params = request.values
    if is_exiting(params):
        service.call_status(adapter.status_event(params))
        return _xml(adapter.render_exit())
    event = adapter.voice_event(params)
    turn_no = small_number(params, "turn", MAX_TURNS)
    waits = small_number(params, "turn_wait", MAX_WAIT_REDIRECTS + 1)
    return _xml(service.voice_turn(event, turn_no, waits))


def _polite(status_code: int) -> Response:
    """A document FreeSWITCH can play when something went wrong: never silence, never a
    500 (on anything but 200 mod_httapi stops and the caller falls into the dialplan)."""
    service = _service()
    try:  # the caller's number, for the advisor's whisper (never fails the apology)
        caller = str(request.values.get("Caller-Caller-ID-Number", ""))[:64] if status_code != 413 else ""
    except Exception:  # noqa: BLE001
        caller = ""
    return _xml(service.adapter.render_voice(service.trouble_plan(caller=caller)), status_code)


@bp.errorhandler(MalformedWebhook)
def malformed(exc):
    log.warning("malformed freeswitch webhook on %s: %s", request.path, exc)
    return _polite(200)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    log.warning("freeswitch webhook on %s failed with %s", request.path, exc.code)
    return _polite(exc.code or 400)


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    log.exception("freeswitch webhook on %s failed", request.path)
    return _polite(200)
