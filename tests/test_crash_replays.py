"""Promises a SIGKILL broke, found by the crash harness (tests/crash).

After a SIGKILL the Matrix adapter replays the sync batch it had not finished, while it
starts. Two things went wrong with check-ins:
- an answer in that backlog moved the check-in on after the bot had read where it stood,
  so the resumed question was one the member had just answered (and their answer to it
  went to the next question);
- an answer the killed run had already taken was taken again, as the answer to the next
  question, so the member's real answer to that one was dropped although the bot had
  thanked them for it.
And twice a member got a second private chat, and the reminder again in it, because the
map of the bot's private chats (m.direct) did not hold the first one after a restart.
"""

from __future__ import annotations

import io
from pathlib import Path

from adapters.console import ConsoleAdapter, private_room
from adapters.matrix.direct import PrivateChats
from bot.app import App
from bot.clock import Clock, FakeClock
from bot.commands import Registry
from bot.events import Member, PrivateReply
from bot.ports import EventSink
from tests import test_matrix_reminder_order as order
from tests.checkin_rig import checkin_rig, dm, private_to
from tests.conftest import make_config, start_rig


class BacklogConsole(ConsoleAdapter):
    """A console that, while starting, hands over what members wrote while the bot was down,
    as the Matrix adapter does with a replayed sync batch."""

    def __init__(self, registry: Registry, clock: Clock, out: io.StringIO, backlog: list[str]):
        super().__init__(registry, clock, out=out)
        self.backlog = backlog

    async def start(self, sink: EventSink) -> None:
        await super().start(sink)
        for line in self.backlog:
            await self.feed(line)


async def test_resumed_checkin_asks_where_it_stands_after_the_backlog(tmp_path: Path) -> None:
    clock = FakeClock()
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await rig.say(":room recovery", "alice: /checkin", *dm("alice", "agree", "4", "yes"))
    # Down at question 3; alice's answer to it comes in with the backlog on restart.
    out = io.StringIO()
    consoles: list[BacklogConsole] = []

    def make(registry: Registry, clk: Clock) -> list[BacklogConsole]:
        consoles.append(BacklogConsole(registry, clk, out, dm("alice", "friends")))
        return consoles

    app = await App.create(
        make_config(tmp_path),
        make,
        clock=clock,
        display_root=tmp_path,
        tick_seconds=10**9,
        policy_poll_seconds=10**9,
    )
    await app.start()
    try:
        said = private_to("alice", out.getvalue())
        resumed = said[said.index("continues where you left off") :]
        assert "Question 4 of 4" in resumed
        assert "Question 3 of 4" not in resumed
        # her next message answers the question she was shown, and finishes the check-in
        await consoles[0].feed(dm("alice", "slept fine")[0])
        [checkin] = await app.store.member_checkins("console", "alice", 5)
        assert checkin.status == "complete"
        rows = await app.store.checkin_answers(checkin.id)
        assert [r.question_id for r in rows] == ["mood", "slept", "support", "note"]
    finally:
        await app.close()


async def test_a_replayed_answer_is_taken_once_even_after_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    alice = Member("console", "alice")

    def reply(text: str, message_id: str) -> PrivateReply:
        return PrivateReply(private_room("alice"), alice, text, clock.now(), message_id)

    async with checkin_rig(tmp_path, clock=clock) as rig:
        await rig.say(":room recovery", "alice: /checkin", *dm("alice", "agree", "4", "yes"))
        await rig.app.runtime.on_event(reply("friends", "$answer-3"))
        await rig.app.runtime.on_event(reply("friends", "$answer-3"))  # the same message again
        [checkin] = await rig.app.store.member_checkins("console", "alice", 5)
        assert checkin.step == 3 and checkin.status == "open"
    rig = await start_rig(make_config(tmp_path), clock)  # killed and back: replayed again
    try:
        await rig.app.runtime.on_event(reply("friends", "$answer-3"))
        [checkin] = await rig.app.store.member_checkins("console", "alice", 5)
        assert checkin.step == 3 and checkin.status == "open"
        out = await rig.say(*dm("alice", "a quiet walk by the river"))
        assert "Thank you for checking in" in private_to("alice", out)
        rows = await rig.app.store.checkin_answers(checkin.id)
        sealer = rig.app.core.checkins.sealer
        assert [sealer.open(checkin.id, r.question_id, r.sealed) for r in rows] == [
            4,
            "yes",
            "friends",
            "a quiet walk by the river",
        ]
    finally:
        await rig.app.close()


def test_an_echo_of_an_earlier_private_chat_map_forgets_no_chat_opened_since() -> None:
    """The bot saves its map of private chats (m.direct) each time it opens one, and every
    save comes back in a later sync. With chats opened side by side, the echo of the first
    save arrived after the second chat was added and replaced the map, so the next save
    dropped that chat: after a restart its member got a second chat and a second reminder."""

    async def never(room_id: str, member_id: str | None) -> None:
        raise AssertionError("not used")

    chats = PrivateChats(client=None, user_id="@bot:x", encryption=True, wait_for_room=never)  # type: ignore[arg-type]
    chats.remember("@ann:x", "!ann-chat")
    first_save = {user: list(rooms) for user, rooms in chats.by_member.items()}
    chats.remember("@ben:x", "!ben-chat")
    chats.replace(first_save)  # the echo of the first save
    assert chats.by_member == {"@ann:x": ["!ann-chat"], "@ben:x": ["!ben-chat"]}
    assert chats.is_private("!ben-chat")
    # once the server's map shows a chat, the server is the truth about it again
    chats.replace({"@ann:x": ["!ann-chat"], "@ben:x": ["!ben-chat"]})
    chats.replace({"@ann:x": ["!ann-chat"]})  # another client of the account removed it
    assert chats.by_member == {"@ann:x": ["!ann-chat"]}


async def test_a_private_chat_made_ahead_is_the_members_after_a_restart_before_it_is_saved() -> (
    None
):
    """Killed after a reminder went into a chat made ahead but before the bot's map of
    private chats (m.direct) was saved, the restarted bot handed over another spare and the
    member got the reminder twice, in two chats. Which member a spare went to is in the
    session file from the write that takes it (before the invite; the map itself is saved
    after the reminder), and a restart adds it to the map."""
    session: list[list[str]] = []  # the session file's record of spares given away
    client = order.Client()
    _outbound, chats, _spares = order.rig(client, session)
    assert await chats.open(order.ANN) == (order.SPARE, False)
    assert session == [[order.ANN, order.SPARE]]  # killed now: m.direct not saved yet
    assert client.direct == {}
    restarted = PrivateChats(client, order.BOT, True, order.nothing)  # type: ignore[arg-type]
    await restarted.load(session)
    assert restarted.usable(order.ANN) == (order.SPARE, False)  # the resend goes there
    assert client.direct == {order.ANN: [order.SPARE]}
