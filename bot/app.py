"""The composition root: the one place where config, store, policies, core and adapters
are wired together. Tests call it with their own clock and adapters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import i18n, redact
from bot.builtin_commands import BUILTIN_COMMANDS
from bot.clock import Clock, SystemClock
from bot.commands import Registry
from bot.config import Config
from bot.core import Core
from bot.jobs import SharedJobs
from bot.keys import load_or_create_key
from bot.metrics import Metrics, NoMetrics
from bot.policy_holder import PolicyHolder
from bot.ports import Adapter
from bot.runtime import Runtime
from bot.store import Store, open_store
from bot.store.url import PostgresUrl


def build_registry() -> Registry:
    registry = Registry()
    registry.extend(BUILTIN_COMMANDS)
    return registry


def shared_jobs(
    config: Config, store: Store, clock: Clock, adapters: Sequence[Adapter], tick_seconds: float
) -> SharedJobs | None:
    """On PostgreSQL, where several processes may serve one deployment, the periodic jobs
    are leased (bot/jobs.py); a SQLite file has one process, which runs them all."""
    if not isinstance(config.database, PostgresUrl):
        return None
    return SharedJobs(store, clock, {a.platform: a for a in adapters}, tick_seconds)


@dataclass
class App:
    config: Config
    store: Store
    core: Core
    runtime: Runtime
    key: bytes

    @classmethod
    async def create(
        cls,
        config: Config,
        make_adapters: Callable[[Registry, Clock], Sequence[Adapter]],
        clock: Clock | None = None,
        display_root: Path | None = None,
        tick_seconds: float = 60.0,
        policy_poll_seconds: float = 2.0,
        metrics: Metrics | None = None,
    ) -> App:
        """Load everything that can fail on bad input before connecting anywhere."""
        clock = clock or SystemClock()
        metrics = metrics or NoMetrics()
        policies = PolicyHolder.load(config.policy_dir, display_root)
        key = load_or_create_key(config.key_file)
        redact.protect(key, *redact.config_secrets(config))  # out of every log line from now
        registry = build_registry()
        adapters = list(make_adapters(registry, clock))
        store = await open_store(config.database, clock.now())
        for adapter in adapters:
            # Optional: an adapter that keeps a little state of its own (ids only) in the
            # store, e.g. the threads the Discord adapter opened, says so with use_store.
            use_store = getattr(adapter, "use_store", None)
            if callable(use_store):
                use_store(store)
        core = Core(
            policies=policies,
            store=store,
            clock=clock,
            registry=registry,
            capabilities={a.platform: a.capabilities for a in adapters},
            leak_key=key,
            metrics=metrics,
        )
        runtime = Runtime(
            core,
            {a.platform: a for a in adapters},
            tick_seconds=tick_seconds,
            policy_poll_seconds=policy_poll_seconds,
            metrics=metrics,
            jobs=shared_jobs(config, store, clock, adapters, tick_seconds),
        )
        return cls(config, store, core, runtime, key)

    async def start(self) -> None:
        await self.runtime.start()

    async def close(self) -> None:
        await self.runtime.stop()
        await self.store.close()
        i18n.set_default(None)  # the next app in this process decides its own
