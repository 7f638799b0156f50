"""Error types shared by policy and config loading.

Volunteer moderators edit these files by hand, so every problem is reported with the file,
line and column an editor can jump to, and all problems are reported at once: fixing one
error per restart is a miserable way to learn YAML.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyError:
    """One problem found in a file; ``line`` and ``column`` are 1-based like editors show."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class PolicyLoadError(Exception):
    """Raised with every problem found, so a moderator can fix them in one pass."""

    errors: tuple[PolicyError, ...]

    def __init__(self, errors: Iterable[PolicyError]) -> None:
        self.errors = tuple(sorted(errors, key=lambda e: (e.path, e.line, e.column)))
        super().__init__("\n".join(str(e) for e in self.errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
