"""Plays the script against the two platforms and kills the bot where the script says.

One step is one thing a member does, sent the way their client would; steps go out in order
(paced, if asked). Matrix steps go out whether the bot is up or not: the homeserver keeps
them, and a bot that comes back must catch up. Discord steps wait until the bot's gateway
session is up, because Discord does not replay to a new session what happened before it
(a Discord member whose event the bot never received is not the bot's failure; one it
received and then lost in a crash is). A kill comes right after its step, after the
script's delay, with the bot up; the next incarnation is spawned at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.crash.botproc import BotDied, BotProcess
from tests.crash.conversations import Conversation, Exchange
from tests.crash.discord_side import DiscordSide
from tests.crash.matrix_side import MatrixSide
from tests.crash.script import Kind, Script, Step, filler

READY_WAIT_S = 120.0  # a restart (interpreter, login, first sync, gateway) takes seconds
NEWS_WAIT_S = 6.0  # how long a member waits for the bot's answer before writing again
AGREE_WAIT_S = 20.0  # how long a Matrix joiner waits for the bot's private chat
COMMAND = {"matrix": "!checkin", "discord": "/checkin"}


@dataclass(frozen=True, slots=True)
class Copy:
    """A quote of a circle post in a lobby: where it is (None: the send failed)."""

    step: int
    platform: str
    copy_id: str | None
    source: int  # the step of the circle post it copies


@dataclass
class Played:
    """What the driver did, for the verification and the report."""

    sent: Counter[str] = field(default_factory=Counter)  # events per kind
    seconds: Counter[str] = field(default_factory=Counter)  # time spent per kind
    step_errors: Counter[str] = field(default_factory=Counter)
    joined: list[tuple[str, str]] = field(default_factory=list)  # (platform, member key)
    copies: list[Copy] = field(default_factory=list)
    conversations: dict[str, list[Conversation]] = field(default_factory=dict)
    agreements_skipped: int = 0
    conversation_fillers: int = 0  # reply steps after their conversation had ended
    sent_at: dict[int, float] = field(default_factory=dict)  # post and quote steps: when
    sent_while_down: set[int] = field(default_factory=set)  # posts the bot was not up for
    kill_times: list[float] = field(default_factory=list)
    refused: set[int] = field(default_factory=set)  # posts Discord would not let them send

    def near_a_kill(self, step: int, within_s: float = 1.0) -> bool:
        """Sent while the bot was down, or in the last moments before a kill: what the bot
        may never have seen (Discord does not replay to a new session)."""
        at = self.sent_at.get(step)
        return step in self.sent_while_down or (
            at is not None and any(0 <= kill - at <= within_s for kill in self.kill_times)
        )

    @property
    def events(self) -> int:
        return sum(self.sent.values())


class Driver:
    def __init__(
        self,
        script: Script,
        matrix: MatrixSide,
        discord: DiscordSide,
        bot: BotProcess,
        rate: float | None = None,
        progress: Callable[[str], None] | None = None,
        window: int = 8,
    ) -> None:
        self.script = script
        self.matrix = matrix
        self.discord = discord
        self.bot = bot
        self.rate = rate
        self.window = window
        self.progress = progress or (lambda _: None)
        self.played = Played()
        self._sessions = {s.number: s for s in script.sessions}
        self._kills = {k.after: k.delay_ms for k in script.kills}

    async def run(self) -> Played:
        """Steps start in order, up to ``window`` at once (members do not wait for each
        other, and a homeserver answers one send in tens of milliseconds); one member's
        steps stay in order. A kill waits until its step was sent."""
        began = time.monotonic()
        every = max(1, len(self.script.steps) // 20)
        slots = asyncio.Semaphore(self.window)
        last_of: dict[str, asyncio.Task[None]] = {}
        running: set[asyncio.Task[None]] = set()
        for step in self.script.steps:
            if self.rate:
                await asyncio.sleep(max(0.0, began + step.index / self.rate - time.monotonic()))
            await slots.acquire()
            task = asyncio.create_task(self._run_step(step, last_of.get(step.member), slots))
            last_of[step.member] = task
            running.add(task)
            task.add_done_callback(running.discard)
            if step.index in self._kills:
                await task
                await self._kill(self._kills[step.index])
            if (step.index + 1) % every == 0:
                self.progress(
                    f"  {step.index + 1}/{len(self.script.steps)} events, "
                    f"{self.bot.kills} kills, {time.monotonic() - began:.0f} s"
                )
        await asyncio.gather(*running)
        return self.played

    async def _run_step(
        self, step: Step, after: asyncio.Task[None] | None, slots: asyncio.Semaphore
    ) -> None:
        try:
            if after is not None:
                await asyncio.wait({after})
            started = time.monotonic()
            try:
                await self._step(step)
            except Exception as error:  # counted and reported; the run goes on
                self.played.step_errors[f"{step.platform} {step.kind}: {type(error).__name__}"] += 1
            self.played.seconds[f"{step.platform} {step.kind}"] += time.monotonic() - started
        finally:
            slots.release()

    async def up(self) -> None:
        """Until the bot is up; a bot that died on its own is counted and started again."""
        for _ in range(3):
            try:
                await self.bot.wait_ready(READY_WAIT_S)
                return
            except BotDied:
                await self.bot.start()
        await self.bot.wait_ready(READY_WAIT_S)

    async def _kill(self, delay_ms: int) -> None:
        await self.up()
        await asyncio.sleep(delay_ms / 1000)
        await self.bot.kill()
        self.played.kill_times.append(time.monotonic())
        await self.bot.start()

    # -- steps ------------------------------------------------------------------------------
    async def _step(self, step: Step) -> None:
        if step.platform == "discord":
            await self.up()
        handler = {
            Kind.JOIN: self._join,
            Kind.AGREE: self._agree,
            Kind.POST: self._post,
            Kind.QUOTE: self._quote,
            Kind.CHECKIN: self._checkin,
            Kind.REPLY: self._reply,
        }[step.kind]
        await handler(step)

    async def _join(self, step: Step) -> None:
        if step.platform == "matrix":
            if not await self.matrix.join(step.member):
                return
        else:
            await self.discord.join(step.member)
        self.played.joined.append((step.platform, step.member))
        self.played.sent[step.kind] += 1

    async def _agree(self, step: Step) -> None:
        if step.platform == "matrix":
            agreed = await self.matrix.agree(step.member, AGREE_WAIT_S)
        else:
            # The answer is not awaited: the stream goes on as members do.
            await self.discord.send_agree(step.member)
            agreed = True
        if agreed:
            self.played.sent[step.kind] += 1
        else:
            self.played.agreements_skipped += 1

    async def _post(self, step: Step, kind: Kind | None = None) -> str | None:
        if not self.bot.is_ready:
            self.played.sent_while_down.add(step.index)
        self.played.sent_at[step.index] = time.monotonic()
        posted = await self._side(step.platform).post(step.member, step.room, step.text)
        if posted is not None:
            self.played.sent[kind or step.kind] += 1
        else:
            self.played.refused.add(step.index)
        return posted

    async def _quote(self, step: Step) -> None:
        copy_id = await self._post(step)
        self.played.copies.append(Copy(step.index, step.platform, copy_id, step.source))

    async def _checkin(self, step: Step) -> None:
        session = self._sessions[step.session]
        conversation = Conversation(session)
        self.played.conversations.setdefault(step.member, []).append(conversation)
        await self._say(conversation, Exchange(COMMAND[step.platform], None, 0), step)

    async def _reply(self, step: Step) -> None:
        conversations = self.played.conversations.get(step.member) or []
        conversation = conversations[-1] if conversations else None
        if conversation is None or conversation.session.number != step.session:
            await self._filler(step)
            return
        prompts = await self._wait_for_news(conversation)
        if conversation.finished or conversation.over(prompts):
            conversation.finished = True
            await self._filler(step)
            return
        reply = conversation.next_reply(prompts, COMMAND[step.platform])
        await self._say(conversation, reply, step)

    async def _say(self, conversation: Conversation, exchange: Exchange, step: Step) -> None:
        side = self._side(step.platform)
        seen = len(await side.read_private(step.member))
        exchange = Exchange(exchange.text, exchange.question, seen)
        if await side.say_privately(step.member, exchange.text):
            conversation.exchanges.append(exchange)
            self.played.sent[step.kind] += 1

    async def _filler(self, step: Step) -> None:
        """A reply step with no conversation to reply in becomes an ordinary lobby post."""
        self.played.conversation_fillers += 1
        filled = Step(
            step.index,
            Kind.POST,
            step.platform,
            step.member,
            "lobby",
            filler(self.script.seed, step.index),
        )
        await self._post(filled, Kind.POST)

    def _side(self, platform: str) -> MatrixSide | DiscordSide:
        return self.matrix if platform == "matrix" else self.discord

    async def _wait_for_news(self, conversation: Conversation) -> list[str]:
        """Read the private chat until the bot answered the member's last message, or for
        a while at most: the member reads before writing again, as people do. (Past the
        wait, a repeated question is answered again: the first answer was lost.)"""
        session = conversation.session
        side = self._side(session.platform)
        prompts = await side.read_private(session.member)
        if conversation.answered(prompts):
            return prompts
        if not self.bot.is_ready:
            await self.up()
        deadline = time.monotonic() + NEWS_WAIT_S
        for _ in range(int(NEWS_WAIT_S / 0.05) + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            prompts = await side.read_private(session.member, wait_s=min(1.0, remaining))
            if conversation.answered(prompts):
                break
            if session.platform == "discord":
                await asyncio.sleep(0.05)
        return prompts
