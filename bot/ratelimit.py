"""Fixed-window rate limits: per chat sender, per login attempt.

Counts live in Redis when REDIS_URL is set (shared by every web worker), else in this
process's memory (the embedded default; each worker counts on its own)."""

from __future__ import annotations

import logging
import threading
import time

from bot.config import get_settings

log = logging.getLogger(__name__)


def traffic_limits_on() -> bool:
    """`RATE_LIMITS=off` turns the traffic limits off (benchmarks, load tests). Identity
    attempt limits are not traffic limits: they live in bot/identity.py and stay on."""
    return get_settings().rate_limits_on


class RateLimiter:
    def __init__(self, name: str, limit: int, window_seconds: int, redis_url: str | None = None):
        self.name, self.limit, self.window = name, limit, window_seconds
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}
        self._redis = None
        url = get_settings().redis_url if redis_url is None else redis_url
        if url:
            import redis

            self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    def _bucket(self) -> int:
        return int(time.time() // self.window)

    def hit(self, key: str) -> bool:
        """Counts one event for `key`; False when the key is over its limit in this window."""
        if not traffic_limits_on():
            return True
        bucket = self._bucket()
        if self._redis is not None:
            try:
                redis_key = f"elder12349:rl:{self.name}:{key}:{bucket}"
                pipe = self._redis.pipeline()
                pipe.incr(redis_key)
                pipe.expire(redis_key, self.window * 2)
                count = pipe.execute()[0]
                return int(count) <= self.limit
            except Exception as exc:  # Redis down: fall back to local counting
                log.warning(
                    "rate limiter %s: redis unavailable (%s), counting locally", self.name, type(exc).__name__
                )
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] == bucket}
            count = self._counts.get((key, bucket), 0) + 1
            self._counts[(key, bucket)] = count
        return count <= self.limit

    def reset(self, key: str) -> None:
        bucket = self._bucket()
        with self._lock:
            self._counts.pop((key, bucket), None)
        if self._redis is not None:
            try:
                self._redis.delete(f"elder12349:rl:{self.name}:{key}:{bucket}")
            except Exception:
                pass
