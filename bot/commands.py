"""The one command registry.

Each command is declared once, as data: its name, what it is for, its typed arguments and
who may use it. Adapters generate their surface from these specs (Discord slash commands,
Matrix ``!`` commands, console lines), text parsing and usage text come from the same
spec, and permission checks run in the core before any handler sees the command.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from bot.i18n import t

MAX_INT = 2**63 - 1  # SQLite's largest integer


class Permission(Enum):
    MEMBER = "member"
    MODERATOR = "moderator"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    description: str
    kind: type = str  # str or int
    required: bool = True
    choices: tuple[str, ...] = ()
    rest: bool = False  # takes the rest of the line (only for the last parameter)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """``name`` may have two words ("policy reload"): the first is a group on Discord."""

    name: str
    description: str
    permission: Permission = Permission.MEMBER
    params: tuple[Param, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    def usage(self, prefix: str) -> str:
        """``/agree [policy]``; a parameter's name in the language spoken (its choices are
        words to type, so they stay as declared)."""
        parts = [f"{prefix}{self.name}"]
        for param in self.params:
            label = "|".join(param.choices) if param.choices else t(param.name)
            if param.rest:
                label += "…"
            parts.append(f"<{label}>" if param.required else f"[{label}]")
        return " ".join(parts)


class UsageError(ValueError):
    """Arguments that do not fit a command's spec; the message is shown to the invoker."""


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    spec: CommandSpec
    argv: tuple[str, ...]


@dataclass
class Registry:
    _specs: dict[str, CommandSpec] = field(default_factory=dict)

    def register(self, spec: CommandSpec) -> None:
        """Refuse clashes at registration, so two features cannot silently share a name."""
        if spec.name in self._specs:
            raise ValueError(f"command {spec.name!r} is registered twice")
        words = spec.words
        if not 1 <= len(words) <= 2 or not all(w.isidentifier() and w.islower() for w in words):
            raise ValueError(f"command name {spec.name!r} must be one or two lowercase words")
        if len(words) == 1 and any(s.words[0] == words[0] and len(s.words) == 2 for s in self):
            raise ValueError(f"{spec.name!r} clashes with the command group of the same name")
        if len(words) == 2 and words[0] in self._specs:
            raise ValueError(f"group {words[0]!r} clashes with the command of the same name")
        for index, param in enumerate(spec.params):
            if param.rest and index != len(spec.params) - 1:
                raise ValueError(f"{spec.name}: only the last parameter can take the rest")
        self._specs[spec.name] = spec

    def extend(self, specs: Iterable[CommandSpec]) -> None:
        for spec in specs:
            self.register(spec)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._specs.values(), key=lambda s: s.name))

    def get(self, name: str) -> CommandSpec | None:
        return self._specs.get(name)

    def parse_text(self, line: str, prefix: str) -> ParsedCommand | None:
        """Find the command a text line invokes, or None if it is not a command at all.

        The longest registered name wins, so "policy reload" beats a lone "policy".
        Unknown commands after the prefix are returned as None too: the caller decides
        whether an unknown command deserves a hint.
        """
        if not line.startswith(prefix) or line[len(prefix) : len(prefix) + 1].strip() == "":
            return None
        body = line[len(prefix) :].strip()
        try:
            tokens = shlex.split(body)
        except ValueError:
            tokens = body.split()
        if not tokens:
            return None
        tokens[0] = tokens[0].lower()
        if len(tokens) >= 2:
            two = f"{tokens[0]} {tokens[1].lower()}"
            if two in self._specs:
                return ParsedCommand(self._specs[two], tuple(tokens[2:]))
        spec = self._specs.get(tokens[0])
        if spec is None:
            return None
        return ParsedCommand(spec, tuple(tokens[1:]))

    def unknown_command(self, line: str, prefix: str) -> str | None:
        """The word after the prefix when it names no command (for a helpful reply)."""
        if not line.startswith(prefix) or self.parse_text(line, prefix) is not None:
            return None
        if line[len(prefix) : len(prefix) + 1].strip() == "":
            return None
        words = line[len(prefix) :].split(maxsplit=2)
        word = words[0]
        if not word.replace("-", "").isalnum():
            return None
        if len(words) > 1 and self.is_group(word.lower()):
            # "/checkin tomorrow": a group word with a word that names none of its commands.
            # Named as both words, so it is refused with the group's usage, not taken for
            # the bare group word (which runs the group's default command).
            second = words[1] if words[1].replace("-", "").isalnum() else "…"
            return f"{word.lower()} {second}"
        return word

    def words_after(self, line: str, prefix: str, name: str) -> tuple[str, ...]:
        """The words after an unknown command's ``name`` (from :meth:`unknown_command`): the
        core may still read the line as a command typed with a language's aliases."""
        body = line[len(prefix) :].strip()
        try:
            tokens = shlex.split(body)
        except ValueError:
            tokens = body.split()
        return tuple(tokens[len(name.split()) :])

    def is_group(self, word: str) -> bool:
        """Whether ``word`` is the first word of two-word commands ("checkin", "policy")."""
        return any(len(s.words) == 2 and s.words[0] == word for s in self)

    def group(self, word: str) -> list[CommandSpec]:
        return [s for s in self if len(s.words) == 2 and s.words[0] == word]


def bind(
    spec: CommandSpec,
    argv: tuple[str, ...] = (),
    options: Mapping[str, str] | None = None,
    prefix: str = "/",
) -> dict[str, str | int | None]:
    """Match positional or named arguments to the spec, checking types and choices; a
    mistake is explained with the command's usage as typed with ``prefix``."""
    options = dict(options or {})
    values: dict[str, str | int | None] = {}
    position = 0
    for param in spec.params:
        if param.name in options:
            raw: str | None = options.pop(param.name)
        elif param.rest and position < len(argv):
            raw = " ".join(argv[position:])
            position = len(argv)
        elif position < len(argv):
            raw = argv[position]
            position += 1
        else:
            raw = None
        values[param.name] = _convert(spec, param, raw, prefix)
    if options:
        raise UsageError(
            t(
                "unknown option {option}. Usage: {usage}",
                option=repr(sorted(options)[0]),
                usage=spec.usage(prefix),
            )
        )
    if position < len(argv):
        raise UsageError(t("too many arguments. Usage: {usage}", usage=spec.usage(prefix)))
    return values


def _convert(spec: CommandSpec, param: Param, raw: str | None, prefix: str) -> str | int | None:
    name = t(param.name)
    if raw is None or raw == "":
        if param.required:
            raise UsageError(
                t("missing <{param}>. Usage: {usage}", param=name, usage=spec.usage(prefix))
            )
        return None
    if param.choices and raw.lower() not in param.choices:
        allowed = ", ".join(param.choices)
        raise UsageError(t("<{param}> must be one of: {allowed}", param=name, allowed=allowed))
    if param.kind is int:
        try:
            number = int(raw)
        except ValueError:
            raise UsageError(t("<{param}> must be a whole number", param=name)) from None
        if abs(number) > MAX_INT:  # no id or count is larger; SQLite could not even look it up
            raise UsageError(t("<{param}> is too large", param=name))
        return number
    return raw.lower() if param.choices else raw
