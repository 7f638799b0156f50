"""Runs the core against live adapters: delivers events, performs actions, keeps time.

Events are handled one at a time (the store's checks and writes for a join must not
interleave with another join of the same member), while the slow part, talking to the
platforms, happens outside that lock. An action the platform keeps waiting (a room not
joined yet, a rate limit, an outage) is waited for only :data:`PATIENCE_S`: it goes on in
the background, so it never holds up the next event or the next action, and /healthz says
when one has waited longer than a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.actions import (
    Action,
    ActionNotSupported,
    ActionRefused,
    AlertModerators,
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
from bot.jobs import EVERYTHING, SharedJobs
from bot.logs import fields
from bot.metrics import Metrics, NoMetrics
from bot.ports import Adapter
from bot.unrun_platforms import unrun_platforms

log = logging.getLogger("confidant.runtime")

PATIENCE_S = 5.0
"""How long carrying out events waits for one action before letting it finish on its own:
longer than an adapter's own retries of a server error (Discord: 0.5 + 1 + 2 s), far shorter
than waiting for a room the bot is not in yet (Matrix: up to 30 s)."""
SETTLE_S = 10.0
"""At a stop, how long the events an adapter is handling may take to finish (see
``Runtime.stop``); what is still under way then is cut off and owed to the next start."""
LATE_S = 60.0
"""An action (or an owed moderator alert) waiting longer than this is reported by /healthz."""
BURST_POLL_S = 1.0


@dataclass(frozen=True, slots=True)
class Waiting:
    """An action still under way: what and where, never its words."""

    action: str
    platform: str
    since: float  # time.monotonic()


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
        jobs: SharedJobs | None = None,
    ) -> None:
        self.core = core
        self.jobs = jobs  # None: this process runs every periodic job (one process)
        self.metrics = metrics or NoMetrics()
        self.adapters = dict(adapters)
        self.tick_seconds = tick_seconds
        self.policy_poll_seconds = policy_poll_seconds
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._told_not_running: set[tuple[str, str]] = set()  # (policy, platform)
        self.patience_s = PATIENCE_S
        self._waiting: dict[asyncio.Task[bool], Waiting] = {}
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
            await self._carry_out(action)

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

    async def _carry_out(self, action: Action) -> None:
        """Perform one action, waiting at most ``patience_s`` for it: a slower one goes on
        in the background (with what follows from it), tracked until it ends."""
        task = asyncio.create_task(self._perform(action), name=type(action).__name__)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.patience_s)
        except asyncio.CancelledError:  # the caller stopped (a shutdown): so does the action
            task.cancel()
            raise
        if task in done:
            task.result()
            return
        if self._stopping.is_set():  # shutting down: cut off; what is owed goes out next start
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
        self._waiting[task] = Waiting(type(action).__name__, platform_of(action), time.monotonic())
        task.add_done_callback(self._ended)
        log.info(
            "%s on %s is taking long; carrying on with the next events meanwhile",
            type(action).__name__,
            platform_of(action),
            extra=fields("action_slow", action=type(action).__name__, platform=platform_of(action)),
        )

    def _ended(self, task: asyncio.Task[bool]) -> None:
        waiting = self._waiting.pop(task, None)
        if waiting is None or task.cancelled():
            return
        if task.exception() is not None:
            log.error(
                "%s on %s failed after %.0f s",
                waiting.action,
                waiting.platform,
                time.monotonic() - waiting.since,
                exc_info=task.exception(),
            )
            return
        log.info(
            "%s on %s ended after %.0f s",
            waiting.action,
            waiting.platform,
            time.monotonic() - waiting.since,
            extra=fields("action_slow_ended", action=waiting.action, platform=waiting.platform),
        )

    async def delays(self) -> list[dict[str, object]]:
        """What has been waiting longer than :data:`LATE_S`: actions under way, and the
        oldest moderator alert not delivered yet (for /healthz; no words, only kinds)."""
        now = time.monotonic()
        late: list[dict[str, object]] = [
            {"action": w.action, "platform": w.platform, "seconds": round(now - w.since)}
            for w in self._waiting.values()
            if now - w.since > LATE_S
        ]
        since = await self.core.alerts.waiting_since()
        if since is not None:
            age = (self.core.clock.now() - since).total_seconds()
            if age > LATE_S:
                late.append({"action": "AlertModerators", "owed": True, "seconds": round(age)})
        return late

    async def _perform(self, action: Action) -> bool:
        """Carry out one action, then what it says is true only if it was done (or what is
        true instead); True only if it was done. A moderator alert is kept in the outbox
        until it was (bot/alert_outbox.py)."""
        if isinstance(action, AlertModerators):
            action = await self.core.alerts.queued(action)
        done = await self._attempt(action)
        if isinstance(action, AlertModerators):
            if done:
                await self.core.alerts.delivered(action)
            elif platform_of(action) in self.adapters:
                await self.core.alerts.not_now(action)
            else:  # a platform this configuration does not run: said at start, dropped
                await self.core.alerts.dropped(action)
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
            for alert in await self.core.refused(action, error.reason):
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
        duties = await self.jobs.duties() if self.jobs is not None else EVERYTHING
        async with self._lock:
            owed = await self.core.startup_actions(duties)
        self._tell_not_running()
        await self._start_adapters()
        await self.execute(owed)
        # Interrupted check-ins are asked where they stand after the backlog, holding the
        # lock so no answer moves one on between reading and asking. (Safe to perform under
        # it: private messages, which no adapter reports back as events.)
        async with self._lock:
            await self.execute(await self.core.resume_actions(duties))
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
        # events an adapter is handling now are finished first (bounded), so that a platform
        # that hands unfinished work over again at the next start (Matrix) does not replay
        # commands that were already answered
        for adapter in self.adapters.values():
            settle = getattr(adapter, "settle", None)
            if settle is not None:
                try:
                    await settle(SETTLE_S)
                except Exception:
                    log.exception("settling the %s adapter failed", adapter.platform)
        # an alert or a burst's private reminder cut off here is sent at the next start
        waiting = [*self._waiting, *self._background]
        for task in [*self._tasks, *waiting]:
            task.cancel()
        for task in [*self._tasks, *waiting]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.jobs is not None:  # another process takes the jobs over at its next tick
            try:
                await self.jobs.release()
            except Exception:
                log.exception("releasing the job leases failed")
        for adapter in self.adapters.values():
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping the %s adapter failed", adapter.platform)
        for task in list(self._waiting):  # left behind by events handled while stopping
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _every(self, seconds: float, job: object) -> None:
        while not self._stopping.is_set():
            await self.core.clock.sleep(seconds)
            try:
                await job()  # type: ignore[operator]
            except Exception:
                log.exception("periodic job failed")

    async def tick(self) -> None:
        """Time-based work (periodic re-reminders); also callable directly from tests. With
        several processes on one store (``jobs``), the leases taken first say which jobs
        are this process's now (bot/jobs.py)."""
        duties = await self.jobs.duties() if self.jobs is not None else EVERYTHING
        async with self._lock:
            actions = await self.core.tick(duties)
        await self.execute(actions)

    async def poll_policies(self) -> None:
        """Reload policies if their files changed; a broken edit keeps the last good set."""
        if not self.core.policies.changed_on_disk():
            return
        async with self._lock:
            _, actions = await self.core.reload_policies()
        await self.execute(actions)
