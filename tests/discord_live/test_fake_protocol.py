"""The fake Discord, proven against the real client: unmodified discord.py talks to it.

If discord.py accepts these payloads and makes these calls, the fake speaks the protocol well
enough for Confidant's adapter tests to mean something; if the fake drifts, these fail first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.discord_fake import INTENT_MESSAGE_CONTENT, FakeDiscord, running
from tests.discord_fake.gateway import IDENTIFY, REQUEST_GUILD_MEMBERS, RESUME

from .conftest import FastClient, Scene, eventually

Builder = Callable[..., FastClient]
MESSAGES_ROUTE = "/channels/{channel_id}/messages"



async def test_login_ready_and_guild_create_populate_the_client(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None and guild.name == "Recovery Circle"
        assert client.user is not None and client.user.id == fake.world.bot_user.id
        assert client.application_id == fake.world.application.id
        assert client.application_flags.gateway_guild_members_limited
        assert [c.name for c in guild.text_channels] == ["welcome"]
        thread = guild.get_thread(scene.circle_thread.id)
        assert thread is not None and thread.type is discord.ChannelType.private_thread
        assert thread.parent_id == scene.general.id
        bob = guild.get_member(scene.bob.id)
        assert bob is not None and [r.name for r in bob.roles] == ["@everyone", "peer"]
        assert bob.flags.completed_onboarding
        assert guild.member_count == len(guild.members) == 4
    [identify] = fake.frames.find(lambda f: f.op == IDENTIFY)
    assert identify.d["intents"] == client.intents.value
    assert identify.d["token"] == fake.token
    assert [(r.method, r.path) for r in fake.requests.items[:2]] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
    ]
    assert fake.unexpected_calls() == []


async def test_member_join_fires_on_member_join(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    newcomer = fake.world.add_user("carol")
    async with running(client, fake.token):
        joined = asyncio.ensure_future(client.wait_for("member_join", timeout=3))
        await fake.events.member_add(scene.guild, newcomer, pending=True)
        member = await joined
    assert member.id == newcomer.id
    assert member.guild.id == scene.guild.id
    assert member.pending is True


async def test_channel_send_is_recorded_with_its_json(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    async with running(client, fake.token):
        channel = client.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("Welcome, everyone", silent=True)
    [call] = fake.calls("POST", MESSAGES_ROUTE)
    assert call.path == f"/channels/{scene.general.id}/messages"
    assert call.json["content"] == "Welcome, everyone"
    assert call.json["flags"] == 1 << 12  # SUPPRESS_NOTIFICATIONS
    assert call.headers["Authorization"] == f"Bot {fake.token}"
    assert sent.id in fake.world.messages
    assert sent.author.id == fake.world.bot_user.id


async def test_dm_is_opened_then_sent(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    async with running(client, fake.token):
        user = client.get_user(scene.alice.id)
        assert user is not None
        sent = await user.send("A private note")
    [opened] = fake.calls("POST", "/users/@me/channels")
    assert opened.json == {"recipient_id": scene.alice.id}
    dm = fake.world.open_dm(scene.alice)
    [post] = fake.calls("POST", MESSAGES_ROUTE)
    assert post.path == f"/channels/{dm.id}/messages"
    assert isinstance(sent.channel, discord.DMChannel) and sent.channel.id == dm.id


async def test_dm_to_closed_inbox_raises_forbidden_50007(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    fake.faults.error(
        "POST", MESSAGES_ROUTE, status=403, code=50007,
        message="Cannot send messages to this user",
    )
    async with running(client, fake.token):
        user = client.get_user(scene.alice.id)
        assert user is not None
        with pytest.raises(discord.Forbidden) as caught:
            await user.send("A private note")
    assert caught.value.code == 50007
    assert [c.status for c in fake.calls("POST", MESSAGES_ROUTE)] == [403]
    assert fake.faults.pending() == 0


@pytest.mark.parametrize("is_global", [False, True], ids=["per-route", "global"])
async def test_rate_limited_send_is_retried_after_retry_after(
    fake: FakeDiscord, scene: Scene, make_client: Builder, is_global: bool
) -> None:
    client = make_client()
    fake.faults.rate_limit("POST", MESSAGES_ROUTE, retry_after=0.3, is_global=is_global)
    async with running(client, fake.token):
        channel = client.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        started = time.monotonic()
        sent = await channel.send("After the pause")
        elapsed = time.monotonic() - started
    first, second = fake.calls("POST", MESSAGES_ROUTE)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.29
    assert elapsed >= 0.29
    assert first.json == second.json
    assert fake.world.messages[sent.id].content == "After the pause"


async def test_server_error_surfaces_as_discord_server_error(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    fake.faults.server_error("POST", MESSAGES_ROUTE, status=503)
    async with running(client, fake.token):
        channel = client.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.DiscordServerError):
            await channel.send("Lost to the outage")
    assert [c.status for c in fake.calls("POST", MESSAGES_ROUTE)] == [503]


async def test_socket_closed_4000_resumes_and_replays_missed_events_once(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    received: list[str] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        received.append(message.content)

    async with running(client, fake.token):
        await fake.events.message_create(scene.general, scene.alice, "before the drop")
        await eventually(lambda: received == ["before the drop"])
        session = fake.gateway.current
        assert session is not None
        last_seq = session.seq
        mark = fake.frames.mark()
        resumed = asyncio.ensure_future(client.wait_for("resumed", timeout=5))

        await fake.gateway.close_socket(4000)
        await fake.events.message_create(scene.general, scene.alice, "missed one")
        await fake.events.message_create(scene.general, scene.bob, "missed two")
        assert not fake.gateway.connected  # these really were sent while disconnected
        await resumed

        [resume] = await fake.wait_for_op(RESUME, since=mark)
        assert resume.d["seq"] == last_seq
        assert resume.d["session_id"] == session.id
        assert fake.frames.find(lambda f: f.op == IDENTIFY, since=mark) == []
        await fake.events.message_create(scene.general, scene.bob, "after the resume")
        await eventually(lambda: len(received) == 4)
        await asyncio.sleep(0.05)  # room for a duplicate to show up, were one sent
    assert received == ["before the drop", "missed one", "missed two", "after the resume"]
    assert fake.gateway.connect_paths[1].startswith("gateway-us-east1-c.discord.gg/")


async def test_invalid_session_leads_to_a_fresh_identify(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    # About the identify, not the member list: a re-identify's chunk request inside the
    # 30 s window is answered RATE_LIMITED and discord.py would wait out its 5 s chunk
    # timeout (see test_fake_members.py), so this client does not chunk at all.
    client = make_client(chunk_guilds_at_startup=False)
    async with running(client, fake.token):
        first = fake.gateway.current
        assert first is not None
        mark = fake.frames.mark()
        ready_again = asyncio.ensure_future(client.wait_for("ready", timeout=5))
        await fake.gateway.invalidate_session(resumable=False)
        await ready_again
        [identify] = await fake.wait_for_op(IDENTIFY, since=mark)
        assert identify.connection == 2
        assert fake.frames.find(lambda f: f.op == RESUME, since=mark) == []
        assert fake.gateway.current is not None and fake.gateway.current.id != first.id
        assert client.get_guild(scene.guild.id) is not None
    assert fake.gateway.connect_paths[1].startswith("gateway.discord.gg/")


async def test_privileged_intent_not_enabled_closes_4014(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    fake.world.enabled_privileged_intents = INTENT_MESSAGE_CONTENT  # members intent is off
    client = make_client()
    await client.login(fake.token)
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await asyncio.wait_for(client.connect(), 5)
    [identify] = fake.frames.find(lambda f: f.op == IDENTIFY)
    assert identify.d["intents"] & discord.Intents(members=True).value
    assert fake.gateway.current is None


def checkin_tree(client: FastClient, guild_id: int, moods: list[str]) -> app_commands.CommandTree:
    tree = app_commands.CommandTree(client)

    @tree.command(name="checkin", description="Tell the circle how you are",
                  guild=discord.Object(id=guild_id))
    @app_commands.describe(mood="One word for today")
    async def checkin(interaction: discord.Interaction, mood: str) -> None:
        moods.append(mood)
        await interaction.response.send_message("Noted, only you can see this.", ephemeral=True)

    return tree


async def test_guild_command_sync_is_a_recorded_bulk_put(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    tree = checkin_tree(client, scene.guild.id, [])
    async with running(client, fake.token):
        synced = await tree.sync(guild=discord.Object(id=scene.guild.id))
    app_id = fake.world.application.id
    [put] = fake.calls("PUT", "/applications/{app}/guilds/{guild}/commands")
    assert put.path == f"/applications/{app_id}/guilds/{scene.guild.id}/commands"
    [command] = put.json
    assert (command["name"], command["type"]) == ("checkin", 1)
    assert command["description"] == "Tell the circle how you are"
    assert [(o["name"], o["type"], o["required"]) for o in command["options"]] == [
        ("mood", 3, True)
    ]
    [stored] = fake.world.commands[scene.guild.id]
    assert [c.id for c in synced] == [int(stored["id"])]


async def test_slash_command_runs_and_answers_ephemerally(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    moods: list[str] = []
    tree = checkin_tree(client, scene.guild.id, moods)
    async with running(client, fake.token):
        await tree.sync(guild=discord.Object(id=scene.guild.id))
        interaction = await fake.events.slash_command(
            "checkin", user=scene.bob, channel=scene.general, options={"mood": "steady"}
        )
        route = f"/interactions/{interaction.id}/{interaction.token}/callback"
        [callback] = await fake.wait_for_call("POST", route)
    assert moods == ["steady"]
    assert callback.status == 200
    assert callback.query == {"with_response": "1"}
    assert callback.json["type"] == 4
    assert callback.json["data"]["flags"] == 64
    assert callback.json["data"]["content"] == "Noted, only you can see this."
    assert "Authorization" not in callback.headers


class CheckinPanel(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.clicked_by: list[int] = []

    @discord.ui.button(label="I'm okay", custom_id="checkin:ok")
    async def okay(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.clicked_by.append(interaction.user.id)
        await interaction.response.edit_message(content="Thanks for checking in.", view=None)


async def test_component_click_reaches_the_view_and_updates_the_message(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    panel = CheckinPanel()
    async with running(client, fake.token):
        channel = client.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("How are you today?", view=panel)
        posted = fake.world.messages[sent.id]
        assert posted.components[0]["components"][0]["custom_id"] == "checkin:ok"
        click = await fake.events.component_click(posted, "checkin:ok", user=scene.alice)
        route = f"/interactions/{click.id}/{click.token}/callback"
        [callback] = await fake.wait_for_call("POST", route)
    assert panel.clicked_by == [scene.alice.id]
    assert callback.json["type"] == 7
    assert callback.json["data"]["content"] == "Thanks for checking in."
    assert fake.world.messages[sent.id].content == "Thanks for checking in."


async def test_replies_and_forwards_arrive_with_their_references(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    received: list[discord.Message] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        received.append(message)

    original = fake.world.add_message(scene.general, scene.bob, content="shared in confidence")
    async with running(client, fake.token):
        await fake.events.message_create(
            scene.general, scene.alice, "thank you", reply_to=original
        )
        await fake.events.forward(original, into=scene.general, author=scene.alice)
        await eventually(lambda: len(received) == 2)
    reply, forward = received
    assert reply.reference is not None
    assert reply.reference.type is discord.MessageReferenceType.reply
    assert reply.reference.message_id == original.id
    assert isinstance(reply.reference.resolved, discord.Message)
    assert reply.reference.resolved.content == "shared in confidence"

    assert forward.reference is not None
    assert forward.reference.type is discord.MessageReferenceType.forward
    assert (forward.reference.message_id, forward.reference.channel_id) == (
        original.id, scene.general.id,
    )
    assert forward.reference.guild_id == scene.guild.id
    assert forward.content == ""
    assert [s.content for s in forward.message_snapshots] == ["shared in confidence"]


async def test_add_roles_is_a_recorded_put_and_comes_back_as_member_update(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    # Discord lets a bot give only roles below its highest: an admin drags its role on top
    fake.world.move_role(scene.guild, fake.world.bot_role(scene.guild), len(scene.guild.roles))
    client = make_client()
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None
        member = guild.get_member(scene.alice.id)
        role = guild.get_role(scene.peer_role.id)
        assert member is not None and role is not None
        updated = asyncio.ensure_future(client.wait_for("member_update", timeout=3))
        await member.add_roles(role, reason="joined the circle")
        before, after = await updated
    [put] = fake.calls("PUT", "/guilds/{g}/members/{u}/roles/{r}")
    assert put.path == f"/guilds/{scene.guild.id}/members/{scene.alice.id}/roles/{role.id}"
    assert put.headers["X-Audit-Log-Reason"] == "joined the circle"
    assert put.status == 204
    assert role not in before.roles and role in after.roles
    assert scene.peer_role.id in scene.guild.members[scene.alice.id].role_ids


async def test_large_guild_is_chunked_with_the_nonce_echoed(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()  # GUILD_CREATE carries only the bot itself: no presences intent
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None
        assert guild.chunked
        assert {m.id for m in guild.members} == set(scene.guild.members)
    [request] = fake.frames.find(lambda f: f.op == REQUEST_GUILD_MEMBERS)
    assert request.d["guild_id"] == scene.guild.id
    assert request.d["nonce"]


async def test_without_message_content_intent_guild_text_is_withheld(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client(intents=discord.Intents.default())  # no message_content
    async with running(client, fake.token):
        seen = asyncio.ensure_future(client.wait_for("message", timeout=3))
        await fake.events.message_create(scene.general, scene.alice, "not for the bot")
        message = await seen
    assert message.author.id == scene.alice.id
    assert message.content == ""


async def test_unknown_routes_answer_404_and_are_flagged(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    async with running(client, fake.token):
        with pytest.raises(discord.NotFound):
            await client.fetch_invite("circle")
    [unexpected] = fake.unexpected_calls()
    assert (unexpected.method, unexpected.path, unexpected.status) == (
        "GET", "/invites/circle", 404,
    )


async def test_deferred_command_edits_original_and_sends_a_followup(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="journal", description="Private note", guild=discord.Object(scene.guild.id))
    async def journal(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="Saved.")
        await interaction.followup.send("Only you can read it.", ephemeral=True)

    async with running(client, fake.token):
        await tree.sync(guild=discord.Object(id=scene.guild.id))
        inter = await fake.events.slash_command("journal", user=scene.bob, channel=scene.general)
        app, token = fake.world.application.id, inter.token
        [followup] = await fake.wait_for_call("POST", f"/webhooks/{app}/{token}")
    [callback] = fake.calls("POST", f"/interactions/{inter.id}/{token}/callback")
    assert callback.json == {"type": 5, "data": {"flags": 64}}
    [edit] = fake.calls("PATCH", f"/webhooks/{app}/{token}/messages/@original")
    assert edit.json["content"] == "Saved." and edit.status == 200
    assert followup.json["content"] == "Only you can read it."
    assert followup.json["flags"] == 64 and followup.query["wait"] == "1"
    original = fake.world.messages[inter.original_message_id or 0]
    assert original.content == "Saved." and original.flags == 64


async def test_rest_reads_and_writes_around_a_private_room(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    fake.world.grant_bot(scene.guild, 1 << 36)  # Create Private Threads, beyond the invite's
    client = make_client()
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        channel = client.get_channel(scene.general.id)
        assert guild is not None and isinstance(channel, discord.TextChannel)
        thread = await channel.create_thread(
            name="thursday-circle", type=discord.ChannelType.private_thread, invitable=False
        )
        alice = await guild.fetch_member(scene.alice.id)
        await thread.add_user(alice)
        await channel.set_permissions(alice, view_channel=False, reason="private room")
        roles = await guild.fetch_roles()
        sent = await thread.send("Circle opens at seven")
        fetched = await thread.fetch_message(sent.id)
        await fetched.delete()
        with pytest.raises(discord.NotFound) as gone:
            await thread.fetch_message(sent.id)
        await channel.set_permissions(alice, overwrite=None)
    assert thread.type is discord.ChannelType.private_thread
    [create] = fake.calls("POST", "/channels/{c}/threads")
    assert create.json["type"] == 12 and create.json["invitable"] is False
    assert fake.calls("PUT", f"/channels/{thread.id}/thread-members/{scene.alice.id}")
    [put] = fake.calls("PUT", "/channels/{c}/permissions/{t}")
    assert (put.json["allow"], put.json["deny"], put.json["type"]) == ("0", str(1 << 10), 1)
    assert fake.calls("DELETE", f"/channels/{scene.general.id}/permissions/{scene.alice.id}")
    assert alice.id == scene.alice.id
    assert {r.name for r in roles} == {"@everyone", "Confidant", "peer"}
    assert fetched.content == "Circle opens at seven"
    assert gone.value.code == 10008
    assert scene.general.overwrites == {}
    assert fake.unexpected_calls() == []


async def test_injected_updates_reach_their_discord_py_events(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    async with running(client, fake.token):
        def expect(event: str) -> asyncio.Future[object]:
            return asyncio.ensure_future(client.wait_for(event, timeout=3))

        created = expect("message")
        message = await fake.events.message_create(scene.general, scene.alice, "draft")
        await created
        edited = expect("message_edit")
        await fake.events.message_update(message, "final")
        deleted = expect("message_delete")
        await fake.events.message_delete(message)
        renamed = expect("guild_channel_update")
        await fake.events.channel_update(scene.general, topic="Read the guidelines")
        thread_made = expect("thread_create")
        thread = await fake.events.thread_create(scene.general, "friday", owner=scene.bob)
        thread_joined = expect("thread_member_join")
        await fake.events.thread_members_update(thread, added=[scene.alice])
        role_changed = expect("member_update")
        await fake.events.member_update(scene.guild, scene.alice, roles=[scene.peer_role])
        left = expect("member_remove")
        await fake.events.member_remove(scene.guild, scene.bob)

        before, after = await edited
        assert (before.content, after.content) == ("draft", "final")
        assert (await deleted).id == message.id
        _, channel_after = await renamed
        assert channel_after.topic == "Read the guidelines"
        new_thread = await thread_made
        assert new_thread.id == thread.id and new_thread.owner_id == scene.bob.id
        assert (await thread_joined).id == scene.alice.id
        _, member_after = await role_changed
        assert [r.id for r in member_after.roles[1:]] == [scene.peer_role.id]
        assert (await left).id == scene.bob.id


class FastShardedClient(discord.AutoShardedClient):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


async def test_sharded_client_asks_gateway_bot_then_identifies_with_a_shard(
    fake: FakeDiscord, scene: Scene
) -> None:
    client = FastShardedClient(
        intents=discord.Intents.default(), connector=fake.connector(), guild_ready_timeout=0.05
    )
    async with running(client, fake.token):
        assert client.shard_count == 1
        assert client.get_guild(scene.guild.id) is not None
    [gateway_bot] = fake.calls("GET", "/gateway/bot")
    assert gateway_bot.status == 200
    [identify] = fake.frames.find(lambda f: f.op == IDENTIFY)
    assert identify.d["shard"] == [0, 1]


async def test_bad_token_fails_login_with_401(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    [me] = fake.calls("GET", "/users/@me")
    assert me.status == 401


async def test_gateway_closes_4004_on_identify_with_a_bad_token(fake: FakeDiscord) -> None:
    connector = fake.connector()
    async with aiohttp.ClientSession(connector=connector) as session, session.ws_connect(
        "wss://gateway.discord.gg/?v=10&encoding=json"
    ) as ws:
        hello = await ws.receive_json(timeout=3)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        await ws.send_json({"op": IDENTIFY, "d": {"token": "wrong", "intents": 513,
                                                  "properties": {}}})
        closing = await ws.receive(timeout=3)
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert closing.data == 4004


async def test_connector_refuses_every_non_discord_host(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession(connector=fake.connector()) as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get("https://example.org/", timeout=aiohttp.ClientTimeout(total=3))
        async with session.get("https://discord.com/api/v10/gateway") as ok:
            assert ok.status == 200
            assert ok.headers["Content-Type"] == "application/json"
            assert await ok.json() == {"url": "wss://gateway.discord.gg"}
