"""Writes var/endpoints.yml for `rasa run` from the environment (the production switch).

- DATABASE_URL / TRACKER_STORE_URL pointing at PostgreSQL -> Rasa's SQL tracker store there
  (rasa_ext/tracker_store.py: Rasa's SQLTrackerStore with a checked per-process cache);
  otherwise SQLite var/tracker.db. TRACKER_CACHE_SIZE: conversations each worker caches.
- REDIS_URL set -> Redis lock store (needed for SANIC_WORKERS > 1); otherwise in memory.
- ACTION_SERVER_URL -> the action endpoint; ACTION_SERVER_SECRET -> the header Rasa sends
  with every action call (actions/server.py refuses calls without it). The file holds
  secrets, so it is written readable by its owner only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from bot.config import get_settings  # noqa: E402


SECRET_HEADER = "X-Action-Secret"
# Rasa's SQL tracker store plus a per-process cache checked against the DB (see the module).
TRACKER_STORE = "rasa_ext.tracker_store.CachingSQLTrackerStore"


def render() -> dict:
    settings = get_settings()
    # one Rasa server calls one action server: the first of ACTION_SERVER_URL
    action_url = settings.action_server_url.split(",")[0].strip().rstrip("/")
    endpoints: dict = {"action_endpoint": {"url": action_url + "/webhook"}}
    if settings.action_server_secret:
        endpoints["action_endpoint"]["headers"] = {SECRET_HEADER: settings.action_server_secret}
    tracker_url = settings.tracker_store_url
    if tracker_url.startswith("postgresql"):
        parsed = urlparse(tracker_url)
        endpoints["tracker_store"] = {
            "type": TRACKER_STORE,
            "dialect": "postgresql",
            "url": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432,
            "db": parsed.path.lstrip("/") or "postgres",
            "username": parsed.username or "",
            "password": parsed.password or "",
            "cache_size": settings.tracker_cache_size,
        }
    else:
        path = (
            tracker_url.split("sqlite:///", 1)[-1]
            if tracker_url.startswith("sqlite")
            else str(settings.var_dir / "tracker.db")
        )
        endpoints["tracker_store"] = {
            "type": TRACKER_STORE,
            "dialect": "sqlite",
            "db": path,
            "cache_size": settings.tracker_cache_size,
        }
    if settings.redis_url:
        parsed = urlparse(settings.redis_url)
        endpoints["lock_store"] = {
            "type": "redis",
            "url": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 6379,
            "db": int((parsed.path or "/0").lstrip("/") or 0),
            "key_prefix": "elder12349",
        }
        if parsed.password:
            endpoints["lock_store"]["password"] = parsed.password
    else:
        endpoints["lock_store"] = {"type": "in_memory"}
    return endpoints


def main(out: str | None = None) -> Path:
    target = Path(out) if out else get_settings().var_dir / "endpoints.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(yaml.safe_dump(render(), allow_unicode=True, sort_keys=False))
    os.chmod(target, 0o600)
    return target


if __name__ == "__main__":
    print(f"wrote {main(sys.argv[1] if len(sys.argv) > 1 else None)}")
