"""A phone call (or SMS) as text in a terminal: plays Twilio's side against the web server.

    python -m server.call_simulator --url http://localhost:8000        # or: make call
    python -m server.call_simulator --sms                               # SMS instead

Type what the caller says, or keys (1, 0, *, #); an empty line is silence; /hangup hangs
up. The simulator posts the same signed form fields Twilio would (CallSid, From, To,
SpeechResult, Digits, DialCallStatus, status callbacks) and prints what the line says.
Requests are signed with TWILIO_AUTH_TOKEN (environment or .env) like Twilio does, so it
works against a server that validates signatures; behind a proxy pass --public-url.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
KEYS = re.compile(r"^[0-9*#]+$")
HANGUP_WORDS = {"/hangup", "/quit", "/exit", "挂机"}


def _token_from_dotenv() -> str:
    dotenv = ROOT / ".env"
    if not dotenv.exists():
        return ""
    for line in dotenv.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip().startswith("TWILIO_AUTH_TOKEN="):
            return line.split("=", 1)[1].strip().strip("'\"")
    return ""


class Line:
    """Twilio's side of one call or SMS conversation."""

    def __init__(self, url: str, token: str, public_url: str | None, caller: str, callee: str, out=print):
        self.url = url.rstrip("/")
        self.public_url = (public_url or url).rstrip("/")
        self.validator = RequestValidator(token) if token else None
        self.caller, self.callee = caller, callee
        self.out = out
        self.session = requests.Session()

    def post(self, path: str, params: dict) -> requests.Response:
        headers = {}
        if self.validator is not None:
            headers["X-Twilio-Signature"] = self.validator.compute_signature(self.public_url + path, params)
        return self.session.post(self.url + path, data=params, headers=headers, timeout=60)


def _say_text(element: ET.Element) -> str:
    return "".join(element.itertext()).strip()


def run_call(line: Line, read_line, advisor_answers: bool | None, echo: bool) -> int:
    call_sid = "CA" + uuid.uuid4().hex
    base = {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": line.caller,
        "To": line.callee,
        "Direction": "inbound",
        "CallStatus": "in-progress",
    }
    started = time.monotonic()
    path: str | None = "/twilio/voice"
    extra: dict[str, str] = {}
    line.out(f"[来电 {line.caller} -> {line.callee}，CallSid {call_sid}]")
    ended_by = "caller"
    while path:
        response = line.post(path, {**base, **extra})
        if response.status_code != 200:
            line.out(f"[服务器回答 HTTP {response.status_code}: {response.text[:200]}]")
            if response.status_code == 403:
                line.out(
                    "[签名不对：请设置与服务器相同的 TWILIO_AUTH_TOKEN，服务器在代理后面时加 --public-url]"
                )
            return 1
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError:
            line.out(f"[不是 TwiML: {response.text[:200]}]")
            return 1
        current, path, extra = path, None, {}
        for verb in root:
            if verb.tag == "Say":
                line.out("线路：" + _say_text(verb))
            elif verb.tag == "Pause":
                line.out(f"[停顿 {verb.get('length', '1')} 秒]")
            elif verb.tag == "Gather":
                for say in verb.iter("Say"):
                    line.out("线路：" + _say_text(say))
                heard = read_line("您说> ")
                if heard is None or heard.strip() in HANGUP_WORDS:
                    path = None
                    break
                heard = heard.strip()
                if echo:
                    line.out(f"您说> {heard}")
                if not heard:
                    line.out("[沉默]")
                elif KEYS.match(heard):
                    extra = {"Digits": heard}
                else:
                    extra = {"SpeechResult": heard, "Confidence": "0.9"}
                path = _local(urljoin(current, verb.get("action") or current))
                break
            elif verb.tag == "Dial":
                number = _say_text(verb)
                line.out(f"[转接到 {number}]")
                answered = advisor_answers
                if answered is None:
                    reply = read_line("顾问接听了吗？(y/N)> ")
                    answered = (reply or "").strip().lower() in ("y", "yes", "是")
                target = next(iter(verb), None)  # <Number>/<Sip>; its url is the whisper
                whisper = (
                    parse_qs(urlsplit(target.get("url") or "").query).get("text", [""])[0]
                    if target is not None
                    else ""
                )
                if answered and whisper:
                    line.out(f"[顾问接听后先听到（来电人听不到）：{whisper}]")
                line.out("[顾问接听，人工通话…结束]" if answered else "[顾问没有接听]")
                if verb.get("action"):
                    path = _local(urljoin(current, verb.get("action")))
                    extra = {"DialCallStatus": "completed" if answered else "no-answer"}
                else:
                    ended_by = "transfer"
                break
            elif verb.tag == "Redirect":
                path = _local(urljoin(current, (verb.text or "").strip() or current))
                break
            elif verb.tag == "Hangup":
                line.out("[线路挂机]")
                ended_by = "line"
                path = None
                break
        else:
            if path is None and ended_by == "caller":
                ended_by = "line"  # TwiML ran out of verbs: Twilio hangs up
    if ended_by == "caller":
        line.out("[您挂机了]")
    duration = str(int(time.monotonic() - started))
    status = line.post("/twilio/status", {**base, "CallStatus": "completed", "CallDuration": duration})
    line.out(f"[通话结束，时长 {duration} 秒；状态回调 HTTP {status.status_code}]")
    return 0


def run_sms(line: Line, read_line, echo: bool) -> int:
    line.out(f"[短信 {line.caller} -> {line.callee}；空行或 /quit 结束]")
    while True:
        text = read_line("短信> ")
        if text is None or not text.strip() or text.strip() in HANGUP_WORDS:
            return 0
        if echo:
            line.out(f"短信> {text.strip()}")
        response = line.post(
            "/twilio/sms",
            {
                "MessageSid": "SM" + uuid.uuid4().hex,
                "AccountSid": "AC" + "0" * 32,
                "From": line.caller,
                "To": line.callee,
                "Body": text.strip(),
            },
        )
        if response.status_code != 200:
            line.out(f"[服务器回答 HTTP {response.status_code}: {response.text[:200]}]")
            return 1
        for message in ET.fromstring(response.content).iter("Message"):
            line.out("回复：" + _say_text(message))


def _local(url: str) -> str:
    """The path (and query) part of a URL from the TwiML: we post to --url ourselves."""
    match = re.match(r"^[a-z]+://[^/]+(/.*)$", url)
    return match.group(1) if match else url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.call_simulator", description="A 12349 phone call as text in the terminal."
    )
    # A client of a running server, not part of it: its environment reads are option defaults
    # (overridable here), not the service's settings (tests/test_config.py lets them stay).
    parser.add_argument(
        "--url",
        default=os.environ.get("CALL_URL", "http://localhost:8000"),
        help="web server to call (default http://localhost:8000)",
    )
    parser.add_argument(
        "--public-url",
        help="URL Twilio would call, if the server validates signatures against PUBLIC_BASE_URL",
    )
    parser.add_argument(
        "--from",
        dest="caller",
        default="+8613800000001",
        help="caller number (default: 张桂兰 of the demo data)",
    )
    parser.add_argument("--to", dest="callee", default="+8612349")
    parser.add_argument("--token", help="auth token to sign with (default TWILIO_AUTH_TOKEN, .env)")
    parser.add_argument("--sms", action="store_true", help="an SMS exchange instead of a call")
    answers = parser.add_mutually_exclusive_group()
    answers.add_argument(
        "--advisor-answers",
        dest="advisor_answers",
        action="store_true",
        default=None,
        help="a transfer is answered (default: ask)",
    )
    answers.add_argument(
        "--advisor-busy", dest="advisor_answers", action="store_false", help="a transfer is not answered"
    )
    args = parser.parse_args(argv)

    token = args.token or os.environ.get("TWILIO_AUTH_TOKEN") or _token_from_dotenv()
    if not token:
        print(
            "[没有 TWILIO_AUTH_TOKEN：请求不签名，只能用于 TWILIO_VALIDATE_SIGNATURE=false 的服务器]",
            file=sys.stderr,
        )
    interactive = sys.stdin.isatty()

    def read_or_eof(prompt: str) -> str | None:
        if interactive:
            try:
                return input(prompt)
            except EOFError:
                return None
        raw = sys.stdin.readline()
        return None if raw == "" else raw.rstrip("\n")

    line = Line(
        args.url, token, args.public_url, args.caller, args.callee, out=lambda text: print(text, flush=True)
    )
    try:
        if args.sms:
            return run_sms(line, read_or_eof, echo=not interactive)
        return run_call(line, read_or_eof, args.advisor_answers, echo=not interactive)
    except requests.RequestException as exc:
        print(f"[连不上 {args.url}：{type(exc).__name__}。先运行 make run]", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
