"""The canary scenario on a real Synapse (see tests/test_secret_canaries.py): the bot's
password and key file are canaries, its access token is whatever Synapse issued (read back
from the session file afterwards), and a member says the canary sentence in an encrypted
confidential room, so the bot decrypts it. No log record (every logger, DEBUG, nio's
included), error message, answer or database file holds any of it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from nio import JoinResponse

from adapters.matrix.client import LoginFailed, MatrixAdapter
from adapters.matrix.homeserver import LocalSynapse
from bot.app import build_registry
from bot.clock import FakeClock
from bot.config import MatrixConfig
from tests.matrix_live import rig
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import REMINDER, create_world, say, wait_until, watch
from tests.test_leak_canary import CANARY as ROOM_CANARY
from tests.test_secret_canaries import (
    MATRIX_PASSWORD,
    capture_everything,
    leaks,
    raw_leaks,
    record_text,
    write_key,
)


async def test_no_canary_reaches_logs_answers_or_the_database(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    capture_everything(caplog)
    with monkeypatch.context() as patched:  # the bot account's password is the canary
        patched.setattr(rig, "new_password", lambda: MATRIX_PASSWORD)
        world = await create_world(synapse, tmp_path, matrix_client, encrypted=True)
    assert world.bot_password == MATRIX_PASSWORD
    write_key(world.tmp / "confidant.key")
    await world.start_bot()
    try:
        await wait_until([world.mod], world.bot_joined, "the bot joined")
        alice = await matrix_client("alice")
        notices = watch(alice)
        await sync_once(alice)
        assert isinstance(await alice.join(world.room_id), JoinResponse)
        await wait_until([alice], lambda: bool(notices.containing(REMINDER)), "alice reminded")
        [(private, _)] = notices.containing(REMINDER)
        await say(alice, private, "!agree")
        await wait_until([alice], lambda: bool(notices.containing("Thank you")), "agreed")
        await say(alice, world.room_id, ROOM_CANARY)  # encrypted: the bot decrypts it
        await say(alice, private, f"!policy show {ROOM_CANARY}")  # refused, never echoed
        mod_notices = watch(world.mod)
        for command in ("!audit", "!flags", "!agreements"):
            await say(world.mod, world.room_id, command)
        await wait_until(
            [world.mod, alice],
            lambda: bool(mod_notices.containing("Agreements to the reminder of"))
            and bool(notices.containing("Only moderators can use !policy show")),
            "the answers",
        )
    finally:
        await world.stop_bot()

    session = json.loads((world.tmp / "matrix-store" / "session.json").read_text())
    access_token = session["access_token"]
    assert len(access_token) > 10
    answers = "\n".join(body for _, body in notices.seen + mod_notices.seen)
    assert leaks(answers) == [] and access_token not in answers
    for path in world.tmp.iterdir():
        if path.name.startswith("confidant.db"):
            assert raw_leaks(path.read_bytes()) == [], path.name
    names = {r.name.split(".")[0] for r in caplog.records}
    assert {"nio", "confidant"} <= names, names  # the library's records are captured too
    for record in caplog.records:
        text = record_text(record)
        assert leaks(text) == [] and access_token not in text, (record.name, text[:80])


async def test_a_refused_login_never_quotes_the_password(
    synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = await synapse.register(rig.unique_localpart("confidant"), rig.new_password())
    config = MatrixConfig.model_validate(
        {
            "homeserver": synapse.base_url,
            "user_id": user,
            "password": MATRIX_PASSWORD,  # not this account's password
            "store_dir": tmp_path / "store",
        }
    )
    adapter = MatrixAdapter(config, build_registry(), FakeClock())

    async def sink(_: object) -> None:
        return None

    with pytest.raises(LoginFailed) as refused:
        await adapter.start(sink)
    assert adapter.client is not None
    await adapter.client.close()  # start failed at login: only the HTTP session is open
    assert user in str(refused.value) and leaks(str(refused.value)) == []
    for record in caplog.records:
        assert leaks(record_text(record)) == [], record.name
