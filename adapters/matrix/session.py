"""What the Matrix adapter must remember between runs, in one small 0600 JSON file.

The device id and access token are kept so a restart reuses the same device (a new device
per restart would break encryption for members and clutter the account). The sync token is
saved only after the events of that batch were handled, so a crash replays a batch rather
than losing it; the core's own records make most of a replay harmless, and a stop lets the
batch under way finish first (``MatrixAdapter.settle``, bounded), so a restart does not
replay what was answered.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class PendingInvite:
    """A private chat the member has not joined yet; no text, only ids and a deadline."""

    room_id: str
    member_id: str
    idempotency_key: str
    deadline: float  # unix time


@dataclass
class SessionState:
    user_id: str = ""
    device_id: str = ""
    access_token: str = ""
    homeserver: str = ""
    next_batch: str = ""
    last_seen_ts: int = 0  # newest origin_server_ts handled, in ms
    pending_invites: list[PendingInvite] = field(default_factory=list)
    spare_chats: list[str] = field(default_factory=list)  # room ids, see spare_chats.py
    # [member, room]: spares given away whose m.direct entry may not be saved yet
    handed_chats: list[list[str]] = field(default_factory=list)
    # Unencrypted private chats already told that nothing private is sent there (room ids).
    told_unencrypted: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> SessionState:
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text("utf-8"))
        invites = [PendingInvite(**item) for item in raw.pop("pending_invites", [])]
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known, pending_invites=invites)

    def save(self, path: Path) -> None:
        """Atomic and private: written to a 0600 temporary file, then renamed."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
