"""``confidant doctor`` on a real Synapse: what it reports per room, with fixes, and that it
leaves nothing behind (no device, no event in any room, no sync token saved)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DevicesResponse,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomMessagesResponse,
)

from adapters.matrix.homeserver import LocalSynapse
from bot.doctor import run_doctor
from bot.policy import load_policy_dir
from tests.matrix_live.rig import POLICY, BotWorld, add_room, create_world, wait_until


async def _doctor(world: BotWorld) -> tuple[int, str]:
    from adapters.matrix.doctor import inspect

    config = world.config()
    out = io.StringIO()
    code = await run_doctor(config, load_policy_dir(config.policy_dir), out, {"matrix": inspect})
    return code, out.getvalue()


async def _bot_client(world: BotWorld) -> AsyncClient:
    """The bot's account in a plain client, to join rooms and list devices as a test."""
    client = AsyncClient(
        world.synapse.base_url, world.bot_id, config=AsyncClientConfig(encryption_enabled=False)
    )
    response = await client.login(world.bot_password, device_name="test-helper")
    assert isinstance(response, LoginResponse), response
    return client


async def _devices(client: AsyncClient) -> set[str]:
    response = await client.devices()
    assert isinstance(response, DevicesResponse), response
    return {device.id for device in response.devices}


async def _events(world: BotWorld, room_id: str) -> list[str]:
    history = await world.mod.room_messages(room_id, start="", limit=100)
    assert isinstance(history, RoomMessagesResponse), history
    return [event.event_id for event in history.chunk]


async def test_a_healthy_room_passes_and_doctor_leaves_nothing_behind(
    synapse: LocalSynapse, matrix_client: Any, tmp_path: Path
) -> None:
    world = await create_world(synapse, tmp_path, matrix_client)
    helper = await _bot_client(world)
    try:
        for room_id in (world.room_id, world.mods_room):
            joined = await helper.join(room_id)
            assert isinstance(joined, JoinResponse), joined
        devices = await _devices(helper)
        events = {r: await _events(world, r) for r in (world.room_id, world.mods_room)}

        code, report = await _doctor(world)  # no saved session: a password login

        assert code == 0, report
        assert f"signed in as {world.bot_id} with the configured password" in report
        assert f"matrix Recovery circle ({world.room_id}) (covered, policy circle)" in report
        assert "the bot can hold back posting and remove posts of members who have not agreed" in (
            report
        )
        assert "messages here are not end-to-end encrypted" in report
        assert "  problem " not in report
        # nothing left: the login's device is gone, no event in any room, no session saved
        assert await _devices(helper) == devices
        assert {r: await _events(world, r) for r in events} == events
        assert not (tmp_path / "matrix-store").exists()
    finally:
        await helper.logout()
        await helper.close()


async def test_a_room_without_redaction_power_and_a_public_alert_room(
    synapse: LocalSynapse, matrix_client: Any, tmp_path: Path
) -> None:
    world = await create_world(synapse, tmp_path, matrix_client, encrypted=True)
    weak = await add_room(world, "Evening circle")  # the bot stays at power level 0
    public_mods = await add_room(world, "Open moderators")  # anyone may join
    policy = POLICY.replace(
        '    id: "{room_id}"\n',
        '    id: "{room_id}"\n  - platform: matrix\n    id: "' + weak + '"\n',
    ).replace(
        '    id: "{mods_room}"\n',
        '    id: "{mods_room}"\n  - platform: matrix\n    id: "' + public_mods + '"\n',
    )
    # watched: an alias nobody published, and a room the bot was never invited to
    server = world.bot_id.split(":", 1)[1]
    uninvited = await world.mod.room_create(name="Lobby")
    assert isinstance(uninvited, RoomCreateResponse), uninvited
    policy += (
        f'watch:\n  - platform: matrix\n    alias: "#nowhere:{server}"\n'
        f'  - platform: matrix\n    id: "{uninvited.room_id}"\n'
    )
    (tmp_path / "policies" / "circle.yaml").write_text(
        policy.format(room_id=world.room_id, mod=world.mod.user_id, mods_room=world.mods_room)
    )
    await world.start_bot()  # it joins the rooms its policy names and saves its session
    try:
        await wait_until(
            [world.mod],
            lambda: all(world.bot_joined(r) for r in (world.room_id, weak, public_mods)),
            "the bot joined the policy's rooms",
        )
    finally:
        await world.stop_bot()
    session = tmp_path / "matrix-store" / "session.json"
    saved = session.read_bytes()
    helper = await _bot_client(world)
    try:
        devices = await _devices(helper)
        events = {r: await _events(world, r) for r in (world.room_id, weak, public_mods)}

        code, report = await _doctor(world)  # with the bot's saved device

        assert code == 1, report
        assert "6 problem(s)" in report, report
        assert "with the bot's saved device" in report
        assert (
            f"problem  in Evening circle ({weak}) the bot lacks power level 50 to remove messages"
            in report
        )
        assert f"fix: raise the bot's power level in Evening circle ({weak}) to 50" in report
        assert (
            f"problem  anyone on the homeserver can join Open moderators ({public_mods}) and read "
            "the alerts" in report
        )
        assert "make it private (invite only)" in report
        assert f"problem  the alias #nowhere:{server} does not lead to a room" in report
        assert f"problem  the bot is not in the room {uninvited.room_id}" in report
        assert "fix: invite the bot to the room" in report
        assert "messages here are end-to-end encrypted" in report  # the encrypted circle
        circle = report.split(f"({world.room_id}) (covered")[1].split("\nmatrix ")[0]
        assert "problem" not in circle  # the healthy room stays healthy
        assert session.read_bytes() == saved  # no sync token written over the bot's
        assert await _devices(helper) == devices
        assert {r: await _events(world, r) for r in events} == events
    finally:
        await helper.logout()
        await helper.close()
