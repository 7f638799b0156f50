"""Logging set-up: one structured line per record, logfmt (default) or JSON.

Log lines are read by machines (journald, Loki, a grep in a hurry), so every record is a
flat set of fields: ``ts``, ``level``, ``logger``, an optional ``event`` name and ids passed
with ``extra=fields("reminder_sent", room=..., member=...)``, then ``msg``. Existing
``log.info("... %s", x)`` calls keep working; their text becomes ``msg``.

Records carry ids and event names, never message text. Exceptions are logged by type and
where they were raised, without their message: an exception raised while handling a post
(``int(text)`` failing, say) can quote what the member wrote.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any, Literal

from bot import redact
from bot.log_filters import PrefixFilter, attach_once

LogFormat = Literal["logfmt", "json"]

# Every attribute a plain LogRecord has; anything else on a record came in through ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
# Fields the formatter writes itself; an ``extra`` of the same name is dropped, not doubled.
_OWN = frozenset({"ts", "level", "logger", "msg", "exc_type", "exc_where"})
# Characters that must not appear raw in a line: quotes, backslashes, and anything a reader
# might take for a line break or a terminal control (C0/C1 controls, U+2028/U+2029).
_SPECIAL = re.compile(r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029]')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_RAW = re.compile(r"[\x7f-\x9f\u2028\u2029]")
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_BARE = re.compile(r'[^\s"=\\\x00-\x1f\x7f-\x9f]+')  # used with fullmatch, not "$"
_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")
# Libraries that are chatty at INFO about their own housekeeping.
_NOISY = ("aiosqlite", "asyncio")
# Libraries whose INFO is their own bookkeeping, heard only when the admin asks for DEBUG:
# matrix-nio logs every state event it applies to a room (nio/rooms.py: handle_event) and
# every device it adds to its store (nio/crypto/olm_machine.py: _handle_key_query).
_QUIET_UNLESS_DEBUG = ("nio",)
# WARNINGs a library writes for what happens every day, lowered to DEBUG: (logger, start).
_ROUTINE = (
    # nio/crypto/olm_machine.py: get_missing_sessions, for each device of a member the bot
    # has no encrypted session with yet (a new phone or browser); nio claims a one-time key
    # and makes one right after, nothing is wrong.
    ("nio.crypto.log", "Missing session for device"),
)


def fields(event: str, **ids: object) -> dict[str, object]:
    """The ``extra`` of a log call: an event name and ids (``None`` ids are left out).

    Only ids, counts and names belong here; never what anyone wrote.
    """
    return {"event": event, **{key: value for key, value in ids.items() if value is not None}}


def _where(exc: BaseException) -> str:
    """``file:line:function`` frames, where it was raised first, then each caller after a
    ``<``; source lines and the message are left out on purpose (see the module docstring)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return " < ".join(
        f"{_short_path(frame.filename)}:{frame.lineno}:{frame.name}" for frame in reversed(frames)
    )


def _short_path(path: str) -> str:
    """Paths from the package roots on, so lines stay short and do not name home folders."""
    for marker in ("/site-packages/", "/bot/", "/adapters/", "/ops/"):
        index = path.rfind(marker)
        if index >= 0:
            keep = marker.strip("/") + "/" if marker != "/site-packages/" else ""
            return keep + path[index + len(marker) :]
    return path.rsplit("/", 1)[-1]


class StructuredFormatter(logging.Formatter):
    """Turns a record into ordered fields; subclasses only choose the encoding."""

    def record_fields(self, record: logging.LogRecord) -> Iterator[tuple[str, Any]]:
        stamp = datetime.fromtimestamp(record.created, UTC)
        yield "ts", stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
        yield "level", record.levelname.lower()
        yield "logger", record.name
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k not in _OWN}
        if "event" in extra:
            yield "event", extra.pop("event")
        yield from extra.items()
        yield "msg", record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            yield "exc_type", type(error).__name__
            yield "exc_where", _where(error)

    def format(self, record: logging.LogRecord) -> str:
        return self.encode(list(self.record_fields(record)))

    def encode(self, items: list[tuple[str, Any]]) -> str:
        raise NotImplementedError


class LogfmtFormatter(StructuredFormatter):
    """``key=value`` pairs; values with spaces, quotes or ``=`` are quoted and escaped, so
    each record is exactly one line."""

    def encode(self, items: list[tuple[str, Any]]) -> str:
        return " ".join(f"{_logfmt_key(key)}={_logfmt_value(value)}" for key, value in items)


class JsonFormatter(StructuredFormatter):
    """One JSON object per line; values that are not JSON types are written as text."""

    def encode(self, items: list[tuple[str, Any]]) -> str:
        line = json.dumps(dict(items), default=str, ensure_ascii=False)
        # json leaves C1 controls and U+2028/9 raw (valid JSON), but readers break lines there.
        return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", line)


def _logfmt_key(key: str) -> str:
    return _KEY_CHARS.sub("_", key) or "_"


def _logfmt_value(value: object) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    return '"' + _SPECIAL.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def parse_logfmt(line: str) -> dict[str, str]:
    """The inverse of LogfmtFormatter, for tests and for reading logs back in tools.

    Raises ValueError on a line that is not logfmt.
    """
    found: dict[str, str] = {}
    i, n = 0, len(line)
    while i < n:
        if line[i] == " ":
            i += 1
            continue
        eq = line.find("=", i)
        if eq < 0 or " " in line[i:eq] or eq == i:
            raise ValueError(f"not logfmt at column {i + 1}")
        key, i = line[i:eq], eq + 1
        if i < n and line[i] == '"':
            i += 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise ValueError("unterminated quoted value")
                char = line[i]
                if char == "\\" and i + 1 < n:
                    follows = line[i + 1]
                    if follows == "u":
                        chars.append(chr(int(line[i + 2 : i + 6], 16)))
                        i += 6
                        continue
                    chars.append(_UNESCAPES.get(follows, follows))
                    i += 2
                    continue
                if char == '"':
                    i += 1
                    break
                chars.append(char)
                i += 1
            value = "".join(chars)
            if i < n and line[i] != " ":
                raise ValueError(f"no space after a quoted value at column {i + 1}")
        else:
            end = line.find(" ", i)
            end = n if end < 0 else end
            value, i = line[i:end], end
        found[key] = value
    return found


class Routine(PrefixFilter):
    """A logger filter that lowers records starting with one of ``prefixes`` to DEBUG (and
    drops them where that logger does not log DEBUG): a WARNING an admin would chase for
    something that is not a problem teaches them to ignore WARNINGs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG or not str(record.msg).startswith(self.prefixes):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def lower_routine(logger_name: str, *prefixes: str) -> Routine:
    """Attach a :class:`Routine` filter once to the logger that writes those messages."""
    return attach_once(logger_name, Routine, prefixes)


def formatter_for(fmt: LogFormat) -> StructuredFormatter:
    return JsonFormatter() if fmt == "json" else LogfmtFormatter()


def configure(
    level: str = "INFO", stream: IO[str] | None = None, fmt: LogFormat = "logfmt"
) -> logging.Handler:
    """Route every logger (ours and the libraries': nio, discord, aiohttp) through one
    structured handler on the root logger; returns that handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(fmt))
    handler.addFilter(redact.protect())  # also the extra fields, set after a record is made
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    debug = root.getEffectiveLevel() <= logging.DEBUG
    for library in _QUIET_UNLESS_DEBUG:
        logging.getLogger(library).setLevel(logging.NOTSET if debug else logging.WARNING)
    for logger_name, prefix in _ROUTINE:
        lower_routine(logger_name, prefix)
    logging.captureWarnings(True)  # warnings become records too, one line each
    return handler
