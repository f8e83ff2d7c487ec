"""Personal data at rest: full ID numbers are stored encrypted (Fernet, from `cryptography`)
and found by a keyed hash (HMAC-SHA256); only the last four characters are kept in clear.

The key is REGISTRY_KEY (a Fernet key: `python -m bot.registry.crypto new-key`). When it is
not set, the embedded default generates one once into VAR_DIR/registry.key (mode 0600);
the production profile (PostgreSQL) refuses to run without REGISTRY_KEY from the
environment, because a key generated on one machine would leave the others unable to read.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import sys
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)

ENV_VAR = "REGISTRY_KEY"


class RegistryKeyError(RuntimeError):
    """No usable key: the operator must set REGISTRY_KEY."""


def _key_file() -> Path:
    from bot.config import get_settings

    return get_settings().var_dir / "registry.key"


def _file_key() -> str:
    path = _key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting together agree on one key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(Fernet.generate_key().decode("ascii") + "\n")
        log.info("registry key generated in %s (embedded profile)", path)
    for _ in range(50):  # the writer may not have finished its one line yet
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
        import time

        time.sleep(0.02)
    raise RegistryKeyError(f"{path} is empty")


def current_key() -> str:
    from bot.config import get_settings

    key = get_settings().registry_key
    if key:
        return key
    from bot import profile

    if profile.production_profile() and not profile.demo_data_allowed():
        raise RegistryKeyError(
            f"{ENV_VAR} is not set: the production profile needs the registry key from the "
            "environment (python -m bot.registry.crypto new-key makes one)"
        )
    return _file_key()


@functools.lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise RegistryKeyError(f"{ENV_VAR} is not a Fernet key (32 url-safe base64 bytes)") from exc


@functools.lru_cache(maxsize=4)
def _lookup_key(key: str) -> bytes:
    # a separate key for the lookup hash, derived from the registry key
    return hmac.new(key.encode("ascii"), b"12349 id-number lookup v1", hashlib.sha256).digest()


def normalize_id(id_number: str) -> str:
    return "".join(str(id_number).split()).upper()


def encrypt_id(id_number: str) -> str:
    return _fernet(current_key()).encrypt(normalize_id(id_number).encode("ascii")).decode("ascii")


def decrypt_id(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return _fernet(current_key()).decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        log.error("an ID number could not be decrypted with the current registry key")
        return None


def id_lookup_hash(id_number: str) -> str:
    return hmac.new(
        _lookup_key(current_key()), normalize_id(id_number).encode("ascii"), hashlib.sha256
    ).hexdigest()


def id_last4(id_number: str) -> str:
    return normalize_id(id_number)[-4:]


if __name__ == "__main__":
    if sys.argv[1:] == ["new-key"]:
        print(Fernet.generate_key().decode("ascii"))
    else:
        print(__doc__)
