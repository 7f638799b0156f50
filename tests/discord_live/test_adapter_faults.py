"""Discord failing in the ways it does fail: invalid sessions (resumable or not), a gateway
that turns sockets away for a while, and REST answering 5xx. Members who join meanwhile are
each reminded exactly once, and the bot is back within 5 s of Discord accepting connections
again (the recovery target; measured on the fake's clock of refusals and answers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from adapters.discord.sync import who_sees
from bot.events import MemberJoined, MemberLeft
from tests.discord_fake import FakeDiscord, running
from tests.discord_fake.gateway import IDENTIFY, RESUME
from tests.discord_fake.recorder import RecordedRequest
from tests.discord_fake.state import FakeOverwrite, FakeUser

from .conftest import REMINDER, VIEW_CHANNEL, AdapterScene, FastClient

RECOVERY_TARGET_S = 5.0
# Discord's own IDENTIFY interval is 5 s (the adapter's default); tests use a shorter one so
# they need not wait it out, and check that it is kept.
INTERVAL_S = 1.5
BURST = 6


def dm_route(fake: FakeDiscord, user: FakeUser) -> str:
    return f"/channels/{fake.world.open_dm(user).id}/messages"


def reminders_to(fake: FakeDiscord, user: FakeUser) -> list[RecordedRequest]:
    """Delivered reminders (200s) in the user's private chat, each one message on Discord."""
    return [
        c
        for c in fake.calls("POST", dm_route(fake, user))
        if c.status == 200 and REMINDER in c.json["content"]
    ]


async def reminded(
    fake: FakeDiscord, users: list[FakeUser], *, since: int, timeout: float = 10.0
) -> float:
    """Wait (bounded) until each user's reminder was delivered; when the last one was."""
    last = 0.0
    for user in users:
        route = dm_route(fake, user)
        calls = await fake.requests.wait_for(
            lambda r, route=route: r.matches("POST", route) and r.status == 200,  # type: ignore[misc]
            since=since,
            timeout=timeout,
        )
        last = max(last, calls[0].at)
    return last


async def disconnected(fake: FakeDiscord, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if not fake.gateway.connected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the client's socket did not go away")


async def settle(fake: FakeDiscord, rig: Any, scene: AdapterScene) -> FakeUser:
    """A live join, handled: everything delivered before it was handled too (the bot is
    back and keeps handling events). Returns the marker member."""
    marker = fake.world.add_user("marker")
    await fake.events.member_add(scene.guild, marker)
    await rig.wait_for_event(
        lambda e: isinstance(e, MemberJoined) and e.member.id == str(marker.id)
    )
    await fake.wait_for_call(
        "PUT", f"/channels/{scene.circle.id}/permissions/{marker.id}", timeout=5
    )
    await asyncio.sleep(0.1)
    return marker


async def test_a_new_session_catches_up_joins_leaves_and_roles_it_was_not_told_about(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Discord replays nothing to a new session and sends no member list with it: the
    adapter asks for the whole list (waiting out the rate limit on asking again), and the
    core compares it with the last complete count, so joins during the gap are not lost."""
    scene, world = adapter_scene, fake.world
    # Discord's 30 s between whole-list requests, shortened so the re-identify below still
    # meets it (and the adapter must wait it out) without the test waiting 30 s.
    fake.gateway.member_requests.window_s = 2 * INTERVAL_S + 1.0
    rig = await start_app(identify_interval_s=INTERVAL_S)
    await asyncio.sleep(INTERVAL_S)  # the next IDENTIFY may go out at once (spacing: below)
    old_session = fake.gateway.current
    mark_frames, mark, seen = fake.frames.mark(), fake.requests.mark(), len(rig.events)

    fake.gateway.refusals.refuse(1)  # the new connection is turned away once
    await fake.gateway.invalidate_session(resumable=False)
    await disconnected(fake)
    newcomers = [world.add_user(f"newcomer{i}") for i in range(BURST)]
    for user in newcomers:  # joins no session hears of: Discord will not replay them
        world.add_member(scene.guild, user)
    scene.guild.members[scene.alice.id].role_ids.append(scene.peer_role.id)  # sees #inner now
    del scene.guild.members[scene.mod.id]  # and the moderator left

    last = await reminded(fake, newcomers, since=mark)
    assert fake.frames.find(lambda f: f.op == IDENTIFY, since=mark_frames)
    assert fake.gateway.current is not old_session
    [accepted_again] = fake.gateway.refusals.refused_at
    assert last - accepted_again <= RECOVERY_TARGET_S
    [inner] = await fake.wait_for_call("POST", dm_route(fake, scene.alice), since=mark)
    assert inner.json["content"].startswith("Welcome to inner.")  # the role showed #inner
    assert fake.gateway.member_requests.rate_limited >= 1  # the list really was waited for
    await asyncio.wait_for(rig.adapter.client.catch_up.known.wait(), 5)
    store = rig.app.store
    for channel in (scene.circle, scene.inner):  # the moderator's leave is caught up too
        present = await store.room_presence("discord", str(channel.id))
        assert present is not None and str(scene.mod.id) not in present
    assert str(scene.alice.id) in (await store.room_presence("discord", str(scene.inner.id)))
    assert [e for e in rig.events[seen:] if isinstance(e, MemberLeft)] == []  # none invented
    await settle(fake, rig, scene)
    for user in newcomers:  # held until they agree, like members who joined live
        assert scene.circle.overwrites[user.id].deny
    for user in [*newcomers, scene.alice]:
        assert len(reminders_to(fake, user)) == 1, user.username

    # A second new session with nothing changed meanwhile: nothing to catch up, no reminder.
    await asyncio.sleep(INTERVAL_S)
    seen, mark, mark_frames = len(rig.events), fake.requests.mark(), fake.frames.mark()
    await fake.gateway.invalidate_session(resumable=False)
    await disconnected(fake)
    await fake.wait_for_op(IDENTIFY, since=mark_frames, timeout=5)
    for _ in range(500):  # READY handled (its catch-up follows once the list is whole)
        if rig.adapter.connected:
            break
        await asyncio.sleep(0.01)
    assert rig.adapter.connected
    await asyncio.wait_for(rig.adapter.client.catch_up.known.wait(), 10)
    marker = await settle(fake, rig, scene)
    caught_up = [
        e for e in rig.events[seen:]
        if isinstance(e, MemberJoined | MemberLeft) and e.member.id != str(marker.id)
    ]
    assert caught_up == []
    posted = {c.path for c in fake.calls("POST", "/channels/{c}/messages", since=mark)}
    assert posted == {dm_route(fake, marker)}  # only the live newcomer's reminder


async def test_a_re_identify_keeps_discords_identify_interval(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """A session invalidated right after it began: the new IDENTIFY waits for the rest of
    the interval (Discord would refuse a faster one), and no longer."""
    began = time.monotonic()
    await start_app(identify_interval_s=INTERVAL_S)
    mark_frames = fake.frames.mark()
    invalidated = time.monotonic()
    await fake.gateway.invalidate_session(resumable=False)
    await fake.wait_for_op(IDENTIFY, since=mark_frames, timeout=INTERVAL_S + 5)
    identified = time.monotonic()
    assert identified - began >= INTERVAL_S
    assert identified - invalidated >= INTERVAL_S - (invalidated - began)
    assert identified - invalidated <= INTERVAL_S + 1.0


async def test_a_resumable_invalid_session_resumes_and_replays_a_burst_of_joins(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app(identify_interval_s=INTERVAL_S)
    session = fake.gateway.current
    assert session is not None
    mark_frames, mark, seen = fake.frames.mark(), fake.requests.mark(), len(rig.events)
    fake.gateway.refusals.refuse(1)
    await fake.gateway.invalidate_session(resumable=True)
    await disconnected(fake)
    burst = [fake.world.add_user(f"joiner{i}") for i in range(BURST)]
    for user in burst:  # dispatched while the socket is down: kept for the RESUME
        await fake.events.member_add(adapter_scene.guild, user)
    assert not fake.gateway.connected

    last = await reminded(fake, burst, since=mark)
    [resume] = await fake.wait_for_op(RESUME, since=mark_frames)
    assert resume.d["session_id"] == session.id
    assert fake.frames.find(lambda f: f.op == IDENTIFY, since=mark_frames) == []
    [accepted_again] = fake.gateway.refusals.refused_at
    assert last - accepted_again <= RECOVERY_TARGET_S
    await settle(fake, rig, adapter_scene)
    for user in burst:
        assert len(reminders_to(fake, user)) == 1, user.username
        joins = [
            e for e in rig.events[seen:]
            if isinstance(e, MemberJoined) and e.member.id == str(user.id)
        ]
        assert [j.room.id for j in joins].count(str(adapter_scene.circle.id)) == 1


async def test_joins_while_the_gateway_refuses_connections_are_all_reminded_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """The socket drops and Discord turns the next connections away (an outage at its
    edge); joins meanwhile are replayed on RESUME once it accepts connections again."""
    rig = await start_app(identify_interval_s=INTERVAL_S)
    mark_frames, mark = fake.frames.mark(), fake.requests.mark()
    fake.gateway.refusals.refuse(2)
    await fake.gateway.close_socket(4000)
    burst = [fake.world.add_user(f"outage{i}") for i in range(BURST * 2)]
    for user in burst:
        await fake.events.member_add(adapter_scene.guild, user)
    last = await reminded(fake, burst, since=mark)
    refusals = fake.gateway.refusals.refused_at
    assert len(refusals) == 2  # both refusals happened: the client really was kept out
    assert last - refusals[-1] <= RECOVERY_TARGET_S
    assert fake.frames.find(lambda f: f.op == RESUME, since=mark_frames)
    await settle(fake, rig, adapter_scene)
    for user in burst:
        assert len(reminders_to(fake, user)) == 1, user.username


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_on_a_reminder_is_retried_and_delivered_once(
    status: int, fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """discord.py retries 500 and 502 itself; a 503 it raises at once, and the adapter tries
    again. Either way the same message (same nonce) lands once, within seconds."""
    rig = await start_app()
    carol = fake.world.add_user("carol")
    route = dm_route(fake, carol)
    fake.faults.server_error("POST", route, status=status)
    await fake.events.member_add(adapter_scene.guild, carol)
    failed, delivered = await fake.wait_for_call("POST", route, count=2, timeout=10)
    assert (failed.status, delivered.status) == (status, 200)
    assert failed.json == delivered.json and delivered.json["nonce"]
    assert delivered.at - failed.at <= RECOVERY_TARGET_S
    await settle(fake, rig, adapter_scene)
    assert len(fake.calls("POST", route)) == 2
    dm = fake.world.open_dm(carol)
    assert [m.content for m in fake.world.messages.values() if m.channel_id == dm.id] == [
        delivered.json["content"]
    ]
    assert await rig.app.store.pending_reminders() == []  # the outbox knows it arrived


async def test_a_lasting_server_error_leaves_the_reminder_owed_not_lost(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """When every try fails the reminder stays in the outbox for the periodic resend."""
    from adapters.discord.client import SERVER_ERROR_RETRY_S

    rig = await start_app()
    carol = fake.world.add_user("carol")
    route = dm_route(fake, carol)
    tries = len(SERVER_ERROR_RETRY_S) + 1
    fake.faults.server_error("POST", route, status=503, count=tries)
    await fake.events.member_add(adapter_scene.guild, carol)
    calls = await fake.wait_for_call("POST", route, count=tries, timeout=10)
    assert {c.status for c in calls} == {503}
    await settle(fake, rig, adapter_scene)
    assert len(fake.calls("POST", route)) == tries
    [owed] = await rig.app.store.pending_reminders()
    assert owed.member_id == str(carol.id)
    clock = rig.app.core.clock
    await clock.advance(61)  # past the outbox's retry age; then the runtime's periodic tick
    await rig.app.runtime.tick()
    [resent] = fake.calls("POST", route)[tries:]
    assert resent.status == 200 and resent.json["nonce"] == calls[0].json["nonce"]
    assert await rig.app.store.pending_reminders() == []


async def test_the_membership_snapshot_agrees_with_discords_permission_maths(
    fake: FakeDiscord, adapter_scene: AdapterScene, make_client: Callable[..., FastClient]
) -> None:
    """The catch-up's count checks one member per set of roles; members with an overwrite
    of their own, the owner and pending members (who can read) must still come out right."""
    scene, world = adapter_scene, fake.world
    owner = world.users[scene.guild.owner_id]
    peers = [world.add_user(f"peer{i}") for i in range(3)]
    for user in peers:
        world.add_member(scene.guild, user, roles=[scene.peer_role])
    shut_out, let_in, waiting = (world.add_user(n) for n in ("shut-out", "let-in", "waiting"))
    world.add_member(scene.guild, shut_out, roles=[scene.peer_role])
    world.add_member(scene.guild, let_in)
    world.add_member(scene.guild, waiting, roles=[scene.peer_role]).pending = True
    scene.inner.overwrites[shut_out.id] = FakeOverwrite(shut_out.id, 1, deny=VIEW_CHANNEL)
    scene.mods.overwrites[let_in.id] = FakeOverwrite(let_in.id, 1, allow=VIEW_CHANNEL)
    client = make_client()
    async with running(client, fake.token):
        [guild] = client.guilds
        me = client.user.id  # type: ignore[union-attr]
        snapshot = {c: frozenset(m.id for m in ms) for c, ms in who_sees(guild, me).items()}
        assert guild.get_member(peers[0].id) is not None  # the members really are cached
        expected = {
            channel.id: frozenset(
                m.id for m in guild.members
                if m.id != me and channel.permissions_for(m).view_channel
            )
            for channel in guild.text_channels
        }
    assert snapshot == expected
    assert {p.id for p in peers} <= snapshot[scene.inner.id]
    assert shut_out.id not in snapshot[scene.inner.id] and let_in.id in snapshot[scene.mods.id]
    assert owner.id in snapshot[scene.mods.id] and waiting.id in snapshot[scene.inner.id]
