"""``confidant doctor`` on Discord: log in, connect once with the bot's intents, read the cache
READY fills, disconnect. Nothing is written: no slash commands, no overwrites, no messages.

A plain ``discord.Client`` rather than the adapter's: the adapter syncs commands and asks for
member lists as it comes up, which doctor must not. The permission words come from
``translate.permission_report``/``lacking_abilities``, ``channels.kind_problems`` and
``grants.grant_problems`` and, for ``gate: read`` channels, ``read_gate.gate_problems``: the
same the start-up alerts use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.doctor import Finding, PlatformFacts, RoomFacts

from .channels import covered_channels, kind_problems
from .client import BAD_TOKEN_HELP, PRIVILEGED_INTENTS_HELP, required_intents
from .grants import grant_problems
from .read_gate import gate_problems
from .translate import PLATFORM, lacking_abilities, permission_report, room_of

if TYPE_CHECKING:
    from bot.config import Config
    from bot.policy import PolicySet

READY_TIMEOUT_S = 60.0
MISSING_FIX = (
    "check the channel's name or id in the policy (with Developer Mode on, right-click the "
    "channel > Copy Channel ID), or create the channel in a server the bot is in"
)
CHANNEL_FIX = "in #{name}'s settings (Edit Channel > Permissions) allow the bot's role {what}"


class _Looker(discord.Client):
    """Sets ``ready`` on READY; has no command tree, so it can register nothing."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("chunk_guilds_at_startup", False)
        super().__init__(intents=required_intents(), **options)
        self.ready = asyncio.Event()

    async def on_ready(self) -> None:
        self.ready.set()


async def inspect(
    config: Config,
    policies: PolicySet,
    *,
    ready_timeout: float = READY_TIMEOUT_S,
    **client_options: Any,
) -> PlatformFacts:
    """What the bot may do in every channel of the servers it serves; ``client_options`` go
    to discord.Client (tests pass the fake's connector)."""
    section = config.adapters.discord
    assert section is not None
    client = _Looker(**client_options)
    connection: asyncio.Task[None] | None = None
    try:
        try:
            await client.login(section.token.get_secret_value())
        except discord.LoginFailure:
            return _unreached("Discord rejected the bot token", BAD_TOKEN_HELP)
        except (discord.HTTPException, OSError) as error:
            return _unreached(
                f"could not reach Discord to log in ({type(error).__name__})",
                "check this machine's connection to discord.com",
            )
        # reconnect=True as the adapter runs: discord.py then raises PrivilegedIntentsRequired
        # on 4014 with the HTTP session still open for the application's flags
        connection = asyncio.create_task(client.connect(reconnect=True), name="doctor-gateway")
        ready = asyncio.create_task(client.ready.wait(), name="doctor-ready")
        done, _ = await asyncio.wait(
            {ready, connection}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            return await _not_ready(client, connection, ready_timeout)
        return _facts(client, section.guild_ids, policies)
    finally:
        with contextlib.suppress(Exception):
            await client.close()
        if connection is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(connection, 5.0)


def _unreached(text: str, fix: str) -> PlatformFacts:
    return PlatformFacts(PLATFORM, [Finding.problem(text, fix)], reached=False)


async def _not_ready(
    client: discord.Client, connection: asyncio.Task[None], timeout: float
) -> PlatformFacts:
    error = connection.exception() if connection.done() and not connection.cancelled() else None
    refused = isinstance(error, discord.PrivilegedIntentsRequired) or (
        isinstance(error, discord.ConnectionClosed) and error.code == 4014
    )
    if refused:
        # the gateway closed with 4014 "Disallowed intent(s)"
        # (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes)
        return _unreached(
            f"Discord refused the {await _refused_intents(client)} the bot needs",
            PRIVILEGED_INTENTS_HELP,
        )
    if error is not None:
        return _unreached(
            f"the Discord gateway connection failed ({type(error).__name__})",
            "check this machine's connection to discord.com and try again",
        )
    return _unreached(
        f"Discord did not become ready within {timeout:g} s", "try again in a few minutes"
    )


async def _refused_intents(client: discord.Client) -> str:
    """Which privileged intents the portal has off, from the application's flags
    (https://discord.com/developers/docs/resources/application#application-object-application-flags)."""
    try:
        flags = (await client.application_info()).flags
    except (discord.HTTPException, RuntimeError):  # RuntimeError: the session was closed
        return "privileged gateway intents"
    off = [
        name
        for name, on in (
            (
                "Server Members Intent",
                flags.gateway_guild_members or flags.gateway_guild_members_limited,
            ),
            (
                "Message Content Intent",
                flags.gateway_message_content or flags.gateway_message_content_limited,
            ),
        )
        if not on
    ]
    return " and ".join(f"'{name}'" for name in off) or "privileged gateway intents"


def _facts(
    client: discord.Client, guild_ids: tuple[str, ...], policies: PolicySet
) -> PlatformFacts:
    wanted = {int(g) for g in guild_ids}
    present = {g.id for g in client.guilds}
    connection = [
        Finding.fine(
            f"logged in as {client.user}; the Server Members and Message Content intents are "
            "granted"
        )
    ]
    connection += [
        Finding.problem(
            f"the bot is not in the Discord server {gid}",
            "invite it with the link in the README (Discord section)",
        )
        for gid in sorted(wanted - present)
    ]
    guilds = [g for g in client.guilds if not wanted or g.id in wanted]
    if not guilds:
        connection.append(
            Finding.problem(
                "the bot is in no Discord server it serves",
                "invite it with the link in the README (Discord section)",
            )
        )
    roles = _agreed_roles(policies)
    gated = _read_gated(policies)
    rooms = [
        _channel_facts(guild, channel, roles, gated)
        for guild in guilds
        for channel in covered_channels(guild)
    ]
    return PlatformFacts(PLATFORM, connection, rooms, missing_fix=MISSING_FIX)


def _agreed_roles(policies: PolicySet) -> list[Any]:
    return [
        ref
        for policy in policies.policies
        for ref in policy.rooms
        if ref.platform == PLATFORM and ref.agreed_role is not None
    ]


def _read_gated(policies: PolicySet) -> list[Any]:
    """Rooms under ``gate: read``: their channel settings are checked as at start."""
    return [
        ref
        for policy in policies.policies
        if policy.reminder.gate == "read"
        for ref in policy.rooms
        if ref.platform == PLATFORM
    ]


def _channel_facts(
    guild: discord.Guild, channel: Any, role_refs: list[Any], gated: Sequence[Any] = ()
) -> RoomFacts:
    me = guild.me
    perms = channel.permissions_for(me)
    name = channel.name
    can_delete, can_restrict, missing = permission_report(name, perms)
    lacking = lacking_abilities(name, perms)
    named = {lack.fix for lack in lacking}
    gate = tuple(
        Finding.problem(
            f"the bot lacks {what}", CHANNEL_FIX.format(name=name, what=_permission(what))
        )
        for what in missing
        if what not in named  # View Channel is named once, as a lacking ability
    )
    covered_notes = tuple(
        Finding.problem(f"the bot lacks {what}", CHANNEL_FIX.format(name=name, what="Connect"))
        for what in kind_problems(channel, me)
    )
    room = room_of(channel)
    for ref in gated:
        if ref.matches(PLATFORM, room.id, room.name, room.aliases):
            role_id = int(ref.agreed_role) if ref.agreed_role is not None else None
            covered_notes += tuple(
                Finding(False, text) for text in gate_problems(channel, role_id)
            )
    role_findings: dict[str, tuple[Finding, ...]] = {}
    for ref in role_refs:
        if ref.matches(PLATFORM, room.id, room.name, room.aliases):
            role_findings[ref.agreed_role] = tuple(
                Finding(False, text)
                for text in grant_problems(guild, channel, int(ref.agreed_role))
            )
    return RoomFacts(
        room=room,
        label=f"#{name}",
        lacking=lacking,
        can_delete=can_delete,
        can_restrict_posting=can_restrict,
        gate=gate,
        covered_notes=covered_notes,
        roles=role_findings,
        open_to_members=_open(guild, channel),
    )


def _permission(missing: str) -> str:
    """'Manage Messages in #x (to ...)' -> 'Manage Messages'."""
    return missing.split(" in #", 1)[0]


def _open(guild: discord.Guild, channel: Any) -> Finding | None:
    """An alert or supporters' room every member can read would show them moderator alerts
    and contact requests."""
    if not channel.permissions_for(guild.default_role).view_channel:
        return None
    return Finding.problem(
        f"everyone in {guild.name} can see #{channel.name}, so members would read the alerts "
        "and contact requests posted there",
        f"in #{channel.name}'s settings (Edit Channel > Permissions) deny View Channel to "
        "@everyone and allow it to the moderators' role and the bot's role",
    )
