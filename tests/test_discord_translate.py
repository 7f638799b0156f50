"""The Discord adapter's pure rules, with plain stand-ins shaped like discord.py's objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord import app_commands

from adapters.discord.commands import build_commands
from adapters.discord.translate import (
    MAX_MESSAGE,
    affected_by,
    canonical_commands,
    changed_overwrite_targets,
    command_options,
    edit_event,
    guild_message_event,
    is_conversation,
    is_edit,
    linked_guilds,
    nonce_for,
    parse_message_links,
    permission_report,
    posting_overwrite,
    private_error_kind,
    private_message_event,
    room_of,
    short_description,
    split_text,
    with_mention,
)
from bot.app import build_registry
from bot.commands import CommandSpec, Param, Permission, Registry
from bot.events import CommandInvoked, Member, MessageRef, PrivateReply, Room

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FORWARD = discord.MessageReferenceType.forward
REPLY = discord.MessageReferenceType.reply


def user(user_id: int = 7, name: str = "Alice", bot: bool = False) -> SimpleNamespace:
    return SimpleNamespace(id=user_id, display_name=name, bot=bot)


def text_channel(channel_id: int = 100, name: str = "circle") -> SimpleNamespace:
    return SimpleNamespace(id=channel_id, name=name, type=discord.ChannelType.text)


def message(content: str = "", **fields: Any) -> SimpleNamespace:
    base: dict[str, Any] = {
        "id": 900,
        "content": content,
        "channel": text_channel(),
        "author": user(),
        "type": discord.MessageType.default,
        "reference": None,
        "message_snapshots": [],
    }
    return SimpleNamespace(**{**base, **fields})


# -- links --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "discord.com",
        "ptb.discord.com",
        "canary.discord.com",
        "discordapp.com",
        "canary.discordapp.com",
    ],
)
def test_message_links_on_every_discord_host_are_found(host: str) -> None:
    refs = parse_message_links(f"look: https://{host}/channels/11/22/33 ok")
    assert refs == (MessageRef("discord", "22", "33"),)


def test_linked_guilds_name_the_server_of_each_linked_channel() -> None:
    text = (
        "https://discord.com/channels/1/22/333 and https://ptb.discord.com/channels/4/55/666 "
        "and https://discord.com/channels/@me/77/888"
    )
    assert linked_guilds(text) == {"22": 1, "55": 4}


def test_message_links_are_deduplicated_in_order_and_dm_links_count() -> None:
    text = (
        "https://discord.com/channels/1/2/3 and <https://discord.com/channels/@me/4/5> "
        "and again https://ptb.discord.com/channels/1/2/3"
    )
    assert parse_message_links(text) == (
        MessageRef("discord", "2", "3"),
        MessageRef("discord", "4", "5"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "http://discord.com/channels/1/2/3",  # not https
        "https://evil-discord.com/channels/1/2/3",
        "https://discord.com/channels/1/2",  # a channel, not a message
        "https://beta.discord.com/channels/1/2/3",
        "https://discord.com/invite/abc",
        "no links at all",
    ],
)
def test_things_that_are_not_message_links(text: str) -> None:
    assert parse_message_links(text) == ()


# -- messages -------------------------------------------------------------------------------


def test_a_plain_post_becomes_message_posted() -> None:
    event = guild_message_event(message("hello https://discord.com/channels/1/2/3"), AT)
    assert event.room == Room("discord", "100", "circle")
    assert event.author == Member("discord", "7", "Alice", False)
    assert (event.message_id, event.at) == ("900", AT)
    assert event.links == (MessageRef("discord", "2", "3"),)
    assert event.reply_to is None and event.forward_of is None


def test_a_forward_takes_its_text_from_the_snapshots() -> None:
    reference = SimpleNamespace(type=FORWARD, channel_id=55, message_id=66, guild_id=1)
    snapshots = [SimpleNamespace(content="shared in confidence")]
    event = guild_message_event(message("", reference=reference, message_snapshots=snapshots), AT)
    assert event.forward_of == MessageRef("discord", "55", "66")
    assert event.text == "shared in confidence"
    assert event.reply_to is None


def test_a_forward_of_a_link_yields_the_link_too() -> None:
    reference = SimpleNamespace(type=FORWARD, channel_id=55, message_id=66, guild_id=1)
    snapshots = [SimpleNamespace(content="https://discord.com/channels/1/8/9")]
    event = guild_message_event(message("", reference=reference, message_snapshots=snapshots), AT)
    assert event.links == (MessageRef("discord", "8", "9"),)


def test_a_reply_points_at_the_message_it_answers() -> None:
    reference = SimpleNamespace(type=REPLY, channel_id=100, message_id=42, guild_id=1)
    event = guild_message_event(
        message("me too", type=discord.MessageType.reply, reference=reference), AT
    )
    assert event.reply_to == MessageRef("discord", "100", "42")
    assert event.forward_of is None
    assert event.text == "me too"


def test_threads_are_rooms_that_name_their_parent() -> None:
    thread = SimpleNamespace(
        id=300, name="tuesday", parent_id=100, type=discord.ChannelType.private_thread
    )
    assert room_of(thread) == Room("discord", "300", "tuesday", parent_id="100")
    assert room_of(text_channel()).parent_id is None


def test_only_posts_and_replies_are_conversation() -> None:
    assert is_conversation(message(type=discord.MessageType.default))
    assert is_conversation(message(type=discord.MessageType.reply))
    assert not is_conversation(message(type=discord.MessageType.new_member))
    assert not is_conversation(message(type=discord.MessageType.pins_add))


def test_edits_carry_the_new_text() -> None:
    event = edit_event(message("final"), AT)
    assert (event.message_id, event.text, event.room.name) == ("900", "final", "circle")
    assert event.links == () and not event.relayed


def test_an_edit_carries_the_links_of_its_new_text() -> None:
    event = edit_event(message("now see https://discord.com/channels/1/2/3"), AT)
    assert event.links == (MessageRef("discord", "2", "3"),)


def test_an_update_is_an_edit_only_with_a_new_edit_time() -> None:
    earlier = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    edited = message("x", edited_at=AT)
    # a link preview of a never-edited message: no edit time at all
    assert not is_edit({"edited_timestamp": None}, message("x", edited_at=None), None)
    # a link preview after an edit keeps that edit's time, which the cached copy has
    assert not is_edit({"edited_timestamp": AT.isoformat()}, edited, message("x", edited_at=AT))
    assert is_edit({"edited_timestamp": AT.isoformat()}, edited, message("x", edited_at=earlier))
    assert is_edit({"edited_timestamp": AT.isoformat()}, edited, message("x", edited_at=None))
    assert is_edit({"edited_timestamp": AT.isoformat()}, edited, None)  # not cached: an edit


def test_a_webhook_post_is_relayed_under_the_name_it_was_posted_with() -> None:
    hook = user(4242, "Sunny", bot=True)
    event = guild_message_event(message("hello", author=hook, webhook_id=4242), AT)
    assert event.relayed
    assert event.author == Member("discord", "4242", "Sunny", True)
    assert not guild_message_event(message("hello", webhook_id=None), AT).relayed
    assert edit_event(message("hello", author=hook, webhook_id=4242), AT).relayed


# -- direct messages ------------------------------------------------------------------------------


def dm(content: str) -> SimpleNamespace:
    channel = SimpleNamespace(id=500, type=discord.ChannelType.private)
    return message(content, channel=channel)


def test_direct_message_commands_are_parsed_with_the_registry() -> None:
    registry = build_registry()
    agree = private_message_event(dm("/agree"), registry, AT)
    assert isinstance(agree, CommandInvoked)
    assert (agree.name, agree.argv, agree.reply_handle) == ("agree", (), None)
    assert agree.room.is_private_chat and agree.room.id == "500"
    show = private_message_event(dm("/policy show circle"), registry, AT)
    assert isinstance(show, CommandInvoked)
    assert (show.name, show.argv) == ("policy show", ("circle",))
    unknown = private_message_event(dm("/agreee"), registry, AT)
    assert isinstance(unknown, CommandInvoked) and unknown.name == "agreee"


def test_other_direct_messages_are_private_replies() -> None:
    reply = private_message_event(dm("thanks, will do"), build_registry(), AT)
    assert isinstance(reply, PrivateReply)
    assert reply.text == "thanks, will do" and reply.member.id == "7"
    assert reply.room.is_private_chat


# -- commands ----------------------------------------------------------------------------------


def test_command_options_are_strings_and_unset_ones_left_out() -> None:
    assert command_options({"name": "circle", "count": 3, "other": None}) == (
        ("name", "circle"),
        ("count", "3"),
    )


def test_descriptions_fit_discords_limit() -> None:
    assert short_description("a " * 80).endswith("…")
    assert len(short_description("x" * 300)) == 100
    assert short_description("  two\n words ") == "two words"


SENT = {
    "name": "policy",
    "description": "policy commands",
    "type": 1,
    "options": [
        {
            "name": "show",
            "description": "show it",
            "type": 1,
            "options": [{"type": 3, "name": "name", "description": "n", "required": False}],
        },
    ],
    "nsfw": False,
    "dm_permission": True,
    "default_member_permissions": 8192,
    "contexts": None,
    "integration_types": None,
}
STORED = {
    "id": "123",
    "application_id": "9",
    "version": "77",
    "guild_id": "1",
    "name": "policy",
    "description": "policy commands",
    "type": 1,
    "options": [
        {
            "name": "show",
            "description": "show it",
            "type": 1,
            "options": [{"type": 3, "name": "name", "description": "n"}],
        },
    ],
    "default_member_permissions": "8192",
    "nsfw": False,
    "contexts": [0, 1, 2],
}


def test_what_discord_reports_back_compares_equal_to_what_was_sent() -> None:
    assert canonical_commands([SENT]) == canonical_commands([STORED])
    agree = {"name": "agree", "description": "d", "type": 1, "options": []}
    assert canonical_commands([SENT, agree]) == canonical_commands([agree, STORED])


@pytest.mark.parametrize(
    "change",
    [
        {"description": "new words"},
        {"default_member_permissions": None},
        {"options": []},
    ],
)
def test_a_real_difference_is_seen(change: dict[str, Any]) -> None:
    assert canonical_commands([SENT]) != canonical_commands([{**STORED, **change}])


def test_a_missing_command_is_a_difference() -> None:
    agree = {"name": "agree", "description": "d", "type": 1, "options": []}
    assert canonical_commands([SENT, agree]) != canonical_commands([STORED])


def registry_with_extras() -> Registry:
    registry = build_registry()
    registry.register(
        CommandSpec(
            "mood",
            "say how you are",
            params=(
                Param("mood", "one word", choices=("good", "bad")),
                Param("note", "anything", required=False),
                Param("minutes", "how long", kind=int),
            ),
        )
    )
    registry.register(CommandSpec("room status", "a member command in a group"))
    registry.register(CommandSpec("room lock", "a moderator one", Permission.MODERATOR))
    return registry


def test_the_registry_becomes_slash_commands_and_groups() -> None:
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    commands = {c.name: c.to_dict(tree) for c in build_commands(registry_with_extras(), _noop)}
    assert sorted(commands) == [
        "agree",
        "agreements",
        "answer",
        "audit",
        "checkin",
        "claim",
        "flag",
        "flags",
        "forgetme",
        "help",
        "mood",
        "mydata",
        "policy",
        "report",
        "room",
        "rules",
    ]
    checkin = commands["mood"]
    options = {o["name"]: o for o in checkin["options"]}
    assert options["mood"]["choices"] == [
        {"name": "good", "value": "good"},
        {"name": "bad", "value": "bad"},
    ]
    assert (options["mood"]["type"], options["mood"]["required"]) == (3, True)
    assert (options["minutes"]["type"], options["minutes"]["required"]) == (4, True)
    assert options["note"]["required"] is False
    assert [o["name"] for o in checkin["options"]][-1] == "note"  # required options first
    assert checkin["default_member_permissions"] is None
    assert commands["policy"]["default_member_permissions"] == 8192
    # a group mixing member and moderator commands cannot hide itself from members
    assert commands["room"]["default_member_permissions"] is None
    assert sorted(o["name"] for o in commands["room"]["options"]) == ["lock", "status"]


async def test_a_generated_command_hands_its_spec_and_values_to_the_adapter() -> None:
    calls: list[tuple[str, dict[str, object]]] = []

    async def invoke(spec: CommandSpec, interaction: Any, values: Mapping[str, object]) -> None:
        calls.append((spec.name, dict(values)))

    commands = {c.name: c for c in build_commands(registry_with_extras(), invoke)}
    checkin = commands["mood"]
    assert isinstance(checkin, app_commands.Command)
    await checkin.callback(object(), mood="good", minutes=5, note=None)  # type: ignore[call-arg]
    group = commands["policy"]
    assert isinstance(group, app_commands.Group)
    show = group.get_command("show")
    assert isinstance(show, app_commands.Command)
    await show.callback(object(), name="circle")  # type: ignore[call-arg]
    assert calls == [
        ("mood", {"mood": "good", "minutes": 5, "note": None}),
        ("policy show", {"name": "circle"}),
    ]


async def _noop(spec: CommandSpec, interaction: Any, values: Mapping[str, object]) -> None:
    return None


# -- outgoing --------------------------------------------------------------------------------


def test_long_texts_are_split_readably_within_the_limit() -> None:
    paragraphs = [f"paragraph {i} " + "word " * 150 for i in range(8)]
    text = "\n\n".join(paragraphs)
    parts = split_text(text)
    assert len(parts) > 1
    assert all(0 < len(p) <= MAX_MESSAGE for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())  # nothing lost
    assert all(p.startswith("paragraph") for p in parts)  # cut between paragraphs
    assert split_text("short") == ["short"]
    unbroken = "x" * (MAX_MESSAGE + 10)
    assert [len(p) for p in split_text(unbroken)] == [MAX_MESSAGE, 10]


def test_nonces_are_short_stable_and_distinct_per_part() -> None:
    key = "rem-" + "a" * 32 + "/fallback"
    assert nonce_for(key) == nonce_for(key)
    assert len(nonce_for(key) or "") == 25
    assert nonce_for(key, 1) != nonce_for(key, 0)
    assert nonce_for("rem-other") != nonce_for(key)
    assert nonce_for(None) is None


def test_a_mention_names_the_member_by_id() -> None:
    assert with_mention("hi", Member("discord", "42", "Alice")) == "<@42> hi"
    assert with_mention("hi", None) == "hi"


# -- permissions --------------------------------------------------------------------------------


def test_holding_posting_denies_only_the_posting_bits() -> None:
    current = discord.PermissionOverwrite(view_channel=True)
    changed, held = posting_overwrite(current, allowed=False)
    assert changed and held is not None
    assert (held.send_messages, held.send_messages_in_threads) == (False, False)
    assert held.view_channel is True  # a moderator's overwrite survives


def test_allowing_removes_an_overwrite_that_only_held_posting() -> None:
    _, held = posting_overwrite(discord.PermissionOverwrite(), allowed=False)
    assert held is not None
    assert posting_overwrite(held, allowed=True) == (True, None)


def test_allowing_keeps_the_rest_and_is_free_when_nothing_was_held() -> None:
    held = discord.PermissionOverwrite(
        send_messages=False, send_messages_in_threads=False, view_channel=True
    )
    changed, allowed = posting_overwrite(held, allowed=True)
    assert changed and allowed is not None and allowed.pair()[0].view_channel
    assert allowed.send_messages is None
    assert posting_overwrite(discord.PermissionOverwrite(), allowed=True)[0] is False
    already = discord.PermissionOverwrite(send_messages=False, send_messages_in_threads=False)
    assert posting_overwrite(already, allowed=False)[0] is False


def test_the_permission_report_names_what_is_missing() -> None:
    everything = discord.Permissions(view_channel=True, manage_messages=True, manage_roles=True)
    assert permission_report("circle", everything) == (True, True, ())
    can_delete, can_restrict, missing = permission_report(
        "circle", discord.Permissions(view_channel=True, manage_messages=True)
    )
    assert (can_delete, can_restrict) == (True, False)
    assert len(missing) == 1 and "Manage Roles" in missing[0] and "#circle" in missing[0]
    blind = permission_report(
        "circle", discord.Permissions(manage_messages=True, manage_roles=True)
    )
    assert blind[:2] == (False, False) and "View Channel in #circle" in blind[2]


def test_changed_overwrites_tell_whose_access_to_recheck() -> None:
    everyone, role, member = discord.Object(1), discord.Object(2), discord.Object(3)
    before = {
        everyone: discord.PermissionOverwrite(view_channel=False),
        role: discord.PermissionOverwrite(view_channel=True),
    }
    after = {**before, member: discord.PermissionOverwrite(view_channel=True)}
    assert changed_overwrite_targets(before, after) == {3}
    assert changed_overwrite_targets(after, before) == {3}
    assert changed_overwrite_targets(before, dict(before)) == set()
    assert affected_by({3}, everyone_id=1, member_id=3, role_ids=[])
    assert affected_by({2}, everyone_id=1, member_id=9, role_ids=[2])
    assert affected_by({1}, everyone_id=1, member_id=9, role_ids=[])
    assert not affected_by({2}, everyone_id=1, member_id=9, role_ids=[5])


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (403, 50007, "refused"),  # closed DMs: the fallback at once
        (403, 50278, "gone"),  # no mutual server: nobody to reach
        (404, 10013, "gone"),  # unknown user
        (403, 40003, "not_now"),  # opening DMs too fast
        (400, 50035, "not_now"),  # any other 4xx: bounded retries, then the fallback
        (429, 0, "not_now"),  # a Cloudflare 429 discord.py raised
        (503, 0, "server"),
    ],
)
def test_dm_errors_are_classified(status: int, code: int, kind: str) -> None:
    assert private_error_kind(status, code) == kind
