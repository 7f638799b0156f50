"""Members' reports on Discord, against the protocol fake: /report is a slash command whose
options and answer only the member sees; the moderators' alert carries a jump link to where
the member points; /answer reaches the member by DM, and closed DMs are told to the
moderators as not delivered, never posted in a room."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.discord_fake import FakeDiscord
from tests.discord_fake.events import MemberCannot
from tests.discord_fake.permissions import CREATE_PRIVATE_THREADS
from tests.discord_fake.state import PRIVATE_THREAD, FakeChannel, FakeUser

from .conftest import ADAPTER_POLICY, AdapterScene

EPHEMERAL = 64
WORDS = "my story from tuesday was retold here canary-5d21"


async def slash(
    fake: FakeDiscord, user: FakeUser, channel: FakeChannel, command: str, **options: str | int
) -> str:
    """Run /``command`` in a server channel; the answer must be ephemeral (only ``user``
    sees it)."""
    interaction = await fake.events.slash_command(
        command, user=user, channel=channel, options=options or None
    )
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route)
    assert callback.json["data"]["flags"] == EPHEMERAL
    return str(callback.json["data"]["content"])


def posts_in(fake: FakeDiscord, channel: FakeChannel, since: int) -> list[str]:
    return [
        str(c.json.get("content"))
        for c in fake.calls("POST", f"/channels/{channel.id}/messages", since=since)
    ]


def jump(scene: AdapterScene, channel: FakeChannel, message_id: int | None = None) -> str:
    link = f"https://discord.com/channels/{scene.guild.id}/{channel.id}"
    return f"{link}/{message_id}" if message_id is not None else link


async def test_report_with_a_link_alerts_with_a_jump_link_and_the_answer_is_a_dm(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice, mod = adapter_scene, adapter_scene.alice, adapter_scene.mod
    await start_app()
    retold = await fake.events.message_create(scene.lobby, mod, "something posted in the lobby")
    mark = fake.requests.mark()
    reply = await slash(
        fake, alice, scene.circle, "report", link=jump(scene, scene.lobby, retold.id), words=WORDS
    )
    assert "Your report (1) is with the moderators" in reply
    assert "They do not see who you are" in reply
    [alert] = await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    text = str(alert.json["content"])
    assert text.startswith("Report 1 from a member who asked to stay anonymous")
    assert f"Where: {jump(scene, scene.lobby, retold.id)}" in text
    assert WORDS in text  # she chose to add them
    assert "alice" not in text and str(alice.id) not in text
    assert "/answer 1 <your answer>" in text
    # nothing in the member's channel, nor in the lobby: only the moderators heard
    assert posts_in(fake, scene.circle, mark) == [] and posts_in(fake, scene.lobby, mark) == []

    dm = fake.world.open_dm(alice)
    mark = fake.requests.mark()
    answer = await slash(fake, mod, scene.mods, "answer", id=1, text="Thank you, it is removed.")
    assert "on its way to the member's private messages" in answer
    [sent] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    expected = "A moderator answered your report 1:\n\nThank you, it is removed."
    assert sent.json["content"] == expected
    assert posts_in(fake, scene.mods, mark) == []  # delivered: nothing to tell the moderators
    assert fake.unexpected_calls() == []


async def test_named_report_about_the_room_links_the_channel(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice = adapter_scene, adapter_scene.alice
    await start_app()
    mark = fake.requests.mark()
    reply = await slash(fake, alice, scene.circle, "report", name="named")
    assert "They can see that it came from you" in reply
    [alert] = await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    text = str(alert.json["content"])
    assert text.startswith(f"Report 1 from Alice (discord user {alice.id})")
    assert "about the room circle" in text
    assert f"Where: {jump(scene, scene.circle)}" in text
    assert "They added no words of their own." in text


async def test_answer_to_closed_dms_is_told_to_the_moderators_not_posted(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice, mod = adapter_scene, adapter_scene.alice, adapter_scene.mod
    await start_app()
    mark = fake.requests.mark()
    await slash(fake, alice, scene.circle, "report")
    await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    fake.world.users[alice.id].accepts_dms = False
    mark = fake.requests.mark()
    answer = await slash(fake, mod, scene.mods, "answer", id=1, text="We are looking at it.")
    assert "delivered" not in answer.replace("cannot be delivered", "")  # no false claim
    [note] = await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    text = str(note.json["content"])
    assert "could not be delivered" in text and "not posted anywhere else" in text
    assert "We are looking at it" not in text
    # the DM was tried and refused (50007); no channel got a post naming alice
    assert fake.calls("POST", "/channels/{c}/messages", since=mark)
    assert posts_in(fake, scene.circle, mark) == [] and posts_in(fake, scene.lobby, mark) == []


async def test_members_cannot_answer_reports(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """/answer is a moderators' command: Discord does not even offer it to alice (it needs
    Manage Messages), and the core would refuse it if she had it."""
    scene, alice = adapter_scene, adapter_scene.alice
    await start_app()
    await slash(fake, alice, scene.circle, "report")
    with pytest.raises(MemberCannot):
        await fake.events.slash_command(
            "answer", user=alice, channel=scene.circle, options={"id": 1, "text": "hi"}
        )


async def test_report_typed_in_the_dm_reads_its_link(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """No slash commands in a DM: the typed line's link is parsed as in a post, and the
    report goes to the one community on this server."""
    scene, alice, mod = adapter_scene, adapter_scene.alice, adapter_scene.mod
    await start_app()
    retold = await fake.events.message_create(scene.lobby, mod, "a post in the lobby")
    dm = fake.world.open_dm(alice)
    mark = fake.requests.mark()
    link = jump(scene, scene.lobby, retold.id)
    await fake.events.message_create(dm, alice, f"/report {link} this retells my share")
    [alert] = await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    text = str(alert.json["content"])
    assert f"Where: {link}" in text and "this retells my share" in text
    assert link not in text.split("In their own words:")[1]  # the link is not in her words
    [thanks] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert "Your report (1) is with the moderators" in str(thanks.json["content"])


async def test_closed_dms_named_report_answer_goes_to_a_private_thread(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """With the policy's private_thread fallback (and Create Private Threads granted, as the
    README says for it) a named reporter with closed DMs gets the answer in a private thread
    of the channel they reported from; the channel itself gets nothing."""
    scene, alice, mod = adapter_scene, adapter_scene.alice, adapter_scene.mod
    fake.world.grant_bot(scene.guild, CREATE_PRIVATE_THREADS)
    await start_app(
        policy=ADAPTER_POLICY.replace(
            "  delivery: private\n", "  delivery: private\n  fallback: private_thread\n"
        )
    )
    mark = fake.requests.mark()
    await slash(fake, alice, scene.circle, "report", name="named")
    await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    fake.world.users[alice.id].accepts_dms = False
    mark = fake.requests.mark()
    answer = await slash(fake, mod, scene.mods, "answer", id=1, text="We saw it, thank you.")
    assert "a private thread with them" in answer
    [created] = await fake.wait_for_call("POST", f"/channels/{scene.circle.id}/threads", since=mark)
    assert created.json["type"] == PRIVATE_THREAD and created.json["invitable"] is False
    [thread] = [c for c in fake.world.channels.values() if c.parent_id == scene.circle.id]
    [posted] = await fake.wait_for_call("POST", f"/channels/{thread.id}/messages", since=mark)
    assert "A moderator answered your report 1:" in posted.json["content"]
    assert "We saw it, thank you." in posted.json["content"]
    assert alice.id in thread.thread_member_ids
    assert posts_in(fake, scene.circle, mark) == [] and posts_in(fake, scene.mods, mark) == []


async def test_an_answer_to_a_member_who_left_is_told_to_the_moderators(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """She left the server (Discord answers the DM with 50278): the moderators hear the
    answer was not delivered, as for closed DMs, instead of nothing at all."""
    scene, alice, mod = adapter_scene, adapter_scene.alice, adapter_scene.mod
    await start_app()
    mark = fake.requests.mark()
    await slash(fake, alice, scene.circle, "report")
    await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    await fake.events.member_remove(scene.guild, alice)
    mark = fake.requests.mark()
    await slash(fake, mod, scene.mods, "answer", id=1, text="We are looking at it.")
    [note] = await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    assert "could not be delivered" in str(note.json["content"])
