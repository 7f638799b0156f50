"""The Discord half of the harness: a server in the protocol fake, members acting through the
fake's own event API, and what the fake shows them.

On Discord a member's "client" is the platform itself: what they see is what the fake holds
(their DM channel's messages, the answers to their interactions). Events go to the gateway
session the bot has now; one injected while the bot is down goes to the dead session and is
never seen, exactly as on Discord, which is why the driver waits for the bot before acting
here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.discord_fake import FakeDiscord
from tests.discord_fake.events import MemberCannot
from tests.discord_fake.state import DM, FakeChannel, FakeGuild, FakeOverwrite, FakeUser

VIEW_CHANNEL = 1 << 10
MANAGE_MESSAGES = 1 << 13


@dataclass
class DiscordSide:
    fake: FakeDiscord
    guild: FakeGuild = field(init=False)
    circle: FakeChannel = field(init=False)
    lobby: FakeChannel = field(init=False)
    mods: FakeChannel = field(init=False)
    mod: FakeUser = field(init=False)
    users: dict[str, FakeUser] = field(default_factory=dict)
    _dm_posts: dict[int, list[str]] = field(default_factory=dict)  # channel id -> contents
    _read_to: int = 0

    def build(self, keys: Sequence[str]) -> None:
        world = self.fake.world
        self.guild = world.add_guild("Crash Circle")
        bot_role = next(r for r in self.guild.roles.values() if r.name == "Confidant")
        self.circle = world.add_text_channel(self.guild, "circle")
        self.lobby = world.add_text_channel(self.guild, "lobby")
        self.mods = world.add_text_channel(self.guild, "mods")
        mod_role = world.add_role(self.guild, "moderator", permissions=MANAGE_MESSAGES)
        everyone = self.guild.everyone_role_id
        self.mods.overwrites[everyone] = FakeOverwrite(everyone, 0, deny=VIEW_CHANNEL)
        for allowed in (mod_role, bot_role):
            self.mods.overwrites[allowed.id] = FakeOverwrite(allowed.id, 0, allow=VIEW_CHANNEL)
        self.mod = world.add_user("mod")
        world.add_member(self.guild, self.mod, roles=[mod_role])
        self.users = {key: world.add_user(key.split(":")[-1]) for key in keys}

    def policy_ids(self) -> dict[str, str]:
        return {
            "guild": str(self.guild.id),
            "circle": str(self.circle.id),
            "mods": str(self.mods.id),
            "mod": str(self.mod.id),
        }

    # -- regulars ----------------------------------------------------------------------------
    async def admit(self, keys: Sequence[str], deadline_s: float = 60.0) -> None:
        """Join the server, get the reminder, agree with /agree in the lobby."""
        for key in keys:
            user = self.users[key]
            mark = self.fake.requests.mark()
            await self.fake.events.member_add(self.guild_of(key), user)
            dm = self.fake.world.open_dm(user)
            await self.fake.wait_for_call(
                "POST", f"/channels/{dm.id}/messages", since=mark, timeout=deadline_s
            )
            if not await self.agree(key, deadline_s):
                raise TimeoutError(f"{key}'s /agree was not answered")

    # -- where a member is: one server here (sharded_discord.py: one per shard) -------------
    def guild_of(self, key: str) -> FakeGuild:
        return self.guild

    def lobby_of(self, key: str) -> FakeChannel:
        return self.lobby

    def circle_of(self, key: str) -> FakeChannel:
        return self.circle

    # -- what members do ---------------------------------------------------------------------
    async def join(self, key: str) -> None:
        await self.fake.events.member_add(self.guild_of(key), self.users[key])

    async def agree(self, key: str, deadline_s: float = 10.0) -> bool:
        """/agree in the lobby (a member held back in the circle has no chat bar there);
        True once the bot answered the interaction."""
        interaction = await self.fake.events.slash_command(
            "agree", user=self.users[key], channel=self.lobby_of(key)
        )
        route = f"/interactions/{interaction.id}/{interaction.token}/callback"
        try:
            await self.fake.wait_for_call("POST", route, timeout=deadline_s)
        except TimeoutError:
            return False
        return True

    async def send_agree(self, key: str) -> None:
        """/agree in the lobby, without waiting for the answer (the stream goes on)."""
        await self.fake.events.slash_command(
            "agree", user=self.users[key], channel=self.lobby_of(key)
        )

    async def post(self, key: str, room: str, text: str) -> str | None:
        """The post's id; None when Discord would not let the member post there (held back
        in the circle until they agree: no chat bar, nothing sent)."""
        channel = self.circle_of(key) if room == "circle" else self.lobby_of(key)
        try:
            message = await self.fake.events.message_create(channel, self.users[key], text)
        except MemberCannot:
            return None
        return str(message.id)

    async def say_privately(self, key: str, text: str) -> bool:
        user = self.users[key]
        await self.fake.events.message_create(self.fake.world.open_dm(user), user, text)
        return True

    async def read_private(self, key: str, wait_s: float = 0.0) -> list[str]:
        """What the member's DM shows now (``wait_s``: Discord pushes, nothing to wait for
        here; the caller polls)."""
        return self.private_notices(key)

    def private_notices(self, key: str) -> list[str]:
        """What the bot posted in this member's DM, in order (read off the wire, so a
        prompt counts as soon as the bot sent it)."""
        self._catch_up()
        dm = self._dm_of(self.users[key])
        return list(self._dm_posts.get(dm.id, [])) if dm is not None else []

    def _catch_up(self) -> None:
        items = self.fake.requests.items
        for request in items[self._read_to :]:
            if (
                request.method != "POST"
                or request.status >= 300
                or not request.path.endswith("/messages")
            ):
                continue
            parts = request.path.split("/")
            if len(parts) == 4 and parts[1] == "channels" and isinstance(request.json, dict):
                channel_id = int(parts[2])
                channel = self.fake.world.channels.get(channel_id)
                if channel is not None and channel.type == DM:
                    self._dm_posts.setdefault(channel_id, []).append(
                        str(request.json.get("content") or "")
                    )
        self._read_to = len(items)

    def _dm_of(self, user: FakeUser) -> FakeChannel | None:
        for channel in self.fake.world.channels.values():
            if channel.type == DM and channel.recipient_ids == [user.id]:
                return channel
        return None

    # -- the end: what the platform holds ------------------------------------------------------
    def messages_in(self, channel: FakeChannel) -> list[str]:
        """The bot's messages as stored in a channel (a deduplicated send is stored once)."""
        bot = self.fake.world.bot_user.id
        return [
            m.content
            for m in self.fake.world.messages.values()
            if m.channel_id == channel.id and m.author_id == bot
        ]

    def dm_messages(self, key: str) -> list[str]:
        dm = self._dm_of(self.users[key])
        return self.messages_in(dm) if dm is not None else []

    def circle_mentions(self, key: str) -> list[str]:
        """The bot's posts in the circle that mention this member (a fallback reminder)."""
        bot, mention = self.fake.world.bot_user.id, f"<@{self.users[key].id}>"
        return [
            m.content
            for m in self.fake.world.messages.values()
            if m.channel_id == self.circle.id and m.author_id == bot and mention in m.content
        ]

    def private_answers(self, key: str) -> list[str]:
        """The bot's answers to this member's commands and button presses that only they
        see (ephemeral): where a reminder Discord would not let the bot DM just now (40003)
        reaches them with their next interaction."""
        user_id = self.users[key].id
        bot = self.fake.world.bot_user.id
        return [
            m.content
            for m in self.fake.world.messages.values()
            if m.author_id == bot and m.interaction_user_id == user_id
        ]

    async def quiet(self, seconds: float, deadline_s: float) -> None:
        """Until the bot made no REST call for ``seconds`` (bounded)."""
        deadline = time.monotonic() + deadline_s
        last, since = len(self.fake.requests.items), time.monotonic()
        for _ in range(int(deadline_s / 0.2) + 2):
            await asyncio.sleep(0.2)
            count = len(self.fake.requests.items)
            if count != last:
                last, since = count, time.monotonic()
            if time.monotonic() - since >= seconds or time.monotonic() >= deadline:
                return
