"""The read gate on Discord: a channel only members who agreed can view.

Discord has no knock: a newcomer simply does not see a channel that @everyone may not view.
So the bot keeps the channel closed to @everyone (checked, never changed by the bot: the
channel's settings are the admin's), and treats "joined the server and cannot see it" as
asking to read it (``AccessRequested``); the core reminds them privately (or in the policy's
welcome channel) and, once they agreed, asks for ``GrantAccess``: the policy's agreed role,
or without one a per-member overwrite allowing View Channel, Send Messages and Read Message
History. Discord's permission maths does the rest: a member without View Channel is sent no
message of the channel and cannot fetch its history
(https://discord.com/developers/docs/topics/permissions).

Who is asked: members who join the server (rules screening pending or not: they count as
joined, see access.visible_channels) and, for a channel inside a category, members who gain a
role that shows them the category (the part of the server the channel belongs to) while the
channel stays hidden. A channel outside any category is asked for on joining the server.

While a check fails (@everyone can view the channel, say) members who can see it join it as
before and the core holds back their posting until they agree, as ``gate: post`` does, so the
room is never less protected than before; the alert says so and names the fix.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import discord

from bot.actions import ActionNotSupported, ActionRefused
from bot.events import AccessRequested, Member, MemberJoined, MemberLeft, Room
from bot.i18n import N_, Phrase, t

from .elsewhere import Reasons
from .translate import PLATFORM, member_of, room_of, snowflake

if TYPE_CHECKING:
    from .outbound import Outbound

log = logging.getLogger("confidant.discord")

# Read by moderators in the server's audit log: said (t) where used.
GRANT_REASON = N_("Confidant: the member agreed to the room's confidentiality reminder")
REVOKE_REASON = N_("Confidant: the room's reminder changed; access waits for a new agreement")
LEFT_REASON = N_(
    "Confidant: the member left the server; access is asked for again on return"
)
MEANWHILE = Phrase(
    "until this is fixed, members who can see the channel read it before agreeing and the "
    "bot holds back only their posts (as 'gate: post' does)"
)
CANNOT_LET_IN = Phrase("until this is fixed, members who agree cannot be let in")
# "Maximum number of channel permission overwrites reached (1000)" (JSON error codes table,
# https://discord.com/developers/docs/topics/opcodes-and-status-codes#json)
MAX_OVERWRITES = 30060
# What a per-member grant allows: reading the channel, its history, and posting in it.
GRANTED_BITS = ("view_channel", "send_messages", "read_message_history")


def eligible(channel: discord.abc.GuildChannel, member: discord.Member) -> bool:
    """May ``member`` ask to read ``channel``: it is outside any category, or they can see
    its category (the role that shows that part of the server is theirs)."""
    category = channel.category
    return category is None or category.permissions_for(member).view_channel


def removed(channel: discord.abc.GuildChannel, member: discord.abc.Snowflake) -> bool:
    """A View Channel deny for this member in the channel: a removal (a moderator's, or the
    bot's for a repeat leaker, see member_actions.remove), never lifted by agreeing again."""
    return channel.overwrites_for(discord.Object(member.id)).view_channel is False


def _moderating(perms: discord.Permissions) -> bool:
    """A role that moderates the channel (Manage Messages, as Discord's own moderator
    commands ask) may read it without agreeing, as the core lets moderators in."""
    return perms.administrator or perms.manage_messages


def gate_problems(channel: discord.abc.GuildChannel, role_id: int | None) -> list[str]:
    """What keeps ``channel`` from being read-gated, each with the fix, in the admin's terms
    (channel and role names only)."""
    guild = channel.guild
    me = guild.me
    where = f"#{channel.name}"
    problems: list[str] = []
    mine = channel.permissions_for(me)
    if not (mine.view_channel and mine.send_messages and mine.read_message_history):
        problems.append(
            Phrase(
                "the bot cannot view and post in {where}, which 'gate: read' needs: in the "
                "channel's permissions allow View Channel, Send Messages and Read Message "
                "History to the bot's role '{top}'",
                where=where,
                top=me.top_role.name,
            )
        )
    role = guild.get_role(role_id) if role_id is not None else None
    if channel.permissions_for(guild.default_role).view_channel:
        problems.append(
            Phrase(
                "@everyone can view {where}, so newcomers read it before agreeing ('gate: "
                "read'): in the channel's permissions deny View Channel to @everyone and allow "
                "it to the bot's role '{top}' and to '{role}'; {meanwhile}",
                where=where,
                top=me.top_role.name,
                role=role.name,
                meanwhile=MEANWHILE,
            )
            if role is not None
            else Phrase(
                "@everyone can view {where}, so newcomers read it before agreeing ('gate: "
                "read'): in the channel's permissions deny View Channel to @everyone and allow "
                "it to the bot's role '{top}'; {meanwhile}",
                where=where,
                top=me.top_role.name,
                meanwhile=MEANWHILE,
            )
        )
    else:
        for other in guild.roles:
            if other.is_default() or other.id == role_id or other in me.roles:
                continue
            perms = channel.permissions_for(other)
            if perms.view_channel and not _moderating(perms):
                problems.append(
                    Phrase(
                        "the role '{role}' can view {where} without agreeing ('gate: read'): "
                        "in the channel's permissions remove its View Channel (only the bot, "
                        "moderators and members who agreed may view it); {meanwhile}",
                        role=other.name,
                        where=where,
                        meanwhile=MEANWHILE,
                    )
                )
    if role_id is not None:
        problems += _role_problems(channel, role)
    elif not mine.manage_roles or not me.guild_permissions.view_channel:
        problems.append(
            Phrase(
                "the bot needs Manage Permissions in {where} (Manage Roles on its role) to let "
                "members who agreed view it; {consequence}",
                where=where,
                consequence=CANNOT_LET_IN,
            )
        )
    return problems


def _role_problems(channel: discord.abc.GuildChannel, role: discord.Role | None) -> list[str]:
    """Whether the agreed role shows the channel. Whether the bot can give it (it exists, is
    an ordinary role, Manage Roles, the bot's role above it) is the posting role's check
    (grants.grant_problems, asked by the core's CheckGrant for the same role), told once."""
    if role is None or channel.permissions_for(role).view_channel:
        return []
    return [
        Phrase(
            "the role '{role}' given to members who agreed cannot view #{channel}: in the "
            "channel's permissions allow it View Channel, Send Messages and Read Message "
            "History",
            role=role.name,
            channel=channel.name,
        )
    ]


class CountStore(Protocol):
    """What missed_joins needs of ``bot.store.Store``."""

    async def room_counted_at(self, platform: str, room_id: str) -> datetime | None: ...


class ReadGate:
    """The read-gated channels of this run (``CheckReadGate`` names them, with their agreed
    role), their start checks (told once per run), and the grants."""

    def __init__(self, out: Outbound) -> None:
        self.out = out
        self.gated: dict[int, int | None] = {}  # channel id -> agreed role id (None: overwrites)
        self._told: set[str] = set()
        self.store: CountStore | None = None  # the App's, for missed_joins

    # -- CheckReadGate ----------------------------------------------------------------------

    async def check(self, room: Room, grant: str | None) -> None:
        channel = self.out._guild_channel(room)
        if channel is None:
            log.info("no served channel %s to read-gate", room.id)
            return
        role_id = snowflake(grant) if grant is not None else None
        self.gated[channel.id] = role_id
        fresh = [p for p in gate_problems(channel, role_id) if p not in self._told]
        if not fresh:
            log.info("read gate in force in %s", channel.id)
            return
        self._told.update(fresh)
        await self.out._report_problems(fresh)

    # -- who asks ---------------------------------------------------------------------------

    def requests(
        self, member: discord.Member, before: discord.Member | None, via: str, now: Any
    ) -> list[AccessRequested]:
        """Gated channels ``member`` cannot see but may ask for, and (``before``: their
        earlier state) could not ask for until now."""
        asked: list[AccessRequested] = []
        for channel_id in self.gated:
            channel = member.guild.get_channel(channel_id)
            if channel is None or not self._asks(channel, member):
                continue
            if before is not None and eligible(channel, before):
                continue  # could ask before: asked then
            asked.append(AccessRequested(room_of(channel), member_of(member), now, via=via))
        return asked

    def _asks(self, channel: discord.abc.GuildChannel, member: discord.Member) -> bool:
        if member.bot or channel.permissions_for(member).view_channel:
            return False  # in already (moderators, the agreed role)
        if removed(channel, member):
            return False  # kept out by a moderator: agreeing does not undo that
        return eligible(channel, member)

    async def missed_joins(
        self, guild: discord.Guild, members: list[discord.Member]
    ) -> list[AccessRequested]:
        """After a restart, with the whole member list in: who joined the server after the
        gated channel's last complete count (so perhaps while the bot was away) and cannot
        see it is asked for it now. The core reminds each member once per text, so a member
        already asked live is not asked twice; the first count asks nobody (who was there
        before the bot watched is not news)."""
        if self.store is None:
            return []
        now = self._now()
        asked: list[AccessRequested] = []
        for channel_id in self.gated:
            channel = guild.get_channel(channel_id)
            if channel is None:
                continue
            since = await self.store.room_counted_at(PLATFORM, str(channel_id))
            if since is None:
                continue
            asked += [
                AccessRequested(room_of(channel), member_of(m), now, via="server_join")
                for m in members
                if m.joined_at is not None and m.joined_at > since and self._asks(channel, m)
            ]
        if asked:
            log.info("%d member(s) of guild %s joined while not listening and ask to read a "
                     "gated channel", len(asked), guild.id)
        return asked

    async def forget_leaver(self, guild: discord.Guild, user: discord.abc.User) -> None:
        """Leaving the server ends access (the core records it from the MemberLeft): a
        per-member grant would outlive the membership, so it goes, and a return asks again."""
        for channel_id, role_id in self.gated.items():
            channel = guild.get_channel(channel_id)
            if role_id is not None or channel is None:
                continue  # Discord takes a leaver's roles itself
            overwrite = channel.overwrites_for(discord.Object(user.id))
            if overwrite.view_channel is not True:
                continue
            try:
                await channel.set_permissions(user, overwrite=None, reason=t(LEFT_REASON))
            except discord.HTTPException as error:
                log.warning("could not clear %s's access to %s: %s", user.id, channel_id,
                            error.status)

    # -- GrantAccess / RevokeAccess ---------------------------------------------------------

    async def grant(self, room: Room, member: Member, grant: str | None) -> None:
        if await self._elsewhere(room, member, grant, allowed=True):
            return
        channel, target = await self._target(room, member)
        if removed(channel, target):
            raise ActionRefused(
                Phrase(
                    "{member} was removed from {channel} (a View Channel deny for them), "
                    "which stands until a moderator lifts it",
                    member=member.id,
                    channel=channel.id,
                )
            )
        cached = channel.guild.get_member(target.id) is not None
        if grant is not None:
            await self._role(channel, target, _role_id(grant), add=True)
        else:
            await self._overwrite(channel, target, allow=True)
        log.info("%s let into %s", member.id, channel.id)
        if not cached:
            await self._seen_change(MemberJoined(room_of(channel), member_of(target), self._now()))

    async def revoke(self, room: Room, member: Member, grant: str | None) -> None:
        if await self._elsewhere(room, member, grant, allowed=False):
            return
        channel, target = await self._target(room, member)
        cached = channel.guild.get_member(target.id) is not None
        if grant is not None:
            await self._role(channel, target, _role_id(grant), add=False)
        else:
            await self._overwrite(channel, target, allow=False)
        log.info("%s's access to %s taken", member.id, channel.id)
        if not cached:
            await self._seen_change(MemberLeft(room_of(channel), member_of(target), self._now()))

    async def _elsewhere(
        self, room: Room, member: Member, grant: str | None, *, allowed: bool
    ) -> bool:
        """Sharded: an Agree pressed in DMs reaches shard 0's process, whatever server the
        member joined; a server on another shard is not in its cache, so access is given
        there over REST (elsewhere.py). The member's join is then seen, and handled, by the
        process whose shard holds the server."""
        elsewhere = self.out.elsewhere
        if elsewhere is None or self.out._guild_channel(room) is not None:
            return False
        role_id = _role_id(grant) if grant is not None else None
        reasons = Reasons(t(GRANT_REASON), t(REVOKE_REASON), GRANTED_BITS)
        await elsewhere.set_access(room, member, allowed, role_id, reasons)
        log.info("%s's access to %s %s from another shard", member.id, room.id,
                 "given" if allowed else "taken")
        return True

    def _now(self) -> Any:
        return self.out.clock.now()

    async def _seen_change(self, event: MemberJoined | MemberLeft) -> None:
        """A member the cache does not hold yet (the member list after a quick restart is
        still on its way): discord.py dispatches no member_update for them
        (discord/state.py: parse_guild_member_update) and a channel update finds them in no
        member list, so the join or leave the grant made is reported here instead."""
        if self.out._report is not None:
            await self.out._report(event)

    async def _target(
        self, room: Room, member: Member
    ) -> tuple[discord.abc.GuildChannel, discord.Member]:
        channel = self.out._guild_channel(room)
        if channel is None:
            raise ActionNotSupported(f"no Discord channel {room.id} in a served server")
        target = await self.out._member(channel.guild, member)
        if target is None:  # not done: nobody is told they can read a channel they left
            raise ActionNotSupported(f"{member.id} is no longer in server {channel.guild.id}")
        return channel, target

    async def _role(
        self, channel: discord.abc.GuildChannel, target: discord.Member, role_id: int, add: bool
    ) -> None:
        if any(r.id == role_id for r in target.roles) == add:
            return
        role = discord.Object(role_id)
        try:
            if add:
                await target.add_roles(role, reason=t(GRANT_REASON))
            else:
                await target.remove_roles(role, reason=t(REVOKE_REASON))
        except (discord.Forbidden, discord.NotFound) as error:
            raise ActionRefused(
                Phrase(
                    "Discord answered {code} to the role {role} in {guild}",
                    code=error.code,
                    role=role_id,
                    guild=channel.guild.id,
                )
            ) from None

    async def _overwrite(
        self, channel: discord.abc.GuildChannel, target: discord.Member, allow: bool
    ) -> None:
        """Only the granted bits change; what else the member's overwrite says stays. The
        bot can allow only what it holds itself (Discord answers 403 otherwise)."""
        # by attribute, not by iterating: iteration names View Channel 'read_messages'
        updated = channel.overwrites_for(target)
        held = channel.guild.me.guild_permissions
        if allow:
            wanted = {bit: True for bit in GRANTED_BITS if getattr(held, bit)}
            if "view_channel" not in wanted:
                raise ActionRefused(
                    Phrase("the bot cannot view {channel} itself", channel=channel.id)
                )
        else:
            wanted = {bit: None for bit in GRANTED_BITS if getattr(updated, bit) is True}
        if all(getattr(updated, bit) == value for bit, value in wanted.items()):
            return
        updated.update(**wanted)
        try:
            await channel.set_permissions(
                target,
                overwrite=None if updated.is_empty() else updated,
                reason=t(GRANT_REASON if allow else REVOKE_REASON),
            )
        except discord.Forbidden as error:
            raise ActionRefused(
                Phrase(
                    "Discord answered {code} to an access change in {channel}",
                    code=error.code,
                    channel=channel.id,
                )
            ) from None
        except discord.HTTPException as error:
            if error.code != MAX_OVERWRITES:
                raise
            raise ActionRefused(
                Phrase(
                    "#{channel} holds Discord's most permission overwrites (1000, error "
                    "{code}); name an 'agreed_role' for it in the policy",
                    channel=channel.name,
                    code=error.code,
                )
            ) from None


def _role_id(grant: str) -> int:
    number = snowflake(grant)
    if number is None:
        raise ActionNotSupported(f"{grant!r} is not a Discord role id")
    return number

