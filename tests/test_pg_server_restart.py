"""The suite's PostgreSQL is started again when it stopped under a run (tests/pg_server.py),
so one dead server does not fail every PostgreSQL test after it."""

from __future__ import annotations

import pytest

from tests.pg_server import SessionServer, drop_database, new_database


def test_a_stopped_session_server_is_replaced_and_said_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = SessionServer()
    first = session.start()
    try:
        url = new_database(session)
        drop_database(session, url)
        first.cleanup()  # stopped under the suite, as seen on a shared machine
        url = new_database(session)  # on a new server
        assert session.restarts == 1 and session.server is not first
        drop_database(session, url)
        assert "PostgreSQL of the test session stopped" in capsys.readouterr().err
    finally:
        session.stop()
