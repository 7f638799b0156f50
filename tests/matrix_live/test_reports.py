"""A member's report on a real Synapse: typed in the member's private chat with the bot,
pointing at a message by its permalink; the moderators' room gets the alert with the
permalink and the member's words, and the moderator's !answer reaches the member in that
same encrypted private chat, nowhere else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nio import AsyncClient, JoinResponse

from adapters.matrix.homeserver import LocalSynapse
from adapters.matrix.translate import permalink
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import BotWorld, create_world, send, wait_until, watch

WORDS = "this retells what I shared on tuesday canary-4b9e"
ANSWER = "Thank you for telling us; we are on it."


@pytest.fixture
async def world(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> AsyncIterator[BotWorld]:
    built = await create_world(synapse, tmp_path, matrix_client)
    try:
        await built.start_bot()
        await wait_until([built.mod], built.bot_joined, "the bot joined the covered room")
        yield built
    finally:
        await built.stop_bot()


async def test_report_in_the_private_chat_and_the_answer_come_back_there(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    mod_notices = watch(world.mod)
    pointed = await send(world.mod, world.room_id, {"msgtype": "m.text", "body": "a post"})
    alice: AsyncClient = await matrix_client("alice")
    notices = watch(alice)
    await sync_once(alice)
    joined = await alice.join(world.room_id)
    assert isinstance(joined, JoinResponse), joined
    # the reminder opens the encrypted private chat the member reports from
    await wait_until([alice], lambda: bool(notices.containing("reminder")), "the reminder")
    [dm] = {rid for rid, _ in notices.containing("reminder")}
    assert dm not in (world.room_id, world.mods_room) and alice.rooms[dm].encrypted

    link = permalink(world.room_id, pointed)
    line = f"!report named {link} {WORDS}"
    await send(alice, dm, {"msgtype": "m.text", "body": line})
    await wait_until(
        [alice, world.mod],
        lambda: bool(notices.containing("Your report (1)"))
        and bool(mod_notices.containing("Report 1 from")),
        "the member's thanks and the moderators' alert",
    )
    [(thanks_room, thanks)] = notices.containing("Your report (1)")
    assert thanks_room == dm and "They can see that it came from you" in thanks
    [(alert_room, alert)] = mod_notices.containing("Report 1 from")
    assert alert_room == world.mods_room
    assert alert.startswith("Report 1 from ") and alice.user_id in alert.split("\n")[0]
    assert f"Where: {permalink(world.room_id, pointed)}" in alert
    assert WORDS in alert and "!answer 1 <your answer>" in alert
    # nothing about the report in the covered room
    assert not any("Report" in body for body in mod_notices.in_room(world.room_id))

    await send(world.mod, world.mods_room, {"msgtype": "m.text", "body": f"!answer 1 {ANSWER}"})
    await wait_until(
        [alice, world.mod],
        lambda: bool(notices.containing(ANSWER)),
        "the answer in the member's private chat",
    )
    [(answer_room, answer)] = notices.containing(ANSWER)
    assert answer_room == dm and answer.startswith("A moderator answered your report 1:")
    assert notices.undecryptable == []
    assert not any(ANSWER in body for _, body in mod_notices.seen)
    # the store kept neither the words nor the answer nor alice's id
    assert world.app is not None
    [report] = await world.app.store.member_reports_of(
        world.app.core.reports.member_key("matrix", alice.user_id)  # type: ignore[union-attr]
    )
    assert report.named and report.answers == 1
    raw = (world.tmp / "confidant.db").read_bytes()
    assert b"canary-4b9e" not in raw and ANSWER.encode() not in raw
