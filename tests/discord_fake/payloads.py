"""Render the fake's model as Discord API v10 JSON.

Every field discord.py reads unconditionally must be present, or the client fails in ways a
real Discord would never provoke; fields are shaped after the documented objects so that a
test passing here means something against the real API too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .permissions import ALL, base_permissions, channel_permissions
from .state import (
    DM,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeOverwrite,
    FakeRole,
    FakeUser,
    World,
)
from .threads import kind_fields, synced_thread

Json = dict[str, Any]
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def timestamp(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def user(u: FakeUser) -> Json:
    payload: Json = {
        "id": str(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }
    if u.bot:
        payload["bot"] = True
    return payload


def bot_user(world: World) -> Json:
    """The ``users/@me`` / READY ``user`` shape: a user plus account-only fields."""
    return {
        **user(world.bot_user),
        "verified": True,
        "mfa_enabled": False,
        "email": None,
        "locale": "en-US",
    }


def application(world: World) -> Json:
    app = world.application
    return {
        "id": str(app.id),
        "name": app.name,
        "icon": None,
        "description": "Confidential peer-support rooms",
        "summary": "",
        "type": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": world.application_flags,
        "owner": user(world.users[app.owner_id]),
        "team": None,
        "bot": bot_user(world),
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "approximate_guild_count": len(world.guilds),
        "integration_types_config": {"0": {}},
    }


def role(r: FakeRole) -> Json:
    return {
        "id": str(r.id),
        "name": r.name,
        "description": None,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
        "hoist": r.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.managed,
        "mentionable": r.mentionable,
        "flags": 0,
    }


def member(world: World, m: FakeMember, *, with_user: bool = True) -> Json:
    payload: Json = {
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in m.role_ids],
        "joined_at": timestamp(m.joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": m.flags,
        "pending": m.pending,
        "communication_disabled_until": timestamp(m.communication_disabled_until),
    }
    if with_user:
        payload["user"] = user(world.users[m.user_id])
    return payload


def member_with_permissions(world: World, m: FakeMember, where: FakeChannel | None) -> Json:
    """Interaction members carry "total permissions of the member in the channel, including
    overwrites" (https://discord.com/developers/docs/resources/guild#guild-member-object)."""
    guild = world.guilds[m.guild_id]
    perms = (
        channel_permissions(world, where, m.user_id)
        if where is not None
        else base_permissions(guild, m.user_id)
    )
    return {**member(world, m), "permissions": str(perms)}


def overwrite(o: FakeOverwrite) -> Json:
    return {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}


def channel(world: World, c: FakeChannel) -> Json:
    if c.type == DM:
        return {
            "id": str(c.id),
            "type": DM,
            "last_message_id": _opt_id(c.last_message_id),
            "flags": 0,
            "recipients": [user(world.users[u]) for u in c.recipient_ids],
        }
    payload: Json = {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "name": c.name,
        "parent_id": _opt_id(c.parent_id),
        "last_message_id": _opt_id(c.last_message_id),
        "rate_limit_per_user": 0,
        "flags": 0,
    }
    if c.is_thread:
        payload.update(
            owner_id=str(c.owner_id),
            member_count=len(c.thread_member_ids),
            message_count=0,
            total_message_sent=0,
            thread_metadata={
                "archived": c.archived,
                "auto_archive_duration": c.auto_archive_duration,
                "archive_timestamp": timestamp(c.created_at),
                "locked": c.locked,
                "invitable": c.invitable,
                "create_timestamp": timestamp(c.created_at),
            },
        )
        if world.bot_user.id in c.thread_member_ids:
            payload["member"] = thread_member(c, world.bot_user.id)
    else:
        payload.update(
            position=c.position,
            permission_overwrites=[overwrite(o) for o in c.overwrites.values()],
            topic=c.topic,
            nsfw=False,
        )
        payload.update(kind_fields(c))
    return payload


def thread_member(thread: FakeChannel, user_id: int) -> Json:
    return {
        "id": str(thread.id),
        "user_id": str(user_id),
        "join_timestamp": timestamp(thread.created_at),
        "flags": 0,
    }


def guild_create(
    world: World,
    g: FakeGuild,
    *,
    members: list[FakeMember] | None = None,
    large_threshold: int = 50,
) -> Json:
    """``members``: what this session may see at once (``members.guild_create_members``);
    by default only the bot's own member, as without the presences intent. ``member_count``
    is the real count either way, and ``large`` follows the identify's threshold
    (https://discord.com/developers/docs/events/gateway-events#guild-create)."""
    if members is None:
        members = [g.members[world.bot_user.id]] if world.bot_user.id in g.members else []
    if g.guild_create_member_limit is not None:
        # Keep the bot itself: Discord always includes the current member.
        members = sorted(members, key=lambda m: m.user_id != world.bot_user.id)
        members = members[: g.guild_create_member_limit]
    channels = [world.channels[c] for c in g.channel_ids]
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "application_id": None,
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [role(r) for r in g.roles.values()],
        "joined_at": timestamp(g.members[world.bot_user.id].joined_at),
        "large": len(g.members) > large_threshold,
        "unavailable": False,
        "lazy": True,
        "member_count": len(g.members),
        "members": [member(world, m) for m in members],
        "channels": [channel(world, c) for c in channels if not c.is_thread],
        "threads": [channel(world, c) for c in channels if synced_thread(world, c)],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def ready(world: World, *, session_id: str, resume_gateway_url: str) -> Json:
    return {
        "v": 10,
        "user": bot_user(world),
        "user_settings": {},
        "guilds": [{"id": str(g), "unavailable": True} for g in world.guilds],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["us-east"],
        "application": {"id": str(world.application.id), "flags": world.application_flags},
        "_trace": ['["gateway-prd-fake",{"micros":1}]'],
    }


def message(world: World, m: FakeMessage, *, nested: bool = False) -> Json:
    author = m.webhook_author if m.webhook_author is not None else user(world.users[m.author_id])
    payload: Json = {
        "id": str(m.id),
        "type": m.type,
        "channel_id": str(m.channel_id),
        "author": author,
        "content": m.content,
        "timestamp": timestamp(m.created_at),
        "edited_timestamp": timestamp(m.edited_at),
        "tts": False,
        "mention_everyone": False,
        "mentions": [user(world.users[u]) for u in m.mention_ids if u in world.users],
        "mention_roles": [],
        "attachments": m.attachments,
        "embeds": m.embeds,
        "components": m.components,
        "pinned": False,
        "flags": m.flags,
    }
    if m.webhook_id is not None:
        payload["webhook_id"] = str(m.webhook_id)
    if m.guild_id is not None:
        payload["guild_id"] = str(m.guild_id)
        guild_member = world.guilds[m.guild_id].members.get(m.author_id)
        if guild_member is not None and m.webhook_id is None:
            payload["member"] = member(world, guild_member, with_user=False)
    if m.reference is not None:
        payload["message_reference"] = m.reference
        if m.reference.get("type", 0) == 0 and not nested:
            referenced = world.messages.get(int(m.reference["message_id"]))
            payload["referenced_message"] = (
                message(world, referenced, nested=True) if referenced else None
            )
    if m.snapshots:
        payload["message_snapshots"] = m.snapshots
    return payload


def snapshot_of(world: World, original: FakeMessage) -> Json:
    """A forward's frozen copy: content and attachments, but no author or ids."""
    return {
        "message": {
            "type": original.type,
            "content": original.content,
            "embeds": original.embeds,
            "attachments": original.attachments,
            "timestamp": timestamp(original.created_at),
            "edited_timestamp": timestamp(original.edited_at),
            "flags": original.flags,
            "mentions": [user(world.users[u]) for u in original.mention_ids],
            "mention_roles": [],
            "sticker_items": [],
            "components": original.components,
        }
    }


def interaction(world: World, i: FakeInteraction, data: Json) -> Json:
    payload: Json = {
        "id": str(i.id),
        "application_id": str(world.application.id),
        "type": i.type,
        "data": data,
        "token": i.token,
        "version": 1,
        # "Selected language of the invoking user" (interaction object, docs cited in state.py)
        "locale": world.users[i.user_id].locale if i.user_id in world.users else "en-US",
        # "Bitwise set of permissions the app has within the channel the interaction was
        # sent from" (https://discord.com/developers/docs/interactions/receiving-and-responding)
        "app_permissions": str(_app_permissions(world, i)),
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    ch = world.channels.get(i.channel_id) if i.channel_id else None
    if ch is not None:
        payload["channel_id"] = str(ch.id)
        payload["channel"] = channel(world, ch)
    if i.guild_id is not None:
        payload["guild_id"] = str(i.guild_id)
        payload["guild_locale"] = "en-US"
        payload["guild"] = {"id": str(i.guild_id), "locale": "en-US", "features": []}
        payload["context"] = 0
        payload["authorizing_integration_owners"] = {"0": str(i.guild_id)}
        guild_member = world.guilds[i.guild_id].members[i.user_id]
        payload["member"] = member_with_permissions(world, guild_member, ch)
    else:
        payload["context"] = 1
        payload["authorizing_integration_owners"] = {"0": str(world.application.owner_id)}
        payload["user"] = user(world.users[i.user_id])
    if i.message_id is not None:
        payload["message"] = message(world, world.messages[i.message_id])
    return payload


def error(message_text: str, code: int, errors: Json | None = None) -> Json:
    payload: Json = {"message": message_text, "code": code}
    if errors is not None:
        payload["errors"] = errors
    return payload


def _app_permissions(world: World, i: FakeInteraction) -> int:
    ch = world.channels.get(i.channel_id) if i.channel_id else None
    if ch is None or ch.guild_id is None:
        return ALL
    return channel_permissions(world, ch, world.bot_user.id)


def _opt_id(value: int | None) -> str | None:
    return str(value) if value is not None else None
