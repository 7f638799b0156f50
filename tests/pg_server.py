"""A real PostgreSQL for the store tests, started by the suite itself.

``pgserver`` (a test dependency) ships the PostgreSQL binaries in its wheel, so nothing need
be installed on the machine first. One server per test session, in a temporary directory,
reached over a unix socket in that directory (nothing listens on the network); a fresh
database per test, dropped after it. Tests that run on both backends take the ``database``
fixture: a SQLite file path or a ``postgresql://`` URL, what the ``database`` setting holds.
"""

from __future__ import annotations

import itertools
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ("sqlite", "postgresql")
_numbers = itertools.count(1)


class SessionServer:
    """The session's PostgreSQL, started again if it stopped under the suite.

    Its data lives in a directory of its own (``tempfile.mkdtemp``), outside pytest's
    numbered temporary directories, which other test runs on the same machine clean up. On a
    machine shared by several runs, the server was once seen refusing connections halfway
    through a run (not caused by a test: every later PostgreSQL test failed at its setup).
    Rather than fail every test after it, a dead server is reported on stderr with the tail
    of its log and replaced; the test that found it dead runs on the new one."""

    def __init__(self) -> None:
        self.server: Any = None
        self.dirs: list[str] = []
        self.restarts = 0

    def start(self) -> Any:
        import pgserver

        self.dirs.append(tempfile.mkdtemp(prefix="confidant-pg-"))
        with warnings.catch_warnings():  # platformdirs on a machine without XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            self.server = pgserver.get_server(self.dirs[-1], cleanup_mode="stop")
        return self.server

    def alive(self) -> Any:
        import psycopg

        try:
            _admin(self.server).close()
        except psycopg.OperationalError as error:
            log_tail = _tail(Path(self.dirs[-1]) / "log")
            print(f"\nPostgreSQL of the test session stopped ({error}); starting another."
                  f"\nIts log ends:\n{log_tail}", file=sys.stderr)
            self.restarts += 1
            return self.start()
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError as error:
        return f"(no log: {error})"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[SessionServer]:
    session = SessionServer()
    session.start()
    try:
        yield session
    finally:
        session.stop()


def _admin(server: Any) -> Any:
    import psycopg

    return psycopg.connect(server.get_uri(), autocommit=True)


def _url(server: Any, name: str) -> str:
    uri: str = server.get_uri()
    base, _, query = uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def _raw(server: Any) -> Any:
    """The running pgserver behind ``server`` (the session fixture, or a server itself)."""
    return server.alive() if isinstance(server, SessionServer) else server


def new_database(server: Any) -> str:
    """A new, empty database on ``server``; its URL."""
    server = _raw(server)
    name = f"confidant_test_{next(_numbers)}"
    with _admin(server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return _url(server, name)


def drop_database(server: Any, url: str) -> None:
    server = server.server if isinstance(server, SessionServer) else server
    name = url.partition("?")[0].rsplit("/", 1)[1]
    with _admin(server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database(pg_server: SessionServer) -> Iterator[str]:
    """A new, empty database on the session's server; its URL."""
    url = new_database(pg_server)
    try:
        yield url
    finally:
        drop_database(pg_server, url)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where the store lives, once per backend: a SQLite file or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "c.db"
    url: str = request.getfixturevalue("pg_database")
    return url


_shared: list[Any] = []
_rig_databases: dict[Path, str] = {}


def database_for_rigs(state: Path) -> str | None:
    """With ``CONFIDANT_TEST_DATABASE=postgresql`` set, the PostgreSQL database of the test
    rig whose state is in ``state`` (tests/conftest.py ``make_config``; the same one again
    for a restart there), on one server started for the whole run: the core's tests then
    run on the PostgreSQL store. Unset (the default), None: SQLite.

    Tests that open the SQLite file themselves (backup, the raw-bytes canaries, the outbox
    peeks) fail in this mode: it is for finding where the PostgreSQL store differs."""
    import os

    if os.environ.get("CONFIDANT_TEST_DATABASE", "sqlite") != "postgresql":
        return None
    if not _shared:
        import atexit
        import tempfile

        import pgserver

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(tempfile.mkdtemp(prefix="confidant-pg-"),
                                         cleanup_mode="stop")
        atexit.register(server.cleanup)
        _shared.append(server)
    if state not in _rig_databases:
        _rig_databases[state] = new_database(_shared[0])
    return _rig_databases[state]
