"""A restart or reconnect never invents joins or leaves.

After a restart (a crash loop, ``systemctl restart``) or a new gateway session (a fast
re-identify after an invalid session), Discord's GUILD_CREATE carries only the bot itself
and the whole member list may be asked for once per guild every 30 s; a second request is
answered RATE_LIMITED (tests/discord_fake/members.py). The adapter must wait for the whole
list, and the core compare it with its last complete count: members who were there all
along are not reminded, held or "left"; what changed while the bot was down is caught up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.events import MemberLeft
from tests.discord_fake import FakeDiscord
from tests.discord_fake.recorder import RecordedRequest
from tests.discord_fake.state import FakeUser

from .conftest import REMINDER, AdapterRig, AdapterScene

CROWD = 200
# Discord's window is 30 s; shortened (never off) so that the restarts below still fall
# inside it and the adapter has to wait it out, without the test waiting 30 s each time.
WINDOW_S = 3.0
INTERVAL_S = 0.5  # the adapter's IDENTIFY spacing, shortened likewise
MESSAGES = "/channels/{channel_id}/messages"
HOLD = "/channels/{channel_id}/permissions/{target_id}"


def crowd(fake: FakeDiscord, scene: AdapterScene) -> list[FakeUser]:
    """CROWD members already on the server; every fourth has the role that shows #inner."""
    users = []
    for n in range(CROWD):
        user = fake.world.add_user(f"regular{n:03d}")
        roles = [scene.peer_role] if n % 4 == 0 else []
        fake.world.add_member(scene.guild, user, roles=roles)
        users.append(user)
    return users


async def members_known(rig: AdapterRig, timeout: float = 3 * WINDOW_S) -> None:
    """The adapter holds the whole member list of this session (bounded wait)."""
    await asyncio.wait_for(rig.adapter.client.catch_up.known.wait(), timeout)


def reminders_to(fake: FakeDiscord, user: FakeUser, since: int = 0) -> list[RecordedRequest]:
    route = f"/channels/{fake.world.open_dm(user).id}/messages"
    return [
        c for c in fake.calls("POST", route, since=since)
        if c.status == 200 and REMINDER in c.json["content"]
    ]


async def test_restarts_and_a_re_identify_within_30_s_invent_no_joins_or_leaves(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene = adapter_scene
    regulars = crowd(fake, scene)
    fake.gateway.member_requests.window_s = WINDOW_S
    first = await start_app(identify_interval_s=INTERVAL_S)
    await members_known(first)  # the first count: who was there is not news
    guild = first.adapter.client.get_guild(scene.guild.id)
    assert guild is not None and guild.chunked  # the client holds the whole list at start
    assert len(guild.members) == len(scene.guild.members) == CROWD + 4
    assert fake.calls("POST", MESSAGES) == [] and fake.calls("PUT", HOLD) == []
    rigs = [first]

    for _ in range(2):  # two restarts inside the window: each meets RATE_LIMITED
        await rigs[-1].close()
        rigs.append(await start_app(identify_interval_s=INTERVAL_S))
        await members_known(rigs[-1])
    limited = fake.gateway.member_requests.rate_limited
    assert limited >= 2

    # and a new session in the same process: invalid session, not resumable, re-identify
    last = rigs[-1]
    await fake.gateway.invalidate_session(resumable=False)
    for _ in range(500):
        if not last.adapter.client.catch_up.known.is_set():
            break
        await asyncio.sleep(0.01)
    await members_known(last)
    assert fake.gateway.member_requests.rate_limited > limited
    assert last.adapter.connected

    marker = fake.world.add_user("marker")  # a live join is still handled, and only it
    await fake.events.member_add(scene.guild, marker)
    await fake.wait_for_call("PUT", f"/channels/{scene.circle.id}/permissions/{marker.id}")
    await asyncio.sleep(0.1)
    posted = {c.path for c in fake.calls("POST", MESSAGES)}
    assert posted == {f"/channels/{fake.world.open_dm(marker).id}/messages"}  # 0 reminders
    held = {c.path for c in fake.calls("PUT", HOLD)}
    assert held == {f"/channels/{scene.circle.id}/permissions/{marker.id}"}  # 0 holds
    assert [e for rig in rigs for e in rig.events if isinstance(e, MemberLeft)] == []
    store = last.app.store
    for channel in (scene.circle, scene.inner):
        present = await store.room_presence("discord", str(channel.id))
        assert present is not None
        expected = {str(u.id) for u in regulars if channel is scene.circle or
                    scene.peer_role.id in scene.guild.members[u.id].role_ids}
        assert expected <= present  # nobody "left"
    records = await store.member_records("discord", str(regulars[0].id))
    assert records["memberships"] == []  # never recorded as joined, nor as left


async def test_what_changed_while_the_bot_was_down_is_caught_up_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, world = adapter_scene, fake.world
    regulars = crowd(fake, scene)
    fake.gateway.member_requests.window_s = WINDOW_S
    first = await start_app(identify_interval_s=INTERVAL_S)
    await members_known(first)
    await first.close()

    # while the bot is down: alice is given the role that shows the covered #inner, carol
    # joins the server, and a regular leaves it; Discord replays none of it to a new session
    world.guilds[scene.guild.id].members[scene.alice.id].role_ids.append(scene.peer_role.id)
    carol = world.add_user("carol")
    world.add_member(scene.guild, carol)
    gone = regulars[0]
    del scene.guild.members[gone.id]

    mark = fake.requests.mark()
    second = await start_app(identify_interval_s=INTERVAL_S)  # inside the window
    [to_alice] = await fake.wait_for_call(
        "POST", f"/channels/{world.open_dm(scene.alice).id}/messages", since=mark,
        timeout=3 * WINDOW_S,
    )
    assert to_alice.json["content"].startswith("Welcome to inner.")
    await members_known(second)
    assert fake.gateway.member_requests.rate_limited >= 1
    [to_carol] = reminders_to(fake, carol)
    assert to_carol.json["content"].startswith("Welcome to circle.")
    assert scene.circle.overwrites[carol.id].deny  # held until she agrees, like a live join
    posted = {c.path for c in fake.calls("POST", MESSAGES, since=mark)}
    assert posted == {
        f"/channels/{world.open_dm(u).id}/messages" for u in (scene.alice, carol)
    }
    present = await second.app.store.room_presence("discord", str(scene.circle.id))
    assert present is not None and str(gone.id) not in present
    assert [e for e in second.events if isinstance(e, MemberLeft)] == []  # the core's call

    await second.close()  # and once more: nothing is owed any more
    mark = fake.requests.mark()
    third = await start_app(identify_interval_s=INTERVAL_S)
    await members_known(third)
    await asyncio.sleep(0.1)
    assert fake.calls("POST", MESSAGES, since=mark) == []
    assert len(reminders_to(fake, scene.alice)) == 1 and len(reminders_to(fake, carol)) == 1


async def test_a_guild_back_from_an_outage_is_counted_again(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """GUILD_DELETE (unavailable) then GUILD_CREATE when the server is back: that
    GUILD_CREATE too carries only the bot, and nothing that happened meanwhile is replayed
    (https://discord.com/developers/docs/events/gateway-events#guild-create, case 2)."""
    scene, world = adapter_scene, fake.world
    crowd(fake, scene)
    fake.gateway.member_requests.window_s = WINDOW_S
    rig = await start_app(identify_interval_s=INTERVAL_S)
    await members_known(rig)
    full_lists = fake.gateway.member_requests.full_lists
    await fake.gateway.guild_outage(scene.guild)
    world.guilds[scene.guild.id].members[scene.alice.id].role_ids.append(scene.peer_role.id)
    await fake.gateway.guild_back(scene.guild)
    [to_alice] = await fake.wait_for_call(
        "POST", f"/channels/{world.open_dm(scene.alice).id}/messages", timeout=3 * WINDOW_S
    )
    assert to_alice.json["content"].startswith("Welcome to inner.")
    assert fake.gateway.member_requests.full_lists == full_lists + 1
    await asyncio.sleep(0.1)
    assert {c.path for c in fake.calls("POST", MESSAGES)} == {to_alice.path}
    assert [e for e in rig.events if isinstance(e, MemberLeft)] == []
