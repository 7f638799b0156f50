"""Can the bot keep its state where the config says? Asked before anything is opened.

The database and key file are created on first start (their folders too), so a wrong path
used to surface as a traceback from SQLite or from ``mkdir`` at start, or worse, the key
written into the database file. These checks change nothing on disk; ``confidant check``
reports them beside the config's other errors, and ``run``, ``console`` and the maintenance
commands refuse to start on them with the same lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.config import Config, ConfigError, ConfigPlaces, read_config
from bot.policy.errors import PolicyError

Access = Callable[[Path, int], bool]
_WRITE = os.W_OK | os.X_OK
_SQLITE_HEADER = b"SQLite format 3\x00"


def _access(path: Path, mode: int) -> bool:
    return os.access(path, mode)


def load_usable_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """The config at ``path``, refused (ConfigError) when it is invalid or when its database
    or key file cannot be used; every problem is reported at once."""
    config, places, errors = read_config(path, env)
    if places is not None:
        errors = errors + state_path_errors(places)
    if config is None or errors:
        raise ConfigError(errors)
    return config


def state_path_errors(places: ConfigPlaces, access: Access = _access) -> list[PolicyError]:
    """One line per problem with the database or key file, at the config key naming it."""
    database, key_file = places.paths.get("database"), places.paths.get("key_file")
    errors: list[PolicyError] = []
    if database is not None and key_file is not None and _same(database, key_file):
        line = places.positions.get("database", (1, 1))[0]
        errors.append(
            places.error(
                "key_file",
                f"the key file is the database file (line {line}); the key must be kept apart "
                "from the database, so give it a path of its own, like confidant.key",
            )
        )
        return errors
    if database is not None:
        problem = _file_problem(database, "database", "confidant.db", access, always_write=True)
        problem = problem or _not_sqlite(database)
        if problem:
            errors.append(places.error("database", problem))
    if key_file is not None:
        problem = _file_problem(key_file, "key file", "confidant.key", access, always_write=False)
        if problem:
            errors.append(places.error("key_file", problem))
    return errors


def _not_sqlite(path: Path) -> str | None:
    """An existing file that is not an SQLite database (an empty one becomes one)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except OSError:  # none yet, or unreadable: reported above
        return None
    if head and head != _SQLITE_HEADER:
        return (
            f"the database file {path} is not an SQLite database; is 'database' naming "
            "another file? Give it a path of its own (Confidant creates the database)"
        )
    return None


def _same(first: Path, second: Path) -> bool:
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _file_problem(
    path: Path, what: str, example: str, access: Access, always_write: bool
) -> str | None:
    """Why the bot could not create or use ``path``, or None.

    SQLite in WAL mode writes files beside the database, so its folder must be writable even
    once the database exists; the key file's folder only while the key is still to be made.
    """
    if path.is_dir():
        return f"the {what} path {path} is a folder; name a file inside it, like {path / example}"
    folder = path.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a link to nowhere cannot be created through
            return f"the folder {existing} is a link to nowhere, so the {what} cannot be created"
        existing = existing.parent
    if not existing.is_dir():
        return (
            f"the folder for the {what} cannot be created: {existing} is a file, not a folder"
        )
    if existing != folder:
        if not access(existing, _WRITE):
            return (
                f"the folder {folder} does not exist, and this user cannot create it "
                f"({existing} is not writable)"
            )
        return None
    exists = path.exists()
    if (always_write or not exists) and not access(folder, _WRITE):
        return f"this user cannot write in the folder {folder}, so the {what} cannot be " + (
            "written" if exists else "created"
        )
    if exists and not access(path, os.R_OK | (os.W_OK if always_write else 0)):
        needed = "read and write" if always_write else "read"
        return f"this user cannot {needed} the {what} file {path}"
    return None
