"""Matrix adapter: the bot on Matrix homeservers, plus a launcher for a local one."""

from bot.lean import import_peewee_for_sqlite

import_peewee_for_sqlite()  # before nio: its key store needs peewee, not psycopg
