"""Which platforms can enforce a read gate (``reminder.gate: read``).

A read gate needs the adapter to keep a room out of sight until the member agreed and to
let them in afterwards (Discord: View Channel through a role or an overwrite; Matrix:
knock and invite). Until an adapter does that, a policy asking for it on that platform is
refused by the policy check rather than accepted and left unenforced. Flip one entry
when its adapter supports ``AccessRequested``, ``GrantAccess`` and ``RevokeAccess``.
"""

from __future__ import annotations

READ_GATE_SUPPORTED: dict[str, bool] = {
    "console": True,
    "discord": True,
    "matrix": True,
}

PLATFORM_LABELS = {"console": "the console", "discord": "Discord", "matrix": "Matrix"}


def supports_read_gate(platform: str) -> bool:
    return READ_GATE_SUPPORTED.get(platform, False)
