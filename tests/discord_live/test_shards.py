"""Two Confidant processes as two Discord shards: two Apps in one test process against one
fake, on one PostgreSQL store and one key file. The fake sends each server's events only to
its shard's session and DMs only to shard 0 (tests/discord_fake/shards.py), so each App hears
exactly what its process would: server A is on shard 0, server B on shard 1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.events import ChoiceMade, CommandInvoked, MemberJoined, PrivateReply, Room
from tests.discord_fake import FakeDiscord
from tests.discord_fake.shards import add_guild_on_shard
from tests.discord_fake.state import FakeChannel, FakeGuild, FakeOverwrite, FakeUser

from .conftest import VIEW_CHANNEL, AdapterRig, record_events
from .test_adapter_checkins import (
    CHECKIN_POLICY,
    CHOICE,
    SUPPORTED_POLICY,
    button_ids,
    dm_messages,
    next_dm,
    press,
    slash,
)

REMINDER = "What is shared here stays here."
POLICY = CHECKIN_POLICY.replace(
    "reminder:\n  text: What is shared here stays here.\n",
    "reminder:\n  text: What is shared here stays here.\n  delivery: private\n",
)
AGREEING = "  delivery: private\n  require_agreement: true\n"
COMMANDS = "/applications/{app_id}/guilds/{guild_id}/commands"


@dataclass
class Server:
    guild: FakeGuild
    circle: FakeChannel
    mods: FakeChannel


@dataclass
class Shards:
    """Server A on shard 0, server B on shard 1, and a way to start each shard's App."""

    a: Server
    b: Server
    mod: FakeUser
    policies: Path
    start: Callable[..., Any]
    rigs: list[AdapterRig] = field(default_factory=list)


def _server(fake: FakeDiscord, name: str, shard: int, mod: FakeUser) -> Server:
    world = fake.world
    guild = add_guild_on_shard(world, name, shard, 2)
    bot_role = world.bot_role(guild)
    circle = world.add_text_channel(guild, "circle")
    mods = world.add_text_channel(guild, "mods")
    mod_role = world.add_role(guild, "moderator", permissions=1 << 13)  # MANAGE_MESSAGES
    mods.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=VIEW_CHANNEL)
    mods.overwrites[mod_role.id] = FakeOverwrite(mod_role.id, 0, allow=VIEW_CHANNEL)
    mods.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, allow=VIEW_CHANNEL)
    world.add_member(guild, mod, roles=[mod_role])
    return Server(guild, circle, mods)


@pytest.fixture
async def shards(
    fake: FakeDiscord, tmp_path: Path, pg_database: str
) -> AsyncIterator[Shards]:
    from adapters.discord import make_discord_adapter
    from bot.app import App
    from bot.clock import FakeClock
    from bot.config import load_config
    from bot.store.url import PostgresUrl

    mod = fake.world.add_user("mod")
    a = _server(fake, "Circle A", 0, mod)
    b = _server(fake, "Circle B", 1, mod)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "circle.yaml").write_text(POLICY.format(mod_id=mod.id), encoding="utf-8")
    rigs: list[AdapterRig] = []

    def config_for(shard: int) -> Any:
        path = tmp_path / f"config-{shard}.yaml"
        path.write_text(
            "database: confidant.db\nkey_file: confidant.key\npolicy_dir: policies\n"
            "adapters:\n  discord:\n    token: ${DISCORD_TOKEN}\n"
            '    shard_ids: ["${CONFIDANT_SHARD}"]\n    shard_count: 2\n',
            encoding="utf-8",
        )
        config = load_config(path, env={"DISCORD_TOKEN": fake.token, "CONFIDANT_SHARD": str(shard)})
        # one PostgreSQL for both processes (the password would come from the environment)
        return config.model_copy(update={"database": PostgresUrl.parse(pg_database)})

    async def start(shard: int) -> AdapterRig:
        config = config_for(shard)
        events: list[Any] = []
        holder: list[Any] = []

        def make(registry: Any, clock: Any) -> list[Any]:
            assert config.adapters.discord is not None
            adapter = make_discord_adapter(
                config.adapters.discord, registry, clock, connector=fake.connector(),
                guild_ready_timeout=0.05, ready_timeout=5.0,
            )
            record_events(adapter, events)
            holder.append(adapter)
            return holder

        app = await App.create(
            config, make, clock=FakeClock(), display_root=tmp_path,
            tick_seconds=10**9, policy_poll_seconds=10**9,
        )
        rig = AdapterRig(app, holder[0], events)
        rigs.append(rig)
        await app.start()
        return rig

    try:
        yield Shards(a, b, mod, policies, start, rigs)
    finally:
        for rig in rigs:
            await rig.close()


def reminders_to(fake: FakeDiscord, user: FakeUser, since: int) -> list[str]:
    """The reminders the bot posted in the member's DM since ``since``."""
    dm = fake.world.open_dm(user)
    return [
        str(c.json.get("content"))
        for c in fake.calls("POST", f"/channels/{dm.id}/messages", since=since)
        if REMINDER in str(c.json.get("content"))
    ]


def joins(rig: AdapterRig, user: FakeUser) -> list[str]:
    return [e.room.id for e in rig.of_type(MemberJoined) if e.member.id == str(user.id)]


async def test_a_join_is_reminded_once_by_the_shard_of_its_server(
    fake: FakeDiscord, shards: Shards
) -> None:
    zero, one = await shards.start(0), await shards.start(1)
    carol, dave = fake.world.add_user("carol"), fake.world.add_user("dave")
    mark = fake.requests.mark()
    await fake.events.member_add(shards.b.guild, carol)
    await one.wait_for_event(lambda e: isinstance(e, MemberJoined))
    await fake.wait_for_call("POST", f"/channels/{fake.world.open_dm(carol).id}/messages",
                             since=mark)
    await fake.events.member_add(shards.a.guild, dave)
    await zero.wait_for_event(lambda e: isinstance(e, MemberJoined))
    await fake.wait_for_call("POST", f"/channels/{fake.world.open_dm(dave).id}/messages",
                             since=mark)
    # each join heard, and reminded, by its own shard's process alone, once
    assert joins(one, carol) == [str(shards.b.circle.id)] and joins(zero, carol) == []
    assert joins(zero, dave) == [str(shards.a.circle.id)] and joins(one, dave) == []
    assert len(reminders_to(fake, carol, mark)) == 1
    assert len(reminders_to(fake, dave, mark)) == 1
    assert fake.unexpected_calls() == []


async def test_slash_commands_are_registered_once_per_server_by_its_shard(
    fake: FakeDiscord, shards: Shards
) -> None:
    a, b = shards.a.guild, shards.b.guild
    app_id = fake.world.application.id

    def synced(guild: FakeGuild, method: str) -> int:
        route = f"/applications/{app_id}/guilds/{guild.id}/commands"
        return len([c for c in fake.calls(method, COMMANDS) if c.path.startswith(route)])

    await shards.start(0)
    # shard 0's process registers server A's commands and never touches server B's
    assert (synced(a, "PUT"), synced(b, "PUT"), synced(b, "GET")) == (1, 0, 0)
    one = await shards.start(1)
    assert (synced(a, "PUT"), synced(b, "PUT")) == (1, 1)
    assert synced(a, "GET") == 1  # shard 1's process did not even look at A's
    # a restart finds them up to date: nothing registered again
    await one.close()
    await shards.start(1)
    assert (synced(a, "PUT"), synced(b, "PUT")) == (1, 1)
    assert fake.world.find_command("checkin", b.id) is not None


async def test_a_checkin_begun_in_a_shard_one_server_completes_in_dms_on_shard_zero(
    fake: FakeDiscord, shards: Shards
) -> None:
    zero, one = await shards.start(0), await shards.start(1)
    erin = fake.world.add_user("erin")
    fake.world.add_member(shards.b.guild, erin)
    dm = fake.world.open_dm(erin)
    mark = fake.requests.mark()
    assert await slash(fake, erin, shards.b.circle, "start") == (
        "Your check-in continues in our private chat."
    )
    intro = await next_dm(fake, dm, mark)
    assert button_ids(intro) == [f"{CHOICE}{erin.id}:agree", f"{CHOICE}{erin.id}:decline"]
    assert one.of_type(CommandInvoked) and not zero.of_type(CommandInvoked)
    # the press is a DM interaction: Discord sends it to shard 0, another process
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{erin.id}:agree", erin)
    first = await next_dm(fake, dm, mark)
    assert first.content.startswith("Question 1 of 2: How is your mood today?")
    mark = fake.requests.mark()
    await fake.events.message_create(dm, erin, "4")  # typed in the DM: shard 0 too
    second = await next_dm(fake, dm, mark)
    assert second.content.startswith("Question 2 of 2: Did you sleep well?")
    mark = fake.requests.mark()
    await press(fake, second, f"{CHOICE}{erin.id}:yes", erin)
    done = await next_dm(fake, dm, mark)
    assert done.content.startswith("Thank you for checking in.")
    assert zero.of_type(ChoiceMade) and zero.of_type(PrivateReply)
    assert not one.of_type(ChoiceMade) and not one.of_type(PrivateReply)
    [checkin] = await zero.app.store.member_checkins("discord", str(erin.id), 5)
    assert checkin.status == "complete"
    sealer = one.app.core.checkins.sealer  # one key file: either process opens the answers
    rows = await one.app.store.checkin_answers(checkin.id)
    assert [sealer.open(checkin.id, r.question_id, r.sealed) for r in rows] == [4, "yes"]


async def test_a_restart_of_one_shard_leaves_the_other_serving(
    fake: FakeDiscord, shards: Shards
) -> None:
    zero, one = await shards.start(0), await shards.start(1)
    await asyncio.wait_for(one.adapter.client.catch_up.known.wait(), 5)  # B counted whole
    await one.close()  # shard 1's process stops (a restart, a crash)
    frank, gina = fake.world.add_user("frank"), fake.world.add_user("gina")
    mark = fake.requests.mark()
    await fake.events.member_add(shards.a.guild, frank)
    await zero.wait_for_event(lambda e: isinstance(e, MemberJoined))
    await fake.wait_for_call("POST", f"/channels/{fake.world.open_dm(frank).id}/messages",
                             since=mark)
    assert len(reminders_to(fake, frank, mark)) == 1
    # gina joins B while no process runs shard 1; Discord replays nothing to a new session
    fake.world.add_member(shards.b.guild, gina)
    # Discord's 30 s between whole member lists of a server, shortened (never off)
    fake.gateway.member_requests.window_s = 0.5
    again = await shards.start(1)  # back: its member list catches up the join it missed
    await fake.wait_for_call("POST", f"/channels/{fake.world.open_dm(gina).id}/messages",
                             since=mark, timeout=5.0)
    assert len(reminders_to(fake, gina, mark)) == 1
    assert joins(zero, gina) == []
    assert zero.adapter.connected and again.adapter.connected


async def test_an_agreement_typed_in_dms_lifts_the_hold_in_a_shard_one_server(
    fake: FakeDiscord, shards: Shards
) -> None:
    """The reminder of a join in B asks to agree before posting; the member answers in the
    DM, which Discord sends to shard 0: that process lifts the hold in B's #circle."""
    agreeing = POLICY.replace("  delivery: private\n", AGREEING)
    (shards.policies / "circle.yaml").write_text(agreeing.format(mod_id=shards.mod.id))
    zero, one = await shards.start(0), await shards.start(1)
    hank = fake.world.add_user("hank")
    dm = fake.world.open_dm(hank)
    circle = shards.b.circle
    mark = fake.requests.mark()
    await fake.events.member_add(shards.b.guild, hank)
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    await fake.wait_for_call("PUT", f"/channels/{circle.id}/permissions/{hank.id}", since=mark)
    mark = fake.requests.mark()
    await fake.events.message_create(dm, hank, "/agree")
    await fake.wait_for_call("DELETE", f"/channels/{circle.id}/permissions/{hank.id}",
                             since=mark)
    assert hank.id not in circle.overwrites
    assert said_by(zero, hank) and not said_by(one, hank)  # the DM reached shard 0 alone


def said_by(rig: AdapterRig, user: FakeUser) -> list[Any]:
    """What the member said or chose (not their joins) that this process heard."""
    said = [e for e in rig.events if isinstance(e, PrivateReply | CommandInvoked | ChoiceMade)]
    return [
        e for e in said
        if (e.invoker if isinstance(e, CommandInvoked) else e.member).id == str(user.id)
    ]


async def test_a_contact_request_from_dms_reaches_the_supporters_room_on_another_shard(
    fake: FakeDiscord, shards: Shards
) -> None:
    """A member of B asks for a supporter during a check-in in DMs (shard 0's process); the
    request goes to B's supporters' room, named by id, and a supporter's /claim there is
    answered by shard 1's process, which tells the member."""
    b = shards.b
    policy = SUPPORTED_POLICY.replace("SUE_ID", str(shards.mod.id)).replace(
        "    name: mods\n", f'    id: "{b.mods.id}"\n'
    )
    (shards.policies / "circle.yaml").write_text(policy.format(mod_id=shards.mod.id))
    await shards.start(0)
    one = await shards.start(1)
    ivy = fake.world.add_user("ivy")
    fake.world.add_member(b.guild, ivy)
    dm = fake.world.open_dm(ivy)
    mark = fake.requests.mark()
    await slash(fake, ivy, b.circle, "start")
    intro = await next_dm(fake, dm, mark)
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{ivy.id}:agree", ivy)
    first = await next_dm(fake, dm, mark)
    mark = fake.requests.mark()
    picked = await fake.events.component_click(
        first, f"{CHOICE}{ivy.id}", user=ivy, component_type=3, values=["1"]
    )
    await fake.wait_for_call("POST", f"/interactions/{picked.id}/{picked.token}/callback")
    _, offer = await dm_messages(fake, dm, mark, 2)
    mark = fake.requests.mark()
    await press(fake, offer, f"{CHOICE}{ivy.id}:yes", ivy)
    share = await next_dm(fake, dm, mark)
    mark = fake.requests.mark()
    await press(fake, share, f"{CHOICE}{ivy.id}:yes", ivy)
    [request] = await fake.wait_for_call("POST", f"/channels/{b.mods.id}/messages", since=mark)
    assert str(request.json["content"]).startswith(f"Contact request 1: discord user {ivy.id}")
    assert fake.calls("POST", f"/channels/{shards.a.mods.id}/messages") == []
    # the claim in B's #mods is an interaction of server B: shard 1's process answers it
    mark = fake.requests.mark()
    claim = await fake.events.slash_command(
        "claim", user=shards.mod, channel=b.mods, options={"id": 1}
    )
    route = f"/interactions/{claim.id}/{claim.token}/callback"
    [answer] = await fake.wait_for_call("POST", route, since=mark)
    assert "is yours" in str(answer.json["data"]["content"])
    coming = await next_dm(fake, dm, mark)
    assert coming.content.startswith("A peer supporter, discord user")
    assert any(isinstance(e, CommandInvoked) and e.name == "claim" for e in one.events)


async def test_a_restart_of_another_shard_does_not_resume_checkins_again(
    fake: FakeDiscord, shards: Shards
) -> None:
    """Check-ins live in DMs, which shard 0's process handles: a restart of shard 1's
    process must not ask a member in the middle of one the question again."""
    zero, one = await shards.start(0), await shards.start(1)
    jo = fake.world.add_user("jo")
    fake.world.add_member(shards.b.guild, jo)
    dm = fake.world.open_dm(jo)
    mark = fake.requests.mark()
    await slash(fake, jo, shards.b.circle, "start")
    intro = await next_dm(fake, dm, mark)
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{jo.id}:agree", jo)
    await next_dm(fake, dm, mark)  # question 1: the check-in is open
    await one.close()
    mark = fake.requests.mark()
    await shards.start(1)
    await asyncio.sleep(0.3)  # what the restart would send, it sends at start
    assert fake.calls("POST", f"/channels/{dm.id}/messages", since=mark) == []
    assert zero.adapter.connected


async def test_each_shard_posts_the_periodic_reminders_of_its_own_servers_once(
    fake: FakeDiscord, shards: Shards
) -> None:
    """Room work is leased per shard (bot/jobs.py): each process reminds the rooms of the
    servers its shard serves, and only those, once however often both tick."""
    (shards.policies / "circle.yaml").write_text(
        POLICY.format(mod_id=shards.mod.id).replace(
            "  delivery: private\n", "  delivery: private\n  repeat:\n    every_days: 7\n"
        ),
        encoding="utf-8",
    )
    zero, one = await shards.start(0), await shards.start(1)
    carol, dave = fake.world.add_user("carol"), fake.world.add_user("dave")
    mark = fake.requests.mark()
    await fake.events.member_add(shards.b.guild, carol)  # the rooms are known: weeks start
    await fake.events.member_add(shards.a.guild, dave)
    for user in (carol, dave):
        await fake.wait_for_call(
            "POST", f"/channels/{fake.world.open_dm(user).id}/messages", since=mark
        )
    for rig in (zero, one):
        await rig.app.core.clock.advance(timedelta(days=8))
    for _ in range(2):
        for rig in (zero, one):
            await rig.app.runtime.tick()

    def periodic(channel: FakeChannel) -> int:
        return len([
            c for c in fake.calls("POST", f"/channels/{channel.id}/messages", since=mark)
            if "A regular reminder" in str(c.json.get("content"))
        ])

    assert (periodic(shards.a.circle), periodic(shards.b.circle)) == (1, 1)
    assert zero.adapter.serves_room(room_of_channel(shards.a.circle))
    assert not zero.adapter.serves_room(room_of_channel(shards.b.circle))
    assert one.adapter.serves_room(room_of_channel(shards.b.circle))
    assert (zero.adapter.receives_private_messages(), one.adapter.receives_private_messages()) \
        == (True, False)
    assert zero.adapter.job_scope() != one.adapter.job_scope()
    assert fake.unexpected_calls() == []


def room_of_channel(channel: FakeChannel) -> Room:
    return Room("discord", str(channel.id), channel.name)


READ_GATED = (
    "name: circle\nrooms:\n  - platform: discord\n    name: circle\n"
    'moderators:\n  - platform: discord\n    user: "{mod_id}"\n'
    "alerts:\n  - platform: discord\n    name: mods\n"
    f"reminder:\n  text: {REMINDER}\n  delivery: private\n  gate: read\n"
)


@pytest.mark.parametrize("mode", ["overwrite", "role"])
async def test_agreeing_in_dms_lets_a_member_read_a_gated_channel_on_another_shard(
    fake: FakeDiscord, shards: Shards, mode: str
) -> None:
    """A read-gated circle in server B (shard 1): the newcomer's Agree is pressed in DMs,
    which reach shard 0's process, and access in B is given from there over REST: her own
    overwrite, or the policy's agreed role."""
    from .test_adapter_read_gate import AGREE_ID, READS, button_ids, nth_bot_message

    policy = READ_GATED.format(mod_id=shards.mod.id)
    role = fake.world.add_role(shards.b.guild, "agreed")
    fake.world.move_role(shards.b.guild, role, 1)  # below the bot's role: it may give it
    if mode == "role":  # B's circle by id, with its agreed role; A's by name
        policy = policy.replace(
            "    name: circle\n",
            f'    name: circle\n  - platform: discord\n    id: "{shards.b.circle.id}"\n'
            f'    agreed_role: "{role.id}"\n',
            1,
        )
    (shards.policies / "circle.yaml").write_text(policy, encoding="utf-8")
    for server in (shards.a, shards.b):
        guild, circle = server.guild, server.circle
        circle.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=VIEW_CHANNEL)
        extra = [role] if server is shards.b else []
        for allowed in (fake.world.bot_role(guild), *extra):
            circle.overwrites[allowed.id] = FakeOverwrite(allowed.id, 0, allow=READS)
    zero, one = await shards.start(0), await shards.start(1)
    carol = fake.world.add_user("carol")
    dm = fake.world.open_dm(carol)
    await fake.events.member_add(shards.b.guild, carol)
    reminder = await nth_bot_message(fake, dm, 1)
    assert button_ids(reminder) == [AGREE_ID]
    assert not fake.member_views.can_view(carol, shards.b.circle)
    mark = fake.requests.mark()
    interaction = await fake.events.component_click(reminder, AGREE_ID, user=carol)
    await fake.wait_for_call(
        "POST", f"/interactions/{interaction.id}/{interaction.token}/callback", since=mark
    )
    told = await nth_bot_message(fake, dm, 2)
    assert told.content.startswith("You can now read circle.")
    assert fake.member_views.can_view(carol, shards.b.circle)
    if mode == "role":
        assert role.id in shards.b.guild.members[carol.id].role_ids
        assert carol.id not in shards.b.circle.overwrites
    else:
        overwrite = shards.b.circle.overwrites[carol.id]
        assert (overwrite.type, overwrite.allow, overwrite.deny) == (1, READS, 0)
    assert await zero.app.store.has_access("discord", str(shards.b.circle.id), str(carol.id))
    # shard 1's process sees her join the channel it serves, as a join (no second reminder)
    await one.wait_for_event(
        lambda e: isinstance(e, MemberJoined) and e.room.id == str(shards.b.circle.id)
    )
    reminders = [m for m in fake.world.messages.values() if m.channel_id == dm.id
                 and m.interaction_user_id is None and REMINDER in m.content]
    assert len(reminders) == 1  # the answer to her press repeats the text she agreed to
    assert fake.unexpected_calls() == []
