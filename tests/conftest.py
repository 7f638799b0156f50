"""Shared fixtures: a core wired to a real SQLite store and real policy files in tmp dirs."""

from __future__ import annotations

import io
import logging
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.config import Config
from tests.pg_server import database, pg_database, pg_server  # noqa: F401 (fixtures)

POLICY = """\
name: circle
rooms:
  - platform: console
    name: recovery
moderators:
  - platform: console
    user: mod
alerts:
  - platform: console
    name: mods
reminder:
  text: What is shared here stays here.
  delivery: private
  require_agreement: true
"""


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Any:
    """Commands under test configure the root logger (``confidant doctor`` sets ERROR); a
    later test's records must not depend on which command ran before it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


def write_policy(directory: Path, text: str = POLICY, name: str = "circle.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def make_config(tmp: Path) -> Config:
    """A console-only config in tmp, written as YAML and loaded the way admins' configs are."""
    from bot.config import load_config

    config_path = tmp / "config.yaml"
    config_path.write_text(
        "database: confidant.db\nkey_file: confidant.key\npolicy_dir: policies\n"
        "log_level: INFO\nadapters:\n  console:\n    enabled: true\n",
        encoding="utf-8",
    )
    config = load_config(config_path, env={})
    from tests.pg_server import database_for_rigs

    if url := database_for_rigs(tmp):  # CONFIDANT_TEST_DATABASE=postgresql: the PG store
        from bot.store.url import PostgresUrl

        config = config.model_copy(update={"database": PostgresUrl.parse(url)})
    return config


@dataclass
class ConsoleRig:
    """A running app with the console adapter whose output a test reads."""

    app: App
    console: ConsoleAdapter
    out: io.StringIO
    clock: FakeClock

    async def say(self, *lines: str) -> str:
        """Feed lines, return only what the bot printed in response."""
        start = len(self.out.getvalue())
        for line in lines:
            await self.console.feed(line)
        return self.out.getvalue()[start:]


@pytest.fixture
def tmp_config(tmp_path: Path) -> Config:
    write_policy(tmp_path / "policies")
    return make_config(tmp_path)


async def start_rig(
    config: Config, clock: FakeClock | None = None, **app_options: Any
) -> ConsoleRig:
    """``app_options`` go to App.create (``metrics=`` for the status endpoint's tests)."""
    clock = clock or FakeClock()
    out = io.StringIO()
    holder: list[ConsoleAdapter] = []

    def make(registry, clk):  # type: ignore[no-untyped-def]
        holder.append(ConsoleAdapter(registry, clk, out=out))
        return holder

    app = await App.create(
        config,
        make,
        clock=clock,
        display_root=config.policy_dir.parent,
        tick_seconds=10**9,  # tests run periodic jobs themselves, never by the clock
        policy_poll_seconds=10**9,
        **app_options,
    )
    await app.start()
    return ConsoleRig(app, holder[0], out, clock)


@asynccontextmanager
async def policy_rig(
    tmp: Path, policy: str, clock: FakeClock | None = None
) -> AsyncIterator[ConsoleRig]:
    """A console app on ``policy`` in ``tmp``; an existing policy folder (a restart) is kept."""
    if not (tmp / "policies").exists():
        write_policy(tmp / "policies", policy)
    started = await start_rig(make_config(tmp), clock)
    try:
        yield started
    finally:
        await started.app.close()


@pytest.fixture
async def rig(tmp_config: Config) -> AsyncIterator[ConsoleRig]:
    started = await start_rig(tmp_config)
    try:
        yield started
    finally:
        await started.app.close()
