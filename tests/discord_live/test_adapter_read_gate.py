"""``gate: read`` on Discord: a newcomer reads the circle only after agreeing to keep it.

#circle is closed to @everyone (the bot's role, the moderators' role and, in role mode, the
agreed role may view it). A member who joins the server is asked privately, with an Agree
button; pressing it lets them view the channel, through the agreed role or a per-member
overwrite. What a member reads is the fake's member view (tests/discord_fake/member_view.py):
the messages Discord would send them, and the history it would give them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bot.events import AccessRequested, MemberJoined, RoomMembers
from tests.discord_fake import FakeDiscord
from tests.discord_fake.member_view import MemberMissingAccess
from tests.discord_fake.permissions import READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL
from tests.discord_fake.state import GUILD_CATEGORY, FakeChannel, FakeMessage, FakeRole, FakeUser

from .conftest import REMINDER, AdapterScene, eventually

AGREE_ID = "confidant:agree:circle"
READS = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY
NEW_TEXT = "New words, what is shared here stays here, always."


def gated_policy(*, role: FakeRole | None = None, reask: str = "keep_access",
                 text: str = REMINDER) -> str:
    """The circle read-gated, the reminder's fallback in #lobby (everyone sees it)."""
    agreed = f'    agreed_role: "{role.id}"\n' if role is not None else ""
    return (
        "name: circle\nrooms:\n  - platform: discord\n    name: circle\n" + agreed
        + 'moderators:\n  - platform: discord\n    user: "{mod_id}"\n'
        + "alerts:\n  - platform: discord\n    name: mods\n"
        + f"reminder:\n  text: {text}\n  delivery: private\n  gate: read\n"
        + f"  reask: {reask}\n"
        + "  welcome_room:\n    platform: discord\n    name: lobby\n"
    )


def close_circle(fake: FakeDiscord, scene: AdapterScene, *allowed: FakeRole) -> None:
    """The channel settings 'gate: read' needs: @everyone may not view, the bot's role (and
    the moderators', and the agreed role) may."""
    from tests.discord_fake.state import FakeOverwrite

    circle, guild = scene.circle, scene.guild
    circle.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=VIEW_CHANNEL)
    for role in (scene.bot_role, scene.mod_role, *allowed):
        circle.overwrites[role.id] = FakeOverwrite(role.id, 0, allow=READS)


def agreed_role(fake: FakeDiscord, scene: AdapterScene) -> FakeRole:
    role = fake.world.add_role(scene.guild, "agreed")
    fake.world.move_role(scene.guild, role, 1)  # below the bot's role, so it can give it
    return role


def bot_messages(fake: FakeDiscord, channel: FakeChannel) -> list[FakeMessage]:
    """The bot's own posts there (not its answers to a press, which are interactions')."""
    bot = fake.world.bot_user.id
    found = [m for m in fake.world.messages.values()
             if m.channel_id == channel.id and m.author_id == bot and m.webhook_id is None]
    return sorted(found, key=lambda m: m.id)


def button_ids(message: FakeMessage) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row.get("components", [])]


async def nth_bot_message(fake: FakeDiscord, channel: FakeChannel, n: int) -> FakeMessage:
    await eventually(lambda: len(bot_messages(fake, channel)) >= n)
    return bot_messages(fake, channel)[n - 1]


async def press(fake: FakeDiscord, message: FakeMessage, user: FakeUser) -> None:
    interaction = await fake.events.component_click(message, AGREE_ID, user=user)
    await fake.wait_for_call("POST", f"/interactions/{interaction.id}/{interaction.token}/callback")


def reads(fake: FakeDiscord, user: FakeUser, channel: FakeChannel) -> list[str]:
    return [m.content for m in fake.member_views.received(user, channel)]


async def join_and_get_reminder(
    fake: FakeDiscord, scene: AdapterScene, name: str
) -> tuple[FakeUser, FakeChannel, FakeMessage]:
    user = fake.world.add_user(name)
    dm = fake.world.open_dm(user)
    await fake.events.member_add(scene.guild, user)
    reminder = await nth_bot_message(fake, dm, 1)
    return user, dm, reminder


async def assert_shut_out(fake: FakeDiscord, scene: AdapterScene, user: FakeUser) -> None:
    views = fake.member_views
    assert not views.can_view(user, scene.circle)
    with pytest.raises(MemberMissingAccess):
        views.history(user, scene.circle)
    await fake.events.message_create(scene.circle, scene.mod, "shared before")
    assert "shared before" not in reads(fake, user, scene.circle)


async def let_in_by_agreeing(
    fake: FakeDiscord, scene: AdapterScene, user: FakeUser, where: FakeMessage
) -> None:
    """Press Agree on ``where``; the member can view #circle soon after (bounded; how soon
    is benchmarks/read_gate_discord.py's to measure, not a test's)."""
    await press(fake, where, user)
    await eventually(lambda: fake.member_views.can_view(user, scene.circle))


async def assert_reads_from_now_on(fake: FakeDiscord, scene: AdapterScene, user: FakeUser) -> None:
    await fake.events.message_create(scene.circle, scene.mod, "shared after")
    assert reads(fake, user, scene.circle) == ["shared after"]  # not what came before
    assert "shared after" in [m.content for m in fake.member_views.history(user, scene.circle)]


async def test_server_join_dm_agree_then_reads_with_overwrites(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    close_circle(fake, adapter_scene)
    rig = await start_app(policy=gated_policy())
    carol, dm, reminder = await join_and_get_reminder(fake, adapter_scene, "carol")
    assert REMINDER in reminder.content and button_ids(reminder) == [AGREE_ID]
    await assert_shut_out(fake, adapter_scene, carol)
    assert not any(e.room.id == str(adapter_scene.circle.id) for e in rig.of_type(MemberJoined))
    await let_in_by_agreeing(fake, adapter_scene, carol, reminder)
    overwrite = adapter_scene.circle.overwrites[carol.id]
    assert (overwrite.type, overwrite.allow, overwrite.deny) == (1, READS, 0)
    told = await nth_bot_message(fake, dm, 2)
    assert told.content.startswith("You can now read circle.")
    await assert_reads_from_now_on(fake, adapter_scene, carol)
    assert await rig.app.store.has_access("discord", str(adapter_scene.circle.id), str(carol.id))
    # the moderator, who sees the channel anyway, was never asked
    mod_dm = fake.world.open_dm(adapter_scene.mod)
    assert fake.member_views.received(adapter_scene.mod, mod_dm) == []


async def test_role_mode_gives_the_agreed_role(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    role = agreed_role(fake, adapter_scene)
    close_circle(fake, adapter_scene, role)
    await start_app(policy=gated_policy(role=role))
    carol, dm, reminder = await join_and_get_reminder(fake, adapter_scene, "carol")
    await assert_shut_out(fake, adapter_scene, carol)
    await let_in_by_agreeing(fake, adapter_scene, carol, reminder)
    assert role.id in adapter_scene.guild.members[carol.id].role_ids
    assert carol.id not in adapter_scene.circle.overwrites  # the role, not an overwrite
    assert (await nth_bot_message(fake, dm, 2)).content.startswith("You can now read circle.")
    await assert_reads_from_now_on(fake, adapter_scene, carol)


async def test_closed_dms_get_the_rules_in_the_welcome_channel(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    close_circle(fake, adapter_scene)
    await start_app(policy=gated_policy())
    erin = fake.world.add_user("erin", accepts_dms=False)
    await fake.events.member_add(adapter_scene.guild, erin)
    post = await nth_bot_message(fake, adapter_scene.lobby, 1)
    assert post.content.startswith(f"<@{erin.id}>") and REMINDER in post.content
    assert button_ids(post) == [AGREE_ID]
    assert post.id in [m.id for m in fake.member_views.received(erin, adapter_scene.lobby)]
    await assert_shut_out(fake, adapter_scene, erin)
    await let_in_by_agreeing(fake, adapter_scene, erin, post)
    await assert_reads_from_now_on(fake, adapter_scene, erin)


async def test_start_check_alerts_moderators_with_the_fix(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """@everyone can view #circle: the moderators are told, once, with the fix; meanwhile
    newcomers see it and only their posting is held back, as 'gate: post' would."""
    rig = await start_app(policy=gated_policy())
    await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    alerts = [str(r.json["content"]) for r in
              fake.calls("POST", f"/channels/{adapter_scene.mods.id}/messages")]
    said = "\n".join(alerts)
    assert "@everyone can view #circle" in said
    assert "deny View Channel to @everyone and allow it to the bot's role 'Confidant'" in said
    assert "holds back only their posts" in said
    assert "@everyone can view #circle" in caplog.text
    carol = fake.world.add_user("carol")
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, carol)
    # the post gate: she is held back from posting in the channel she can see
    await fake.wait_for_call(
        "PUT", f"/channels/{adapter_scene.circle.id}/permissions/{carol.id}", since=mark
    )
    from tests.discord_fake.events import MemberCannot

    with pytest.raises(MemberCannot):
        await fake.events.message_create(adapter_scene.circle, carol, "hello")
    await rig.close()
    again = await start_app(policy=gated_policy())  # a new run tells again, once
    await eventually(lambda: len(
        fake.calls("POST", f"/channels/{adapter_scene.mods.id}/messages")) >= len(alerts) + 1)
    await asyncio.sleep(0.2)
    later = fake.calls("POST", f"/channels/{adapter_scene.mods.id}/messages")
    assert sum("@everyone can view #circle" in str(r.json["content"]) for r in later) == 2
    await again.close()


async def test_start_check_names_an_agreed_role_that_cannot_view(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    role = agreed_role(fake, adapter_scene)
    close_circle(fake, adapter_scene)  # the agreed role not allowed to view
    await start_app(policy=gated_policy(role=role))
    await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    await asyncio.sleep(0.1)
    said = "\n".join(str(r.json["content"]) for r in
                     fake.calls("POST", f"/channels/{adapter_scene.mods.id}/messages"))
    assert "the role 'agreed' given to members who agreed cannot view #circle" in said
    assert "@everyone can view" not in said


async def test_start_check_names_a_role_the_bot_cannot_give(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    role = fake.world.add_role(adapter_scene.guild, "agreed")  # above the bot's role
    close_circle(fake, adapter_scene, role)
    adapter_scene.circle.overwrites[adapter_scene.peer_role.id] = (
        adapter_scene.circle.overwrites[role.id].__class__(adapter_scene.peer_role.id, 0,
                                                           allow=VIEW_CHANNEL)
    )
    await start_app(policy=gated_policy(role=role))
    await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    await asyncio.sleep(0.1)
    said = "\n".join(str(r.json["content"]) for r in
                     fake.calls("POST", f"/channels/{adapter_scene.mods.id}/messages"))
    # the posting role's own check names the position once (grants.py), with its fix
    assert said.count("the bot's highest role 'Confidant' must be above the role 'agreed'") == 1
    assert "the role 'peer' can view #circle without agreeing" in said
    assert "moderator" not in said.split("'peer'")[0]  # the moderators' role is fine


async def test_changed_text_suspends_access_until_agreed_again(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    close_circle(fake, adapter_scene)
    rig = await start_app(policy=gated_policy(reask="suspend"))
    carol, dm, reminder = await join_and_get_reminder(fake, adapter_scene, "carol")
    await let_in_by_agreeing(fake, adapter_scene, carol, reminder)
    await nth_bot_message(fake, dm, 2)
    await rig.close()
    await start_app(policy=gated_policy(reask="suspend", text=NEW_TEXT))
    await eventually(lambda: not fake.member_views.can_view(carol, adapter_scene.circle))
    assert carol.id not in adapter_scene.circle.overwrites
    asked = await nth_bot_message(fake, dm, 3)
    assert NEW_TEXT in asked.content and button_ids(asked) == [AGREE_ID]
    await assert_shut_out(fake, adapter_scene, carol)
    await let_in_by_agreeing(fake, adapter_scene, carol, asked)


async def test_leaving_ends_access_and_a_return_is_admitted_without_agreeing_again(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    close_circle(fake, adapter_scene)
    rig = await start_app(policy=gated_policy())
    carol, dm, reminder = await join_and_get_reminder(fake, adapter_scene, "carol")
    await let_in_by_agreeing(fake, adapter_scene, carol, reminder)
    await nth_bot_message(fake, dm, 2)
    room = str(adapter_scene.circle.id)
    await fake.events.member_remove(adapter_scene.guild, carol)
    await eventually(lambda: carol.id not in adapter_scene.circle.overwrites)
    for _ in range(300):
        if not await rig.app.store.has_access("discord", room, str(carol.id)):
            break
        await asyncio.sleep(0.01)
    assert not await rig.app.store.has_access("discord", room, str(carol.id))
    await fake.events.member_add(adapter_scene.guild, carol)
    await eventually(lambda: fake.member_views.can_view(carol, adapter_scene.circle))
    welcome_back = await nth_bot_message(fake, dm, 3)
    assert welcome_back.content.startswith("You can now read circle.")
    assert len(bot_messages(fake, dm)) == 3 and button_ids(welcome_back) == []  # no new ask
    assert await rig.app.store.has_access("discord", room, str(carol.id))


async def test_a_restart_does_not_remind_twice(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    close_circle(fake, adapter_scene)
    rig = await start_app(policy=gated_policy())
    carol, dm, _ = await join_and_get_reminder(fake, adapter_scene, "carol")
    await rig.close()
    again = await start_app(policy=gated_policy())
    await fake.events.member_update(adapter_scene.guild, carol, nick="caz")
    await asyncio.sleep(0.3)
    assert len(bot_messages(fake, dm)) == 1
    assert not fake.member_views.can_view(carol, adapter_scene.circle)
    await again.close()


async def test_a_role_that_shows_the_category_asks_for_the_channel(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """In a category only verified members see, joining the server asks nothing; being
    given the role that shows the category asks for the gated channel in it."""
    from tests.discord_fake.state import FakeOverwrite

    world, guild = fake.world, adapter_scene.guild
    verified = world.add_role(guild, "verified")
    category = world.add_channel(guild, "support", type=GUILD_CATEGORY)
    category.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=VIEW_CHANNEL)
    category.overwrites[verified.id] = FakeOverwrite(verified.id, 0, allow=VIEW_CHANNEL)
    adapter_scene.circle.parent_id = category.id
    close_circle(fake, adapter_scene)
    await start_app(policy=gated_policy())
    dana = world.add_user("dana")
    dm = world.open_dm(dana)
    await fake.events.member_add(guild, dana, pending=True)
    await asyncio.sleep(0.3)
    assert bot_messages(fake, dm) == []
    await fake.events.member_update(guild, dana, roles=[verified], pending=False)
    reminder = await nth_bot_message(fake, dm, 1)
    assert REMINDER in reminder.content
    await let_in_by_agreeing(fake, adapter_scene, dana, reminder)


async def test_a_pending_member_counts_as_joined(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    close_circle(fake, adapter_scene)
    await start_app(policy=gated_policy())
    frank = fake.world.add_user("frank")
    dm = fake.world.open_dm(frank)
    await fake.events.member_add(adapter_scene.guild, frank, pending=True)
    reminder = await nth_bot_message(fake, dm, 1)
    assert button_ids(reminder) == [AGREE_ID]


async def test_a_refused_grant_lets_nobody_believe_they_can_read(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Discord answers 403 (the agreed role is above the bot's): the grant is not done, the
    member is not told they can read, and the moderators hear what was refused."""
    role = fake.world.add_role(adapter_scene.guild, "agreed")  # above the bot's role
    close_circle(fake, adapter_scene, role)
    rig = await start_app(policy=gated_policy(role=role))
    carol, dm, reminder = await join_and_get_reminder(fake, adapter_scene, "carol")
    mark = fake.requests.mark()
    await press(fake, reminder, carol)
    route = f"/guilds/{adapter_scene.guild.id}/members/{carol.id}/roles/{role.id}"
    calls = await fake.wait_for_call("PUT", route, since=mark, count=2)
    assert {c.status for c in calls} == {403}
    await eventually(lambda: any(
        "letting a member who agreed read the room" in str(r.json["content"])
        for r in fake.calls("POST", f"/channels/{adapter_scene.mods.id}/messages")
    ))
    assert len(bot_messages(fake, dm)) == 1  # no "You can now read circle."
    assert not fake.member_views.can_view(carol, adapter_scene.circle)
    room = str(adapter_scene.circle.id)
    assert not await rig.app.store.has_access("discord", room, str(carol.id))


async def test_a_reload_that_gates_the_room_checks_it_at_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], tmp_path: Any
) -> None:
    """A policy reloaded from 'gate: post' to 'gate: read' is checked then, not at the next
    start: the moderators hear that @everyone still sees the channel."""
    post_gated = gated_policy().replace("gate: read", "gate: post").replace(
        "  welcome_room:\n    platform: discord\n    name: lobby\n", ""
    )
    rig = await start_app(policy=post_gated)
    await asyncio.sleep(0.2)
    mods = f"/channels/{adapter_scene.mods.id}/messages"
    assert not any("@everyone can view" in str(r.json["content"]) for r in fake.calls("POST", mods))
    mark = len(rig.events)
    await fake.events.message_create(adapter_scene.circle, adapter_scene.mod, "hello")  # seen
    await rig.wait_for_event(lambda e: type(e).__name__ == "MessagePosted", since=mark)
    (tmp_path / "policies" / "circle.yaml").write_text(
        gated_policy().replace("{mod_id}", str(adapter_scene.mod.id)), encoding="utf-8"
    )
    await fake.events.slash_command(
        "policy", user=adapter_scene.mod, channel=adapter_scene.mods, subcommand="reload"
    )
    await eventually(lambda: any(
        "@everyone can view #circle" in str(r.json["content"]) for r in fake.calls("POST", mods)
    ))


async def test_a_removed_member_is_not_let_back_in_by_agreeing(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """A member a moderator removed (a View Channel deny for them) who leaves and joins the
    server again is neither asked nor let in: agreeing does not undo a removal."""
    from tests.discord_fake.state import FakeOverwrite

    close_circle(fake, adapter_scene)
    rig = await start_app(policy=gated_policy())
    carol, dm, reminder = await join_and_get_reminder(fake, adapter_scene, "carol")
    await let_in_by_agreeing(fake, adapter_scene, carol, reminder)
    await nth_bot_message(fake, dm, 2)
    circle = adapter_scene.circle
    circle.overwrites[carol.id] = FakeOverwrite(carol.id, 1, deny=VIEW_CHANNEL)  # removed
    await fake.events.channel_update(circle)
    await fake.events.member_remove(adapter_scene.guild, carol)
    mark = len(rig.events)
    await fake.events.member_add(adapter_scene.guild, carol)
    await rig.wait_for_event(lambda e: type(e).__name__ == "MemberJoined", since=mark)
    await asyncio.sleep(0.3)
    assert not rig.of_type(AccessRequested)[1:]  # only the first join asked
    assert not fake.member_views.can_view(carol, circle)
    assert circle.overwrites[carol.id].deny == VIEW_CHANNEL
    assert len(bot_messages(fake, dm)) == 2


async def test_a_join_while_the_bot_was_away_is_asked_once_after_the_restart(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Who joined the server after the channel's last complete count (the bot was down) and
    cannot see it is asked once the whole member list is in; who was there before is not,
    and a further restart asks nobody again."""
    import datetime as dt

    fake.gateway.member_requests.window_s = 0.3  # shortened, never off
    before_count = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # the rig's clock starts 2026-01-05
    for member in adapter_scene.guild.members.values():
        member.joined_at = before_count
    close_circle(fake, adapter_scene)
    circle = str(adapter_scene.circle.id)

    async def counted(rig: Any) -> None:
        await rig.wait_for_event(
            lambda e: isinstance(e, RoomMembers) and e.room.id == circle, timeout=5.0
        )

    first = await start_app(policy=gated_policy())
    await counted(first)
    await first.close()
    dana = fake.world.add_user("dana")  # joined while the bot was down
    fake.world.add_member(adapter_scene.guild, dana).joined_at = dt.datetime(
        2026, 1, 5, 10, tzinfo=dt.UTC
    )
    dm = fake.world.open_dm(dana)
    second = await start_app(policy=gated_policy())
    await counted(second)
    reminder = await nth_bot_message(fake, dm, 1)
    assert REMINDER in reminder.content and button_ids(reminder) == [AGREE_ID]
    alice_dm = fake.world.open_dm(adapter_scene.alice)
    assert bot_messages(fake, alice_dm) == []  # there before the count: not asked
    await second.close()
    third = await start_app(policy=gated_policy())
    await counted(third)
    await asyncio.sleep(0.2)
    assert len(bot_messages(fake, dm)) == 1
    await let_in_by_agreeing(fake, adapter_scene, dana, reminder)


async def test_the_overwrite_cap_is_told_as_a_refusal_naming_the_agreed_role(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Without a role each member who agreed takes one of the channel's 1000 overwrites;
    past that Discord answers 30060: not done, and the moderators are told the way out."""
    close_circle(fake, adapter_scene)
    fake.world.limits.max_overwrites = len(adapter_scene.circle.overwrites)  # full
    await start_app(policy=gated_policy())
    carol, dm, reminder = await join_and_get_reminder(fake, adapter_scene, "carol")
    await press(fake, reminder, carol)
    await eventually(lambda: any(
        "name an 'agreed_role' for it in the policy" in str(r.json["content"])
        for r in fake.calls("POST", f"/channels/{adapter_scene.mods.id}/messages")
    ))
    assert len(bot_messages(fake, dm)) == 1
    assert not fake.member_views.can_view(carol, adapter_scene.circle)


async def test_members_who_already_see_the_channel_are_not_asked(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """They joined it (MemberJoined, the ordinary join: a moderator-role holder is reminded
    as in any covered room), they do not ask to read it."""
    role = agreed_role(fake, adapter_scene)
    close_circle(fake, adapter_scene, role)
    rig = await start_app(policy=gated_policy(role=role))
    newcomers = []
    for name, roles in (("gwen", [adapter_scene.mod_role]), ("hal", [role]), ("ida", [])):
        user = fake.world.add_user(name)
        fake.world.open_dm(user)
        await fake.events.member_add(adapter_scene.guild, user, roles=roles)
        newcomers.append(user)
    ida_dm = fake.world.open_dm(newcomers[2])
    await nth_bot_message(fake, ida_dm, 1)  # the one who cannot see it is asked
    asked = {e.member.id for e in rig.of_type(AccessRequested)}
    assert asked == {str(newcomers[2].id)}
    joined = {e.member.id for e in rig.of_type(MemberJoined) if e.room.name == "circle"}
    assert joined >= {str(u.id) for u in newcomers[:2]}


async def test_a_policy_moderator_who_cannot_see_it_is_let_in_on_joining(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    close_circle(fake, adapter_scene)
    await start_app(policy=gated_policy())
    mod, guild = adapter_scene.mod, adapter_scene.guild
    dm = fake.world.open_dm(mod)
    await fake.events.member_remove(guild, mod)
    await fake.events.member_add(guild, mod)  # back without the moderators' role
    await eventually(lambda: fake.member_views.can_view(mod, adapter_scene.circle))
    told = await nth_bot_message(fake, dm, 1)
    assert told.content.startswith("You can now read circle.") and button_ids(told) == []
