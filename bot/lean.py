"""Optional extras the bot process never uses, kept out of it.

A small VPS is the target (an idle bot with both platforms connected should stay under
72 MB), and two libraries were loaded for nothing: PyNaCl, which discord.py imports for
voice (Confidant never joins a voice channel; the package is only installed because the
embedded homeserver needs it), and cffi with its C-declaration parser, PyCryptodome's
optional accelerator, whose ctypes path does the same work (a check-in answer is a few
hundred bytes). Marking them absent before anything imports them makes both libraries take
the path they take where the extras are not installed. Together about 2.4 MB.
"""

from __future__ import annotations

import sys

UNUSED_EXTRAS = ("nacl", "cffi")


def keep_out_unused_extras() -> None:
    """Call first thing in the bot process; a module already imported is left alone."""
    for name in UNUSED_EXTRAS:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]  # import now raises ImportError


# peewee, matrix-nio's store for its E2E keys, imports every database driver it finds at
# import time (peewee.py: ``import psycopg2``, ``from psycopg import errors``, ``import
# pymysql``) to offer its PostgreSQL and MySQL classes. nio only ever opens a SQLite file,
# yet with Confidant's ``postgresql`` extra installed psycopg 3 came along: 73 modules,
# about 8.9 MB, even when the bot's own store is SQLite.
PEEWEE_SERVER_DRIVERS = ("psycopg", "psycopg2", "psycopg2cffi", "pymysql", "MySQLdb")


def import_peewee_for_sqlite() -> None:
    """Import peewee while the server-database drivers look absent, then make them importable
    again: Confidant's PostgreSQL store still imports psycopg when the config asks for it.
    A driver already imported (the PostgreSQL store opened first) is left alone."""
    if "peewee" in sys.modules:
        return
    hidden = [name for name in PEEWEE_SERVER_DRIVERS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import peewee  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
