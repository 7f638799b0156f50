"""A ``postgresql://`` URL as the ``database`` setting holds it: its password never shown.

The password comes from the environment through the config file
(``postgresql://confidant:${CONFIDANT_DB_PASSWORD}@db.example.org/confidant``, see
bot/config.py), so the URL is a secret as a whole: kept in a ``SecretStr``, and printed
(``str``, ``repr``, a log line, an error) with the password replaced by ``***``.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from bot.policy.frozen import Model
from bot.secret import SecretStr

SCHEMES = ("postgresql", "postgres")


def looks_like_postgres(value: object) -> bool:
    return isinstance(value, str) and value.split("://", 1)[0] in SCHEMES and "://" in value


class PostgresUrl(Model):

    secret: SecretStr

    @classmethod
    def parse(cls, value: str) -> PostgresUrl:
        """Raises ValueError with a message that never quotes the URL (it may hold the
        password)."""
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 (a port that is not a number raises here)
        except ValueError as error:
            raise ValueError("the postgresql:// URL cannot be read; check its host and port") \
                from error
        if not parts.path.strip("/"):
            raise ValueError(
                "the postgresql:// URL names no database; write it like "
                "postgresql://confidant:${CONFIDANT_DB_PASSWORD}@db.example.org/confidant"
            )
        return cls(secret=SecretStr(value))

    def reveal(self) -> str:
        """The URL with its password, for the driver only."""
        return self.secret.get_secret_value()

    def shown(self) -> str:
        parts: SplitResult = urlsplit(self.reveal())
        netloc = parts.netloc
        if parts.password is None:
            return self.reveal()
        user, _, host = netloc.rpartition("@")
        return parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}").geturl()

    def __str__(self) -> str:
        return self.shown()

    def __repr__(self) -> str:
        return f"PostgresUrl({self.shown()!r})"
