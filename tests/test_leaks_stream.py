"""Quotes split over several messages: a member's consecutive messages read as one stream."""

from __future__ import annotations

import pickle
from datetime import timedelta
from pathlib import Path

import pytest

from bot.actions import DeleteMessage
from bot.clock import FakeClock
from bot.events import Member, MessageDeleted, MessagePosted, Room
from bot.leaks_flow.stream import StreamTails
from bot.policy.model import LeaksSpec
from tests.leak_rig import QUOTE, SHARED, alerts, leak_rig, policy_with

SOURCE = (
    "my brother found the empty bottles under my bed last night and he says he will tell "
    "our parents tomorrow morning unless I stop"
)
TWO_PARTS = (  # its first 20 words, 10 + 10
    "my brother found the empty bottles under my bed last",
    "night and he says he will tell our parents tomorrow",
)
THREE_PARTS = (  # 15 of its words, 5 + 5 + 5
    "the empty bottles under my",
    "bed last night and he",
    "says he will tell our",
)
SOURCE_WORDS = ("brother", "bottles", "parents")
LOBBY = Room("console", "lobby", "lobby")


async def _post(rig, who: str, *parts: str, room: str = "lobby") -> str:  # type: ignore[no-untyped-def]
    return await rig.say(f":room {room}", *(f"{who}: {part}" for part in parts))


async def test_a_quote_in_two_parts_is_flagged_once_naming_both(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "alice", SOURCE, room="recovery")  # m1
        out = await _post(rig, "bob", *TWO_PARTS)  # m2, m3
        [alert] = alerts(out)
        assert "Possible leak from recovery (flag 1): a quote" in alert
        assert "in lobby, message m3, posted by bob" in alert
        assert "Posted in 2 parts: messages m2, m3." in alert
        assert "Part 1 of 2: console room lobby, message m2" in alert
        assert "Copy (part 2 of 2): console room lobby, message m3" in alert
        for word in SOURCE_WORDS:
            assert word not in out
        [flag] = await rig.app.store.open_flags()
        assert (flag.message_id, flag.poster_id, flag.source_room_id) == ("m3", "bob", "recovery")
        assert flag.parts == ("m2", "m3")
        listed = await rig.say(":room mods", "mod: /flags")
        assert "(message m3) by bob" in listed and "posted in 2 parts: messages m2, m3" in listed


async def test_a_quote_in_three_parts_is_flagged_once_naming_all(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "alice", SOURCE, room="recovery")
        out = await _post(rig, "bob", *THREE_PARTS)  # m2, m3, m4
        [alert] = alerts(out)
        assert "Posted in 3 parts: messages m2, m3, m4." in alert
        assert "Part 2 of 3: console room lobby, message m3" in alert
        assert len(await rig.app.store.open_flags()) == 1


async def test_parts_by_two_members_are_not_joined(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "alice", SOURCE, room="recovery")
        out = await rig.say(":room lobby", f"bob: {TWO_PARTS[0]}", f"carol: {TWO_PARTS[1]}")
        assert alerts(out) == []
        assert await rig.app.store.open_flags() == []


async def test_parts_further_apart_than_the_window_are_not_joined(tmp_path: Path) -> None:
    clock = FakeClock()
    async with leak_rig(tmp_path, policy_with("stream_minutes: 2"), clock) as rig:
        await _post(rig, "alice", SOURCE, room="recovery")
        await _post(rig, "bob", TWO_PARTS[0])
        await clock.advance(timedelta(minutes=2, seconds=1))
        assert alerts(await _post(rig, "bob", TWO_PARTS[1])) == []
        # within the window, the same parts are joined
        await _post(rig, "bob", TWO_PARTS[0])
        await clock.advance(timedelta(minutes=1, seconds=59))
        assert len(alerts(await _post(rig, "bob", TWO_PARTS[1]))) == 1


async def test_stream_minutes_zero_reads_every_message_alone(tmp_path: Path) -> None:
    async with leak_rig(tmp_path, policy_with("stream_minutes: 0")) as rig:
        await _post(rig, "alice", SOURCE, room="recovery")
        assert alerts(await _post(rig, "bob", *TWO_PARTS)) == []


async def test_a_quote_flagged_by_its_first_part_is_not_flagged_again(tmp_path: Path) -> None:
    long_first = "my brother found the empty bottles under my bed last night and he says"
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "alice", SOURCE, room="recovery")
        out = await _post(rig, "bob", long_first, "he will tell")
        [alert] = alerts(out)  # raised by the first part, which carries the quote alone
        assert "message m2," in alert and "parts" not in alert
        [flag] = await rig.app.store.open_flags()
        assert (flag.message_id, flag.parts) == ("m2", ("m2", "m3"))  # the rest joins it


async def test_another_quote_right_after_a_flagged_one_is_its_own_flag(tmp_path: Path) -> None:
    long_first = "my brother found the empty bottles under my bed last night and he says"
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "alice", SOURCE, SHARED, room="recovery")
        out = await _post(rig, "bob", long_first, QUOTE)  # QUOTE repeats SHARED, not SOURCE
        assert len(alerts(out)) == 2
        assert sorted(f.parts for f in await rig.app.store.open_flags()) == [(), ()]


async def test_the_rest_of_a_flagged_quote_is_removed_with_it(tmp_path: Path) -> None:
    """Where the policy removes copies, a later part joining a flag goes too."""
    long_first = "my brother found the empty bottles under my bed last night and he says"
    policy = policy_with("actions:\n  delete_copy: true\n  remind_poster: false")
    async with leak_rig(tmp_path, policy) as rig:
        await _post(rig, "alice", SOURCE, room="recovery")
        bob, at = Member("console", "bob"), rig.clock.now()
        [first] = await rig.app.core.handle(MessagePosted(LOBBY, bob, "z1", long_first, at))
        rest = "he will tell our parents tomorrow"
        [later] = await rig.app.core.handle(MessagePosted(LOBBY, bob, "z2", rest, at))
        assert isinstance(first, DeleteMessage) and first.message_id == "z1"
        assert isinstance(later, DeleteMessage) and later.message_id == "z2"
        assert later.then == () and "a later part" in later.reason  # no second alert
        [flag] = await rig.app.store.open_flags()
        assert flag.parts == ("z1", "z2")


async def test_a_last_part_that_matches_alone_too_is_one_flag_naming_all_parts(
    tmp_path: Path,
) -> None:
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "alice", SOURCE, room="recovery")
        out = await _post(
            rig, "bob", "my brother found", "the empty bottles under my bed last night and he says"
        )
        [alert] = alerts(out)
        assert "Posted in 2 parts: messages m2, m3." in alert


async def test_a_copy_of_words_spanning_two_confidential_posts_is_flagged(
    tmp_path: Path,
) -> None:
    """The confidential side is read as a stream too: alice said it in two posts (neither
    has the 12 words a fingerprint is certain for); bob's one message spans the join."""
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "alice", *TWO_PARTS, room="recovery")
        copy = "she wrote: the empty bottles under my bed last night and he says he will"
        [alert] = alerts(await _post(rig, "bob", copy))
        assert "Possible leak from recovery (flag 1): a quote" in alert
        assert "parts" not in alert  # one message outside: one copy


@pytest.mark.parametrize("deleted", ["m1", "m2"])
async def test_deleting_either_confidential_post_drops_the_words_spanning_them(
    tmp_path: Path, deleted: str
) -> None:
    """The fingerprints of words running from alice's first post into her second hold
    words of both: deleting either post drops them, whichever one they were stored with."""
    copy = "she wrote: the empty bottles under my bed last night and he says he will"
    recovery = Room("console", "recovery", "recovery")
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "alice", *TWO_PARTS, room="recovery")  # m1, m2
        joined = [f for f in await rig.app.store.fingerprints() if f.joined_to is not None]
        assert joined  # stored with m2, naming m1
        await rig.app.core.handle(MessageDeleted(recovery, deleted, rig.clock.now()))
        assert not [f for f in await rig.app.store.fingerprints() if f.joined_to is not None]
        assert alerts(await _post(rig, "bob", copy)) == []


async def test_a_confidential_post_long_after_the_last_is_not_joined(tmp_path: Path) -> None:
    clock = FakeClock()
    async with leak_rig(tmp_path, policy_with("stream_minutes: 2"), clock) as rig:
        await _post(rig, "alice", TWO_PARTS[0], room="recovery")
        await clock.advance(timedelta(minutes=3))
        await _post(rig, "alice", TWO_PARTS[1], room="recovery")
        copy = "she wrote: the empty bottles under my bed last night and he says he will"
        assert alerts(await _post(rig, "bob", copy)) == []


async def test_ordinary_consecutive_chat_is_not_flagged(tmp_path: Path) -> None:
    """Everyday chat in a confidential room and, elsewhere, other members' everyday chat
    sharing its phrasing (runs of up to 10 words across their joins, where 11 would be a
    shingle), each in short consecutive messages: no stream is flagged."""
    inside = (
        "hey everyone how was your weekend",
        "mine was pretty quiet to be honest",
        "i went for a long walk on saturday",
        "and then i watched a movie with my sister",
        "anyway how are you all doing today",
        "i am doing well thanks for asking",
        "i hope you all have a good week",
    )
    outside = {
        "bob": (
            "hey how was your weekend",
            "mine was quiet to be honest",
            "i went for a walk on sunday",
            "then watched a movie with my brother",
        ),
        "carol": (
            "how are you all doing today",
            "i am good thanks",
            "i hope you all have a good weekend",
            "and a good week too",
        ),
        "erin": ("good morning", "how was your weekend", "mine was pretty quiet", "honestly"),
    }
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "alice", *inside, room="recovery")
        out = "".join([await _post(rig, who, *lines) for who, lines in outside.items()])
        assert alerts(out) == []
        assert await rig.app.store.open_flags() == []


async def test_nothing_of_the_text_survives_expiry() -> None:
    tails = StreamTails(timedelta(minutes=5))
    clock = FakeClock()
    words = ["empty", "bottles", "under", "my", "bed"]
    assert tails.join("console:lobby", b"bob", "m1", words, clock.now(), keep=10) is None
    assert tails.holds_words()
    assert "bottles" not in repr(tails)
    with pytest.raises(TypeError):
        pickle.dumps(tails)
    await clock.advance(timedelta(minutes=5, seconds=1))
    assert tails.sweep(clock.now()) == 1
    assert not tails.holds_words() and len(tails) == 0
    joined = tails.join("console:lobby", b"bob", "m2", ["last", "night"], clock.now(), keep=10)
    assert joined is None  # the expired words are not joined to the next message


async def test_an_erase_request_drops_the_members_words_from_every_stream(
    tmp_path: Path,
) -> None:
    async with leak_rig(tmp_path) as rig:
        await _post(rig, "bob", TWO_PARTS[0])
        await _post(rig, "bob", TWO_PARTS[0], room="women")
        await _post(rig, "carol", "hello there")
        watch = rig.app.core.leaks
        assert watch is not None
        assert len(watch.streams) == 3
        await watch.erase_member("console", "bob")
        assert len(watch.streams) == 1  # carol's stays


async def test_the_bots_tick_drops_words_older_than_the_window(tmp_path: Path) -> None:
    clock = FakeClock()
    async with leak_rig(tmp_path, clock=clock) as rig:
        watch = rig.app.core.leaks
        assert watch is not None
        await _post(rig, "bob", TWO_PARTS[0])
        await rig.app.core.tick()
        assert watch.streams.holds_words()  # still within 5 minutes
        await clock.advance(timedelta(minutes=5, seconds=1))
        await rig.app.core.tick()
        assert not watch.streams.holds_words() and len(watch.streams) == 0


def test_a_tail_keeps_only_its_last_k_minus_1_words_and_three_parts() -> None:
    tails = StreamTails(timedelta(minutes=5))
    clock = FakeClock()
    for i in range(6):
        tails.join("r", b"a", f"m{i}", [f"w{i}a", f"w{i}b"], clock.now(), keep=5)
    joined = tails.join("r", b"a", "m6", ["x"], clock.now(), keep=5)
    assert joined is not None
    assert joined.parts == ("m3", "m4", "m5", "m6")
    assert joined.tokens == ("w3b", "w4a", "w4b", "w5a", "w5b", "x")
    assert "w4a" not in repr(joined)
    with pytest.raises(TypeError):
        pickle.dumps(joined)


def test_stream_minutes_is_checked_with_a_moderators_message() -> None:
    with pytest.raises(ValueError, match="'stream_minutes' must be between 0 and 60 minutes"):
        LeaksSpec(stream_minutes=90)
    assert LeaksSpec().stream_minutes == 5
