"""Leak flagging on a real Synapse: quotes and permalinks of a covered room's messages posted
in another room the bot is in become alerts in the moderators' room, with a permalink to
the copy and never the words; moderators' commands; an encrypted covered room."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nio import AsyncClient, JoinResponse, RoomPutAliasResponse, RoomPutStateResponse

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import (
    POLICY,
    REMINDER,
    BotWorld,
    Notices,
    add_room,
    create_world,
    poll_until,
    say,
    send,
    wait_until,
    watch,
    write_policy,
)

# The circle without the agreement gate (the encrypted scenario keeps it): members post.
CIRCLE = """\
name: circle
rooms:
  - platform: matrix
    id: "{room_id}"
moderators:
  - platform: matrix
    user: "{mod}"
alerts:
  - platform: matrix
    id: "{mods_room}"
reminder:
  text: What is shared in the circle stays in the circle.
  delivery: room
"""
# A room the bot is in whose own messages are not confidential: where copies turn up.
LOBBY = """\
name: lobby
rooms:
  - platform: matrix
    id: "{lobby}"
reminder:
  text: Welcome to the lobby.
  delivery: room
leaks:
  enabled: false
"""

SHARED = (
    "my sponsor said I should call my mother before the holidays but I am scared she will "
    "hang up on me again"
)
QUOTE = "he told me: I should call my mother before the holidays but I am scared she will hang up"
WORDS = ("sponsor", "mother", "holidays", "scared")


@dataclass
class LeakWorld:
    world: BotWorld
    lobby: str
    alice: AsyncClient  # shares in the circle
    bob: AsyncClient  # in the circle and the lobby
    mod_notices: Notices

    @property
    def via(self) -> str:
        return self.world.bot_id.partition(":")[2]

    def link(self, room_id: str, event_id: str | None = None) -> str:
        base = f"https://matrix.to/#/{room_id}"
        return (f"{base}/{event_id}" if event_id else base) + f"?via={self.via}"

    def alerts(self) -> list[str]:
        return [b for b in self.mod_notices.in_room(self.world.mods_room) if "Possible leak" in b]

    async def wait_alerts(self, count: int) -> list[str]:
        await wait_until(
            [self.world.mod], lambda: len(self.alerts()) >= count, f"{count} leak alert(s)"
        )
        return self.alerts()


async def join(client: AsyncClient, *rooms: str) -> None:
    await sync_once(client)
    for room_id in rooms:
        assert isinstance(await client.join(room_id), JoinResponse)


async def text(client: AsyncClient, room_id: str, body: str) -> str:
    return await send(client, room_id, {"msgtype": "m.text", "body": body})


async def indexed(world: BotWorld, room_id: str) -> bool:
    assert world.app is not None
    return any(f.room_key == f"matrix:{room_id}" for f in await world.app.store.fingerprints())


async def share(leaks: LeakWorld, client: AsyncClient, body: str = SHARED) -> str:
    """Post in the circle and wait until the bot has fingerprinted it."""
    event_id = await text(client, leaks.world.room_id, body)
    await poll_until(lambda: indexed(leaks.world, leaks.world.room_id), "the share indexed")
    return event_id


async def open_world(
    synapse: LocalSynapse,
    tmp: Path,
    matrix_client,  # type: ignore[no-untyped-def]
    *,
    circle: str = CIRCLE,
    encrypted: bool = False,
    lobby_bot_level: int = 0,
) -> tuple[BotWorld, str]:
    """The circle, the moderators' room and a lobby, with the bot in all three."""
    world = await create_world(synapse, tmp, matrix_client, policy=circle, encrypted=encrypted)
    lobby = await add_room(world, "Lobby", bot_level=lobby_bot_level)
    write_policy(world, "lobby", LOBBY.format(lobby=lobby))
    await world.start_bot()
    await wait_until(
        [world.mod],
        lambda: world.bot_joined() and world.bot_joined(lobby),
        "the bot joined the circle and the lobby",
    )
    return world, lobby


@pytest.fixture
async def leaks(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> AsyncIterator[LeakWorld]:
    world, lobby = await open_world(synapse, tmp_path, matrix_client)
    try:
        yield await with_members(world, lobby, matrix_client)
    finally:
        await world.stop_bot()


async def with_members(world: BotWorld, lobby: str, matrix_client) -> LeakWorld:  # type: ignore[no-untyped-def]
    """alice shares in the circle; bob is in the circle and the lobby."""
    alice = await matrix_client("alice")
    bob = await matrix_client("bob")
    await join(alice, world.room_id)
    await join(bob, world.room_id, lobby)
    return LeakWorld(world, lobby, alice, bob, watch(world.mod))


async def test_a_quote_in_another_room_alerts_with_a_permalink_and_no_words(
    leaks: LeakWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bob_notices = watch(leaks.bob)
    await share(leaks, leaks.alice)
    copy = await text(leaks.bob, leaks.lobby, QUOTE)
    [alert] = await leaks.wait_alerts(1)
    assert alert.startswith(
        "Possible leak from Recovery circle (flag 1): a quote of what was said there, in Lobby"
    )
    assert f"Copy: {leaks.link(leaks.lobby, copy)}" in alert
    assert f"Source: {leaks.link(leaks.world.room_id)}" in alert
    assert "matching fingerprint" in alert
    for word in WORDS:
        assert word not in alert
        assert word not in caplog.text
    # the poster is reminded privately (once), without the words either
    await wait_until(
        [leaks.bob], lambda: bool(bob_notices.containing("seems to repeat")), "bob reminded"
    )
    [(room_id, reminder)] = bob_notices.containing("seems to repeat")
    assert room_id not in {leaks.lobby, leaks.world.room_id}
    assert all(word not in reminder for word in WORDS)
    assert leaks.world.app is not None
    [flag] = await leaks.world.app.store.open_flags()
    assert (flag.signal, flag.room_id, flag.message_id, flag.poster_id) == (
        "quote",
        leaks.lobby,
        copy,
        leaks.bob.user_id,
    )


async def test_a_quote_split_in_two_posts_and_a_reworded_one_are_flagged_on_matrix(
    leaks: LeakWorld,
) -> None:
    """The split-message stream and near-verbatim matching through the Matrix adapter: bob
    posts the share in two halves (neither long enough alone), then again with two words
    changed (no 12-word run left: only the near shingles find it). One alert each, the
    split one linking both parts; no words of the share anywhere in either."""
    await share(leaks, leaks.alice)
    words = SHARED.split()
    first = await text(leaks.bob, leaks.lobby, " ".join(words[:9]))
    second = await text(leaks.bob, leaks.lobby, " ".join(words[9:19]))
    [split] = await leaks.wait_alerts(1)
    assert split.startswith("Possible leak from Recovery circle (flag 1): a quote")
    assert f"Part 1 of 2: {leaks.link(leaks.lobby, first)}" in split
    assert f"Copy (part 2 of 2): {leaks.link(leaks.lobby, second)}" in split
    assert "Posted in 2 parts" in split
    words[7], words[14] = "dad", "worried"  # changed 8 words apart: runs of 7 words at most
    reworded = await text(leaks.bob, leaks.lobby, "he told me: " + " ".join(words))
    _, near = await leaks.wait_alerts(2)
    assert near.startswith("Possible leak from Recovery circle (flag 2): a quote")
    assert f"Copy: {leaks.link(leaks.lobby, reworded)}" in near
    for alert in (split, near):
        assert all(word not in alert for word in WORDS)
    assert leaks.world.app is not None
    flags = {flag.id: flag for flag in await leaks.world.app.store.open_flags()}
    assert flags[1].parts == (first, second)
    assert flags[2].message_id == reworded


async def test_permalinks_matrix_uris_and_replies_carrying_them_are_flagged(
    leaks: LeakWorld,
) -> None:
    original = await share(leaks, leaks.alice)
    circle = leaks.world.room_id
    plain = f"https://matrix.to/#/{circle}/{original}?via=localhost"
    first = await text(leaks.bob, leaks.lobby, f"read this {plain}")
    uri = f"matrix:roomid/{circle[1:]}/e/{original[1:]}?via=localhost"
    second = await text(leaks.bob, leaks.lobby, f"or this {uri}")
    # a reply (to a lobby message) in a thread of the lobby whose only link is in its HTML
    root = await text(leaks.bob, leaks.lobby, "news?")
    third = await send(
        leaks.bob,
        leaks.lobby,
        {
            "msgtype": "m.text",
            "body": "this one",
            "format": "org.matrix.custom.html",
            "formatted_body": f'<a href="https://matrix.to/#/{circle}/{original}">this</a> one',
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": root},
            },
        },
    )
    alerts = await leaks.wait_alerts(3)
    copies = [first, second, third]
    for number, (alert, copy) in enumerate(zip(alerts, copies, strict=True), start=1):
        assert f"(flag {number}): a link to a message in it, in Lobby" in alert
        assert f"Copy: {leaks.link(leaks.lobby, copy)}" in alert
        assert f"Source: {leaks.link(circle, original)}" in alert
    assert leaks.world.app is not None
    assert {f.signal for f in await leaks.world.app.store.open_flags()} == {"link"}


async def test_quotes_and_links_inside_the_circle_raise_nothing(leaks: LeakWorld) -> None:
    original = await share(leaks, leaks.alice)
    circle = leaks.world.room_id
    await say(leaks.bob, circle, QUOTE)
    await say(leaks.bob, circle, f"as she said https://matrix.to/#/{circle}/{original}")
    reply = {"m.in_reply_to": {"event_id": original}}
    await send(leaks.bob, circle, {"msgtype": "m.text", "body": "hugs", "m.relates_to": reply})
    # then a real copy: by the time its alert is out, the three before it were handled
    marker = await text(leaks.bob, leaks.lobby, f"https://matrix.to/#/{circle}/{original}")
    [alert] = await leaks.wait_alerts(1)
    assert f"Copy: {leaks.link(leaks.lobby, marker)}" in alert
    assert leaks.world.app is not None
    [flag] = await leaks.world.app.store.open_flags()
    assert flag.room_id == leaks.lobby


async def test_moderators_list_and_resolve_flags_members_are_refused(leaks: LeakWorld) -> None:
    original = await share(leaks, leaks.alice)
    await say(leaks.bob, leaks.lobby, f"https://matrix.to/#/{leaks.world.room_id}/{original}")
    await leaks.wait_alerts(1)
    mod, notices = leaks.world.mod, leaks.mod_notices
    await say(mod, leaks.world.mods_room, "!flags")
    await wait_until([mod], lambda: bool(notices.containing("Open leak flags")), "!flags answer")
    [(where, listed)] = notices.containing("Open leak flags")
    assert where == leaks.world.mods_room  # asked in the moderators' room: answered there
    assert "1: from Recovery circle, link in Lobby" in listed
    bob_notices = watch(leaks.bob)
    await say(leaks.bob, leaks.lobby, "!flags")
    await wait_until(
        [leaks.bob],
        lambda: bool(bob_notices.containing("Only moderators can use !flags")),
        "bob refused",
    )
    await say(mod, leaks.world.mods_room, "!flag resolve 1")
    await wait_until([mod], lambda: bool(notices.containing("Flag 1 is resolved.")), "resolved")
    assert leaks.world.app is not None
    assert await leaks.world.app.store.open_flags() == []
    assert "Open leak flags" not in str(bob_notices.seen)


async def test_quotes_from_an_encrypted_circle_are_found_after_the_agreement(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    world, lobby = await open_world(synapse, tmp_path, matrix_client, circle=POLICY, encrypted=True)
    try:
        dana = await matrix_client("dana")
        bob = await matrix_client("bob")
        notices = watch(dana)
        await join(dana, world.room_id)
        await join(bob, lobby)
        # the agreement flow is unchanged: reminded privately and held back, agrees, may post
        await wait_until([dana], lambda: bool(notices.containing(REMINDER)), "dana reminded")
        await wait_until(
            [dana],
            lambda: dana.rooms[world.room_id].power_levels.get_user_level(dana.user_id) < 0,
            "dana held back until she agrees",
        )
        await say(dana, notices.containing(REMINDER)[0][0], "!agree")
        await wait_until([dana], lambda: bool(notices.containing("Thank you")), "agree handled")
        await wait_until(
            [dana],
            lambda: dana.rooms[world.room_id].power_levels.get_user_level(dana.user_id) >= 0,
            "dana may post",
        )
        leaks = LeakWorld(world, lobby, dana, bob, watch(world.mod))
        await share(leaks, dana)
        assert notices.undecryptable == []
        copy = await text(bob, leaks.lobby, QUOTE)
        [alert] = await leaks.wait_alerts(1)
        assert "(flag 1): a quote of what was said there, in Lobby" in alert
        assert f"Copy: {leaks.link(leaks.lobby, copy)}" in alert
        assert all(word not in alert for word in WORDS)
    finally:
        await world.stop_bot()


async def test_a_permalink_by_the_circles_alias_is_flagged_but_not_inside_it(
    leaks: LeakWorld,
) -> None:
    circle, mod = leaks.world.room_id, leaks.world.mod
    alias = f"#circle-{circle[1:7].lower()}:{leaks.via}"
    assert isinstance(await mod.room_put_alias(alias, circle), RoomPutAliasResponse)
    state = await mod.room_put_state(circle, "m.room.canonical_alias", {"alias": alias})
    assert isinstance(state, RoomPutStateResponse), state
    original = await share(leaks, leaks.alice)
    await text(leaks.bob, circle, f"https://matrix.to/#/{alias}/{original}")  # inside: nothing
    copy = await text(leaks.bob, leaks.lobby, f"https://matrix.to/#/{alias}/{original}")
    [alert] = await leaks.wait_alerts(1)
    assert "(flag 1): a link to a message in it, in Lobby" in alert
    assert f"Copy: {leaks.link(leaks.lobby, copy)}" in alert
    assert f"Source: https://matrix.to/#/{alias}/{original}" in alert  # an alias needs no via
    assert leaks.world.app is not None
    [flag] = await leaks.world.app.store.open_flags()
    assert (flag.source_room_id, flag.message_id) == (circle, copy)


async def test_delete_copy_redacts_the_quote_and_keeps_the_flag(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    """With delete_copy the copy is redacted where the bot may (it has power level 50 in the
    lobby here); the flag stays for the moderators, who still get the alert."""
    circle = CIRCLE + "leaks:\n  actions:\n    delete_copy: true\n"
    world, lobby = await open_world(
        synapse, tmp_path, matrix_client, circle=circle, lobby_bot_level=50
    )
    try:
        leaks = await with_members(world, lobby, matrix_client)
        alice, bob = leaks.alice, leaks.bob
        await share(leaks, alice)
        copy = await text(bob, lobby, QUOTE)
        [alert] = await leaks.wait_alerts(1)
        assert all(word not in alert for word in WORDS)

        async def redacted() -> bool:
            got = await bob.room_get_event(lobby, copy)
            source = getattr(getattr(got, "event", None), "source", {}) or {}
            return bool((source.get("unsigned") or {}).get("redacted_because"))

        await poll_until(redacted, "the copy redacted by the bot")
        assert world.app is not None
        [flag] = await world.app.store.open_flags()
        assert flag.message_id == copy
    finally:
        await world.stop_bot()


async def test_hold_for_review_redacts_and_tells_the_poster_the_outcome(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    circle = CIRCLE + "leaks:\n  actions:\n    hold_for_review: true\n"
    world, lobby = await open_world(
        synapse, tmp_path, matrix_client, circle=circle, lobby_bot_level=50
    )
    try:
        leaks = await with_members(world, lobby, matrix_client)
        alice, bob = leaks.alice, leaks.bob
        bob_notices = watch(bob)
        await share(leaks, alice)
        await text(bob, lobby, QUOTE)
        await leaks.wait_alerts(1)
        await wait_until(
            [bob], lambda: bool(bob_notices.containing("taken down until")), "bob told it is held"
        )
        await say(world.mod, world.mods_room, "!flag resolve 1")
        await wait_until(
            [bob, world.mod],
            lambda: bool(bob_notices.containing("stays removed")),
            "bob told the outcome",
        )
        for _, body in bob_notices.seen:
            assert all(word not in body for word in WORDS)
    finally:
        await world.stop_bot()
