"""``confidant migrate-store --from sqlite:PATH --to postgresql://...``: a SQLite
deployment's tables into PostgreSQL, for the day one process is no longer enough.

The SQLite file is read in one read transaction (a WAL snapshot), so the bot may still be
running: the copy is one moment of it. Whatever the bot writes after that moment is not in
the copy, so the admin stops it before switching the config's ``database`` over (the
command says so). The target must be an empty database, or one migrated to the same schema
version with no rows; the copy goes in one transaction with the counts checked per table
(:func:`bot.store.transfer.sqlite_to_postgres`), so a failure leaves it as it was.

The URL may hold ``${VAR}`` references (quote it: ``--to
'postgresql://confidant:${CONFIDANT_DB_PASSWORD}@db/confidant'``), expanded here, so the
password appears neither in the shell's history nor in the process list; it is printed with
the password as ``***``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.config import substitute_env
from bot.progress import TextProgress
from bot.store.url import PostgresUrl, looks_like_postgres


def _fail(message: str) -> int:
    print(f"confidant: {message}", file=sys.stderr)
    return 1


def cmd_migrate_store(args: argparse.Namespace) -> int:
    # imported here: the running bot never copies tables, and should not carry the code
    from bot.store.transfer import TransferError, read_snapshot, sqlite_to_postgres, sqlite_version

    if not args.source.startswith("sqlite:"):
        return _fail("--from takes sqlite:PATH (the SQLite database file to copy)")
    source = Path(args.source.removeprefix("sqlite:"))
    try:
        raw = substitute_env(args.target, os.environ)
        if not looks_like_postgres(raw):
            raise ValueError("--to takes a postgresql://... URL")
        target = PostgresUrl.parse(raw)
    except ValueError as error:
        return _fail(str(error))
    if not source.is_file():
        return _fail(f"{source}: no such SQLite database")
    try:
        import psycopg
    except ImportError:
        return _fail("PostgreSQL needs Confidant's postgresql extra (pip install '.[postgresql]')")
    bar = TextProgress("copying the tables", "rows")
    try:
        snapshot = read_snapshot(source)
        try:
            version = sqlite_version(snapshot)
            print(f"from {source} (schema {version}) to {target}")
            counts = sqlite_to_postgres(snapshot, target.reveal(), progress=bar.update)
        finally:
            snapshot.close()
    except TransferError as error:
        return _fail(f"{error}. Nothing was copied.")
    except psycopg.Error as error:
        lines = str(error).strip().splitlines()  # libpq names host and user, never the password
        return _fail(f"{target}: {lines[-1] if lines else 'no answer'}. Nothing was copied.")
    finally:
        bar.finish()
    for table, rows in counts.items():
        print(f"  {table}: {rows} rows (counts match)")
    print(
        f"Copied {sum(counts.values())} rows in {len(counts)} tables at schema version "
        f"{version}. Stop Confidant, set database: to the PostgreSQL URL, then start it: "
        "whatever it wrote after the copy began is not in PostgreSQL."
    )
    return 0


Subcommands = argparse._SubParsersAction  # argparse has no public name for it


def add_command(sub: Subcommands) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "migrate-store",
        help="copy a SQLite deployment into an empty PostgreSQL database (counts checked)",
    )
    parser.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH")
    parser.add_argument(
        "--to", dest="target", required=True, metavar="postgresql://...",
        help="the target database; ${VAR} references are expanded (quote the URL)",
    )  # fmt: skip
    parser.set_defaults(func=cmd_migrate_store)
