"""Runs the core against live adapters: delivers events, performs actions, keeps time.

Events are handled one at a time (the store's checks and writes for a join must not
interleave with another join of the same member), while the slow part, talking to the
platforms, happens outside that lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping

from bot.actions import (
    Action,
    ActionNotSupported,
    ActionRefused,
    DeleteMessage,
    GrantAccess,
    MemberUnreachable,
    PrivateMessageNotNow,
    PrivateMessageRefused,
    RevokeAccess,
    SendPrivate,
)
from bot.core import Core
from bot.events import Event
from bot.logs import fields
from bot.metrics import Metrics, NoMetrics
from bot.ports import Adapter
from bot.unrun_platforms import unrun_platforms

log = logging.getLogger("confidant.runtime")

BURST_POLL_S = 1.0


def platform_of(action: Action) -> str:
    """Every action names where it happens: a room, a member, or a platform."""
    for attribute in ("room", "member"):
        target = getattr(action, attribute, None)
        if target is not None and isinstance(getattr(target, "platform", None), str):
            return str(target.platform)
    platform = getattr(action, "platform", None)
    if isinstance(platform, str):
        return platform
    raise TypeError(f"{type(action).__name__} names no room, member or platform")


class Runtime:
    def __init__(
        self,
        core: Core,
        adapters: Mapping[str, Adapter],
        tick_seconds: float = 60.0,
        policy_poll_seconds: float = 2.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.core = core
        self.metrics = metrics or NoMetrics()
        self.adapters = dict(adapters)
        self.tick_seconds = tick_seconds
        self.policy_poll_seconds = policy_poll_seconds
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._told_not_running: set[tuple[str, str]] = set()  # (policy, platform)
        self._background: set[asyncio.Task[bool]] = set()  # private sends of a join burst

    async def on_event(self, event: Event) -> None:
        """The sink adapters deliver to; returns once the event's actions were carried out."""
        received = time.perf_counter()  # a real duration even under a test's fake clock
        kind = type(event).__name__
        try:
            async with self._lock:
                actions = await self.core.handle(event)
        except Exception:
            # One failing handler must not take the bot down; the event type is enough to
            # find it, and logging the event itself could leak a member's text.
            log.exception("handler failed for %s", kind, extra=fields("handler_failed", kind=kind))
            return
        await self.execute(actions)
        self.metrics.event_handled(kind, time.perf_counter() - received)

    async def execute(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if isinstance(action, SendPrivate) and action.background:
                self._in_background(action)
                continue
            await self._perform(action)

    def _in_background(self, action: SendPrivate) -> None:
        """A join burst's private reminder: carried out beside the next events (the adapter
        queues it). It is in the outbox already, so a stop before it went out resends it."""
        task = asyncio.create_task(self._perform(action), name="private-in-background")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def burst_reminders(self) -> None:
        """A join burst's room reminders that came due while no join arrived to post them."""
        if not self.core.burst_waits.waiting():
            return
        async with self._lock:
            actions = self.core.burst_reminders()
        await self.execute(actions)

    async def _burst_watch(self) -> None:
        """Every second of real time (a responsiveness poll; whether a room reminder is due
        is the core's clock's business), cheap while no newcomer waits."""
        while not self._stopping.is_set():
            await asyncio.sleep(BURST_POLL_S)
            try:
                await self.burst_reminders()
            except Exception:
                log.exception("burst reminders failed")

    async def _perform(self, action: Action) -> bool:
        """Carry out one action, then what it says is true only if it was done (or what is
        true instead); True only if it was done."""
        done = await self._attempt(action)
        follow: tuple[Action, ...] = ()
        if isinstance(action, SendPrivate) and done:
            follow = action.then
        elif isinstance(action, DeleteMessage):
            follow = action.then if done else action.otherwise
        elif isinstance(action, GrantAccess | RevokeAccess) and done:
            follow = action.then  # "you can now read it" only once it is so
        for each in follow:
            await self._perform(each)
        return done

    async def _attempt(self, action: Action) -> bool:
        """Carry out one action; True only if it was done (a refusal is never reported
        as done: the core hears of it and decides what follows)."""
        platform = platform_of(action)
        adapter = self.adapters.get(platform)
        if adapter is None:
            self._tell_not_running()  # a policy a reload brought in is told of here
            known = any(told == platform for _, told in self._told_not_running)
            # known: said once already, naming the policy; anything else is a surprise
            log.log(
                logging.DEBUG if known else logging.WARNING,
                "no %s adapter running for %s",
                platform,
                type(action).__name__,
            )
            return False
        try:
            await adapter.perform(action)
        except MemberUnreachable:
            log.info("private message on %s: the member is no longer reachable", platform)
            if isinstance(action, SendPrivate) and not await self.core.unreachable(action):
                await self._fall_back(action)  # an answer, not a reminder: its fallback
            return False
        except PrivateMessageRefused:
            log.info("private message refused on %s; using the policy's fallback", platform)
            if isinstance(action, SendPrivate):
                await self._fall_back(action)
            return False
        except PrivateMessageNotNow as error:
            log.info("private message not taken on %s just now: %s", platform, error)
            await self._not_now(action)
            return False
        except ActionRefused as error:
            log.warning("%s refused %s: %s", platform, type(action).__name__, error)
            for alert in await self.core.refused(action, str(error)):
                await self._perform(alert)
            return False
        except ActionNotSupported as error:
            log.warning("%s cannot %s: %s", platform, type(action).__name__, error)
            return False
        except Exception:
            log.exception("%s failed on %s", type(action).__name__, platform)
            await self._not_now(action)
            return False
        await self.core.delivered(action, type(action).__name__)
        return True

    def _tell_not_running(self) -> None:
        """One WARNING per policy and platform its rooms are on that this configuration
        does not run, naming both (said at start, and for a policy a reload brought in, at
        the first action that cannot go out), instead of one for every such action."""
        for unrun in unrun_platforms(self.core.policies.current, self.adapters):
            key = (unrun.policy, unrun.platform)
            if key in self._told_not_running:
                continue
            self._told_not_running.add(key)
            log.warning(
                "%s",
                unrun.message,
                extra=fields("platform_not_running", policy=unrun.policy, platform=unrun.platform),
            )

    async def _not_now(self, action: Action) -> None:
        """A private message that failed is tried again later, a bounded number of times
        (the core keeps count); once they are used up, the fallback."""
        if isinstance(action, SendPrivate) and await self.core.private_not_now(action):
            await self._fall_back(action)

    async def _fall_back(self, action: SendPrivate) -> None:
        """The policy's fallbacks are alternatives, in order: the first one done reached
        the member. If none was done (or there is none), the message is not delivered:
        a reminder stays owed, tried again a bounded number of times."""
        fallbacks = await self.core.fallbacks(action)
        for fallback in fallbacks:
            if await self._perform(fallback):
                await self.core.delivered(action, "fallback")
                return
        await self.core.undeliverable(action)

    async def start(self) -> None:
        # What the last run left owed is read before any adapter delivers new events, so a
        # reminder this run is already sending is never mistaken for an interrupted one.
        async with self._lock:
            owed = await self.core.startup_actions()
        self._tell_not_running()
        await self._start_adapters()
        await self.execute(owed)
        # Interrupted check-ins are asked where they stand after the backlog, holding the
        # lock so no answer moves one on between reading and asking. (Safe to perform under
        # it: private messages, which no adapter reports back as events.)
        async with self._lock:
            await self.execute(await self.core.resume_actions())
        self._tasks = [
            asyncio.create_task(self._every(self.tick_seconds, self.tick), name="tick"),
            asyncio.create_task(
                self._every(self.policy_poll_seconds, self.poll_policies), name="policy-watch"
            ),
            asyncio.create_task(self._burst_watch(), name="burst-reminders"),
        ]

    async def _start_adapters(self) -> None:
        """All platforms connect at once: a restart should not keep Discord members waiting
        while Matrix logs in and catches up (and the other way round). If one fails, the
        others' starts are cancelled and its error is raised as it came."""
        starts = [
            asyncio.create_task(adapter.start(self.on_event), name=f"start-{platform}")
            for platform, adapter in self.adapters.items()
        ]
        try:
            await asyncio.gather(*starts)
        except BaseException:
            for start in starts:
                start.cancel()
            await asyncio.gather(*starts, return_exceptions=True)
            raise

    async def stop(self) -> None:
        self._stopping.set()
        background = list(self._background)
        for task in [*self._tasks, *background]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for each in background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await each
        for adapter in self.adapters.values():
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping the %s adapter failed", adapter.platform)

    async def _every(self, seconds: float, job: object) -> None:
        while not self._stopping.is_set():
            await self.core.clock.sleep(seconds)
            try:
                await job()  # type: ignore[operator]
            except Exception:
                log.exception("periodic job failed")

    async def tick(self) -> None:
        """Time-based work (periodic re-reminders); also callable directly from tests."""
        async with self._lock:
            actions = await self.core.tick()
        await self.execute(actions)

    async def poll_policies(self) -> None:
        """Reload policies if their files changed; a broken edit keeps the last good set."""
        if not self.core.policies.changed_on_disk():
            return
        async with self._lock:
            _, actions = await self.core.reload_policies()
        await self.execute(actions)
