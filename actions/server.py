"""The action server, closed to strangers: rasa-sdk's app, bound to 127.0.0.1, refusing every
request but /health that does not carry the shared secret Rasa sends (X-Action-Secret,
configured in var/endpoints.yml by scripts/render_endpoints.py).

    python -m actions.server [--port 5055]

Without ACTION_SERVER_SECRET it does not start: an action server anyone on the machine can
call would run "send this SMS" or "cancel booking N" for them.

Off the event loop: rasa-sdk 3.6 awaits each action's `run` on Sanic's event loop
(rasa_sdk.executor.ActionExecutor.run -> utils.call_potential_coroutine), and our actions are
`async def` calling blocking code (SQLAlchemy, the Twilio REST client). Here every action
call runs in a worker thread of its own pool (ACTION_THREADS, default 8) with an event loop
of that thread, so one slow database call or SMS does not stop /health or other
conversations' actions.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import hmac
import logging
import sys

from rasa_sdk import endpoint, utils
from rasa_sdk.executor import ActionExecutor
from sanic import response

from actions.policy import warm_up
from bot.config import get_settings
from bot.text.masking import install_log_masking

log = logging.getLogger("actions.server")
SECRET_HEADER = "X-Action-Secret"
OPEN_PATHS = {"/health"}


_pool: concurrent.futures.ThreadPoolExecutor | None = None


def action_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=get_settings().action_threads, thread_name_prefix="action"
        )
    return _pool


class ThreadedActionExecutor(ActionExecutor):
    """rasa-sdk's executor, but each action call runs in a worker thread (its own event
    loop there), never on the server's event loop."""

    async def run(self, action_call):
        loop = asyncio.get_running_loop()
        parent_run = super().run
        return await loop.run_in_executor(action_pool(), lambda: asyncio.run(parent_run(action_call)))


def create_app(secret: str):
    install_log_masking()
    # rasa-sdk builds its routes around `ActionExecutor()`: give it the threaded one
    original, endpoint.ActionExecutor = endpoint.ActionExecutor, ThreadedActionExecutor
    try:
        app = endpoint.create_app("actions", cors_origins=None)
    finally:
        endpoint.ActionExecutor = original

    @app.on_request
    async def require_secret(request):
        if request.path in OPEN_PATHS:
            return None
        supplied = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(supplied.encode(), secret.encode()):
            log.warning(
                "action server refused %s %s from %s: %s",
                request.method,
                request.path,
                request.ip,
                "wrong secret" if supplied else "no secret",
            )
            return response.json({"error": "forbidden"}, status=403)
        if request.path == "/webhook":
            try:  # a compressed (deflate) body is left to rasa-sdk to read
                body = request.json if isinstance(request.json, dict) else {}
            except Exception:
                body = {}
            log.info("action call %s for %s", body.get("next_action"), str(body.get("sender_id", ""))[:16])
        return None

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    settings = get_settings()
    parser.add_argument("--port", type=int, default=settings.actions_port)
    parser.add_argument("--host", default=settings.actions_host)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    secret = settings.action_server_secret
    if not secret:
        log.error("ACTION_SERVER_SECRET is not set: the action server does not start without it")
        return 2
    utils.update_sanic_log_level()
    app = create_app(secret)
    warm_up()  # the policy packs load while the server starts
    log.info("action server on http://%s:%s (secret required)", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
