"""Known secrets kept out of every log line, whoever writes it.

Confidant's own log calls carry ids, never a token or the key; but libraries format what
they like (nio puts the access token in request URLs, an exception may quote a request),
and one careless line is enough to put a credential into a log that is shipped, kept and
read by people who must not hold it. So the secrets the process knows (the deployment key
in the forms it is written in, the platform tokens and passwords) are replaced by
``[redacted]`` in every record as it is made: a log record factory sees each record of each
logger before any handler or formatter does, so this holds whatever handlers are configured
later and whichever logger wrote the line.

Message text cannot be found that way (it is not known in advance). Library messages that
are known to quote it get their detail withheld on that library's logger instead
(:func:`withhold_details`); which loggers those are is the adapters' knowledge.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.log_filters import PrefixFilter, attach_once

REDACTED = "[redacted]"
# Shorter values are not treated as secrets: redacting every "1234" would garble logs and
# protect nothing (real tokens, passwords and keys are far longer).
MIN_SECRET_CHARS = 8
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

Secret = str | bytes


def secret_forms(secret: Secret) -> set[str]:
    """The ways a secret shows up in text: as itself; bytes also as hex (how the key file
    stores the key, either case), base64 (standard and URL-safe, with or without padding)
    and Python's bytes repr."""
    if isinstance(secret, str):
        value = secret.strip()
        return {value} if len(value) >= MIN_SECRET_CHARS else set()
    if len(secret) * 2 < MIN_SECRET_CHARS:
        return set()
    forms = {secret.hex(), secret.hex().upper(), repr(secret)[2:-1]}
    for encoded in (base64.b64encode(secret), base64.urlsafe_b64encode(secret)):
        text = encoded.decode("ascii")
        forms |= {text, text.rstrip("=")}
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


class SecretRedactor(logging.Filter):
    """Replaces known secrets in a record's message, exception text, stack and extra
    fields. :func:`protect` runs one on every record as it is made; ``extra`` fields are
    set on a record only after that, so add the same redactor to the log handler too
    (``handler.addFilter(redactor)``) to cover them."""

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        super().__init__()
        self._forms: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: Secret | None) -> None:
        forms = set(self._forms)
        for secret in secrets:
            if secret:
                forms |= secret_forms(secret)
        # longest first, so a secret that contains another is replaced whole
        self._forms = sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def _leaks(self, text: str) -> bool:
        return any(form in text for form in self._forms)

    def filter(self, record: logging.LogRecord) -> bool:
        self.scrub(record)
        return True

    def scrub(self, record: logging.LogRecord) -> None:
        if not self._forms:
            return
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it later as usual
            return
        if self._leaks(message):
            record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            # formatters print exc_text once it is set, so the traceback is redacted there;
            # the exception object stays for formatters that only name its type and frames
            text = logging.Formatter().formatException(record.exc_info)
            if self._leaks(text):
                record.exc_text = self.redact(text)
        if record.stack_info and self._leaks(record.stack_info):
            record.stack_info = self.redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str) and self._leaks(value):
                setattr(record, name, self.redact(value))


class _ScrubbingFactory:
    """A log record factory that scrubs each record it makes (see the module doc)."""

    def __init__(self, inner: Callable[..., logging.LogRecord], redactor: SecretRedactor):
        self.inner, self.redactor = inner, redactor

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        self.redactor.scrub(record)
        return record


def protect(*secrets: Secret | None) -> SecretRedactor:
    """Keep these secrets out of every log record of this process from now on.

    Called again (the Matrix adapter learns its access token only at login), it adds to
    the same redactor. Empty and short values are ignored.
    """
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _ScrubbingFactory):
        factory = _ScrubbingFactory(factory, SecretRedactor())
        logging.setLogRecordFactory(factory)
    factory.redactor.add(*secrets)
    return factory.redactor


def unprotect() -> None:
    """Remove the process-wide redactor (tests; a process keeps it until it ends)."""
    factory = logging.getLogRecordFactory()
    if isinstance(factory, _ScrubbingFactory):
        logging.setLogRecordFactory(factory.inner)


def config_secrets(config: Any) -> list[str]:
    """The credentials in a loaded config (``bot.config.Config``): every SecretStr of the
    adapters' sections, so a new adapter's secret is covered without a change here."""
    found: list[str] = []
    adapters = getattr(config, "adapters", None)
    for section in (getattr(adapters, name, None) for name in ("console", "matrix", "discord")):
        if section is None:
            continue
        for name in type(section).model_fields:
            reveal = getattr(getattr(section, name), "get_secret_value", None)
            if callable(reveal):
                found.append(str(reveal()))
    return found


class WithheldDetail(PrefixFilter):
    """For a library logger whose messages starting with one of ``prefixes`` are known to
    quote payloads (a failed validation quoting the event it failed on): keep the fact and
    the level, drop the detail."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        for prefix in self.prefixes:
            if message.startswith(prefix):
                record.msg = f"{prefix} (details withheld: they can quote what members wrote)"
                record.args = None
                record.exc_info, record.exc_text = None, None
                break
        return True


def withhold_details(logger_name: str, *prefixes: str) -> WithheldDetail:
    """Attach a :class:`WithheldDetail` to the logger that writes those messages."""
    return attach_once(logger_name, WithheldDetail, prefixes)
