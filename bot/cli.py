"""The ``confidant`` command: run, console, check."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import logs
from bot.config import Config, default_config, load_config
from bot.keys import KeyFileError
from bot.policy import PolicyLoadError, load_policy_dir
from bot.store.migrate import SchemaTooNew

DEFAULT_EXPLAINED = """\
Confidant is running on its embedded default: a console room (#recovery) covered by the
example recovery-group policy, with its data in {state}.
Try:  :join alice    then  alice: hello    then  alice: /agree    (type :help for more)
To run on Matrix or Discord, write a config (see config.example.yaml) and use
  confidant run --config config.yaml
"""


def state_dir() -> Path:
    """Where the embedded default keeps its data (XDG state dir, overridable)."""
    if explicit := os.environ.get("CONFIDANT_STATE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "confidant"


def _load(config_path: str | None) -> Config:
    if config_path is None:
        return default_config(state_dir())
    return load_config(Path(config_path))


def _print_errors(error: PolicyLoadError) -> None:
    for item in error.errors:
        print(item, file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    try:
        config = _load(args.config)
        policies = load_policy_dir(config.policy_dir)
    except PolicyLoadError as error:
        _print_errors(error)
        print(f"{len(error.errors)} error(s); nothing was changed.", file=sys.stderr)
        return 1
    names = ", ".join(p.name for p in policies.policies) or "none"
    print(f"OK: config {config.source}, {len(policies.policies)} policies ({names})")
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
    logs.configure("WARNING" if args.config is None else config.log_level)
    return asyncio.run(_console(config, args.script, None))


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    adapters = config.adapters
    if adapters.matrix is not None or adapters.discord is not None:
        print(
            "The Matrix and Discord adapters are not part of this version yet; "
            "enable only the console adapter.",
            file=sys.stderr,
        )
        return 2
    logs.configure("WARNING" if args.config is None else config.log_level)
    banner = DEFAULT_EXPLAINED.format(state=state_dir()) if args.config is None else None
    return asyncio.run(_console(config, None, banner))


def main(argv: Sequence[str] | None = None) -> int:
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
    check = sub.add_parser("check", help="validate the config and policies")
    check.add_argument("--config", help="path to config.yaml")
    check.set_defaults(func=cmd_check)
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
