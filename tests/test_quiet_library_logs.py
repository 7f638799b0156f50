"""Logs an admin can read: a library's routine bookkeeping stays out of the log unless the
admin asks for DEBUG, and no WARNING is written for what happens every day."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest
from nio import MatrixRoom, RoomTopicEvent
from nio.crypto import Olm, OlmDevice
from nio.store import SqliteMemoryStore

from bot import logs


@pytest.fixture
def capture() -> Iterator[Callable[[str], io.StringIO]]:
    """Configure logging into a buffer; the root and nio loggers are put back after. The
    nio loggers start from no level of their own: a Matrix adapter started earlier in the
    run sets some (adapters/matrix/client.py: quiet_payload_logs)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    names = ["nio", *(n for n in logging.Logger.manager.loggerDict if n.startswith("nio."))]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.NOTSET)

    def configure(level: str) -> io.StringIO:
        buffer = io.StringIO()
        logs.configure(level, buffer)
        return buffer

    yield configure
    root.handlers[:], level = saved
    root.setLevel(level)
    for name, was in levels.items():
        logging.getLogger(name).setLevel(was)
    logging.captureWarnings(False)


def state_event_applied() -> None:
    """matrix-nio's own code applying a state event to its room model (nio/rooms.py:
    handle_event logs each one at INFO)."""
    room = MatrixRoom("!circle:example.org", "@confidant:example.org")
    source = {
        "type": "m.room.topic",
        "event_id": "$topic",
        "sender": "@mod:example.org",
        "origin_server_ts": 1,
        "state_key": "",
        "content": {"topic": "Peer support"},
    }
    room.handle_event(RoomTopicEvent.from_dict(source))


@pytest.fixture
def olm() -> Olm:
    """matrix-nio's encryption machine, made before a test configures logging (making it
    logs its own store's set-up) and with a member's device it has no session with yet."""
    machine = Olm("@confidant:example.org", "BOTDEVICE", SqliteMemoryStore("@c:e", "D"))
    keys = {"ed25519": "e" * 43, "curve25519": "c" * 43}
    machine.device_store.add(OlmDevice("@alice:example.org", "NEWPHONE", keys))
    return machine


def new_device_seen(olm: Olm) -> None:
    """nio/crypto/olm_machine.py: get_missing_sessions, as nio calls it before it sends to
    a member with a new phone: it warns for each device it has no session with yet, then
    claims a key and makes one."""
    assert olm.get_missing_sessions(["@alice:example.org"]) == {"@alice:example.org": ["NEWPHONE"]}


def levels_in(buffer: io.StringIO) -> list[dict[str, str]]:
    return [logs.parse_logfmt(line) for line in buffer.getvalue().splitlines()]


def test_routine_library_records_stay_out_of_an_info_log(
    capture: Callable[[str], io.StringIO], olm: Olm
) -> None:
    buffer = capture("INFO")
    state_event_applied()
    new_device_seen(olm)
    logging.getLogger("nio.client").warning("a real problem")  # still heard
    logging.getLogger("confidant.matrix").info("matrix: connected")  # ours, at INFO
    assert [(r["logger"], r["level"], r["msg"]) for r in levels_in(buffer)] == [
        ("nio.client", "warning", "a real problem"),
        ("confidant.matrix", "info", "matrix: connected"),
    ]


def test_they_are_there_at_debug_and_the_new_device_is_no_warning(
    capture: Callable[[str], io.StringIO], olm: Olm
) -> None:
    buffer = capture("DEBUG")
    state_event_applied()
    new_device_seen(olm)
    records = levels_in(buffer)
    assert ("nio.rooms", "info") in {(r["logger"], r["level"]) for r in records}
    [device] = [r for r in records if r["logger"] == "nio.crypto.log"]
    assert (device["level"], device["msg"]) == ("debug", "Missing session for device NEWPHONE")


def test_configuring_again_is_not_stacking_filters(capture: Callable[[str], io.StringIO]) -> None:
    capture("INFO")
    capture("WARNING")
    routine = [
        f for f in logging.getLogger("nio.crypto.log").filters if isinstance(f, logs.Routine)
    ]
    assert len(routine) == 1
