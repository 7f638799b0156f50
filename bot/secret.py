"""A secret string (a token, a password) that never shows itself.

Its ``repr`` and ``str`` are stars, so a config printed in a log line, a traceback or an
error message carries no credential; the value is read only where it is used, with
:meth:`SecretStr.get_secret_value`.
"""

from __future__ import annotations

HIDDEN = "**********"


class SecretStr:
    """Holds one secret; compares and hashes by it, shows only stars."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "_value", value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a secret cannot be changed")

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretStr('{HIDDEN}')"

    def __str__(self) -> str:
        return HIDDEN if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __reduce__(self) -> tuple[type[SecretStr], tuple[str]]:
        return SecretStr, (self._value,)
