"""Logging set-up. Log records carry ids and event names, never message text."""

from __future__ import annotations

import logging
import sys


def configure(level: str = "INFO", stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
