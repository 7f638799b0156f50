"""A one-line text progress bar for long admin commands (a backup of a large database).

It draws only on a terminal: under cron, systemd or a pipe the same command prints its
result and nothing else, so logs and mails stay free of carriage-return noise. No extra
dependency: a bar of ``#`` redrawn with ``\\r`` is all an admin needs to see that a backup
of a million fingerprints is moving.
"""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 30


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class TextProgress:
    """``update(done, total)`` as often as convenient; ``finish()`` ends the line."""

    def __init__(self, label: str, unit: str, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._label = label
        self._unit = unit
        self._enabled = _is_terminal(self._stream)
        self._last: tuple[int, int] | None = None

    @property
    def enabled(self) -> bool:
        return self._enabled

    def update(self, done: int, total: int) -> None:
        if not self._enabled or (done, total) == self._last:
            return
        self._last = (done, total)
        fraction = 1.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
        filled = round(fraction * WIDTH)
        bar = "#" * filled + "." * (WIDTH - filled)
        self._stream.write(f"\r{self._label} [{bar}] {fraction:4.0%} ({done}/{total} {self._unit})")
        self._stream.flush()

    def finish(self) -> None:
        if self._enabled and self._last is not None:
            self._stream.write("\n")
            self._stream.flush()
