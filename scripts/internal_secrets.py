"""Writes var/internal.env (mode 0600) with the internal servers' shared secrets, once.

RASA_AUTH_TOKEN (the web server -> Rasa's HTTP API) and ACTION_SERVER_SECRET (Rasa -> the
action server) are taken from the environment when set there (production: from your secret
store); otherwise random values are generated on the first `make run` and kept in the file,
which `make run` loads for all processes. The file is never committed (var/ is ignored).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import get_settings  # noqa: E402

NAMES = ("RASA_AUTH_TOKEN", "ACTION_SERVER_SECRET")


def ensure(path: Path | None = None) -> Path:
    settings = get_settings()
    path = path or settings.var_dir / "internal.env"
    current: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            if name in NAMES and value:
                current[name] = value
    # hex: a value starting with "-" would be read as an option by `rasa run --auth-token`
    configured = {
        "RASA_AUTH_TOKEN": settings.rasa_auth_token,
        "ACTION_SERVER_SECRET": settings.action_server_secret,
    }
    values = {n: configured[n] or current.get(n) or secrets.token_hex(32) for n in NAMES}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("".join(f"{n}={v}\n" for n, v in values.items()))
    os.chmod(path, 0o600)
    return path


if __name__ == "__main__":
    print(f"wrote {ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else None)}")
