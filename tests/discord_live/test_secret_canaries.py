"""The canary scenario on Discord (see tests/test_secret_canaries.py): the bot token and the
key file are canaries, a member says the canary sentence in the confidential channel and
someone quotes it elsewhere; rate limits, a 503, a dropped socket and a new session happen
on the way. No log record (every logger, DEBUG), alert, answer or database file holds any of
it, and nothing the bot sent to Discord repeats the sentence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.events import MemberJoined
from tests.discord_fake import FakeDiscord
from tests.discord_fake.gateway import IDENTIFY, RESUME
from tests.discord_fake.state import FakeOverwrite
from tests.test_leak_canary import CANARY as ROOM_CANARY
from tests.test_leak_canary import leaked_words
from tests.test_secret_canaries import (
    DISCORD_TOKEN,
    QUOTE,
    capture_everything,
    leaks,
    raw_leaks,
    record_text,
    write_key,
)

from .conftest import AdapterScene


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """The fake Discord, with the canary as the bot's token."""
    server = FakeDiscord(token=DISCORD_TOKEN)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def answer(fake: FakeDiscord, scene: AdapterScene, name: str, **kwargs: Any) -> str:
    interaction = await fake.events.slash_command(
        name, user=scene.mod, channel=scene.mods, **kwargs
    )
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route, timeout=5)
    return str(callback.json["data"]["content"])


async def test_no_canary_reaches_logs_alerts_answers_or_the_database(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scene, world = adapter_scene, fake.world
    capture_everything(caplog)
    write_key(tmp_path / "confidant.key")
    # no Manage Permissions in #circle: an unagreed post is removed (it cannot be held back)
    bot_role = scene.bot_role
    scene.circle.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, deny=1 << 28)
    rig = await start_app(identify_interval_s=0.5)
    assert fake.token == DISCORD_TOKEN

    carol = world.add_user("carol")
    dm = world.open_dm(carol)
    fake.faults.rate_limit("POST", f"/channels/{dm.id}/messages", retry_after=0.2)
    await fake.events.member_add(scene.guild, carol)
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", count=2)
    await fake.events.message_create(scene.circle, carol, ROOM_CANARY)  # held: not agreed
    await fake.wait_for_call("DELETE", f"/channels/{scene.circle.id}/messages/{{m}}")
    interaction = await fake.events.slash_command("agree", user=carol, channel=scene.circle)
    await fake.wait_for_call("POST", f"/interactions/{interaction.id}/{{t}}/callback")
    await fake.events.message_create(scene.circle, carol, ROOM_CANARY)

    await fake.gateway.close_socket(4000)  # a dropped socket, resumed
    await fake.wait_for_op(RESUME, timeout=5)
    mark = fake.frames.mark()
    await asyncio.sleep(0.5)
    await fake.gateway.invalidate_session(resumable=False)  # a new session: the token again
    await fake.wait_for_op(IDENTIFY, since=mark, timeout=5)
    dave = world.add_user("dave")
    await fake.events.member_add(scene.guild, dave)
    await rig.wait_for_event(lambda e: isinstance(e, MemberJoined) and e.member.id == str(dave.id))

    fake.faults.server_error("POST", f"/channels/{scene.mods.id}/messages", status=503)
    await fake.events.message_create(scene.lobby, dave, QUOTE)
    [alert] = [
        c for c in await fake.wait_for_call(
            "POST", f"/channels/{scene.mods.id}/messages", count=2, timeout=5
        )
        if c.status == 200
    ]
    assert "Possible leak from circle" in alert.json["content"]
    answers = [
        await answer(fake, scene, "flags"),
        await answer(fake, scene, "audit"),
        await answer(fake, scene, "policy", subcommand="show", options={"name": ROOM_CANARY}),
    ]
    assert answers[0].startswith("Open leak flags") and answers[1].startswith("Audit log")
    await rig.close()

    assert leaks(alert.json["content"]) == [] and leaks("\n".join(answers)) == []
    sent = [json.dumps(r.json) for r in fake.requests.items if r.json is not None]
    assert len(sent) > 10 and leaked_words("\n".join(sent)) == []  # never repeated to Discord
    for path in tmp_path.iterdir():
        if path.name.startswith("confidant.db"):
            assert raw_leaks(path.read_bytes()) == [], path.name
    names = {r.name.split(".")[0] for r in caplog.records}
    assert {"discord", "confidant"} <= names, names  # the library's records are captured too
    for record in caplog.records:
        assert leaks(record_text(record)) == [], (record.name, record.getMessage()[:80])
