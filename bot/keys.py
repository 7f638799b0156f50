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
_HEX = frozenset("0123456789abcdefABCDEF")


class KeyFileError(RuntimeError):
    """A key file that cannot be used, reported as ``path:line:column: message`` like config
    and policy errors. The message never quotes the file: its content is the secret."""

    def __init__(self, path: Path, message: str, line: int = 1, column: int = 1) -> None:
        self.path, self.line, self.column, self.message = str(path), line, column, message
        super().__init__(f"{path}:{line}:{column}: {message}")


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``, created on first use; KeyFileError (never a traceback) when the
    file cannot be trusted or used."""
    try:
        return _load_or_create(path)
    except OSError as exc:  # a link to nowhere, an unreadable file, a full disk ...
        reason = exc.strerror or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename and exc.filename != str(path) else ""
        raise KeyFileError(path, f"cannot use the key file: {reason}{where}") from None


def _load_or_create(path: Path) -> bytes:
    if not path.exists() and not path.is_symlink():  # a dangling link is not "no file"
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _load_or_create(path)  # another process created it first
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex() + "\n")
        return key
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):
        raise KeyFileError(path, "the key file is not a regular file (a folder?)")
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        raise KeyFileError(
            path,
            f"the key file is readable by other users (mode {mode:o}); run: chmod 600 {path}",
        )
    text = path.read_text("ascii", errors="replace")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        line, column = _first_non_hex(text)
        raise KeyFileError(
            path, "the key file is not the hex key Confidant wrote", line, column
        ) from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(path, f"the key must be {KEY_BYTES} bytes, found {len(key)}")
    return key


def _first_non_hex(text: str) -> tuple[int, int]:
    """Where the first character that is neither hex nor space is (never what it is)."""
    line, column = 1, 1
    for char in text:
        if char not in _HEX and not char.isspace():
            break
        if char == "\n":
            line, column = line + 1, 1
        else:
            column += 1
    return line, column
