"""Filters fixed to a library's logger by the start of its messages.

A logger filter runs where the record is made, before it propagates to any handler, so it
is the one place to change what a library says about itself (lower its level, hold back
its details). Each filter is attached once per logger and kind, however often the bot is
configured (tests configure it many times in one process).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TypeVar


class PrefixFilter(logging.Filter):
    """A filter for the messages that start with one of ``prefixes``."""

    def __init__(self, prefixes: Iterable[str]) -> None:
        super().__init__()
        self.prefixes = tuple(prefixes)


F = TypeVar("F", bound=PrefixFilter)


def attach_once(logger_name: str, kind: type[F], prefixes: Iterable[str]) -> F:
    """The ``kind`` filter on that logger covering ``prefixes``: the one already there, or
    a new one attached now."""
    wanted = tuple(prefixes)
    logger = logging.getLogger(logger_name)
    for existing in logger.filters:
        if isinstance(existing, kind) and set(wanted) <= set(existing.prefixes):
            return existing
    made = kind(wanted)
    logger.addFilter(made)
    return made
