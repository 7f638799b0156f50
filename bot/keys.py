"""The deployment secret, kept in a file beside (never inside) the database.

Keyed fingerprints and encrypted check-in answers are only as private as this key, so a
backup of the database alone reveals nothing; the file is created 0600 and a key file that
others can read is refused rather than used.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

KEY_BYTES = 32


class KeyFileError(RuntimeError):
    pass


def load_or_create_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_key(path)  # another process created it first
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex() + "\n")
        return key
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"{path}: the key file is readable by other users (mode {mode:o}); "
            f"run: chmod 600 {path}"
        )
    text = path.read_text("ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"{path}: the key file is not the hex key Confidant wrote") from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{path}: the key must be {KEY_BYTES} bytes, found {len(key)}")
    return key
