"""Every SQLite migration has its PostgreSQL twin (same number, same name), and no more.

A migration added for one backend only would leave the other a schema behind: the shared
SQL would then fail on it at the first statement that names the new column, in production.
"""

from __future__ import annotations

from bot.store.migrate import packaged_migrations


def test_every_sqlite_migration_has_a_postgresql_twin() -> None:
    sqlite = {m.version: m.name for m in packaged_migrations("sqlite")}
    postgresql = {m.version: m.name for m in packaged_migrations("postgresql")}
    missing = sorted(name for version, name in sqlite.items() if postgresql.get(version) != name)
    assert missing == [], f"add bot/store/migrations_pg/ twins for {missing}"
    extra = sorted(name for version, name in postgresql.items() if sqlite.get(version) != name)
    assert extra == [], f"PostgreSQL migrations without a SQLite twin: {extra}"


def test_a_missing_twin_is_reported_by_name() -> None:
    """The check above can fail: drop the last PostgreSQL file and it names it."""
    import pytest

    from bot.store import migrate

    real = migrate.packaged_migrations

    def without_last(backend: str = "sqlite") -> list[migrate.Migration]:
        found = real(backend)
        return found[:-1] if backend == "postgresql" else found

    patch = pytest.MonkeyPatch()
    patch.setattr("tests.test_migrations_twins.packaged_migrations", without_last)
    try:
        with pytest.raises(AssertionError, match=real()[-1].name):
            test_every_sqlite_migration_has_a_postgresql_twin()
    finally:
        patch.undo()
