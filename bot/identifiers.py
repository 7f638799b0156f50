"""Deterministic ids: the same inputs give the same id in every run.

Platforms dedupe a resent message by its id (Matrix transaction ids, Discord nonces) and a
button keeps working after a restart only if its id does not change, so these ids are
derived, never random.
"""

from __future__ import annotations

import hashlib

CHOICE_PREFIX = "confidant:"
AGREE_CHOICE = CHOICE_PREFIX + "agree:"


def agree_choice_id(policy: str) -> str:
    """Deterministic, so the button of a message posted before a restart still works."""
    return AGREE_CHOICE + policy


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def reminder_key(platform: str, room_id: str, member_id: str, policy: str, text_hash: str) -> str:
    """Deterministic, so a resend after a crash is recognisable as the same message."""
    digest = hashlib.sha256("\x1f".join((platform, room_id, member_id, policy, text_hash)).encode())
    return "rem-" + digest.hexdigest()[:32]
