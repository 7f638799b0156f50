"""The ``confidant`` command: run, console, check, demo, backup, restore, migrate,
migrate-store."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import logs
from bot.config import Config, ConfigError, default_config, read_config
from bot.doctor import add_command as add_doctor_command
from bot.keys import KeyFileError
from bot.lean import keep_out_unused_extras
from bot.maintenance import add_commands as add_maintenance_commands
from bot.migrate_store import add_command as add_migrate_store_command
from bot.policy import PolicyError, PolicyLoadError, PolicySet, load_policy_dir
from bot.policy.loader import display_path, load_policy_files, policy_files
from bot.state_paths import load_usable_config, state_path_errors
from bot.store.migrate import SchemaTooNew
from bot.unrun_platforms import platforms_run, unrun_platforms

CONSOLE_EXPLAINED = """\
The console room: #recovery is covered by the example recovery-group policy, the console
user mod is its moderator, and data is kept in {state}.
Try:  :join alice    then  alice: hello    then  alice: /agree    (type :help for more)
"""


def state_dir() -> Path:
    """Where the embedded default keeps its data (XDG state dir, overridable)."""
    if explicit := os.environ.get("CONFIDANT_STATE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "confidant"


def _load(config_path: str | None) -> Config:
    """The config to run with; ConfigError (plain file:line:col lines, never a traceback) when
    it is invalid or its database or key file cannot be used."""
    if config_path is None:
        return default_config(state_dir())
    return load_usable_config(Path(config_path))


def _print_errors(error: PolicyLoadError) -> None:
    for item in error.errors:
        print(item, file=sys.stderr)


def _policy_paths(arguments: Sequence[str]) -> list[Path]:
    """Files as given; a folder stands for the policy files in it (and must hold some)."""
    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if not path.is_dir():
            paths.append(path)
        elif found := policy_files(path):
            paths.extend(found)
        else:
            shown = display_path(path)
            raise PolicyLoadError([PolicyError(shown, 1, 1, "this folder has no .yaml files")])
    return paths


def cmd_check(args: argparse.Namespace) -> int:
    """Every problem of the config, its state paths and the policies, in one run.

    ``check FILE...`` checks policy files alone (with --config, in place of its policy
    folder), so a moderator can check an edit without the admin's config."""
    errors: list[PolicyError] = []
    config: Config | None = None
    policy_dir: Path | None = None
    if args.config is not None:
        config, places, config_errors = read_config(Path(args.config))
        errors.extend(config_errors)
        if places is not None:
            errors.extend(state_path_errors(places))
            policy_dir = places.paths.get("policy_dir")
        errors = list(ConfigError(errors).errors)  # in the order `run` prints them
    elif not args.files:
        config = default_config(state_dir())
        policy_dir = config.policy_dir
    policies: PolicySet | None = None
    try:
        if args.files:
            policies = load_policy_files(_policy_paths(args.files))
        elif policy_dir is not None:
            policies = load_policy_dir(policy_dir)
    except PolicyLoadError as error:
        errors.extend(error.errors)
    if errors:
        for item in errors:
            print(item, file=sys.stderr)
        print(f"{len(errors)} error(s); nothing was changed.", file=sys.stderr)
        return 1
    assert policies is not None
    if config is not None:
        for unrun in unrun_platforms(policies, platforms_run(config)):
            print(f"warning: {unrun.message}", file=sys.stderr)
    names = ", ".join(p.name for p in policies.policies) or "none"
    checked = f"config {config.source}, " if config is not None else ""
    print(f"OK: {checked}{len(policies.policies)} policies ({names})")
    return 0


async def _console(config: Config, script: str | None, banner: str | None) -> int:
    from adapters.console import ConsoleAdapter, run_lines
    from bot.app import App

    console: list[ConsoleAdapter] = []

    def make(registry, clock):  # type: ignore[no-untyped-def]
        console.append(ConsoleAdapter(registry, clock))
        return console

    app = await App.create(config, make)
    try:
        await app.start()
        interactive = script is None and sys.stdin.isatty()
        if banner and interactive:
            print(banner)
        if script is not None:
            with open(script, encoding="utf-8") as handle:
                await run_lines(console[0], handle.readline, None)
        else:
            prompt = (
                (lambda: print(f"#{console[0].room}> ", end="", flush=True))
                if interactive
                else None
            )
            await run_lines(console[0], sys.stdin.readline, prompt)
    finally:
        await app.close()
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    config = _load(args.config)
    logs.configure("WARNING" if args.config is None else config.log_level, fmt=config.log_format)
    banner = CONSOLE_EXPLAINED.format(state=state_dir()) if args.config is None else None
    return asyncio.run(_console(config, args.script, banner))


def build_adapters(config: Config, registry, clock, console_out=None):  # type: ignore[no-untyped-def]
    """The adapters a config asks for; platform libraries are imported only when used."""
    adapters = []
    if config.adapters.console is not None and config.adapters.console.enabled:
        from adapters.console import ConsoleAdapter

        adapters.append(ConsoleAdapter(registry, clock, out=console_out))
    if config.adapters.matrix is not None:
        from adapters.matrix.client import MatrixAdapter

        adapters.append(MatrixAdapter(config.adapters.matrix, registry, clock))
    if config.adapters.discord is not None:
        from adapters.discord import make_discord_adapter

        adapters.append(make_discord_adapter(config.adapters.discord, registry, clock))
    return adapters


async def run_until_stopped(config: Config, banner: str | None = None) -> int:
    """Run every configured adapter until SIGINT/SIGTERM (or, console only, end of input)."""
    from adapters.console import ConsoleAdapter, run_lines
    from bot.app import App
    from ops.status_server import status_for  # aiohttp: imported here, never by the core

    status = status_for(config.status)
    app = await App.create(
        config,
        lambda registry, clock: build_adapters(config, registry, clock),
        metrics=status.metrics if status else None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    reader: asyncio.Task[None] | None = None
    try:
        if status is not None:  # up before the adapters connect: it answers 503 until then
            await status.start(lambda: app.runtime.adapters, app.runtime.delays)
        await app.start()
        if banner:
            print(banner, flush=True)
        consoles = [a for a in app.runtime.adapters.values() if isinstance(a, ConsoleAdapter)]
        if consoles:
            interactive = sys.stdin.isatty()
            prompt = (
                (lambda: print(f"#{consoles[0].room}> ", end="", flush=True))
                if interactive
                else None
            )
            reader = asyncio.create_task(run_lines(consoles[0], sys.stdin.readline, prompt))
            if len(app.runtime.adapters) == 1:
                reader.add_done_callback(lambda _: stop.set())
        await stop.wait()
    finally:
        if reader is not None:
            reader.cancel()
        await app.close()
        if status is not None:
            await status.stop()
    return 0


async def _run_embedded(state: Path) -> int:
    """The README's first command: a private homeserver with demo accounts, and the bot on it."""
    from adapters.matrix.embedded import prepare_embedded

    embedded = await prepare_embedded(state)
    try:
        return await run_until_stopped(embedded.config, embedded.login_text)
    finally:
        await embedded.stop()


def cmd_run(args: argparse.Namespace) -> int:
    if args.config is None:
        logs.configure("WARNING")
        return asyncio.run(_run_embedded(state_dir()))
    config = _load(args.config)
    logs.configure(config.log_level, fmt=config.log_format)
    return asyncio.run(run_until_stopped(config))


ADDED_MEMBER = """\
{what} on the demo homeserver ({url}).
  Member:      {user_id:<22}  password: {password}
Sign in with any Matrix client and join {support} or {lobby}; {name} is in no room yet.
"""


def cmd_demo_add_member(args: argparse.Namespace) -> int:
    """Registers one more member on the embedded default's homeserver, running or not."""
    from adapters.matrix.embedded import LOBBY_ROOM, SUPPORT_ROOM, add_member, alias
    from adapters.matrix.homeserver import HomeserverError

    logs.configure("WARNING")
    try:
        added = asyncio.run(add_member(state_dir(), args.name))
    except HomeserverError as error:
        print(f"confidant: {error}", file=sys.stderr)
        return 1
    print(
        ADDED_MEMBER.format(
            what=(
                f"{added.user_id} is already a demo account"
                if added.existed
                else f"Registered {added.user_id}"
            ),
            url=added.homeserver,
            user_id=added.user_id,
            password=added.password,
            support=alias(SUPPORT_ROOM),
            lobby=alias(LOBBY_ROOM),
            name=args.name,
        ),
        end="",
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    keep_out_unused_extras()
    parser = argparse.ArgumentParser(
        prog="confidant", description="Keeps peer-support rooms confidential."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot (no config: the embedded default)")
    run.add_argument("--config", help="path to config.yaml")
    run.set_defaults(func=cmd_run)
    console = sub.add_parser("console", help="a terminal room for trying a policy")
    console.add_argument("--config", help="path to config.yaml")
    console.add_argument("--script", help="read input lines from FILE instead of stdin")
    console.set_defaults(func=cmd_console)
    check = sub.add_parser(
        "check", help="validate the config and policies, or only the policy files given"
    )
    check.add_argument("--config", help="path to config.yaml")
    check.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="policy files (or folders of them) to check alone, without a config",
    )
    check.set_defaults(func=cmd_check)
    demo = sub.add_parser("demo", help="the embedded default's demo homeserver")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    add = demo_sub.add_parser(
        "add-member", help="register one more demo member and print the password"
    )
    add.add_argument("name", help="the new member's user name (lowercase letters, digits)")
    add.set_defaults(func=cmd_demo_add_member)
    add_maintenance_commands(sub, _load)
    add_migrate_store_command(sub)
    add_doctor_command(sub, _load)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PolicyLoadError as error:
        _print_errors(error)
        return 1
    except (KeyFileError, SchemaTooNew) as error:
        print(f"confidant: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
