"""A real PostgreSQL for the store tests, started by the suite itself.

``pgserver`` (a test dependency) ships the PostgreSQL binaries in its wheel, so nothing need
be installed on the machine first. One server per test session, in a temporary directory,
reached over a unix socket in that directory (nothing listens on the network); a fresh
database per test, dropped after it. Tests that run on both backends take the ``database``
fixture: a SQLite file path or a ``postgresql://`` URL, what the ``database`` setting holds.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ("sqlite", "postgresql")
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import pgserver

    with warnings.catch_warnings():  # platformdirs on a machine without XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    try:
        yield server
    finally:
        server.cleanup()


def _admin(server: Any) -> Any:
    import psycopg

    return psycopg.connect(server.get_uri(), autocommit=True)


def _url(server: Any, name: str) -> str:
    uri: str = server.get_uri()
    base, _, query = uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def new_database(server: Any) -> str:
    """A new, empty database on ``server``; its URL."""
    name = f"confidant_test_{next(_numbers)}"
    with _admin(server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return _url(server, name)


def drop_database(server: Any, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]
    with _admin(server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database(pg_server: Any) -> Iterator[str]:
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
